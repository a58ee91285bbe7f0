"""Wallet API getOpenUserInfo: POST /wallet/getOpenUserInfo (AWS_IAM)."""

from miniauth.protocol.api import Answer, Routes, lambda_handler
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import GetOpenUserInfoRequest
from miniauth.runtime import wallet_service

app = Routes()


@app.post("/wallet/getOpenUserInfo")
def get_open_user_info(request: GetOpenUserInfoRequest) -> Answer:
    response = wallet_service().get_open_user_info(request.userId, request.appId, request.consented)
    return success(V2, response=response)


# The store methods this function's handlers call: Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("user", "app", "client", "consent", "record_consent")

handler = lambda_handler(app, STORE_CALLS)

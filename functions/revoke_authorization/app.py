"""Wallet API authorizations/revoke: POST /wallet/authorizations/revoke (AWS_IAM)."""

from miniauth.protocol.api import Answer, Routes, lambda_handler
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import RevokeAuthorizationRequest
from miniauth.runtime import wallet_service

app = Routes()


@app.post("/wallet/authorizations/revoke")
def revoke_authorization(request: RevokeAuthorizationRequest) -> Answer:
    wallet_service().revoke_authorization(request.userId, request.appId)
    return success(V2)


# The store methods this function's handlers call: Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("user", "withdraw")

handler = lambda_handler(app, STORE_CALLS)

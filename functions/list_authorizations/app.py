"""Wallet API authorizations/list: POST /wallet/authorizations/list (AWS_IAM)."""

from miniauth.protocol.api import Answer, Routes, lambda_handler
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import ListAuthorizationsRequest
from miniauth.runtime import wallet_service

app = Routes()


@app.post("/wallet/authorizations/list")
def list_authorizations(request: ListAuthorizationsRequest) -> Answer:
    return success(V2, authorizations=wallet_service().list_authorizations(request.userId))


# The store methods this function's handlers call: Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("user", "app", "consents_of", "grants_of")

handler = lambda_handler(app, STORE_CALLS)

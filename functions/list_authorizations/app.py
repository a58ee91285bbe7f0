"""Wallet API authorizations/list: POST /wallet/authorizations/list (AWS_IAM)."""

from miniauth.protocol.api import Answer, Routes, lambda_handler
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import ListAuthorizationsRequest
from miniauth.runtime import wallet_service

app = Routes()


@app.post("/wallet/authorizations/list")
def list_authorizations(request: ListAuthorizationsRequest) -> Answer:
    return success(V2, authorizations=wallet_service().list_authorizations(request.userId))


handler = lambda_handler(app)

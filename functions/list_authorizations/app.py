"""Wallet API authorizations/list: POST /wallet/authorizations/list (AWS_IAM)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from miniauth.protocol.api import lambda_handler, resolver
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import ListAuthorizationsRequest
from miniauth.runtime import wallet_service

app = resolver()


@app.post("/wallet/authorizations/list")
def list_authorizations(request: Annotated[ListAuthorizationsRequest, Body()]):
    return success(V2, authorizations=wallet_service().list_authorizations(request.userId))


handler = lambda_handler(app)

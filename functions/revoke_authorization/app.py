"""Wallet API authorizations/revoke: POST /wallet/authorizations/revoke (AWS_IAM)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from miniauth.protocol.api import lambda_handler, resolver
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import RevokeAuthorizationRequest
from miniauth.runtime import wallet_service

app = resolver()


@app.post("/wallet/authorizations/revoke")
def revoke_authorization(request: Annotated[RevokeAuthorizationRequest, Body()]):
    wallet_service().revoke_authorization(request.userId, request.appId)
    return success(V2)


handler = lambda_handler(app)

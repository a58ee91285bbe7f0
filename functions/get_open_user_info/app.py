"""Wallet API getOpenUserInfo: POST /wallet/getOpenUserInfo (AWS_IAM)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from miniauth.protocol.api import lambda_handler, resolver
from miniauth.protocol.envelope import V2, success
from miniauth.protocol.requests import GetOpenUserInfoRequest
from miniauth.runtime import wallet_service

app = resolver()


@app.post("/wallet/getOpenUserInfo")
def get_open_user_info(request: Annotated[GetOpenUserInfoRequest, Body()]):
    response = wallet_service().get_open_user_info(request.userId, request.appId, request.consented)
    return success(V2, response=response)


handler = lambda_handler(app)

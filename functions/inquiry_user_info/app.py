"""inquiryUserInfo: POST /v2/users/inquiryUserInfo and /v1/customers/user/inquiryUserInfoByAccessToken."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from miniauth.protocol.envelope import V1, V2, success
from miniauth.protocol.open_api import calling_client, open_api_handler, open_api_resolver
from miniauth.protocol.requests import AccessTokenV1, AccessTokenV2
from miniauth.runtime import token_service

app = open_api_resolver()


@app.post("/v2/users/inquiryUserInfo")
def inquiry_user_info_v2(request: Annotated[AccessTokenV2, Body()]):
    client = calling_client(app, request.authClientId)
    return success(V2, userInfo=token_service().inquiry_user_info(client, request.appId, request.accessToken))


@app.post("/v1/customers/user/inquiryUserInfoByAccessToken")
def inquiry_user_info_v1(request: Annotated[AccessTokenV1, Body()]):
    client = calling_client(app)
    user_info = token_service().inquiry_user_info(client, request.referenceClientId, request.accessToken)
    return success(V1, userInfo=user_info)


handler = open_api_handler(app)

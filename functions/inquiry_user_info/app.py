"""inquiryUserInfo: POST /v2/users/inquiryUserInfo and /v1/customers/user/inquiryUserInfoByAccessToken."""

from miniauth.protocol.api import Answer
from miniauth.protocol.envelope import V1, V2, success
from miniauth.protocol.open_api import calling_client, open_api_handler, open_api_routes
from miniauth.protocol.requests import AccessTokenV1, AccessTokenV2
from miniauth.runtime import token_service

app = open_api_routes()


@app.post("/v2/users/inquiryUserInfo")
def inquiry_user_info_v2(request: AccessTokenV2) -> Answer:
    client = calling_client(app, request.authClientId)
    return success(V2, userInfo=token_service().inquiry_user_info(client, request.appId, request.accessToken))


@app.post("/v1/customers/user/inquiryUserInfoByAccessToken")
def inquiry_user_info_v1(request: AccessTokenV1) -> Answer:
    client = calling_client(app)
    user_info = token_service().inquiry_user_info(client, request.referenceClientId, request.accessToken)
    return success(V1, userInfo=user_info)


# The store methods this function's handlers call (the signature check's come with open_api_handler):
# Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("app", "token", "grant_user_and_epoch")

handler = open_api_handler(app, STORE_CALLS)

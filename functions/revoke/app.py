"""revoke: POST /v2/authorizations/revoke and /v1/authorizations/cancelToken."""

from miniauth.protocol.api import Answer
from miniauth.protocol.envelope import V1, V2, success
from miniauth.protocol.open_api import calling_client, open_api_handler, open_api_routes
from miniauth.protocol.requests import AccessTokenV1, AccessTokenV2
from miniauth.runtime import token_service

app = open_api_routes()


@app.post("/v2/authorizations/revoke")
def revoke_v2(request: AccessTokenV2) -> Answer:
    client = calling_client(app, request.authClientId)
    token_service().revoke(client, request.appId, request.accessToken)
    return success(V2)


@app.post("/v1/authorizations/cancelToken")
def revoke_v1(request: AccessTokenV1) -> Answer:
    client = calling_client(app)
    token_service().revoke(client, request.referenceClientId, request.accessToken)
    return success(V1)


# The store methods this function's handlers call (the signature check's come with open_api_handler):
# Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("app", "token", "revoke_grant")

handler = open_api_handler(app, STORE_CALLS)

"""applyToken: POST /v2/authorizations/applyToken and /v1/authorizations/applyToken."""

from miniauth.clock import iso8601
from miniauth.domain.tokens import Issued
from miniauth.observability import TOKENS_ISSUED, count
from miniauth.protocol.api import Answer
from miniauth.protocol.envelope import V1, V2, success
from miniauth.protocol.open_api import calling_client, open_api_handler, open_api_routes
from miniauth.protocol.requests import ApplyTokenV1, ApplyTokenV2
from miniauth.runtime import token_service

app = open_api_routes()


def _issued(version: str, issued: Issued, extend_info: str | None) -> Answer:
    count(TOKENS_ISSUED)
    pair = issued.pair
    return success(
        version,
        accessToken=pair.access_token,
        accessTokenExpiryTime=iso8601(pair.access_expires_at),
        refreshToken=pair.refresh_token,
        refreshTokenExpiryTime=iso8601(pair.refresh_expires_at),
        customerId=issued.customer_id,
        extendInfo=extend_info,
    )


@app.post("/v2/authorizations/applyToken")
def apply_token_v2(request: ApplyTokenV2) -> Answer:
    client = calling_client(app, request.authClientId)
    issued = token_service().apply_token(
        client, request.appId, request.grantType, request.authCode, request.refreshToken
    )
    return _issued(V2, issued, request.extendInfo)


@app.post("/v1/authorizations/applyToken")
def apply_token_v1(request: ApplyTokenV1) -> Answer:
    client = calling_client(app)
    issued = token_service().apply_token(
        client, request.referenceClientId, request.grantType, request.authCode, request.refreshToken
    )
    return _issued(V1, issued, request.extendInfo)


# The store methods this function's handlers call (the signature check's come with open_api_handler):
# Lambda init warms their DynamoDB requests and no others.
STORE_CALLS = ("app", "auth_code", "redeem_code", "token", "rotate_refresh", "revoke_grant")

handler = open_api_handler(app, STORE_CALLS)

"""applyToken: POST /v2/authorizations/applyToken and /v1/authorizations/applyToken."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from miniauth.clock import iso8601
from miniauth.domain.tokens import Issued
from miniauth.observability import TOKENS_ISSUED, count
from miniauth.protocol.envelope import V1, V2, success
from miniauth.protocol.open_api import calling_client, open_api_handler, open_api_resolver
from miniauth.protocol.requests import ApplyTokenV1, ApplyTokenV2
from miniauth.runtime import token_service

app = open_api_resolver()


def _issued(version: str, issued: Issued, extend_info: str | None) -> Response:
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
def apply_token_v2(request: Annotated[ApplyTokenV2, Body()]):
    client = calling_client(app, request.authClientId)
    issued = token_service().apply_token(
        client, request.appId, request.grantType, request.authCode, request.refreshToken
    )
    return _issued(V2, issued, request.extendInfo)


@app.post("/v1/authorizations/applyToken")
def apply_token_v1(request: Annotated[ApplyTokenV1, Body()]):
    client = calling_client(app)
    issued = token_service().apply_token(
        client, request.referenceClientId, request.grantType, request.authCode, request.refreshToken
    )
    return _issued(V1, issued, request.extendInfo)


handler = open_api_handler(app)

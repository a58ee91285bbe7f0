"""Open API message security: verify the merchant's request signature, sign our response.

Runs before any table is touched (the client registry is a cached read). Outcomes:
missing or malformed header -> PARAM_ILLEGAL; unknown client -> INVALID_AUTH_CLIENT;
suspended -> INVALID_AUTH_CLIENT_STATUS; bad signature, unknown keyVersion, unsupported
algorithm or a Request-Time outside the skew window -> INVALID_SIGNATURE.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from cryptography.hazmat.primitives.asymmetric import rsa

from miniauth import signing
from miniauth.clock import iso8601
from miniauth.config import settings
from miniauth.domain.models import Client
from miniauth.protocol.intake import header, header_values, raw_body
from miniauth.results import InvalidAuthClient, InvalidAuthClientStatus, InvalidSignature, ParamIllegal
from miniauth.runtime import clock, store
from miniauth.wallet_keys import current_wallet_key

CLIENT_ID_HEADER = "Client-Id"
REQUEST_TIME_HEADER = "Request-Time"
RESPONSE_TIME_HEADER = "Response-Time"
SIGNATURE_HEADER = "Signature"


@lru_cache(maxsize=256)
def _public_key(pem: str) -> rsa.RSAPublicKey | None:
    try:
        return signing.load_public_key(pem)
    except ValueError:
        return None


SIGNED_HEADERS = (CLIENT_ID_HEADER, REQUEST_TIME_HEADER, SIGNATURE_HEADER)


def identify_client(event: APIGatewayProxyEvent) -> Client:
    for name in SIGNED_HEADERS:
        if len(header_values(event.raw_event, name)) > 1:
            raise ParamIllegal(f"The {name} header is sent more than once.")
    headers = event.headers
    client_id = (header(headers, CLIENT_ID_HEADER) or "").strip()
    if not client_id or len(client_id) > 128:
        raise ParamIllegal("The Client-Id header is missing or too long.")
    request_time = header(headers, REQUEST_TIME_HEADER) or ""
    try:
        sent_at = signing.parse_request_time(request_time)
        signature = signing.parse_signature_header(header(headers, SIGNATURE_HEADER))
    except signing.MalformedSignature as malformed:
        raise ParamIllegal(str(malformed)) from None

    client = store().client(client_id)
    if client is None:
        raise InvalidAuthClient()
    if not client.active:
        raise InvalidAuthClientStatus()

    if signature.algorithm.upper() != signing.ALGORITHM:
        raise InvalidSignature(f"Unsupported signature algorithm {signature.algorithm[:16]!r}.")
    if abs(clock().now() - sent_at) > timedelta(seconds=settings().request_time_skew):
        raise InvalidSignature("Request-Time is outside the accepted window.")
    pem = client.public_keys.get(signature.key_version)
    public_key = _public_key(pem) if pem else None
    if public_key is None:
        raise InvalidSignature("Unknown keyVersion for this client.")
    content = signing.signed_content(event.resource, client_id, request_time, raw_body(event.raw_event))
    if not signing.verify(public_key, content, signature.signature):
        raise InvalidSignature()
    return client


def _echoable(client_id: str | None) -> str:
    """The Client-Id to answer with: only what could be a real one, so no sent bytes reach our headers."""
    if client_id and len(client_id) <= 128 and all("!" <= c <= "~" for c in client_id):
        return client_id
    return ""


def sign_response(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Add Client-Id, Response-Time and Signature over the exact body being returned."""
    client_id = _echoable(header(event.get("headers"), CLIENT_ID_HEADER))
    responded_at = iso8601(clock().now())
    key = current_wallet_key()
    body = response.get("body") or ""
    content = signing.signed_content(event.get("resource") or event.get("path", ""), client_id, responded_at, body)
    signed = {
        CLIENT_ID_HEADER: client_id,
        RESPONSE_TIME_HEADER: responded_at,
        SIGNATURE_HEADER: signing.signature_header(key.key_version, signing.sign(key.private_key, content)),
    }
    response["headers"] = {**(response.get("headers") or {}), **signed}
    if response.get("multiValueHeaders") is not None:
        response["multiValueHeaders"].update({k: [v] for k, v in signed.items()})
    return response

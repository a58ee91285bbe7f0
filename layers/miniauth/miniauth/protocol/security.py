"""Open API message security: verify the merchant's request signature, refuse replays, sign our response.

Runs before any work (the client registry is a cached read). In order:
1. a missing, repeated or malformed header, or a Client-Id that is not 1-128 printable ASCII characters
   without spaces -> PARAM_ILLEGAL, before any lookup;
2. an unsupported algorithm or a Request-Time outside the skew window -> INVALID_SIGNATURE;
3. the signature is checked against the client's key for that keyVersion. An unknown client, an unknown
   keyVersion, a key under 2048 bits and a bad signature all answer the same INVALID_SIGNATURE, and
   each costs one RSA verification (against a fixed dummy key when there is no usable key), so an
   unsigned request learns nothing about which clients exist;
4. only then is a suspended client told INVALID_AUTH_CLIENT_STATUS;
5. the request is recorded (one conditional PutItem of a digest of Client-Id and signature, kept twice
   the skew window): a request already received is refused with INVALID_SIGNATURE.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from miniauth import signing
from miniauth.clock import iso8601
from miniauth.config import settings
from miniauth.domain.models import Client
from miniauth.protocol.intake import header, header_values, raw_body, route_of
from miniauth.results import InvalidAuthClientStatus, InvalidSignature, ParamIllegal
from miniauth.runtime import clock, store
from miniauth.wallet_keys import WalletKey

CLIENT_ID_HEADER = "Client-Id"
REQUEST_TIME_HEADER = "Request-Time"
RESPONSE_TIME_HEADER = "Response-Time"
SIGNATURE_HEADER = "Signature"
ALREADY_RECEIVED = "This request was already received; sign each request anew."

# Stands in for a key we do not have (unknown client or keyVersion, weak key) so every refusal costs the
# same RSA work. Its private half was never kept: nothing verifies against it.
_DUMMY_PUBLIC_KEY = signing.load_public_key(
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkArCOX9F0Ja/ABFWga7H\n"
    "sY3mpHsXFrSGjH/wMQfDn5BFdDj2bHwcZsOO1fFoaqgIp7vdSgJ1PT+rKErDoOOF\n"
    "qDOaypM2VFW4Jx210Nut8PgvdI1Yni+/HOHeBCNBacLfVliTLpBHAtS3z7XsoyqR\n"
    "w9/rJwNT0KNMohALv/sH22U5hnfKA5JirkdLIixc5SdVBJ1kxUgG9V6Sa/PlKn4V\n"
    "rnnAFJs69ToWhAQwMjtRBktLv49FT8E8h+FEVdSY+t0OmGdZ9nur825bvZi3aDR2\n"
    "PVKivOUjykJB2GfiVYXw4yVpICigd8bTsjxx/9lZKGjnHsI5XxbZxTdC9xDuvp1E\n"
    "HwIDAQAB\n"
    "-----END PUBLIC KEY-----\n"
)


@lru_cache(maxsize=256)
def _public_key(pem: str) -> rsa.RSAPublicKey | None:
    """A stored merchant key, or None when it is unreadable or shorter than 2048 bits (it never verifies)."""
    try:
        return signing.load_public_key(pem)
    except ValueError:
        return None


SIGNED_HEADERS = (CLIENT_ID_HEADER, REQUEST_TIME_HEADER, SIGNATURE_HEADER)
GUARD_STORE_CALLS = ("client", "first_receipt")  # the store methods identify_client calls


def identify_client(event: dict[str, Any]) -> Client:
    """The merchant whose verified signature the request carries (the module docstring has the order)."""
    for name in SIGNED_HEADERS:
        if len(header_values(event, name)) > 1:
            raise ParamIllegal(f"The {name} header is sent more than once.")
    headers = event.get("headers")
    client_id = (header(headers, CLIENT_ID_HEADER) or "").strip()
    if not signing.well_formed_client_id(client_id):
        raise ParamIllegal(
            "The Client-Id header is missing or not 1 to 128 printable ASCII characters without spaces."
        )
    request_time = header(headers, REQUEST_TIME_HEADER) or ""
    try:
        sent_at = signing.parse_request_time(request_time)
        signature = signing.parse_signature_header(header(headers, SIGNATURE_HEADER))
    except signing.MalformedSignature as malformed:
        raise ParamIllegal(str(malformed)) from None
    if signature.algorithm.upper() != signing.ALGORITHM:
        raise InvalidSignature(f"Unsupported signature algorithm {signature.algorithm[:16]!r}.")
    skew = settings().request_time_skew
    if abs(clock().now() - sent_at) > timedelta(seconds=skew):
        raise InvalidSignature("Request-Time is outside the accepted window.")

    client = store().client(client_id)
    pem = client.public_keys.get(signature.key_version) if client is not None else None
    public_key = _public_key(pem) if pem else None
    content = signing.signed_content(event.get("resource") or "", client_id, request_time, raw_body(event))
    verified = signing.verify(public_key or _DUMMY_PUBLIC_KEY, content, signature.signature)
    if client is None or public_key is None or not verified:
        raise InvalidSignature()  # one answer for all four causes: see the module docstring
    if not client.active:
        raise InvalidAuthClientStatus()
    _first_receipt(client_id, signature.signature, skew)
    return client


def request_digest(client_id: str, signature: str) -> str:
    """What the replay table keys a request by: never the signature itself, and the same for any encoding of it."""
    raw = signing.signature_bytes(signature)
    return hashlib.sha256(client_id.encode("ascii") + b"\n" + raw).hexdigest()


def _first_receipt(client_id: str, signature: str, skew: int) -> None:
    """Refuse a verified request already received.

    A Request-Time is acceptable for at most 2 x skew, so the marker lives that long, plus one second
    because expiry is stored in whole seconds.
    """
    now = clock().now()
    lifetime = timedelta(seconds=2 * skew + 1)
    if not store().first_receipt(request_digest(client_id, signature), now, now + lifetime):
        raise InvalidSignature(ALREADY_RECEIVED, replay=True)


def _echoable(client_id: str | None) -> str:
    """The Client-Id to answer with: only what could be a real one, so no sent bytes reach our headers."""
    if signing.well_formed_client_id(client_id):
        return client_id  # type: ignore[return-value]
    return ""


def sign_response(event: dict[str, Any], response: dict[str, Any], key: WalletKey) -> dict[str, Any]:
    """Add Client-Id, Response-Time and Signature over the exact body being returned, with the key loaded first."""
    client_id = _echoable(header(event.get("headers"), CLIENT_ID_HEADER))
    responded_at = iso8601(clock().now())
    body = response.get("body") or ""
    content = signing.signed_content(route_of(event), client_id, responded_at, body)
    signed = {
        CLIENT_ID_HEADER: client_id,
        RESPONSE_TIME_HEADER: responded_at,
        SIGNATURE_HEADER: signing.signature_header(key.key_version, signing.sign(key.private_key, content)),
    }
    response["headers"] = {**(response.get("headers") or {}), **signed}
    if response.get("multiValueHeaders") is not None:
        response["multiValueHeaders"].update({k: [v] for k, v in signed.items()})
    return response

"""The SDK keeps its own copy of the signature rules (it must not import the server): both copies agree."""

from __future__ import annotations

import pytest

from miniauth import signing as server
from miniauth_sdk import signing as sdk

from support import new_key, public_pem

PATH, CLIENT = "/v2/authorizations/applyToken", "2022000000000001"
MOMENT = "2026-11-22T10:00:00.000+08:00"
BODY = '{"authCode":"é","appId":"2021000000000001"}'


def test_the_signed_content_is_the_same() -> None:
    assert sdk.signed_content(PATH, CLIENT, MOMENT, BODY) == server.signed_content(PATH, CLIENT, MOMENT, BODY)
    assert sdk.signed_content(PATH, CLIENT, MOMENT, BODY.encode()) == server.signed_content(PATH, CLIENT, MOMENT, BODY)


def test_each_verifies_what_the_other_signs() -> None:
    key = new_key()
    content = server.signed_content(PATH, CLIENT, MOMENT, BODY)
    by_sdk, by_server = sdk.sign(key, content), server.sign(key, content)
    assert by_sdk == by_server  # PKCS#1 v1.5 is deterministic, and both URL-encode the same way
    assert server.verify(key.public_key(), content, by_sdk)
    assert sdk.verify(key.public_key(), content, by_server)
    assert not sdk.verify(key.public_key(), content + b" ", by_server)
    assert not sdk.verify(key.public_key(), content, "not base64!")
    assert sdk.signature_header("2", by_sdk) == server.signature_header("2", by_sdk)


@pytest.mark.parametrize("header", [
    "algorithm=RSA256, keyVersion=1, signature=abc%2B",
    " algorithm = RSA256 ,keyversion=7,SIGNATURE=x",
    "algorithm=RSA256, keyVersion=1",
    "algorithm=RSA256, keyVersion=1, keyVersion=2, signature=x",
    "algorithm=RSA256; keyVersion=1; signature=x",
    "algorithm=RSA256, keyVersion=, signature=x",
    "",
])
def test_signature_headers_read_the_same(header: str) -> None:
    def read(module):
        try:
            parsed = module.parse_signature_header(header)
        except module.MalformedSignature:
            return "malformed"
        return (parsed.algorithm, parsed.key_version, parsed.signature)

    assert read(sdk) == read(server)


@pytest.mark.parametrize("moment", [MOMENT, "2026-11-22T02:00:00Z", "1795312800000", "2026-11-22T10:00:00", "soon"])
def test_times_read_the_same(moment: str) -> None:
    def read(parse):
        try:
            return parse(moment)
        except ValueError:
            return "malformed"

    assert read(sdk.parse_time) == read(server.parse_request_time)


def test_both_refuse_a_short_wallet_key() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    short = public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))
    for module in (sdk, server):
        with pytest.raises(ValueError, match="at least 2048"):
            module.load_public_key(short)

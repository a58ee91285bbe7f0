"""Open API message security: independent RSA256 vectors, every rejection, signed responses, rotation."""

from __future__ import annotations

import base64
import json
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from miniauth import runtime, signing
from miniauth.storage.items import ClientItem

from support import (
    APP_ID,
    CLIENT_ID,
    MERCHANT_KEYS,
    STRANGER_KEY,
    SUSPENDED_CLIENT_ID,
    WALLET_KEY,
    Answer,
    Api,
    FakeClock,
    new_key,
    private_pem,
    public_pem,
    signed_headers,
    snapshot,
)

PATH = "/v2/users/inquiryUserInfo"
BODY = json.dumps({"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": "x" * 40})
JSON = {"Content-Type": "application/json; charset=UTF-8"}


def reference_signature(key: Any, content: bytes) -> str:
    """What a merchant's own code produces, built here without the project's signer."""
    return quote(base64.b64encode(key.sign(content, padding.PKCS1v15(), hashes.SHA256())).decode(), safe="")


def test_signer_matches_an_independent_signature_for_pkcs8_and_pkcs1_keys() -> None:
    key = new_key()
    content = f"POST {PATH}\n{CLIENT_ID}.2026-11-22T10:00:00.123+08:00.{BODY}".encode()
    assert signing.signed_content(PATH, CLIENT_ID, "2026-11-22T10:00:00.123+08:00", BODY) == content
    expected = reference_signature(key, content)
    for pem in (private_pem(key), private_pem(key, pkcs1=True)):
        assert signing.sign(signing.load_private_key(pem), content) == expected
        # The wallet's own key skips cryptography's consistency checks (init time); it signs the same.
        assert signing.sign(signing.load_private_key(pem, trusted=True), content) == expected
    for pem in (public_pem(key), public_pem(key, pkcs1=True)):
        assert signing.verify(signing.load_public_key(pem), content, expected)
        assert not signing.verify(signing.load_public_key(pem), content + b" ", expected)


def test_signature_header_parsing_is_lenient_on_case_and_spaces() -> None:
    parsed = signing.parse_signature_header("Algorithm=RSA256,keyversion=2 ,  SIGNATURE=abc%2B")
    assert (parsed.algorithm, parsed.key_version, parsed.signature) == ("RSA256", "2", "abc%2B")


def call(api: Api, headers: dict[str, str], body: str = BODY) -> Answer:
    return api.raw(PATH, body, {**JSON, **headers})


@pytest.mark.parametrize("moment", ["iso", "epoch_millis"])
def test_both_request_time_formats_are_accepted(api: Api, clock: FakeClock, moment: str) -> None:
    tokens = api.tokens()
    body = json.dumps({"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]})
    now = clock.now().astimezone(timezone(timedelta(hours=8)))
    text = now.isoformat(timespec="milliseconds") if moment == "iso" else str(int(now.timestamp() * 1000))
    answer = call(api, signed_headers(PATH, body, CLIENT_ID, request_time=text), body)
    assert answer.code == "SUCCESS", answer.body


def _garble(headers: dict[str, str], **changes: str | None) -> dict[str, str]:
    out = dict(headers)
    for name, value in changes.items():
        out.pop(name.replace("_", "-"), None)
        if value is not None:
            out[name.replace("_", "-")] = value
    return out


REJECTIONS = {
    "missing signature": (lambda h: _garble(h, Signature=None), "PARAM_ILLEGAL"),
    "garbled signature header": (lambda h: _garble(h, Signature="RSA256 abc"), "PARAM_ILLEGAL"),
    "signature header lacks keyVersion": (lambda h: _garble(h, Signature="algorithm=RSA256, signature=abc"),
                                          "PARAM_ILLEGAL"),
    "missing request time": (lambda h: _garble(h, Request_Time=None), "PARAM_ILLEGAL"),
    "malformed request time": (lambda h: _garble(h, Request_Time="yesterday"), "PARAM_ILLEGAL"),
    "request time without offset": (lambda h: _garble(h, Request_Time="2026-11-22T02:00:00"), "PARAM_ILLEGAL"),
    "missing client id": (lambda h: _garble(h, Client_Id=None), "PARAM_ILLEGAL"),
    "Client-Id not printable ASCII": (lambda h: _garble(h, Client_Id="2022 0001"), "PARAM_ILLEGAL"),
    "Client-Id over 128 characters": (lambda h: _garble(h, Client_Id="7" * 129), "PARAM_ILLEGAL"),
    # Unsigned, nobody learns whether a client exists: an unknown one is a bad signature (README).
    "unknown client": (lambda h: signed_headers(PATH, BODY, "2022999999999999"), "INVALID_SIGNATURE"),
    "suspended client": (lambda h: signed_headers(PATH, BODY, SUSPENDED_CLIENT_ID), "INVALID_AUTH_CLIENT_STATUS"),
    "suspended client, bad signature": (lambda h: signed_headers(PATH, BODY, SUSPENDED_CLIENT_ID, key=STRANGER_KEY),
                                        "INVALID_SIGNATURE"),
    "signed with another key": (lambda h: signed_headers(PATH, BODY, CLIENT_ID, key=STRANGER_KEY),
                                "INVALID_SIGNATURE"),
    "unknown keyVersion": (lambda h: signed_headers(PATH, BODY, CLIENT_ID, key_version="7"), "INVALID_SIGNATURE"),
    "unsupported algorithm": (lambda h: _garble(h, Signature=h["Signature"].replace("RSA256", "RSA1")),
                              "INVALID_SIGNATURE"),
    "signature not base64": (lambda h: _garble(h, Signature="algorithm=RSA256, keyVersion=1, signature=%%%"),
                             "INVALID_SIGNATURE"),
    "request time too old": (lambda h: signed_headers(PATH, BODY, CLIENT_ID, request_time="2026-11-22T01:54:59.000Z"),
                             "INVALID_SIGNATURE"),
    "request time in the future": (
        lambda h: signed_headers(PATH, BODY, CLIENT_ID, request_time="2026-11-22T10:05:01.000+08:00"),
        "INVALID_SIGNATURE"),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_each_rejection_has_its_code_and_touches_nothing(api: Api, dynamodb: Any, case: str) -> None:
    change, expected = REJECTIONS[case]
    before = snapshot(dynamodb)
    answer = call(api, change(signed_headers(PATH, BODY, CLIENT_ID)))
    assert (answer.status, answer.code, answer.result_status) == (200, expected, "F"), answer.body
    assert snapshot(dynamodb) == before


def test_a_body_changed_after_signing_is_refused(api: Api, dynamodb: Any) -> None:
    headers = signed_headers(PATH, BODY, CLIENT_ID)
    before = snapshot(dynamodb)
    assert call(api, headers, BODY.replace("x", "y", 1)).code == "INVALID_SIGNATURE"
    assert call(api, headers, BODY + " ").code == "INVALID_SIGNATURE"  # raw bytes, not a re-serialisation
    assert snapshot(dynamodb) == before


def test_body_auth_client_id_must_match_the_header(api: Api) -> None:
    body = json.dumps({"appId": APP_ID, "authClientId": "2022000000000002", "accessToken": "x" * 40})
    assert call(api, signed_headers(PATH, body, CLIENT_ID), body).code == "INVALID_AUTH_CLIENT"


def verify_response(answer_headers: dict[str, str], body: str, path: str, wallet_public: Any) -> bool:
    parsed = signing.parse_signature_header(answer_headers["Signature"])
    content = signing.signed_content(path, answer_headers["Client-Id"], answer_headers["Response-Time"], body)
    return signing.verify(wallet_public, content, parsed.signature)


def test_every_response_is_signed_by_the_wallet(api: Api) -> None:
    from miniauth_tools.local.events import proxy_event
    from miniauth_tools.local.functions import LambdaContext

    handler = api.handler_for(PATH)
    for headers in (signed_headers(PATH, BODY, CLIENT_ID), {"Client-Id": CLIENT_ID}):  # a refusal is signed too
        raw = handler(proxy_event("POST", PATH, BODY, {**JSON, **headers}), LambdaContext("InquiryUserInfo"))
        assert raw["headers"]["Client-Id"] == CLIENT_ID
        assert verify_response(raw["headers"], raw["body"], PATH, WALLET_KEY.public_key())
        tampered = raw["body"].replace("F", "S", 1)
        assert not verify_response(raw["headers"], tampered, PATH, WALLET_KEY.public_key())
        forged = {**raw["headers"], "Response-Time": "2026-11-22T02:00:01.000+00:00"}
        assert not verify_response(forged, raw["body"], PATH, WALLET_KEY.public_key())


def test_client_key_rotation(api: Api) -> None:
    second = new_key()
    runtime.store().update(
        ClientItem, CLIENT_ID, public_keys={"1": public_pem(MERCHANT_KEYS[CLIENT_ID]), "2": public_pem(second)}
    )
    runtime.store().clear_cache()
    tokens = api.tokens()
    body = json.dumps({"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]})
    assert call(api, signed_headers(PATH, body, CLIENT_ID), body).code == "SUCCESS"
    assert call(api, signed_headers(PATH, body, CLIENT_ID, key=second, key_version="2"), body).code == "SUCCESS"

    runtime.store().update(ClientItem, CLIENT_ID, public_keys={"2": public_pem(second)})
    runtime.store().clear_cache()
    assert call(api, signed_headers(PATH, body, CLIENT_ID), body).code == "INVALID_SIGNATURE"
    assert call(api, signed_headers(PATH, body, CLIENT_ID, key=second, key_version="2"), body).code == "SUCCESS"


def test_wallet_key_rotation(api: Api, rotated_wallet_key: Any) -> None:
    rotated = rotated_wallet_key
    answer = call(api, signed_headers(PATH, BODY, CLIENT_ID))
    assert "keyVersion=2" in answer.headers["Signature"]
    assert verify_response(answer.headers, answer.text, PATH, rotated.public_key())
    assert not verify_response(answer.headers, answer.text, PATH, WALLET_KEY.public_key())


def test_the_wallet_key_document_can_come_from_the_environment(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `sam local` an --env-vars file hands the functions the key document itself."""
    local = new_key()
    monkeypatch.setenv("WALLET_KEY_DOCUMENT", json.dumps({"currentKeyVersion": "3",
                                                          "privateKeys": {"3": private_pem(local)}}))
    answer = call(api, signed_headers(PATH, BODY, CLIENT_ID))
    assert "keyVersion=3" in answer.headers["Signature"]
    assert verify_response(answer.headers, answer.text, PATH, local.public_key())

"""The bad-input matrix, over real HTTP: every malformed request gets the contract's code and changes nothing.

Each case is sent to `miniauth serve` with raw bytes and raw headers (so duplicated headers, broken UTF-8
and wrong Content-Types really go over the wire), and every table of the embedded DynamoDB is
snapshotted before and after: a refused request must leave them byte-identical. The one exception is
RequestReplaysTable (left out by `snapshot`): a request whose signature verified is recorded there before it
is judged, so that a resend of the same bytes is refused. The requests that
carry a live authCode or token prove the refusal happened before anything was redeemed or revoked.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from miniauth_sdk import MerchantClient

from served import ServedApi
from stored import Tables
from support import APP_ID, CLIENT_ID, OTHER_CLIENT_ID, USER_ID, snapshot

pytestmark = pytest.mark.e2e

APPLY, INQUIRY, REVOKE = "/v2/authorizations/applyToken", "/v2/users/inquiryUserInfo", "/v2/authorizations/revoke"
APPLY_V1, INQUIRY_V1, CANCEL_V1 = (
    "/v1/authorizations/applyToken",
    "/v1/customers/user/inquiryUserInfoByAccessToken",
    "/v1/authorizations/cancelToken",
)
GET_AUTH_CODE, OPEN_USER_INFO, LIST_AUTHORIZATIONS = (
    "/wallet/getAuthCode",
    "/wallet/getOpenUserInfo",
    "/wallet/authorizations/list",
)
JSON_TYPE = "application/json; charset=UTF-8"
KIB = 1024
DROP = object()  # a field value meaning "leave the field out"
DEEP = b"[" * 5000 + b"]" * 5000  # deeper than the JSON parser recurses


class Shifted:
    """A clock off by some time, to sign with a Request-Time in the future or the past."""

    def __init__(self, by: timedelta) -> None:
        self.by = by

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


@dataclass
class Context:
    served: ServedApi
    code: str  # issued and never redeemed: a refused applyToken must leave it so
    access_token: str
    refresh_token: str
    merchants: dict[str, MerchantClient] = field(default_factory=dict)

    def merchant(self, client_id: str = CLIENT_ID, skew: timedelta | None = None) -> MerchantClient:
        key = f"{client_id}/{skew}"
        if key not in self.merchants:
            options = {"clock": Shifted(skew)} if skew else {}
            self.merchants[key] = self.served.merchant(client_id, **options)
        return self.merchants[key]


@dataclass(frozen=True)
class Sent:
    path: str
    body: bytes
    headers: list[tuple[str, str]]


def signed(ctx: Context, path: str, body: bytes, *, client_id: str = CLIENT_ID, skew: timedelta | None = None,
           content_type: str | None = JSON_TYPE, change: Callable[[dict[str, str]], list[tuple[str, str]]] | None
           = None) -> Sent:
    """The merchant's own signed headers over exactly `body`, then changed as a case needs."""
    headers = ctx.merchant(client_id, skew).signed_request(path, body)
    headers.pop("Content-Type", None)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return Sent(path, body, change(headers) if change else list(headers.items()))


def plain(path: str, body: bytes, content_type: str | None = JSON_TYPE) -> Sent:
    return Sent(path, body, [("Content-Type", content_type)] if content_type else [])


def fields(base: dict[str, Any], **changes: Any) -> bytes:
    body = {**base, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not DROP}, ensure_ascii=False).encode()


def apply_body(ctx: Context, **changes: Any) -> bytes:
    base = {"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": ctx.code}
    return fields(base, **changes)


def refresh_body(ctx: Context, **changes: Any) -> bytes:
    base = {"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "REFRESH_TOKEN",
            "refreshToken": ctx.refresh_token}
    return fields(base, **changes)


def token_body(ctx: Context, **changes: Any) -> bytes:
    return fields({"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": ctx.access_token}, **changes)


def v1_token_body(ctx: Context, **changes: Any) -> bytes:
    return fields({"referenceClientId": APP_ID, "accessToken": ctx.access_token}, **changes)


def code_body(**changes: Any) -> bytes:
    return fields({"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_base"]}, **changes)


def apply(ctx: Context, **changes: Any) -> Sent:
    return signed(ctx, APPLY, apply_body(ctx, **changes))


def inquiry(ctx: Context, **changes: Any) -> Sent:
    return signed(ctx, INQUIRY, token_body(ctx, **changes))


def with_header(name: str, value: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda headers: [*(item for item in headers.items() if item[0] != name), (name, value)]


def without(name: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda headers: [item for item in headers.items() if item[0] != name]


def edited(name: str, old: str, new: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda headers: with_header(name, headers[name].replace(old, new))(headers)


def twice(name: str) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    return lambda headers: [*headers.items(), (name, headers[name])]


def signature_of(ctx: Context, path: str, other_body: bytes) -> Callable[[dict[str, str]], list[tuple[str, str]]]:
    """A genuine signature, but over another body."""
    return with_header("Signature", ctx.merchant().signed_request(path, other_body)["Signature"])


def garbled(headers: dict[str, str]) -> list[tuple[str, str]]:
    value = headers["Signature"]
    cut = value.index("signature=") + len("signature=")
    flipped = "A" if value[cut] != "A" else "B"
    return with_header("Signature", value[:cut] + flipped + value[cut + 1:])(headers)


P, S, F = "PARAM_ILLEGAL", "SUCCESS", "F"
BAD_SIGNATURE = "INVALID_SIGNATURE"
HOUR = timedelta(hours=1)

# (case id, expected resultCode, request). Every request but the SUCCESS ones must change nothing.
CASES: list[tuple[str, str, Callable[[Context], Sent]]] = [
    # -- not a JSON object ------------------------------------------------------------------------------
    ("not-json", P, lambda c: signed(c, APPLY, b"grantType=AUTHORIZATION_CODE&authCode=" + c.code.encode())),
    ("truncated-json", P, lambda c: signed(c, APPLY, apply_body(c)[:-1])),
    ("empty-body", P, lambda c: signed(c, APPLY, b"")),
    ("json-array", P, lambda c: signed(c, APPLY, b"[" + apply_body(c) + b"]")),
    ("json-number", P, lambda c: signed(c, APPLY, b"42")),
    ("json-string", P, lambda c: signed(c, APPLY, json.dumps(apply_body(c).decode()).encode())),
    ("json-null", P, lambda c: signed(c, APPLY, b"null")),
    ("nan-constant", P, lambda c: signed(c, APPLY, extra(apply_body(c), b'"extendInfo": NaN'))),
    ("byte-order-mark", P, lambda c: signed(c, APPLY, b"\xef\xbb\xbf" + apply_body(c))),
    # -- wrong types ------------------------------------------------------------------------------------
    ("appId-number", P, lambda c: apply(c, appId=int(APP_ID))),
    ("grantType-number", P, lambda c: apply(c, grantType=1)),
    ("grantType-unknown", P, lambda c: apply(c, grantType="PASSWORD")),
    ("authCode-list", P, lambda c: apply(c, authCode=[c.code])),
    ("authClientId-object", P, lambda c: apply(c, authClientId={"id": CLIENT_ID})),
    ("extendInfo-number", P, lambda c: apply(c, extendInfo=7)),
    ("accessToken-bool", P, lambda c: inquiry(c, accessToken=True)),
    # -- missing, empty and over-long fields ------------------------------------------------------------
    ("no-appId", P, lambda c: apply(c, appId=DROP)),
    ("no-authClientId", P, lambda c: apply(c, authClientId=DROP)),
    ("no-grantType", P, lambda c: apply(c, grantType=DROP)),
    ("no-authCode", P, lambda c: apply(c, authCode=DROP)),
    ("no-refreshToken", P, lambda c: signed(c, APPLY, refresh_body(c, refreshToken=DROP))),
    ("no-accessToken", P, lambda c: inquiry(c, accessToken=DROP)),
    ("empty-appId", P, lambda c: apply(c, appId="")),
    ("long-appId", P, lambda c: apply(c, appId="2" * 33)),
    ("long-authClientId", P, lambda c: apply(c, authClientId="2" * 129)),
    ("long-authCode", P, lambda c: apply(c, authCode=c.code + "x" * (65 - len(c.code)))),
    ("long-refreshToken", P, lambda c: signed(c, APPLY, refresh_body(c, refreshToken=c.refresh_token + "x" * 129))),
    ("long-accessToken", P, lambda c: inquiry(c, accessToken=c.access_token + "x" * 129)),
    ("long-extendInfo", P, lambda c: apply(c, extendInfo="e" * 4097)),
    ("long-customerBelongsTo", P, lambda c: apply(c, customerBelongsTo="c" * 65)),
    # -- nulls ------------------------------------------------------------------------------------------
    ("null-appId", P, lambda c: apply(c, appId=None)),
    ("null-grantType", P, lambda c: apply(c, grantType=None)),
    ("null-authCode", P, lambda c: apply(c, authCode=None)),
    ("null-accessToken", P, lambda c: inquiry(c, accessToken=None)),
    ("null-optional-extendInfo", S, lambda c: inquiry(c, extendInfo=None, authClientId=None)),
    # -- unknown fields are ignored, as the platform does ------------------------------------------------
    ("unknown-fields", S, lambda c: inquiry(c, surprise={"nested": [1, 2.5, None]}, debug=True)),
    # -- unicode and control characters -----------------------------------------------------------------
    ("unicode-authCode", "INVALID_AUTHCODE", lambda c: apply(c, authCode="código-☃-🔑-" + c.code[:40])),
    ("control-chars-authCode", "INVALID_AUTHCODE", lambda c: apply(c, authCode="\x00\x07\x1b[31m\x7f" + c.code[:40])),
    ("bidi-and-zero-width-appId", "ACCESS_DENIED", lambda c: apply(c, appId="\u202e" + APP_ID[:20] + "\u200d")),
    ("unicode-accessToken", "INVALID_ACCESS_TOKEN", lambda c: signed(c, REVOKE, token_body(c, accessToken="токен-🔒"))),
    ("unicode-extendInfo", S, lambda c: inquiry(c, extendInfo="مرحبا 👋 \u0000\t\n end")),
    ("lone-surrogate", P, lambda c: signed(c, APPLY, extra(apply_body(c), b'"x": "\\ud800"'))),
    ("lone-surrogate-key", P, lambda c: signed(c, INQUIRY, extra(token_body(c), b'"\\udfff": 1'))),
    ("invalid-utf8", P, lambda c: signed(c, APPLY, extra(apply_body(c), b'"extendInfo": "\xff\xfe"'))),
    ("overlong-utf8", P, lambda c: signed(c, INQUIRY, extra(token_body(c), b'"extendInfo": "\xc0\xaf"'))),
    # -- size: the body limit is 64 KiB (contract section 4) ---------------------------------------------
    ("body-1MiB", P, lambda c: inquiry(c, padding="p" * KIB * KIB)),
    ("body-64KiB-plus-1", P, lambda c: signed(c, INQUIRY, padded(token_body(c), 64 * KIB + 1))),
    ("body-exactly-64KiB", S, lambda c: signed(c, INQUIRY, padded(token_body(c), 64 * KIB))),
    ("deep-nesting", P, lambda c: signed(c, INQUIRY, extra(token_body(c), b'"n": ' + DEEP))),
    # -- duplicate keys: which one would count is exactly what an attacker would like to choose ----------
    ("duplicate-authCode", P, lambda c: signed(c, APPLY, extra(apply_body(c), b'"authCode": "someone-elses"'))),
    ("duplicate-nested-key", P, lambda c: signed(c, INQUIRY, extra(token_body(c), b'"x": {"a": 1, "a": 2}'))),
    # -- Content-Type ------------------------------------------------------------------------------------
    ("text-plain", P, lambda c: signed(c, APPLY, apply_body(c), content_type="text/plain")),
    ("form-urlencoded", P, lambda c: signed(c, APPLY, apply_body(c), content_type="application/x-www-form-urlencoded")),
    ("multipart", P, lambda c: signed(c, APPLY, apply_body(c), content_type="multipart/form-data; boundary=x")),
    ("application-xml", P, lambda c: signed(c, APPLY, apply_body(c), content_type="application/xml")),
    ("json-lookalike", P, lambda c: signed(c, APPLY, apply_body(c), content_type="application/jsonx")),
    ("no-content-type", S, lambda c: signed(c, INQUIRY, token_body(c), content_type=None)),
    ("upper-case-json-type", S, lambda c: signed(c, INQUIRY, token_body(c), content_type="Application/JSON")),
    # -- signature headers ------------------------------------------------------------------------------
    ("no-Client-Id", P, lambda c: signed(c, APPLY, apply_body(c), change=without("Client-Id"))),
    ("no-Request-Time", P, lambda c: signed(c, APPLY, apply_body(c), change=without("Request-Time"))),
    ("no-Signature", P, lambda c: signed(c, APPLY, apply_body(c), change=without("Signature"))),
    ("Client-Id-twice", P, lambda c: signed(c, APPLY, apply_body(c), change=twice("Client-Id"))),
    ("Request-Time-twice", P, lambda c: signed(c, APPLY, apply_body(c), change=twice("Request-Time"))),
    ("Signature-twice", P, lambda c: signed(c, APPLY, apply_body(c), change=twice("Signature"))),
    ("Signature-not-pairs", P, lambda c: signed(c, APPLY, apply_body(c), change=with_header("Signature", "garbage"))),
    ("Signature-no-keyVersion", P, lambda c: signed(
        c, APPLY, apply_body(c), change=with_header("Signature", "algorithm=RSA256, signature=abc"))),
    ("Signature-repeated-pair", P, lambda c: signed(
        c, APPLY, apply_body(c), change=lambda h: with_header("Signature", h["Signature"] + ", keyVersion=2")(h))),
    ("Signature-garbled", BAD_SIGNATURE, lambda c: signed(c, APPLY, apply_body(c), change=garbled)),
    ("Signature-not-base64", BAD_SIGNATURE, lambda c: signed(
        c, APPLY, apply_body(c), change=with_header("Signature", "algorithm=RSA256, keyVersion=1, signature=%%%"))),
    ("Signature-of-another-body", BAD_SIGNATURE, lambda c: signed(
        c, APPLY, apply_body(c), change=signature_of(c, APPLY, apply_body(c, extendInfo="x")))),
    ("Signature-HS256", BAD_SIGNATURE, lambda c: signed(
        c, APPLY, apply_body(c), change=edited("Signature", "RSA256", "HS256"))),
    ("Signature-unknown-keyVersion", BAD_SIGNATURE, lambda c: signed(
        c, APPLY, apply_body(c), change=edited("Signature", "=1,", "=99,"))),
    ("Request-Time-garbage", P, lambda c: signed(
        c, APPLY, apply_body(c), change=with_header("Request-Time", "yesterday at noon"))),
    ("Request-Time-future", BAD_SIGNATURE, lambda c: signed(c, APPLY, apply_body(c), skew=HOUR)),
    ("Request-Time-past", BAD_SIGNATURE, lambda c: signed(c, APPLY, apply_body(c), skew=-HOUR)),
    ("Request-Time-epoch-past", BAD_SIGNATURE, lambda c: signed(c, APPLY, apply_body(c), change=with_header(
        "Request-Time", str(int((datetime.now(UTC) - HOUR).timestamp() * 1000))))),
    # Unsigned, an unknown client is a bad signature; a Client-Id no client can have is refused unread.
    ("Client-Id-unknown", BAD_SIGNATURE, lambda c: signed(c, INQUIRY, token_body(c), change=with_header(
        "Client-Id", "2022999999999999"))),
    ("Client-Id-non-ascii", P, lambda c: signed(c, INQUIRY, token_body(c), change=with_header(
        "Client-Id", "clïent-\u00e9"))),
    ("Client-Id-with-space", P, lambda c: signed(c, INQUIRY, token_body(c), change=with_header(
        "Client-Id", "2022 000000000001"))),
    ("Client-Id-too-long", P, lambda c: signed(c, INQUIRY, token_body(c), change=with_header("Client-Id", "2" * 129))),
    ("authClientId-not-the-header", "INVALID_AUTH_CLIENT", lambda c: apply(c, authClientId=OTHER_CLIENT_ID)),
    # -- v1 spellings -----------------------------------------------------------------------------------
    ("v1-not-json", P, lambda c: signed(c, APPLY_V1, b"{grantType: AUTHORIZATION_CODE}")),
    ("v1-duplicate-accessToken", P, lambda c: signed(
        c, CANCEL_V1, extra(v1_token_body(c), b'"accessToken": "another"'))),
    ("v1-lone-surrogate", P, lambda c: signed(c, INQUIRY_V1, extra(
        v1_token_body(c), b'"e": "\\ud834"'))),
    ("v1-no-Signature", P, lambda c: signed(c, CANCEL_V1, v1_token_body(c), change=without("Signature"))),
    ("v1-Signature-garbled", BAD_SIGNATURE, lambda c: signed(c, CANCEL_V1, v1_token_body(c), change=garbled)),
    # -- Wallet API -------------------------------------------------------------------------------------
    ("wallet-not-json", P, lambda c: plain(GET_AUTH_CODE, b"userId=" + USER_ID.encode())),
    ("wallet-json-array", P, lambda c: plain(GET_AUTH_CODE, b"[" + code_body() + b"]")),
    ("wallet-duplicate-userId", P, lambda c: plain(GET_AUTH_CODE, extra(code_body(), b'"userId": "2088000000002"'))),
    ("wallet-scopes-string", P, lambda c: plain(GET_AUTH_CODE, code_body(scopes="auth_base"))),
    ("wallet-null-userId", P, lambda c: plain(GET_AUTH_CODE, code_body(userId=None))),
    ("wallet-long-userId", P, lambda c: plain(GET_AUTH_CODE, code_body(userId="2" * 129))),
    ("wallet-lone-surrogate-userId", P, lambda c: plain(
        GET_AUTH_CODE, extra(code_body(userId=DROP), b'"userId": "\\ud800"'))),
    ("wallet-1MiB", P, lambda c: plain(GET_AUTH_CODE, code_body(padding="p" * KIB * KIB))),
    ("wallet-text-plain", P, lambda c: plain(GET_AUTH_CODE, code_body(), content_type="text/plain")),
    ("wallet-control-chars-userId", "USER_NOT_EXIST", lambda c: plain(GET_AUTH_CODE, code_body(userId="\x00\x1b\x7f"))),
    ("wallet-unicode-appId", "INVALID_APP", lambda c: plain(GET_AUTH_CODE, code_body(appId="アプリ-🧩"))),
    ("wallet-consented-string", P, lambda c: plain(OPEN_USER_INFO, fields(
        {"userId": USER_ID, "appId": APP_ID}, consented="yes"))),
    ("wallet-list-number", P, lambda c: plain(LIST_AUTHORIZATIONS, b"2088000000000001")),
]


def extra(body: bytes, member: bytes) -> bytes:
    """`body` with one more member, written as raw JSON text (for what json.dumps would never write)."""
    return body[:-1] + b", " + member + b"}"


def padded(body: bytes, size: int) -> bytes:
    """`body` with an unknown field making it exactly `size` bytes long."""
    stub = body[:-1] + b', "padding": ""}'
    return stub[:-2] + b"p" * (size - len(stub)) + b'"}'


def send(url: str, sent: Sent) -> tuple[int, dict[str, str], bytes]:
    """Raw bytes and raw headers, repeated ones included, over one HTTP/1.1 connection."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    try:
        connection.putrequest("POST", sent.path, skip_accept_encoding=True)
        for name, value in sent.headers:
            connection.putheader(name, value.encode("utf-8"))
        connection.putheader("Content-Length", str(len(sent.body)))
        connection.endheaders(sent.body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("bad-input")) as api:
        yield api


@pytest.fixture(scope="module")
def context(served: ServedApi) -> Context:
    def issue_code() -> str:
        status, _, body = send(served.url, plain(GET_AUTH_CODE, code_body(scopes=["auth_base", "USER_ID"])))
        assert status == 200
        return json.loads(body)["authCode"]

    pair = served.merchant().apply_token(issue_code(), APP_ID)
    return Context(served, issue_code(), pair.access_token, pair.refresh_token)


@pytest.fixture(scope="module")
def tables(served: ServedApi) -> Any:
    return Tables(served.state["dynamodbEndpoint"]).client


@pytest.mark.parametrize(("expected", "build"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_gets_its_code_and_changes_nothing(context: Context, tables: Any, expected: str,
                                                    build: Callable[[Context], Sent]) -> None:
    sent = build(context)
    before = snapshot(tables)
    status, headers, raw = send(context.served.url, sent)
    after = snapshot(tables)

    assert status == 200, raw[:300]
    text = raw.decode("utf-8")
    result = json.loads(text)["result"]
    assert result["resultCode"] == expected, result
    assert result["resultStatus"] == ("S" if expected == S else F)
    assert "Traceback" not in text and "File \"" not in text
    if not sent.path.startswith("/wallet/"):
        assert "Signature" in headers, "every Open API answer is signed, refusals included"
    assert after == before, "a request changed the tables"


def test_the_matrix_covers_every_kind_the_issue_names(figures: list[str]) -> None:
    kinds = ("not-json", "json-array", "json-number", "-number", "no-", "long-", "null-", "unknown-fields",
             "unicode", "control-chars", "body-1MiB", "duplicate-", "text-plain", "-twice", "garbled",
             "Request-Time-future", "Request-Time-past")
    ids = [case[0] for case in CASES]
    for kind in kinds:
        assert any(kind in case_id for case_id in ids), kind
    assert len(set(ids)) == len(ids)
    codes = sorted({case[1] for case in CASES})
    figures.append(f"bad-input matrix: {len(CASES)} malformed requests over HTTP, {len(codes)} result codes, "
                   "every table byte-identical after each")

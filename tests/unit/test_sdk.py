"""The merchant SDK against the real handlers: the flow, v1, typed errors, and answers it must refuse."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from miniauth_sdk import (
    PATHS,
    MerchantClient,
    OpenApiError,
    RawResponse,
    ResponseVerificationError,
    TransportError,
)

from support import (
    APP_ID,
    BASE_URL,
    CLIENT_ID,
    MERCHANT_KEYS,
    USER_ID,
    WALLET_KEY,
    Api,
    FakeClock,
    InProcessTransport,
    merchant,
    new_key,
    private_pem,
    public_pem,
)


def test_the_whole_merchant_flow(api: Api, clock: FakeClock) -> None:
    sdk = merchant(api)
    pair = sdk.apply_token(api.auth_code(["auth_user"]), APP_ID)
    assert pair.customer_id == USER_ID
    assert pair.access_token_expiry_time.utcoffset() is not None
    assert pair.refresh_token_expiry_time > pair.access_token_expiry_time

    info = sdk.inquiry_user_info(pair.access_token, APP_ID)
    assert info.user_id == USER_ID and info.status
    assert info.get("nickName") and "loginIdInfos" not in info.fields

    fresh = sdk.refresh(pair.refresh_token, APP_ID)
    assert fresh.access_token != pair.access_token
    clock.advance(31)  # past the retry window: the old refresh token is now a reuse
    with pytest.raises(OpenApiError) as reused:
        sdk.refresh(pair.refresh_token, APP_ID, extend_info="again")
    assert reused.value.result_code == "USED_REFRESH_TOKEN"

    # Reuse of a refresh token revoked the whole grant; start again and revoke explicitly.
    pair = sdk.apply_token(api.auth_code(), APP_ID)
    sdk.revoke(pair.access_token, APP_ID)
    sdk.revoke(pair.access_token, APP_ID)  # idempotent
    with pytest.raises(OpenApiError) as revoked:
        sdk.inquiry_user_info(pair.access_token, APP_ID)
    assert revoked.value.result_code == "INVALID_ACCESS_TOKEN"


def test_requests_are_signed_as_an_independent_verifier_expects(api: Api) -> None:
    sdk = merchant(api)
    sdk.apply_token(api.auth_code(), APP_ID, extend_info='{"note":"ünïcode"}')
    url, body, headers = sdk._transport.requests[-1]  # type: ignore[attr-defined]
    path = PATHS["v2"]["applyToken"]
    assert url == BASE_URL + path
    assert json.loads(body) == {"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE",
                                "authCode": json.loads(body)["authCode"], "extendInfo": '{"note":"ünïcode"}'}
    assert headers["Client-Id"] == CLIENT_ID and headers["Content-Type"].startswith("application/json")
    value = headers["Signature"].split("signature=")[1]
    content = f"POST {path}\n{CLIENT_ID}.{headers['Request-Time']}.".encode() + body
    MERCHANT_KEYS[CLIENT_ID].public_key().verify(  # raises if the SDK's signature is not the scheme's
        base64.b64decode(unquote(value)), content, padding.PKCS1v15(), hashes.SHA256()
    )


def test_v1_paths_fields_and_codes(api: Api) -> None:
    sdk = merchant(api, api_version="v1")
    pair = sdk.apply_token(api.auth_code(), APP_ID)
    assert sdk.inquiry_user_info(pair.access_token, APP_ID).user_id == USER_ID
    sdk.revoke(pair.access_token, None)  # v1 may leave referenceClientId out

    sent = [(url[len(BASE_URL):], json.loads(body)) for url, body, _ in sdk._transport.requests]  # type: ignore
    assert [path for path, _ in sent] == list(PATHS["v1"].values())
    assert all("authClientId" not in body and "appId" not in body for _, body in sent)
    assert sent[0][1]["referenceClientId"] == APP_ID and "referenceClientId" not in sent[2][1]

    with pytest.raises(OpenApiError) as unknown:
        sdk.apply_token("no-such-code", APP_ID)
    assert unknown.value.result_code == "INVALID_CODE"  # the v1 spelling


def test_a_refusal_is_a_typed_error_with_the_result_code(api: Api) -> None:
    with pytest.raises(OpenApiError) as refused:
        merchant(api).apply_token("no-such-code", APP_ID)
    error = refused.value
    assert (error.result_code, error.result_status, error.http_status) == ("INVALID_AUTHCODE", "F", 200)
    assert not error.retryable and error.result_message and error.body["result"]["resultCode"] == error.result_code
    assert "INVALID_AUTHCODE" in str(error)


def _resign_nothing(change: dict[str, str]) -> Any:
    def tamper(raw: RawResponse) -> RawResponse:
        headers = {**raw.headers, **change}
        return dataclasses.replace(raw, headers={k: v for k, v in headers.items() if v != "<drop>"})

    return tamper


def _body(edit: Any) -> Any:
    return lambda raw: dataclasses.replace(raw, body=edit(raw.body))


ALTERATIONS = {
    "one byte of the body": _body(lambda b: b.replace(b"e", b"E", 1)),
    "the result status": _body(lambda b: b.replace(b'"F"', b'"S"', 1).replace(b'"S"', b'"U"', 1)),
    "a field added to the body": _body(lambda b: b[:-1] + b',"extra":1}'),
    "whitespace in the body": _body(lambda b: b + b" "),
    "Response-Time moved": _resign_nothing({"Response-Time": "2026-11-22T02:00:00.001+00:00"}),
    "Response-Time unreadable": _resign_nothing({"Response-Time": "yesterday"}),
    "Response-Time missing": _resign_nothing({"Response-Time": "<drop>"}),
    "Client-Id of another merchant": _resign_nothing({"Client-Id": "2022000000000002"}),
    "Signature missing": _resign_nothing({"Signature": "<drop>"}),
    "Signature garbled": _resign_nothing({"Signature": "algorithm=RSA256, keyVersion=1, signature=bm90IGl0"}),
    "Signature not key=value": _resign_nothing({"Signature": "RSA256 bm90IGl0"}),
    "another algorithm": _resign_nothing({"Signature": "algorithm=HS256, keyVersion=1, signature=bm90IGl0"}),
}


@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
def test_an_altered_answer_fails_verification(api: Api, alteration: str) -> None:
    tamper = ALTERATIONS[alteration]
    with pytest.raises(ResponseVerificationError):
        merchant(api, tamper=tamper).apply_token(api.auth_code(), APP_ID)
    with pytest.raises(ResponseVerificationError):  # a refusal is checked as strictly as a success
        merchant(api, tamper=tamper).apply_token("no-such-code", APP_ID)


def test_an_answer_signed_for_another_path_is_refused(api: Api) -> None:
    """A genuine signed answer replayed onto another operation must not verify."""
    sdk = merchant(api)
    pair = sdk.apply_token(api.auth_code(), APP_ID)
    captured: list[RawResponse] = []
    merchant(api, tamper=lambda raw: captured.append(raw) or raw).revoke(pair.access_token, APP_ID)
    replayed = merchant(api, tamper=lambda raw: captured[0])
    with pytest.raises(ResponseVerificationError):
        replayed.inquiry_user_info(pair.access_token, APP_ID)


def test_a_stale_or_foreign_answer_is_refused(api: Api, clock: FakeClock) -> None:
    late = FakeClock(clock.now() + timedelta(minutes=10))
    with pytest.raises(ResponseVerificationError, match="Response-Time"):
        merchant(api, clock=late, response_time_skew=300).apply_token("no-such-code", APP_ID)
    with pytest.raises(ResponseVerificationError, match="signature does not match"):
        merchant(api, wallet_public_keys=new_key().public_key()).apply_token("no-such-code", APP_ID)
    with pytest.raises(ResponseVerificationError, match="keyVersion"):
        merchant(api, wallet_public_keys={"7": WALLET_KEY.public_key()}).apply_token("no-such-code", APP_ID)


def test_wallet_key_rotation_seen_by_the_merchant(api: Api, rotated_wallet_key: Any) -> None:
    both = {"1": public_pem(WALLET_KEY), "2": public_pem(rotated_wallet_key)}
    assert merchant(api, wallet_public_keys=both).apply_token(api.auth_code(), APP_ID).customer_id == USER_ID
    with pytest.raises(ResponseVerificationError, match="keyVersion"):
        merchant(api, wallet_public_keys={"1": public_pem(WALLET_KEY)}).apply_token(api.auth_code(), APP_ID)


def test_merchant_key_rotation(api: Api) -> None:
    from miniauth import runtime
    from miniauth.storage.items import ClientItem

    second = new_key()
    runtime.store().update(ClientItem, CLIENT_ID, public_keys={"2": public_pem(second)})  # the in-memory store
    runtime.store().clear_cache()
    with pytest.raises(OpenApiError) as old:
        merchant(api).apply_token(api.auth_code(), APP_ID)
    assert old.value.result_code == "INVALID_SIGNATURE"
    rotated = MerchantClient(BASE_URL, CLIENT_ID, private_pem(second, pkcs1=True), public_pem(WALLET_KEY),
                             key_version="2", transport=InProcessTransport(api), clock=runtime.clock())
    assert rotated.apply_token(api.auth_code(), APP_ID).customer_id == USER_ID


def test_a_lost_answer_is_retried_and_leaves_one_live_pair(api: Api) -> None:
    """The first applyToken reaches the wallet but its answer is lost; with the wallet's retry window declared,
    the retry gets the only live pair."""
    delivered: list[RawResponse] = []

    def lose_first(raw: RawResponse) -> RawResponse:
        delivered.append(raw)
        if len(delivered) == 1:
            raise TransportError("connection reset")
        return raw

    naps: list[float] = []
    sdk = merchant(api, tamper=lose_first, retries=1, backoff=0.5, retry_window=30, sleep=naps.append)
    pair = sdk.apply_token(api.auth_code(), APP_ID)
    assert naps == [0.5] and len(delivered) == 2
    first_requests = sdk._transport.requests  # type: ignore[attr-defined]
    assert first_requests[0][1] == first_requests[1][1]
    # The clock stood still, yet the retry is signed anew: its own Request-Time, so not a replay.
    assert first_requests[0][2]["Request-Time"] != first_requests[1][2]["Request-Time"]

    lost = json.loads(delivered[0].body)["accessToken"]
    assert lost != pair.access_token
    with pytest.raises(OpenApiError) as dead:
        merchant(api).inquiry_user_info(lost, APP_ID)
    assert dead.value.result_code == "INVALID_ACCESS_TOKEN"
    assert merchant(api).inquiry_user_info(pair.access_token, APP_ID).user_id == USER_ID


# -- which retries are safe (README, "Merchant SDK") ------------------------------------------------------


LOST, REFUSED, THROTTLED_BY_GATEWAY, BAD_GATEWAY = "lost", "refused", "gateway-429", "gateway-502"


class Failing:
    """A transport that fails its first requests as `failures` say, then carries them to the real handlers.

    refused: the connection is refused, nothing is sent; gateway-429: the gateway throttles it, no function
    runs; lost: the wallet acts but the answer never arrives; gateway-502: the function ran, the gateway fails.
    """

    def __init__(self, api: Api, *failures: str) -> None:
        self.inner = InProcessTransport(api)
        self.failures = list(failures)
        self.sent = 0

    def __call__(self, url: str, body: bytes, headers: Any) -> RawResponse:
        self.sent += 1
        failure = self.failures.pop(0) if self.failures else None
        if failure == REFUSED:
            raise TransportError("connection refused", unsent=True)
        if failure == THROTTLED_BY_GATEWAY:
            return RawResponse(429, b'{"message":"Too Many Requests"}', {})
        answer = self.inner(url, body, headers)
        if failure == LOST:
            raise TransportError("timed out")
        if failure == BAD_GATEWAY:
            return RawResponse(502, b'{"message":"Internal server error"}', {})
        return answer


def _grant_status(dynamodb: Any, code: str) -> str:
    from miniauth import credentials
    from miniauth.config import settings

    row = dynamodb.get_item(TableName=settings().tables.grants, Key={"grantId": {"S": credentials.digest(code)}})
    return row["Item"]["status"]["S"]


@pytest.fixture
def no_retry_window(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    """The wallet deployed with RetryGraceSeconds=0, which the template allows."""
    from miniauth import runtime

    monkeypatch.setenv("RETRY_GRACE_SECONDS", "0")
    runtime.reset()
    return api


def test_without_a_retry_window_a_lost_apply_token_answer_is_not_retried(no_retry_window: Api, dynamodb: Any) -> None:
    """The SDK's defaults against RetryGraceSeconds=0: a retry would be a replay that revokes the user's grant."""
    api = no_retry_window
    naps: list[float] = []
    code = api.auth_code(["auth_user"])
    transport = Failing(api, LOST)
    with pytest.raises(TransportError):
        merchant(api, transport=transport, sleep=naps.append).apply_token(code, APP_ID)
    assert transport.sent == 1 and naps == []
    assert _grant_status(dynamodb, code) == "ACTIVE"  # redeemed once, not revoked by a replay

    pair = merchant(api).apply_token(api.auth_code(["auth_user"]), APP_ID)
    transport = Failing(api, LOST)
    with pytest.raises(TransportError):
        merchant(api, transport=transport, sleep=naps.append).refresh(pair.refresh_token, APP_ID)
    assert transport.sent == 1 and naps == []


@pytest.mark.parametrize("failure", [REFUSED, THROTTLED_BY_GATEWAY])
def test_apply_token_is_retried_when_the_wallet_provably_did_nothing(no_retry_window: Api, failure: Any) -> None:
    api = no_retry_window
    transport = Failing(api, failure)
    naps: list[float] = []
    pair = merchant(api, transport=transport, sleep=naps.append).apply_token(api.auth_code(), APP_ID)
    assert transport.sent == 2 and naps == [0.2] and pair.customer_id == USER_ID


def _throttled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from miniauth import runtime
    from miniauth.domain.ports import StorageThrottled

    store = runtime.store()
    real = store.auth_code
    calls: list[str] = []

    def throttled(code_hash: str) -> Any:
        calls.append(code_hash)
        if len(calls) == 1:
            raise StorageThrottled("ThrottlingException")
        return real(code_hash)

    monkeypatch.setattr(store, "auth_code", throttled)


@pytest.mark.parametrize("failure", ["timeout", "gateway-502", "signed-U"])
def test_apply_token_unknown_outcomes_are_final_without_a_window_and_retried_with_one(
    api: Api, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    naps: list[float] = []

    def attempt(**options: Any) -> Any:
        if failure == "signed-U":
            _throttled_once(monkeypatch)
            transport = Failing(api)
        else:
            transport = Failing(api, LOST if failure == "timeout" else BAD_GATEWAY)
        client = merchant(api, transport=transport, sleep=naps.append, **options)
        return transport, client.apply_token(api.auth_code(), APP_ID)

    with pytest.raises((TransportError, OpenApiError)) as unknown:
        attempt()
    assert unknown.value.retryable and naps == []

    transport, pair = attempt(retry_window=30)
    assert transport.sent == 2 and naps == [0.2] and pair.customer_id == USER_ID


def test_idempotent_operations_retry_every_unknown_outcome(api: Api) -> None:
    pair = merchant(api).apply_token(api.auth_code(["auth_user"]), APP_ID)
    for failures in ((LOST,), (BAD_GATEWAY,), (THROTTLED_BY_GATEWAY, LOST)):
        transport = Failing(api, *failures)
        info = merchant(api, transport=transport, retries=2, sleep=lambda _: None).inquiry_user_info(
            pair.access_token, APP_ID)
        assert info.user_id == USER_ID and transport.sent == len(failures) + 1
    transport = Failing(api, LOST)
    merchant(api, transport=transport, sleep=lambda _: None).revoke(pair.access_token, APP_ID)
    assert transport.sent == 2


def test_a_declared_retry_window_must_hold_the_whole_retry_schedule(api: Api) -> None:
    with pytest.raises(ValueError, match="retry_window"):
        merchant(api, retry_window=15)  # 10 s x 2 attempts + 0.2 s backoff
    with pytest.raises(ValueError, match="retry_window"):
        merchant(api, retry_window=30, timeout=5, retries=5)
    assert merchant(api, retry_window=30).retry_window == 30
    assert merchant(api, retry_window=0).retry_window is None  # RetryGraceSeconds=0: no window


def test_unsigned_gateway_answers(api: Api) -> None:
    def gateway(status: int) -> Any:
        return lambda raw: RawResponse(status, b'{"message":"Missing Authentication Token"}', {})

    naps: list[float] = []
    with pytest.raises(TransportError) as forbidden:
        merchant(api, tamper=gateway(403), sleep=naps.append).revoke("t" * 40, APP_ID)
    assert forbidden.value.http_status == 403 and not forbidden.value.retryable and naps == []

    sdk = merchant(api, tamper=gateway(502), retries=2, sleep=naps.append)
    with pytest.raises(TransportError) as bad_gateway:
        sdk.revoke("t" * 40, APP_ID)
    assert bad_gateway.value.retryable and naps == [0.2, 0.4]
    assert len(sdk._transport.requests) == 3  # type: ignore[attr-defined]


def test_retryable_results_are_retried_then_raised(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from miniauth import runtime
    from miniauth.domain.ports import StorageThrottled

    reads: list[str] = []

    def throttled(*_: Any, **__: Any) -> Any:
        reads.append("token")
        raise StorageThrottled("ProvisionedThroughputExceededException")

    monkeypatch.setattr(runtime.store(), "token", throttled)
    naps: list[float] = []
    with pytest.raises(OpenApiError) as limited:
        merchant(api, retries=2, sleep=naps.append).inquiry_user_info("t" * 40, APP_ID)
    assert (limited.value.result_code, limited.value.result_status) == ("REQUEST_TRAFFIC_EXCEED_LIMIT", "U")
    assert limited.value.retryable and len(reads) == 3 and naps == [0.2, 0.4]


def test_construction_and_files(api: Api, tmp_path: Any) -> None:
    key_file, wallet_file = tmp_path / "merchant.pem", tmp_path / "wallet.pub.pem"
    key_file.write_text(private_pem(MERCHANT_KEYS[CLIENT_ID], pkcs1=True))
    wallet_file.write_text(public_pem(WALLET_KEY, pkcs1=True))
    from miniauth import runtime

    sdk = MerchantClient.from_files(BASE_URL + "/", CLIENT_ID, key_file, wallet_file,
                                    transport=InProcessTransport(api), clock=runtime.clock())
    pair = sdk.apply_token(api.auth_code(), APP_ID)
    assert pair.access_token not in repr(pair) and pair.refresh_token not in repr(pair)
    assert "PRIVATE" not in repr(sdk) and CLIENT_ID in repr(sdk)

    with pytest.raises(ValueError, match="app_id"):
        sdk.apply_token("code", "")
    with pytest.raises(ValueError, match="api_version"):
        MerchantClient(BASE_URL, CLIENT_ID, key_file.read_text(), wallet_file.read_text(), api_version="v3")
    with pytest.raises(ValueError):
        MerchantClient(BASE_URL, CLIENT_ID, "not a pem", wallet_file.read_text())

"""End to end over real HTTP: `miniauth serve` in a subprocess, driven by the merchant SDK and `miniauth demo`.

Every Open API result code a caller can reach through the gateway is produced here at least once.
INVALID_API cannot be: the gateway answers an unknown route itself (403), before any function runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from miniauth_sdk import MerchantClient, OpenApiError, TransportError, UrllibTransport

from served import ServedApi
from stored import Tables
from support import (
    APP_ID,
    BARE_USER_ID,
    CLIENT_ID,
    OTHER_APP_ID,
    OTHER_CLIENT_ID,
    ROOT,
    STRANGER_KEY,
    SUSPENDED_CLIENT_ID,
    USER_ID,
    private_pem,
    snapshot,
)

pytestmark = pytest.mark.e2e
RETRY_GRACE = 1
PAST_THE_WINDOW = RETRY_GRACE + 1.2  # the service counts whole seconds, so a window lasts up to one second more


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("served"), "--parameter-overrides",
                   f"RetryGraceSeconds={RETRY_GRACE}") as api:
        yield api


@pytest.fixture(scope="module")
def default_window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """The template's own retry window (30 s): a burst of redemptions always lands inside it."""
    with ServedApi(tmp_path_factory.mktemp("default")) as api:
        yield api


SHORT_TTL = 3
PAST_SHORT_TTL = SHORT_TTL + 0.5


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """Lifetimes of a few seconds, so expiry is reached by waiting.

    Time is counted in whole seconds, so a lifetime of N seconds lasts between N-1 and N seconds of
    wall time. One second left a slow machine no time to redeem a fresh code; three leave it two.
    """
    with ServedApi(tmp_path_factory.mktemp("short"), "--parameter-overrides", f"AuthCodeTtlSeconds={SHORT_TTL}",
                   f"AccessTokenTtlSeconds={SHORT_TTL}", f"RefreshTokenTtlSeconds={SHORT_TTL}",
                   "RetryGraceSeconds=0") as api:
        yield api


def wallet(api: ServedApi, path: str, body: dict[str, Any]) -> dict[str, Any]:
    raw = UrllibTransport()(api.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    assert raw.status == 200, raw.body
    return json.loads(raw.body)


def refused(call: Callable[[], Any]) -> str:
    with pytest.raises(OpenApiError) as error:
        call()
    assert error.value.http_status == 200 and error.value.result_status == "F"
    return error.value.result_code


def test_server_starts_within_seconds_and_names_its_routes(served: ServedApi) -> None:
    assert served.started_in < 60
    text = "".join(served.output)
    for path in ("/v2/authorizations/applyToken", "/v1/authorizations/cancelToken", "/wallet/getAuthCode"):
        assert path in text
    assert Path(served.state["walletPublicKey"]).is_file()


def test_the_whole_flow_with_the_sdk(served: ServedApi) -> None:
    sdk = served.merchant()
    pair = sdk.apply_token(served.auth_code(["auth_user"]), APP_ID)
    assert sdk.inquiry_user_info(pair.access_token, APP_ID).get("nickName") == "Ana"
    fresh = sdk.refresh(pair.refresh_token, APP_ID)
    time.sleep(PAST_THE_WINDOW)
    assert refused(lambda: sdk.refresh(pair.refresh_token, APP_ID)) == "USED_REFRESH_TOKEN"
    assert refused(lambda: sdk.inquiry_user_info(fresh.access_token, APP_ID)) == "INVALID_ACCESS_TOKEN"

    pair = sdk.apply_token(served.auth_code(), APP_ID)
    sdk.revoke(pair.access_token, APP_ID)
    assert refused(lambda: sdk.inquiry_user_info(pair.access_token, APP_ID)) == "INVALID_ACCESS_TOKEN"


def test_a_v1_path_end_to_end(served: ServedApi) -> None:
    sdk = served.merchant(api_version="v1")
    pair = sdk.apply_token(served.auth_code(), APP_ID)
    assert sdk.inquiry_user_info(pair.access_token, APP_ID).user_id == USER_ID
    sdk.revoke(pair.access_token, APP_ID)
    assert refused(lambda: sdk.apply_token("not-a-code", APP_ID)) == "INVALID_CODE"
    assert refused(lambda: sdk.apply_token(served.auth_code(), "2021000000000002")) == "REFERENCE_CLIENT_ID_NOT_MATCH"
    code = served.auth_code()
    sdk.apply_token(code, APP_ID)
    time.sleep(PAST_THE_WINDOW)
    assert refused(lambda: sdk.apply_token(code, APP_ID)) == "USED_CODE"


def _stranger(api: ServedApi, client_id: str) -> MerchantClient:
    return MerchantClient(api.url, client_id, private_pem(STRANGER_KEY), Path(api.state["walletPublicKey"]).read_text())


def _signed_raw(api: ServedApi, path: str, body: dict[str, Any]) -> Any:
    sdk = api.merchant()
    data = json.dumps(body).encode()
    return sdk.verify_response(path, UrllibTransport()(api.url + path, data, sdk.signed_request(path, data)))


def _used_code(api: ServedApi) -> str:
    sdk, code = api.merchant(), api.auth_code()
    sdk.apply_token(code, APP_ID)
    time.sleep(PAST_THE_WINDOW)
    return refused(lambda: sdk.apply_token(code, APP_ID))


def _used_refresh(api: ServedApi) -> str:
    sdk = api.merchant()
    pair = sdk.apply_token(api.auth_code(), APP_ID)
    sdk.refresh(pair.refresh_token, APP_ID)
    time.sleep(PAST_THE_WINDOW)
    return refused(lambda: sdk.refresh(pair.refresh_token, APP_ID))


REFUSALS: dict[str, Callable[[ServedApi], str]] = {
    "PARAM_ILLEGAL": lambda api: refused(lambda: _signed_raw(api, "/v2/authorizations/applyToken",
                                                             {"appId": APP_ID, "authClientId": CLIENT_ID})),
    "INVALID_SIGNATURE": lambda api: refused(lambda: _stranger(api, CLIENT_ID).apply_token("c", APP_ID)),
    # A body authClientId naming another client; an unknown Client-Id is INVALID_SIGNATURE (see below).
    "INVALID_AUTH_CLIENT": lambda api: refused(lambda: _signed_raw(api, "/v2/authorizations/applyToken", {
        "appId": APP_ID, "authClientId": OTHER_CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": "c"})),
    "INVALID_AUTH_CLIENT_STATUS": lambda api: refused(
        lambda: api.merchant(SUSPENDED_CLIENT_ID).apply_token("c", "2021000000000009")),
    "ACCESS_DENIED": lambda api: refused(lambda: api.merchant().apply_token(api.auth_code(), OTHER_APP_ID)),
    "INVALID_AUTHCODE": lambda api: refused(lambda: api.merchant().apply_token("not-a-code", APP_ID)),
    "USED_AUTHCODE": _used_code,
    "INVALID_REFRESH_TOKEN": lambda api: refused(lambda: api.merchant().refresh("r" * 64, APP_ID)),
    "USED_REFRESH_TOKEN": _used_refresh,
    "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE": lambda api: refused(
        lambda: api.merchant(OTHER_CLIENT_ID).refresh("r" * 64, OTHER_APP_ID)),
    "INVALID_ACCESS_TOKEN": lambda api: refused(lambda: api.merchant().inquiry_user_info("a" * 64, APP_ID)),
}


@pytest.mark.parametrize("expected", sorted(REFUSALS))
def test_each_refusal_over_http(served: ServedApi, expected: str) -> None:
    assert REFUSALS[expected](served) == expected


def test_an_unknown_client_is_answered_like_a_bad_signature_over_http(served: ServedApi) -> None:
    unknown = _stranger(api=served, client_id="2022999999999999")
    with pytest.raises(OpenApiError) as stranger:
        unknown.apply_token("c", APP_ID)
    with pytest.raises(OpenApiError) as forged:
        _stranger(served, CLIENT_ID).apply_token("c", APP_ID)
    assert stranger.value.result_code == forged.value.result_code == "INVALID_SIGNATURE"
    assert stranger.value.result_message == forged.value.result_message


def _resend(api: ServedApi, path: str, body: dict[str, Any]) -> tuple[dict[str, Any], OpenApiError]:
    """One signed request sent twice, byte for byte; the first answer's body and the second's refusal."""
    sdk = api.merchant()
    data = json.dumps(body).encode()
    headers = sdk.signed_request(path, data)
    first = sdk.verify_response(path, UrllibTransport()(api.url + path, data, headers))
    with pytest.raises(OpenApiError) as again:
        sdk.verify_response(path, UrllibTransport()(api.url + path, data, headers))
    return first, again.value


def test_a_byte_identical_resend_is_refused_over_http(served: ServedApi) -> None:
    """A captured request replayed inside the Request-Time window: refused, and it changes nothing."""
    tables = Tables(served.state["dynamodbEndpoint"]).client
    code = served.auth_code(["auth_user"])
    apply = {"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE", "authCode": code}
    sdk = served.merchant()
    path, data = "/v2/authorizations/applyToken", json.dumps(apply).encode()
    headers = sdk.signed_request(path, data)
    pair = sdk.verify_response(path, UrllibTransport()(served.url + path, data, headers))
    before = snapshot(tables)
    with pytest.raises(OpenApiError) as replayed:
        sdk.verify_response(path, UrllibTransport()(served.url + path, data, headers))
    assert (replayed.value.result_code, replayed.value.result_status) == ("INVALID_SIGNATURE", "F")
    assert "already received" in replayed.value.result_message and "accessToken" not in replayed.value.body
    assert snapshot(tables) == before  # no second pair minted, the first not revoked

    inquiry = {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": pair["accessToken"]}
    info, again = _resend(served, "/v2/users/inquiryUserInfo", inquiry)
    assert info["userInfo"]["nickName"] == "Ana"
    assert again.result_code == "INVALID_SIGNATURE" and "userInfo" not in again.body
    # The merchant signing anew (as the SDK's retries do) is served as before.
    assert sdk.inquiry_user_info(pair["accessToken"], APP_ID).get("nickName") == "Ana"


def test_expiry_over_http(short_lived: ServedApi) -> None:
    sdk = short_lived.merchant()
    code = short_lived.auth_code()
    pair = sdk.apply_token(short_lived.auth_code(), APP_ID)
    time.sleep(PAST_SHORT_TTL)
    assert refused(lambda: sdk.apply_token(code, APP_ID)) == "EXPIRED_AUTHCODE"
    assert refused(lambda: sdk.inquiry_user_info(pair.access_token, APP_ID)) == "EXPIRED_ACCESS_TOKEN"
    assert refused(lambda: sdk.refresh(pair.refresh_token, APP_ID)) == "EXPIRED_REFRESH_TOKEN"
    v1 = short_lived.merchant(api_version="v1")
    code = short_lived.auth_code()
    time.sleep(PAST_SHORT_TTL)
    assert refused(lambda: v1.apply_token(code, APP_ID)) == "EXPIRED_CODE"
    # The local tables keep expired rows, as AWS does for hours: DynamoDB Local's TTL would delete
    # them within seconds and turn these answers into INVALID_* by chance.
    ttl = Tables(short_lived.state["dynamodbEndpoint"]).client.describe_time_to_live(TableName="AuthCodesTable")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


def test_process_fail_when_the_user_is_gone(served: ServedApi) -> None:
    sdk = served.merchant()
    pair = sdk.apply_token(served.auth_code(user_id=BARE_USER_ID), APP_ID)
    users = Tables(served.state["dynamodbEndpoint"]).client
    users.delete_item(TableName="UsersTable", Key={"userId": {"S": BARE_USER_ID}})
    assert refused(lambda: sdk.inquiry_user_info(pair.access_token, APP_ID)) == "PROCESS_FAIL"


def test_unknown_exception_when_the_wallet_key_is_unusable(short_lived: ServedApi) -> None:
    """A broken wallet key document is a deployment fault: 500 UNKNOWN_EXCEPTION, no internals, unsigned."""
    document = short_lived.state_dir / "keys" / "wallet_keys.json"
    kept = document.read_text()
    try:
        document.write_text('{"currentKeyVersion": "1", "privateKeys": {}}')
        with pytest.raises(TransportError) as failed:
            short_lived.merchant(retries=0).inquiry_user_info("a" * 64, APP_ID)
        assert failed.value.http_status == 500
        sdk = short_lived.merchant()
        path, data = "/v2/users/inquiryUserInfo", json.dumps({"appId": APP_ID, "accessToken": "a" * 64}).encode()
        raw = UrllibTransport()(short_lived.url + path, data, sdk.signed_request(path, data))
        result = json.loads(raw.body)["result"]
        assert (raw.status, result["resultCode"], result["resultStatus"]) == (500, "UNKNOWN_EXCEPTION", "U")
        assert "privateKeys" not in raw.body.decode() and "Traceback" not in raw.body.decode()
    finally:
        document.write_text(kept)


def test_unknown_route_is_the_gateways_403(served: ServedApi) -> None:
    transport = UrllibTransport()
    for url in (served.url + "/v2/nothing/here", served.url + "/", served.url + "/v3/authorizations/applyToken"):
        raw = transport(url, b"{}", {"Content-Type": "application/json"})
        assert (raw.status, json.loads(raw.body)) == (403, {"message": "Missing Authentication Token"})
        assert raw.header("Signature") is None
    keys = served.state
    misplaced = MerchantClient.from_files(served.url + "/v9", CLIENT_ID, keys["merchantKeys"][CLIENT_ID],
                                          keys["walletPublicKey"], retries=0)
    with pytest.raises(TransportError) as gateway:
        misplaced.revoke("a" * 64, APP_ID)
    assert gateway.value.http_status == 403 and not gateway.value.retryable


def test_fifty_concurrent_redemptions_leave_one_working_token(default_window: ServedApi) -> None:
    """With a 1 s window a slow machine spreads the burst past it, and the late replay rightly revokes all."""
    served = default_window
    code = served.auth_code()
    sdk = served.merchant(retries=0, timeout=60)

    def redeem(_: int) -> str | None:
        try:
            return sdk.apply_token(code, APP_ID).access_token
        except OpenApiError as error:
            assert error.result_code == "USED_AUTHCODE", error
            return None

    with ThreadPoolExecutor(max_workers=50) as pool:
        tokens = [token for token in pool.map(redeem, range(50)) if token]
    assert tokens, "at least one redemption must win"
    working = []
    for token in tokens:
        try:
            sdk.inquiry_user_info(token, APP_ID)
            working.append(token)
        except OpenApiError as error:
            assert error.result_code == "INVALID_ACCESS_TOKEN"
    assert len(working) == 1, f"{len(tokens)} pairs issued, {len(working)} still work"


def test_miniauth_demo_exits_zero_against_the_server(served: ServedApi) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "miniauth_tools.cli", "demo", "--url", served.url, "--state-dir", str(served.state_dir),
         "--retry-grace", str(RETRY_GRACE)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "demo complete" in done.stdout and "[12/12]" in done.stdout
    assert all(secret not in done.stdout for secret in ("PRIVATE KEY",))


def test_signed_events_pass_the_signature_checks(served: ServedApi, tmp_path: Path) -> None:
    """`miniauth events --live` writes copies of events/ that a function accepts (as `sam local invoke` would)."""
    done = subprocess.run(
        [sys.executable, "-m", "miniauth_tools.cli", "events", "--live", "--state-dir", str(served.state_dir),
         "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still holds" not in done.stdout
    transport = UrllibTransport()
    order = ["inquiry_user_info_v2", "inquiry_user_info_v1", "apply_token_v2", "apply_token_v1", "revoke_v2",
             "revoke_v1"]
    for name in order:
        event = json.loads((tmp_path / f"{name}.json").read_text())
        original = json.loads((ROOT / "events" / f"{name}.json").read_text())
        assert set(event) == set(original) and "REPLACE_WITH" not in event["body"] + json.dumps(event["headers"])
        headers = {k: v for k, v in event["headers"].items() if k.lower() != "host"}
        raw = transport(served.url + event["path"], event["body"].encode(), headers)
        answer = json.loads(raw.body)["result"]["resultCode"]
        assert answer not in ("INVALID_SIGNATURE", "PARAM_ILLEGAL", "INVALID_AUTH_CLIENT"), (name, answer)
        if name.startswith(("inquiry", "apply_token_v2")):
            assert answer == "SUCCESS", (name, raw.body)
    wallet_event = json.loads((tmp_path / "get_auth_code.json").read_text())
    assert "Signature" not in wallet_event["headers"]


def test_make_run_prints_the_url_and_answers(tmp_path: Path) -> None:
    """The README's first command, with a free port so it cannot collide with a server already running."""
    command = ["make", "-s", "run", f"RUN_ARGS=--port 0 --workers 1 --state-dir {tmp_path}"]
    with ServedApi(tmp_path, command=command) as api:
        assert api.started_in < 60
        answer = wallet(api, "/wallet/getAuthCode", {"userId": USER_ID, "appId": APP_ID})
        assert answer["result"]["resultCode"] == "SUCCESS"


def test_miniauth_demo_starts_a_server_when_none_runs(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "miniauth_tools.cli", "demo", "--state-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "starting one for the demo" in done.stdout and "demo complete" in done.stdout
    assert not (tmp_path / "server.json").exists()  # the server it started is gone again


def test_serve_loads_a_data_file_instead_of_the_demo(tmp_path: Path) -> None:
    from miniauth_tools.admin import generate_key_pair

    merchant_private, merchant_public = generate_key_pair(tmp_path / "keys", "my_shop")
    wallet_private, _ = generate_key_pair(tmp_path / "keys", "wallet")
    (tmp_path / "data.json").write_text(json.dumps({
        "clients": [{"authClientId": "2022000000000042", "name": "My Shop", "allowedScopes": ["auth_user"],
                     "publicKeys": {"1": "keys/my_shop_public.pem"}}],
        "apps": [{"appId": "2021000000000042", "authClientId": "2022000000000042", "name": "My Mini Program"}],
        "users": [{"userId": "2088000000000042", "nickName": "Leo"}],
        "walletPrivateKey": "keys/wallet_private.pem",
    }))
    with ServedApi(tmp_path / "state", "--data", str(tmp_path / "data.json")) as api:
        assert "clients: 2022000000000042" in "".join(api.output)
        sdk = MerchantClient.from_files(api.url, "2022000000000042", merchant_private,
                                        tmp_path / "state" / "keys" / "wallet_public.pem")
        code = api.auth_code(["auth_user"], user_id="2088000000000042", app_id="2021000000000042")
        pair = sdk.apply_token(code, "2021000000000042")
        assert sdk.inquiry_user_info(pair.access_token, "2021000000000042").get("nickName") == "Leo"
        # CLIENT_ID is not in this data file: unknown, which an unsigned caller cannot tell from a bad signature.
        assert refused(lambda: _stranger(api, CLIENT_ID).apply_token("c", APP_ID)) == "INVALID_SIGNATURE"
    assert merchant_public.is_file() and wallet_private.is_file()

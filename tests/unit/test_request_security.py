"""Request security in process: replays refused, the wallet key loaded before any work, short keys refused,
and an unsigned caller unable to tell unknown, suspended and known clients apart."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography.hazmat.primitives.asymmetric import rsa

from miniauth import runtime, signing
from miniauth.config import settings
from miniauth.protocol import security
from miniauth.storage.items import ClientItem, RequestReplayItem

from support import (
    APP_ID,
    CLIENT_ID,
    MERCHANT_KEYS,
    STRANGER_KEY,
    SUSPENDED_CLIENT_ID,
    Answer,
    Api,
    FakeClock,
    public_pem,
    signed_headers,
    snapshot,
)

APPLY, INQUIRY = "/v2/authorizations/applyToken", "/v2/users/inquiryUserInfo"
JSON = {"Content-Type": "application/json; charset=UTF-8"}
REPLAYS = "RequestReplaysTable"


def every_table(dynamodb: Any) -> dict[str, list[str]]:
    """All tables, the replay markers included."""
    return {name: sorted(json.dumps(item, sort_keys=True) for item in dynamodb.scan(TableName=name)["Items"])
            for name in dynamodb.list_tables()["TableNames"]}


def markers(dynamodb: Any) -> list[dict[str, Any]]:
    return dynamodb.scan(TableName=REPLAYS, ConsistentRead=True)["Items"]


def signed(path: str, body: dict[str, Any], client_id: str = CLIENT_ID, **options: Any) -> tuple[str, dict[str, str]]:
    text = json.dumps(body)
    return text, {**JSON, **signed_headers(path, text, client_id, **options)}


def replays_counted(capsys: pytest.CaptureFixture[str]) -> int:
    """ReplaysDetected as the functions' EMF output reports it."""
    total = 0.0
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"ReplaysDetected"' in line:
            value = json.loads(line)["ReplaysDetected"]
            total += sum(value) if isinstance(value, list) else value
    return int(total)


# -- replay protection -------------------------------------------------------------------------------------


def test_a_byte_identical_inquiry_is_refused_and_counted(api: Api, dynamodb: Any,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    tokens = api.tokens(["auth_user"])
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]})
    assert api.raw(INQUIRY, body, headers).code == "SUCCESS"
    capsys.readouterr()

    before = snapshot(dynamodb)
    again = api.raw(INQUIRY, body, headers)
    assert (again.code, again.result_status) == ("INVALID_SIGNATURE", "F")
    assert again.body["result"]["resultMessage"] == security.ALREADY_RECEIVED
    assert "userInfo" not in again.body and "Signature" in again.headers
    assert replays_counted(capsys) == 1
    assert snapshot(dynamodb) == before

    # A new signature for the same body (what the SDK's retry does) is a new request.
    assert api.inquiry(tokens["accessToken"]).code == "SUCCESS"


def test_a_replayed_apply_token_changes_nothing(api: Api, dynamodb: Any) -> None:
    code = api.auth_code(["auth_user"])
    body, headers = signed(APPLY, {"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE",
                                   "authCode": code})
    first = api.raw(APPLY, body, headers)
    assert first.code == "SUCCESS"
    before = snapshot(dynamodb)

    replayed = api.raw(APPLY, body, headers)

    assert replayed.code == "INVALID_SIGNATURE" and "accessToken" not in replayed.body
    assert snapshot(dynamodb) == before  # no second pair, the first not revoked
    assert api.inquiry(first.body["accessToken"]).code == "SUCCESS"


def test_the_signature_is_recognised_however_it_is_encoded(api: Api) -> None:
    """%2B and %2b, or a '/' sent raw, decode to the same signature: still the same request."""
    tokens = api.tokens()
    body = {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]}
    for _ in range(20):  # until a signature carries a character whose encoding can vary
        text, headers = signed(INQUIRY, body)
        value = headers["Signature"]
        if "%2B" in value or "%2F" in value:
            break
    assert api.raw(INQUIRY, text, headers).code == "SUCCESS"
    variant = {**headers, "Signature": value.replace("%2B", "%2b").replace("%2F", "/")}
    assert variant["Signature"] != value
    assert api.raw(INQUIRY, text, variant).code == "INVALID_SIGNATURE"


def test_markers_hold_a_digest_for_twice_the_skew(api: Api, dynamodb: Any, clock: FakeClock) -> None:
    tokens = api.tokens()
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]})
    assert api.raw(INQUIRY, body, headers).code == "SUCCESS"
    signature = signing.parse_signature_header(headers["Signature"]).signature
    digest = security.request_digest(CLIENT_ID, signature)

    stored = {item["requestHash"]["S"]: item for item in markers(dynamodb)}
    assert digest in stored and len(digest) == 64
    # Twice the skew (the longest a Request-Time is acceptable), plus a second for whole-second storage.
    assert int(stored[digest]["expiresAt"]["N"]) == int(clock.now().timestamp()) + 2 * settings().request_time_skew + 1
    dump = json.dumps(markers(dynamodb))
    assert signature not in dump and signature[:16] not in dump


def test_a_replay_at_the_far_edge_of_the_window_is_still_refused(api: Api, clock: FakeClock) -> None:
    """Signed 300 s ahead of the wallet's clock, received at once, replayed 600 s later: still within its
    Request-Time window, so the marker must still be there."""
    tokens = api.tokens()
    skew = settings().request_time_skew
    ahead = (clock.now() + timedelta(seconds=skew)).isoformat(timespec="milliseconds")
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]},
                           request_time=ahead)
    assert api.raw(INQUIRY, body, headers).code == "SUCCESS"
    clock.advance(2 * skew)
    assert api.raw(INQUIRY, body, headers).code == "INVALID_SIGNATURE"
    clock.advance(0.001)
    late = api.raw(INQUIRY, body, headers).body["result"]["resultMessage"]
    assert late == "Request-Time is outside the accepted window."


def test_an_expired_marker_counts_as_absent(api: Api, dynamodb: Any, clock: FakeClock) -> None:
    """TTL deletes late: a marker past its expiry, still in the table, no longer refuses its request."""
    tokens = api.tokens()
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]})
    signature = signing.parse_signature_header(headers["Signature"]).signature
    RequestReplayItem(security.request_digest(CLIENT_ID, signature),
                      expires_at=clock.now() - timedelta(seconds=1)).save()
    assert api.raw(INQUIRY, body, headers).code == "SUCCESS"
    assert api.raw(INQUIRY, body, headers).code == "INVALID_SIGNATURE"  # and it is recorded anew


def test_only_requests_whose_signature_verified_leave_a_marker(api: Api, dynamodb: Any) -> None:
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": "x" * 40},
                           key=STRANGER_KEY)
    assert api.raw(INQUIRY, body, headers).code == "INVALID_SIGNATURE"
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": SUSPENDED_CLIENT_ID, "accessToken": "x" * 40},
                           client_id=SUSPENDED_CLIENT_ID)
    assert api.raw(INQUIRY, body, headers).code == "INVALID_AUTH_CLIENT_STATUS"
    assert markers(dynamodb) == []


# -- the wallet key, before any work --------------------------------------------------------------------------


def _secret_fails(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    """Secrets Manager, which the wallet key is read from (through runtime.secrets_client), fails with `error`."""

    class Failing:
        def get_secret_value(self, **_: Any) -> Any:
            raise error

    monkeypatch.setenv("WALLET_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:wallet-keys")
    monkeypatch.setattr(runtime, "secrets_client", Failing)


def _document(monkeypatch: pytest.MonkeyPatch, document: str | None) -> None:
    monkeypatch.delenv("WALLET_KEY_FILE")
    if document is not None:
        monkeypatch.setenv("WALLET_KEY_DOCUMENT", document)


def _short_wallet_key() -> str:
    from support import private_pem

    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return json.dumps({"currentKeyVersion": "1", "privateKeys": {"1": private_pem(short)}})


KEY_FAULTS = {
    "secrets-manager-unreachable": lambda mp: _secret_fails(
        mp, EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")),
    "botocore-error": lambda mp: _secret_fails(mp, ClientError({"Error": {"Code": "AccessDeniedException"}},
                                                               "GetSecretValue")),
    "not-json": lambda mp: _document(mp, "{not json"),
    "no-current-version": lambda mp: _document(mp, json.dumps({"privateKeys": {}})),
    "current-version-missing": lambda mp: _document(mp, json.dumps({"currentKeyVersion": "2", "privateKeys": {}})),
    "not-a-pem": lambda mp: _document(mp, json.dumps({"currentKeyVersion": "1", "privateKeys": {"1": "nope"}})),
    "under-2048-bits": lambda mp: _document(mp, _short_wallet_key()),
    "nothing-configured": lambda mp: _document(mp, None),
}


@pytest.mark.parametrize("fault", sorted(KEY_FAULTS))
def test_no_wallet_key_means_500_and_no_table_touched(api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch,
                                                      fault: str) -> None:
    code = api.auth_code(["auth_user"])
    body, headers = signed(APPLY, {"appId": APP_ID, "authClientId": CLIENT_ID, "grantType": "AUTHORIZATION_CODE",
                                   "authCode": code})
    KEY_FAULTS[fault](monkeypatch)
    before = every_table(dynamodb)

    answer = api.raw(APPLY, body, headers)

    assert answer.status == 500
    assert (answer.code, answer.result_status) == ("UNKNOWN_EXCEPTION", "U")
    assert "Signature" not in answer.headers  # no key, no signature
    assert "Error" not in answer.text and "Traceback" not in answer.text
    assert every_table(dynamodb) == before  # not even a replay marker
    monkeypatch.undo()
    assert api.raw(APPLY, body, headers).code == "SUCCESS"  # the same request, once the key is back


def test_the_key_loaded_first_signs_the_answer(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """One fetch per request: a key that vanishes after the redemption committed cannot cost the answer."""
    from miniauth.protocol import open_api

    fetched: list[str] = []
    real = open_api.current_wallet_key

    def once() -> Any:
        fetched.append("key")
        if len(fetched) > 1:
            raise AssertionError("the wallet key was fetched twice")
        return real()

    monkeypatch.setattr(open_api, "current_wallet_key", once)
    answer = api.apply_code(api.auth_code())
    assert answer.code == "SUCCESS" and fetched == ["key"]


# -- keys of at least 2048 bits, and nothing learned without a valid signature ------------------------------------


def _weak_key_registered() -> rsa.RSAPrivateKey:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    runtime.store().update(ClientItem, CLIENT_ID,
                           public_keys={"1": public_pem(MERCHANT_KEYS[CLIENT_ID]), "5": public_pem(weak)})
    runtime.store().clear_cache()
    return weak


def test_a_stored_key_under_2048_bits_never_verifies(api: Api, dynamodb: Any) -> None:
    weak = _weak_key_registered()
    tokens = api.tokens()
    body, headers = signed(INQUIRY, {"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": tokens["accessToken"]},
                           key=weak, key_version="5")
    recorded = len(markers(dynamodb))
    answer = api.raw(INQUIRY, body, headers)
    assert answer.code == "INVALID_SIGNATURE" and "userInfo" not in answer.body
    assert len(markers(dynamodb)) == recorded  # never verified, so never recorded
    assert api.inquiry(tokens["accessToken"]).code == "SUCCESS"


def test_unknown_client_and_bad_signatures_answer_alike(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unsigned, nothing tells an unknown client from a known one; each costs one RSA verification."""
    weak = _weak_key_registered()
    verifications: list[rsa.RSAPublicKey] = []
    real_verify = signing.verify

    def counted(key: rsa.RSAPublicKey, content: bytes, signature: str) -> bool:
        verifications.append(key)
        return real_verify(key, content, signature)

    monkeypatch.setattr(signing, "verify", counted)
    fields = {"appId": APP_ID, "accessToken": "x" * 40}
    cases = {
        "unknown client": ("2022999999999999", {"key": STRANGER_KEY}),
        "known client, another key": (CLIENT_ID, {"key": STRANGER_KEY}),
        "known client, unknown keyVersion": (CLIENT_ID, {"key_version": "7"}),
        "known client, key under 2048 bits": (CLIENT_ID, {"key": weak, "key_version": "5"}),
        "suspended client, another key": (SUSPENDED_CLIENT_ID, {"key": STRANGER_KEY}),
    }
    answers: dict[str, Answer] = {}
    for name, (client_id, options) in cases.items():
        verifications.clear()
        body, headers = signed(INQUIRY, {**fields, "authClientId": client_id}, client_id=client_id, **options)
        answers[name] = api.raw(INQUIRY, body, headers)
        assert len(verifications) == 1, name  # the RSA work is done whether or not the client exists
    bodies = {json.dumps(answer.body) for answer in answers.values()}
    assert len(bodies) == 1, bodies
    assert answers["unknown client"].code == "INVALID_SIGNATURE"

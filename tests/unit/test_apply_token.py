"""applyToken (contract sections 3 and 5): both grants, every result code in both spellings,
replay revocation, the retry window, refresh rotation, and what storage looks like afterwards."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from support import (
    APP_ID,
    CLIENT_ID,
    OTHER_APP_ID,
    OTHER_CLIENT_ID,
    SECOND_APP_ID,
    USER_ID,
    Answer,
    Api,
    FakeClock,
    snapshot,
)

PATHS = {"v2": "/v2/authorizations/applyToken", "v1": "/v1/authorizations/applyToken"}
VERSIONS = pytest.mark.parametrize("version", ["v2", "v1"])

# Template defaults (template.yaml Parameters, contract section 3).
AUTH_CODE_TTL = 86400
ACCESS_TOKEN_TTL = 86400
REFRESH_TOKEN_TTL = 30 * 86400
RETRY_GRACE = 30

AUTH_CODES_TABLE = "AuthCodesTable"
GRANTS_TABLE = "GrantsTable"

# Where v1 spells a code differently (contract section 5).
V1_SPELLING = {
    "INVALID_AUTHCODE": "INVALID_CODE",
    "USED_AUTHCODE": "USED_CODE",
    "EXPIRED_AUTHCODE": "EXPIRED_CODE",
}

_OMIT: Any = object()


# -- helpers ---------------------------------------------------------------------------------------------


def spelled(code: str, version: str) -> str:
    return V1_SPELLING.get(code, code) if version == "v1" else code


def apply_token(
    api: Api,
    version: str,
    grant_type: str = "AUTHORIZATION_CODE",
    *,
    auth_code: str | None = None,
    refresh_token: str | None = None,
    app_id: str | None = APP_ID,
    client_id: str = CLIENT_ID,
    extend_info: str | None = None,
) -> Answer:
    """One applyToken call in the given version's spelling (v1: referenceClientId, no authClientId)."""
    body: dict[str, Any] = {"grantType": grant_type}
    if version == "v2":
        body["authClientId"] = client_id
        if app_id is not None:
            body["appId"] = app_id
    elif app_id is not None:
        body["referenceClientId"] = app_id
    if auth_code is not None:
        body["authCode"] = auth_code
    if refresh_token is not None:
        body["refreshToken"] = refresh_token
    if extend_info is not None:
        body["extendInfo"] = extend_info
    return api.call(PATHS[version], body, client_id=client_id)


def redeem(api: Api, version: str, code: str, **kwargs: Any) -> Answer:
    return apply_token(api, version, "AUTHORIZATION_CODE", auth_code=code, **kwargs)


def refresh(api: Api, version: str, refresh_token: str, **kwargs: Any) -> Answer:
    return apply_token(api, version, "REFRESH_TOKEN", refresh_token=refresh_token, **kwargs)


def assert_success(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.body
    assert answer.code == "SUCCESS", answer.body
    assert answer.result_status == "S", answer.body
    return answer.body


def assert_refused(answer: Answer, code: str) -> None:
    assert answer.status == 200, answer.body
    assert answer.code == code, answer.body
    assert answer.result_status == "F", answer.body
    assert "accessToken" not in answer.body
    assert "refreshToken" not in answer.body


def assert_access_works(api: Api, access_token: str, app_id: str = APP_ID) -> None:
    answer = api.inquiry(access_token, app_id=app_id)
    assert answer.code == "SUCCESS", answer.body
    assert answer.body["userInfo"]["userId"] == USER_ID


def assert_access_refused(api: Api, access_token: str) -> None:
    answer = api.inquiry(access_token)
    assert answer.code == "INVALID_ACCESS_TOKEN", answer.body


def wire_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() is not None, f"{text!r} has no UTC offset"
    return moment


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def stored_code(dynamodb: Any, code: str) -> dict[str, Any] | None:
    answer = dynamodb.get_item(TableName=AUTH_CODES_TABLE, Key={"codeHash": {"S": digest(code)}}, ConsistentRead=True)
    return answer.get("Item")


def only_grant(dynamodb: Any) -> dict[str, Any]:
    items = dynamodb.scan(TableName=GRANTS_TABLE, ConsistentRead=True)["Items"]
    assert len(items) == 1, items
    return items[0]


# -- 1. success ------------------------------------------------------------------------------------------


@VERSIONS
def test_authorization_code_grant_issues_a_token_pair(api: Api, clock: FakeClock, version: str) -> None:
    code = api.auth_code(["auth_user"])
    clock.advance(5)
    issued_at = clock.now()

    body = assert_success(redeem(api, version, code, extend_info='{"channel":"test"}'))

    assert body["accessToken"] and body["refreshToken"]
    assert body["accessToken"] != body["refreshToken"]
    assert len(body["accessToken"]) <= 128 and len(body["refreshToken"]) <= 128
    assert wire_time(body["accessTokenExpiryTime"]) == issued_at + timedelta(seconds=ACCESS_TOKEN_TTL)
    assert wire_time(body["refreshTokenExpiryTime"]) == issued_at + timedelta(seconds=REFRESH_TOKEN_TTL)
    assert body["customerId"] == USER_ID
    assert body["extendInfo"] == '{"channel":"test"}'
    assert_access_works(api, body["accessToken"])


def test_v1_authorization_code_grant_without_reference_client_id(api: Api, clock: FakeClock) -> None:
    code = api.auth_code()

    body = assert_success(redeem(api, "v1", code, app_id=None))

    assert body["customerId"] == USER_ID
    assert wire_time(body["accessTokenExpiryTime"]) == clock.now() + timedelta(seconds=ACCESS_TOKEN_TTL)
    assert_access_works(api, body["accessToken"])


@VERSIONS
def test_refresh_token_grant_issues_a_token_pair(api: Api, clock: FakeClock, version: str) -> None:
    first = api.tokens()
    clock.advance(3600)
    refreshed_at = clock.now()

    body = assert_success(refresh(api, version, first["refreshToken"]))

    assert body["accessToken"] not in (first["accessToken"], first["refreshToken"])
    assert body["refreshToken"] not in (first["accessToken"], first["refreshToken"])
    assert wire_time(body["accessTokenExpiryTime"]) == refreshed_at + timedelta(seconds=ACCESS_TOKEN_TTL)
    assert wire_time(body["refreshTokenExpiryTime"]) == refreshed_at + timedelta(seconds=REFRESH_TOKEN_TTL)
    assert body["customerId"] == USER_ID
    assert_access_works(api, body["accessToken"])


# -- 2. every result code, in both spellings ---------------------------------------------------------------


@VERSIONS
def test_unknown_auth_code_is_invalid(api: Api, version: str) -> None:
    answer = redeem(api, version, "no-such-code-" + "x" * 30)
    assert_refused(answer, spelled("INVALID_AUTHCODE", version))


@VERSIONS
def test_auth_code_issued_to_another_client_is_invalid(api: Api, version: str) -> None:
    foreign = api.auth_code(app_id=OTHER_APP_ID)  # app of client 2022000000000002

    answer = redeem(api, version, foreign, app_id=APP_ID, client_id=CLIENT_ID)

    assert_refused(answer, spelled("INVALID_AUTHCODE", version))
    # The rightful client can still redeem it: the foreign attempt did not burn the code.
    assert_success(api.apply_code(foreign, app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID))


@VERSIONS
def test_used_auth_code_outside_retry_window(api: Api, clock: FakeClock, version: str) -> None:
    code = api.auth_code()
    assert_success(redeem(api, version, code))
    clock.advance(RETRY_GRACE + 1)

    assert_refused(redeem(api, version, code), spelled("USED_AUTHCODE", version))


@VERSIONS
def test_expired_auth_code(api: Api, clock: FakeClock, dynamodb: Any, version: str) -> None:
    code = api.auth_code()
    clock.advance(AUTH_CODE_TTL + 1)

    answer = redeem(api, version, code)

    assert_refused(answer, spelled("EXPIRED_AUTHCODE", version))
    # moto never runs TTL deletion: the refusal comes from the read-time expiry check.
    item = stored_code(dynamodb, code)
    assert item is not None
    assert item["status"] == {"S": "ISSUED"}


@pytest.mark.parametrize(("version", "expected"), [("v2", "INVALID_AUTHCODE"), ("v1", "REFERENCE_CLIENT_ID_NOT_MATCH")])
def test_auth_code_for_another_app_of_the_same_client(api: Api, version: str, expected: str) -> None:
    code = api.auth_code(app_id=APP_ID)

    answer = redeem(api, version, code, app_id=SECOND_APP_ID)

    assert_refused(answer, expected)
    # The code is still good for the app it was issued for.
    assert_success(redeem(api, version, code, app_id=APP_ID))


@VERSIONS
def test_unknown_refresh_token_is_invalid(api: Api, version: str) -> None:
    answer = refresh(api, version, "no-such-refresh-token-" + "x" * 40)
    assert_refused(answer, "INVALID_REFRESH_TOKEN")


@VERSIONS
def test_refresh_token_of_a_revoked_pair_is_invalid(api: Api, version: str) -> None:
    pair = api.tokens()
    assert api.revoke(pair["accessToken"]).code == "SUCCESS"

    assert_refused(refresh(api, version, pair["refreshToken"]), "INVALID_REFRESH_TOKEN")


@VERSIONS
def test_expired_refresh_token(api: Api, clock: FakeClock, version: str) -> None:
    pair = api.tokens()
    clock.advance(REFRESH_TOKEN_TTL + 1)

    assert_refused(refresh(api, version, pair["refreshToken"]), "EXPIRED_REFRESH_TOKEN")


@VERSIONS
def test_used_refresh_token_after_rotation(api: Api, clock: FakeClock, version: str) -> None:
    pair = api.tokens()
    assert_success(refresh(api, version, pair["refreshToken"]))
    clock.advance(RETRY_GRACE + 1)

    assert_refused(refresh(api, version, pair["refreshToken"]), "USED_REFRESH_TOKEN")


@VERSIONS
def test_refresh_grant_not_allowed_for_client(api: Api, version: str) -> None:
    # Client 2022000000000002 may only use AUTHORIZATION_CODE.
    own = api.apply_code(api.auth_code(app_id=OTHER_APP_ID), app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID)
    pair = assert_success(own)

    answer = refresh(api, version, pair["refreshToken"], app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID)

    assert_refused(answer, "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE")


@VERSIONS
def test_app_of_another_client_is_access_denied(api: Api, version: str) -> None:
    code = api.auth_code()

    answer = redeem(api, version, code, app_id=OTHER_APP_ID)

    assert_refused(answer, "ACCESS_DENIED")


PARAM_ILLEGAL_CASES = {
    "missing authCode": {"grant_type": "AUTHORIZATION_CODE", "auth_code": None},
    "unknown grantType": {"grant_type": "PASSWORD", "auth_code": "VALID"},
    "appId over 32 chars": {"grant_type": "AUTHORIZATION_CODE", "auth_code": "VALID", "app_id": "2" * 33},
    "authCode over 64 chars": {"grant_type": "AUTHORIZATION_CODE", "auth_code": "a" * 65},
}


@VERSIONS
@pytest.mark.parametrize("case", list(PARAM_ILLEGAL_CASES))
def test_illegal_parameters(api: Api, version: str, case: str) -> None:
    fields = dict(PARAM_ILLEGAL_CASES[case])
    if fields["auth_code"] == "VALID":
        fields["auth_code"] = api.auth_code()  # so only the field under test is wrong
    grant_type = fields.pop("grant_type")

    answer = apply_token(api, version, grant_type, **fields)

    assert_refused(answer, "PARAM_ILLEGAL")


# -- 3. a replayed code revokes what it issued -------------------------------------------------------------


@VERSIONS
def test_auth_code_replay_revokes_the_tokens_it_issued(api: Api, clock: FakeClock, version: str) -> None:
    code = api.auth_code()
    first = assert_success(redeem(api, version, code))
    assert_access_works(api, first["accessToken"])
    clock.advance(RETRY_GRACE + 1)

    assert_refused(redeem(api, version, code), spelled("USED_AUTHCODE", version))

    assert_access_refused(api, first["accessToken"])
    assert api.refresh(first["refreshToken"]).code == "INVALID_REFRESH_TOKEN"


# -- 4. the retry window -----------------------------------------------------------------------------------


@VERSIONS
@pytest.mark.parametrize("delay", [0, 10, RETRY_GRACE])
def test_auth_code_retry_within_window_replaces_the_pair(api: Api, clock: FakeClock, version: str, delay: int) -> None:
    code = api.auth_code()
    first = assert_success(redeem(api, version, code))
    clock.advance(delay)

    second = assert_success(redeem(api, version, code))

    assert second["accessToken"] != first["accessToken"]
    assert second["refreshToken"] != first["refreshToken"]
    assert second["customerId"] == USER_ID
    assert wire_time(second["accessTokenExpiryTime"]) == clock.now() + timedelta(seconds=ACCESS_TOKEN_TTL)
    assert_access_refused(api, first["accessToken"])
    assert_access_works(api, second["accessToken"])
    assert_success(api.refresh(second["refreshToken"]))


@VERSIONS
def test_auth_code_retry_leaves_the_earlier_refresh_token_dead(api: Api, clock: FakeClock, version: str) -> None:
    """The pair issued before a retry is revoked (contract section 3): its refresh token is refused."""
    code = api.auth_code()
    first = assert_success(redeem(api, version, code))
    clock.advance(5)
    assert_success(redeem(api, version, code))

    answer = api.refresh(first["refreshToken"])

    assert answer.code == "INVALID_REFRESH_TOKEN", answer.body


@VERSIONS
@pytest.mark.parametrize("delay", [0, 10, RETRY_GRACE])
def test_refresh_retry_within_window_replaces_the_pair(api: Api, clock: FakeClock, version: str, delay: int) -> None:
    original = api.tokens()
    rotated = assert_success(refresh(api, version, original["refreshToken"]))
    clock.advance(delay)

    retried = assert_success(refresh(api, version, original["refreshToken"]))

    assert retried["accessToken"] != rotated["accessToken"]
    assert retried["refreshToken"] != rotated["refreshToken"]
    assert retried["customerId"] == USER_ID
    assert_access_refused(api, rotated["accessToken"])
    assert_access_refused(api, original["accessToken"])
    assert_access_works(api, retried["accessToken"])
    assert_success(api.refresh(retried["refreshToken"]))


# -- 5. refresh rotation -----------------------------------------------------------------------------------


@VERSIONS
def test_refresh_rotates_the_pair(api: Api, clock: FakeClock, version: str) -> None:
    original = api.tokens()
    clock.advance(60)

    rotated = assert_success(refresh(api, version, original["refreshToken"]))

    assert_access_refused(api, original["accessToken"])
    assert_access_works(api, rotated["accessToken"])
    # The new refresh token rotates again.
    clock.advance(60)
    assert_success(refresh(api, version, rotated["refreshToken"]))


@VERSIONS
def test_refresh_reuse_outside_window_revokes_the_grant(api: Api, clock: FakeClock, version: str) -> None:
    original = api.tokens()
    rotated = assert_success(refresh(api, version, original["refreshToken"]))
    assert_access_works(api, rotated["accessToken"])
    clock.advance(RETRY_GRACE + 1)

    assert_refused(refresh(api, version, original["refreshToken"]), "USED_REFRESH_TOKEN")

    # The newest pair dies with the grant.
    assert_access_refused(api, rotated["accessToken"])
    assert api.refresh(rotated["refreshToken"]).code == "INVALID_REFRESH_TOKEN"


# -- 6. rejected requests leave storage untouched ----------------------------------------------------------

# Each scenario prepares state and returns (the rejected request, its v2 result code).
Scenario = Callable[[Api, FakeClock, str], tuple[Callable[[], Answer], str]]


def _unknown_code(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    api.auth_code()  # a real, unrelated code exists
    return (lambda: redeem(api, version, "unknown-code-" + "y" * 30)), "INVALID_AUTHCODE"


def _foreign_code(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    code = api.auth_code(app_id=OTHER_APP_ID)
    return (lambda: redeem(api, version, code, app_id=APP_ID)), "INVALID_AUTHCODE"


def _expired_code(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    code = api.auth_code()
    clock.advance(AUTH_CODE_TTL + 1)
    return (lambda: redeem(api, version, code)), "EXPIRED_AUTHCODE"


def _app_mismatch(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    code = api.auth_code(app_id=APP_ID)
    expected = "REFERENCE_CLIENT_ID_NOT_MATCH" if version == "v1" else "INVALID_AUTHCODE"
    return (lambda: redeem(api, version, code, app_id=SECOND_APP_ID)), expected


def _unsupported_grant(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    pair = assert_success(
        api.apply_code(api.auth_code(app_id=OTHER_APP_ID), app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID)
    )
    return (
        lambda: refresh(api, version, pair["refreshToken"], app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID)
    ), "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE"


def _access_denied(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    code = api.auth_code()
    return (lambda: redeem(api, version, code, app_id=OTHER_APP_ID)), "ACCESS_DENIED"


def _missing_auth_code(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    api.auth_code()
    return (lambda: apply_token(api, version, "AUTHORIZATION_CODE")), "PARAM_ILLEGAL"


def _unknown_grant_type(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    code = api.auth_code()
    return (lambda: apply_token(api, version, "PASSWORD", auth_code=code)), "PARAM_ILLEGAL"


def _long_app_id(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    code = api.auth_code()
    return (lambda: redeem(api, version, code, app_id="2" * 33)), "PARAM_ILLEGAL"


def _long_auth_code(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    api.auth_code()
    return (lambda: redeem(api, version, "a" * 65)), "PARAM_ILLEGAL"


def _unknown_refresh_token(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    api.tokens()
    return (lambda: refresh(api, version, "unknown-refresh-" + "z" * 40)), "INVALID_REFRESH_TOKEN"


def _expired_refresh_token(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    pair = api.tokens()
    clock.advance(REFRESH_TOKEN_TTL + 1)
    return (lambda: refresh(api, version, pair["refreshToken"])), "EXPIRED_REFRESH_TOKEN"


def _revoked_refresh_token(api: Api, clock: FakeClock, version: str) -> tuple[Callable[[], Answer], str]:
    pair = api.tokens()
    assert api.revoke(pair["accessToken"]).code == "SUCCESS"
    return (lambda: refresh(api, version, pair["refreshToken"])), "INVALID_REFRESH_TOKEN"


REJECTIONS: dict[str, Scenario] = {
    "unknown code": _unknown_code,
    "code of another client": _foreign_code,
    "expired code": _expired_code,
    "code for another app": _app_mismatch,
    "unsupported grant type": _unsupported_grant,
    "app of another client": _access_denied,
    "missing authCode": _missing_auth_code,
    "unknown grantType": _unknown_grant_type,
    "appId too long": _long_app_id,
    "authCode too long": _long_auth_code,
    "unknown refresh token": _unknown_refresh_token,
    "expired refresh token": _expired_refresh_token,
    "revoked refresh token": _revoked_refresh_token,
}


@VERSIONS
@pytest.mark.parametrize("rejection", list(REJECTIONS))
def test_rejected_request_leaves_storage_untouched(
    api: Api, clock: FakeClock, dynamodb: Any, version: str, rejection: str
) -> None:
    request, code = REJECTIONS[rejection](api, clock, version)
    before = snapshot(dynamodb)

    answer = request()

    assert_refused(answer, spelled(code, version))
    assert snapshot(dynamodb) == before


# -- 7. replays do change storage: the grant is revoked ----------------------------------------------------


@VERSIONS
def test_auth_code_replay_marks_the_grant_revoked(api: Api, clock: FakeClock, dynamodb: Any, version: str) -> None:
    code = api.auth_code()
    assert_success(redeem(api, version, code))
    assert only_grant(dynamodb)["status"] == {"S": "ACTIVE"}
    clock.advance(RETRY_GRACE + 1)

    assert_refused(redeem(api, version, code), spelled("USED_AUTHCODE", version))

    grant = only_grant(dynamodb)
    assert grant["status"] == {"S": "REVOKED"}
    assert grant["revokeReason"] == {"S": "AUTHCODE_REPLAY"}
    assert "revokedAt" in grant


@VERSIONS
def test_refresh_token_reuse_marks_the_grant_revoked(api: Api, clock: FakeClock, dynamodb: Any, version: str) -> None:
    original = api.tokens()
    assert_success(refresh(api, version, original["refreshToken"]))
    assert only_grant(dynamodb)["status"] == {"S": "ACTIVE"}
    clock.advance(RETRY_GRACE + 1)

    assert_refused(refresh(api, version, original["refreshToken"]), "USED_REFRESH_TOKEN")

    grant = only_grant(dynamodb)
    assert grant["status"] == {"S": "REVOKED"}
    assert grant["revokeReason"] == {"S": "REFRESH_TOKEN_REUSE"}
    assert "revokedAt" in grant


# -- 8. withdrawal by the user, before and during a redemption ----------------------------------------------


def withdraw_in_storage() -> None:
    """What the wallet's authorizations/revoke writes: the (user, app) consent epoch moves on."""
    from miniauth import runtime

    assert runtime.store().withdraw(USER_ID, APP_ID, runtime.clock().now())


def revoke_as_withdrawals_once_did(dynamodb: Any, code: str) -> None:
    """Rows left by withdrawals before the consent epoch existed: grant and unredeemed code REVOKED.

    (A grant's id is its authCode's hash.)
    """
    key = digest(code)
    dynamodb.update_item(
        TableName=GRANTS_TABLE,
        Key={"grantId": {"S": key}},
        UpdateExpression="SET #s = :revoked, revokeReason = :reason",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":revoked": {"S": "REVOKED"}, ":reason": {"S": "WITHDRAWN_BY_USER"}},
    )
    dynamodb.update_item(
        TableName=AUTH_CODES_TABLE,
        Key={"codeHash": {"S": key}},
        UpdateExpression="SET #s = :revoked",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":revoked": {"S": "REVOKED"}},
    )


def test_auth_code_withdrawn_through_wallet_api_is_invalid(api: Api) -> None:
    code = api.auth_code()
    withdrawn = api.call("/wallet/authorizations/revoke", {"userId": USER_ID, "appId": APP_ID})
    assert withdrawn.code == "SUCCESS", withdrawn.body

    assert_refused(api.apply_code(code), "INVALID_AUTHCODE")


def test_auth_code_withdrawn_before_redemption_is_invalid(api: Api, dynamodb: Any) -> None:
    code = api.auth_code()
    withdraw_in_storage()
    before = snapshot(dynamodb)

    assert_refused(api.apply_code(code), "INVALID_AUTHCODE")
    assert snapshot(dynamodb) == before


def test_auth_code_revoked_by_an_older_withdrawal_is_invalid(api: Api, dynamodb: Any) -> None:
    code = api.auth_code()
    revoke_as_withdrawals_once_did(dynamodb, code)

    assert_refused(api.apply_code(code), "INVALID_AUTHCODE")


def test_auth_code_withdrawn_during_redemption_is_invalid(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user withdraws between applyToken's read of the code and its conditional write.

    The write loses (the consent epoch moved on) and the answer must be the one a code withdrawn
    before the call gets: INVALID_AUTHCODE, not USED_AUTHCODE (the code was never used).
    """
    from miniauth import runtime

    code = api.auth_code()
    store = runtime.store()
    read_code = store.auth_code
    withdrawn: list[Any] = []

    def read_then_withdraw(code_hash: str) -> Any:
        found = read_code(code_hash)
        withdraw_in_storage()  # lands after the read, before redeem_code's transaction
        withdrawn.append(snapshot(dynamodb))
        return found

    monkeypatch.setattr(store, "auth_code", read_then_withdraw)

    answer = api.apply_code(code)

    assert_refused(answer, "INVALID_AUTHCODE")
    assert snapshot(dynamodb) == withdrawn[0], "the refused redemption wrote something"

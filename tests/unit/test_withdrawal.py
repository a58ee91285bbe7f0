"""Withdrawal (/wallet/authorizations/revoke) and consent writes under outages and races.

A withdrawal moves the (user, app) consent epoch on in one conditional write; every code, grant and token
records the epoch it was issued under and each use checks it. These tests throttle that write part-way,
count its requests, race it against getAuthCode, applyToken and inquiryUserInfo, and race two consents.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from miniauth import runtime
from miniauth.config import settings
from miniauth.results import MiniauthError

from support import APP_ID, SECOND_APP_ID, USER_ID, Answer, Api, FakeClock, SerialisedMoto, snapshot

GET_AUTH_CODE = "/wallet/getAuthCode"
LIST_AUTHORIZATIONS = "/wallet/authorizations/list"
REVOKE_AUTHORIZATION = "/wallet/authorizations/revoke"


def withdraw(api: Api, app_id: str = APP_ID) -> Answer:
    return api.call(REVOKE_AUTHORIZATION, {"userId": USER_ID, "appId": app_id})


def listed_apps(api: Api) -> list[str]:
    answer = api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID})
    assert answer.code == "SUCCESS", answer.body
    return [entry["appId"] for entry in answer.body["authorizations"]]


def live(api: Api, access_tokens: list[str], app_id: str = APP_ID) -> list[str]:
    """The access tokens inquiryUserInfo still accepts (a read: it changes nothing)."""
    return [token for token in access_tokens if api.inquiry(token, app_id=app_id).code == "SUCCESS"]


def authorize(api: Api) -> dict[str, Any]:
    """A consented grant redeemed, a silent grant redeemed, an unredeemed code, and another app's grant."""
    consented = api.tokens(["auth_user"])
    silent = api.apply_code(api.auth_code(["auth_base"])).body
    other_app = api.apply_code(api.auth_code(["auth_user"], app_id=SECOND_APP_ID), app_id=SECOND_APP_ID).body
    return {
        "access": [consented["accessToken"], silent["accessToken"]],
        "refresh": [consented["refreshToken"], silent["refreshToken"]],
        "pending_code": api.auth_code(["auth_user"]),
        "other_app_access": other_app["accessToken"],
    }


def assert_nothing_live(api: Api, held: dict[str, Any]) -> None:
    assert live(api, held["access"]) == []
    for refresh in held["refresh"]:
        assert api.refresh(refresh).code == "INVALID_REFRESH_TOKEN"
    assert api.apply_code(held["pending_code"]).code == "INVALID_AUTHCODE"
    assert APP_ID not in listed_apps(api)
    assert live(api, [held["other_app_access"]], app_id=SECOND_APP_ID) == [held["other_app_access"]]


def test_a_retried_withdrawal_is_success_and_changes_nothing(api: Api, dynamodb: Any) -> None:
    held = authorize(api)
    assert withdraw(api).code == "SUCCESS"
    after_first = snapshot(dynamodb)

    retried = withdraw(api)

    assert retried.code == "SUCCESS"
    assert snapshot(dynamodb) == after_first
    assert_nothing_live(api, held)


# -- the epoch checked on every use --------------------------------------------------------------------------


def test_a_code_issued_before_a_withdrawal_is_refused_after_it_and_writes_nothing(api: Api, dynamodb: Any) -> None:
    code = api.auth_code(["auth_user"])
    silent_code = api.auth_code(["auth_base"])
    assert withdraw(api).code == "SUCCESS"
    before = snapshot(dynamodb)

    assert api.apply_code(code).code == "INVALID_AUTHCODE"
    assert api.apply_code(silent_code).code == "INVALID_AUTHCODE"
    assert snapshot(dynamodb) == before


def test_tokens_issued_before_a_withdrawal_are_refused_after_it_and_write_nothing(api: Api, dynamodb: Any) -> None:
    pair = api.tokens(["auth_user"])
    assert withdraw(api).code == "SUCCESS"
    before = snapshot(dynamodb)

    assert api.refresh(pair["refreshToken"]).code == "INVALID_REFRESH_TOKEN"
    assert api.inquiry(pair["accessToken"]).code == "INVALID_ACCESS_TOKEN"
    assert snapshot(dynamodb) == before
    # Revoking a token the withdrawal already killed is SUCCESS (contract: idempotent).
    assert api.revoke(pair["accessToken"]).code == "SUCCESS"


def _withdraw_after_first(monkeypatch: pytest.MonkeyPatch, dynamodb: Any, method: str) -> list[Any]:
    """Make the store's `method` run once and then let the user withdraw, before the caller's write.

    Returns a list that receives the tables as the withdrawal left them.
    """
    store = runtime.store()
    original = getattr(store, method)
    withdrawn: list[Any] = []

    def then_withdraw(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        if not withdrawn:
            assert store.withdraw(USER_ID, APP_ID, runtime.clock().now())
            withdrawn.append(snapshot(dynamodb))
        return found

    monkeypatch.setattr(store, method, then_withdraw)
    return withdrawn


def test_a_refresh_raced_by_a_withdrawal_is_refused_and_writes_nothing(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = api.tokens(["auth_user"])
    withdrawn = _withdraw_after_first(monkeypatch, dynamodb, "token")  # after the read, before the rotation

    assert api.refresh(pair["refreshToken"]).code == "INVALID_REFRESH_TOKEN"
    assert snapshot(dynamodb) == withdrawn[0]


def test_an_inquiry_raced_by_a_withdrawal_is_refused(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = api.tokens(["auth_user"])
    withdrawn = _withdraw_after_first(monkeypatch, dynamodb, "token")  # after the token read, before the grant's

    assert api.inquiry(pair["accessToken"]).code == "INVALID_ACCESS_TOKEN"
    assert snapshot(dynamodb) == withdrawn[0]


# -- getAuthCode against a withdrawal, and consents against each other ---------------------------------------


def test_get_auth_code_withdrawn_between_its_read_and_its_write_issues_no_code(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.auth_code(["auth_user"])  # the consent is stored
    withdrawn = _withdraw_after_first(monkeypatch, dynamodb, "consent")

    answer = api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_user"]})

    # Judged again from what is stored now: the consent is gone, so no code.
    assert answer.code == "USER_CONSENT_REQUIRED", answer.body
    assert snapshot(dynamodb) == withdrawn[0], "a code or grant was written from a withdrawn consent"


def test_a_silent_code_raced_by_a_withdrawal_is_issued_after_it_and_lives(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _withdraw_after_first(monkeypatch, dynamodb, "consent")

    answer = api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": APP_ID})

    assert answer.code == "SUCCESS", answer.body
    pair = api.apply_code(answer.body["authCode"]).body
    assert live(api, [pair["accessToken"]]) == [pair["accessToken"]]
    assert listed_apps(api) == [APP_ID]


def test_a_consent_withdrawn_before_its_code_is_written_is_given_again_under_the_new_epoch(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user allows on one device while withdrawing on another: the code is written after the withdrawal,
    from the consent of this request, never from the one withdrawn."""
    api.auth_code(["USER_ADDRESS"])  # an earlier consent, withdrawn during the next call
    _withdraw_after_first(monkeypatch, dynamodb, "record_consent")

    answer = api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_user", "USER_ADDRESS"],
                                      "consentedScopes": ["auth_user"]})

    assert answer.code == "SUCCESS", answer.body
    assert answer.body["authSuccessScopes"] == ["auth_user"]
    assert answer.body["authErrorScopes"] == {"USER_ADDRESS": "USER_DENIED"}
    pair = api.apply_code(answer.body["authCode"]).body
    assert set(api.inquiry(pair["accessToken"]).body["userInfo"]) > {"nickName"}
    [entry] = api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"]
    assert entry["consentedScopes"] == ["auth_user"]


def test_concurrent_consents_are_both_kept(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two getAuthCodes read the (empty) consent before either writes: a read-modify-write would lose one."""
    service, store = runtime.wallet_service(), runtime.store()
    read_consent = store.consent
    both_read = threading.Barrier(2)

    def read_then_wait(user_id: str, app_id: str) -> Any:
        found = read_consent(user_id, app_id)
        both_read.wait(timeout=10)
        return found

    monkeypatch.setattr(store, "consent", read_then_wait)

    def consent_to(scope: str) -> list[str]:
        try:
            return service.get_auth_code(USER_ID, APP_ID, [scope], [scope]).success_scopes
        except MiniauthError as refused:
            return [refused.result.code]

    with SerialisedMoto(), ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(consent_to, ["auth_user", "USER_ADDRESS"]))
    monkeypatch.setattr(store, "consent", read_consent)

    assert outcomes == [["auth_user"], ["USER_ADDRESS"]]
    both = api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_user", "USER_ADDRESS"]})
    assert both.code == "SUCCESS", f"a concurrent consent was lost: {both.body}"


# -- after a withdrawal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scopes", [["auth_user"], ["auth_base"]], ids=["consented", "silent"])
def test_an_authorization_given_after_a_withdrawal_lives_until_the_next_one(api: Api, scopes: list[str]) -> None:
    """A withdrawal only kills what came before it; and a new code re-arms the next withdrawal."""
    before = api.tokens(["auth_user"])
    assert withdraw(api).code == "SUCCESS"
    assert listed_apps(api) == []

    again = api.apply_code(api.auth_code(scopes)).body

    assert live(api, [before["accessToken"], again["accessToken"]]) == [again["accessToken"]]
    assert listed_apps(api) == [APP_ID]
    assert withdraw(api).code == "SUCCESS"
    assert live(api, [again["accessToken"]]) == []
    assert api.refresh(again["refreshToken"]).code == "INVALID_REFRESH_TOKEN"
    assert listed_apps(api) == []


def test_rows_written_before_epochs_count_as_epoch_zero(api: Api, dynamodb: Any, clock: FakeClock) -> None:
    """Existing tables: codes, grants and tokens without `epoch`, consents with a list of scopes."""
    pair = api.tokens(["auth_user"])
    pending = api.auth_code(["auth_user"])
    tables = settings().tables
    for table, key in ((tables.auth_codes, "codeHash"), (tables.grants, "grantId"), (tables.tokens, "tokenHash")):
        for item in dynamodb.scan(TableName=table)["Items"]:
            dynamodb.update_item(TableName=table, Key={key: item[key]}, UpdateExpression="REMOVE epoch")
    dynamodb.put_item(TableName=tables.consents, Item={
        "userId": {"S": USER_ID}, "appId": {"S": APP_ID}, "scopes": {"L": [{"S": "auth_user"}]},
        "openUserInfo": {"BOOL": False}, "consentedAt": {"S": "2026-11-22T02:00:00.000000+0000"},
        "updatedAt": {"S": "2026-11-22T02:00:00.000000+0000"},
    })
    clock.advance(60)

    assert api.inquiry(pair["accessToken"]).code == "SUCCESS"
    remembered = api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": APP_ID, "scopes": ["auth_user"]})
    assert remembered.code == "SUCCESS", remembered.body
    assert api.auth_code(["USER_ADDRESS"])  # a consent added onto the legacy row
    [entry] = api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"]
    assert entry["consentedScopes"] == ["USER_ADDRESS", "auth_user"]

    assert withdraw(api).code == "SUCCESS"
    assert live(api, [pair["accessToken"]]) == []
    assert api.apply_code(pending).code == "INVALID_AUTHCODE"
    assert listed_apps(api) == []
    consent = dynamodb.get_item(TableName=tables.consents, Key={"userId": {"S": USER_ID}, "appId": {"S": APP_ID}})
    assert "scopes" not in consent["Item"] and "consentedScopes" not in consent["Item"]


def test_a_used_refresh_token_replayed_after_a_withdrawal_is_still_a_replay(api: Api, clock: FakeClock) -> None:
    """Judged from its own row first, as any replay outside the retry window: USED_REFRESH_TOKEN."""
    first = api.tokens(["auth_user"])
    second = api.refresh(first["refreshToken"]).body
    assert withdraw(api).code == "SUCCESS"
    clock.advance(settings().retry_grace + 1)

    assert api.refresh(first["refreshToken"]).code == "USED_REFRESH_TOKEN"
    assert api.refresh(second["refreshToken"]).code == "INVALID_REFRESH_TOKEN"
    assert live(api, [second["accessToken"]]) == []


def test_a_list_raced_by_a_withdrawal_never_shows_a_dead_grant(
    api: Api, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.tokens(["auth_base"])
    _withdraw_after_first(monkeypatch, dynamodb, "grants_of")  # the grants are read, then the user withdraws

    assert listed_apps(api) == []

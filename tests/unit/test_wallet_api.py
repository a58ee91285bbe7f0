"""Wallet API (contract section 6): getAuthCode, getOpenUserInfo, authorizations list / revoke."""

from __future__ import annotations

import json
from typing import Any

import pytest

from miniauth.config import settings

from support import (
    APP_ID,
    BARE_USER_ID,
    OTHER_APP_ID,
    SECOND_APP_ID,
    USER_ID,
    Answer,
    Api,
    FakeClock,
    snapshot,
)

GET_AUTH_CODE = "/wallet/getAuthCode"
GET_OPEN_USER_INFO = "/wallet/getOpenUserInfo"
LIST_AUTHORIZATIONS = "/wallet/authorizations/list"
REVOKE_AUTHORIZATION = "/wallet/authorizations/revoke"

UNKNOWN_USER_ID = "2088999999999999"
UNKNOWN_APP_ID = "2021999999999999"
SUSPENDED_CLIENTS_APP_ID = "2021000000000009"


UNKNOWN_USER_OR_UNAVAILABLE_APP = pytest.mark.parametrize(
    ("user_id", "app_id", "code"),
    [
        (UNKNOWN_USER_ID, APP_ID, "USER_NOT_EXIST"),
        (USER_ID, UNKNOWN_APP_ID, "INVALID_APP"),
        (USER_ID, SUSPENDED_CLIENTS_APP_ID, "INVALID_APP"),
    ],
    ids=["unknown-user", "unknown-app", "app-of-suspended-client"],
)

def get_auth_code(api: Api, **body: Any) -> Answer:
    return api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": APP_ID, **body})


def open_user_info(api: Api, **body: Any) -> Answer:
    return api.call(GET_OPEN_USER_INFO, {"userId": USER_ID, "appId": APP_ID, **body})


def consents(dynamodb: Any) -> list[str]:
    return snapshot(dynamodb)[settings().tables.consents]


def assert_success(answer: Answer) -> None:
    assert answer.status == 200, answer.body
    assert (answer.code, answer.result_status) == ("SUCCESS", "S"), answer.body


def assert_refused(answer: Answer, code: str) -> None:
    assert answer.status == 200, answer.body
    assert (answer.code, answer.result_status) == (code, "F"), answer.body


# -- getAuthCode ----------------------------------------------------------------------------------------


def test_auth_base_is_silent_and_is_the_default_scope(api: Api, dynamodb: Any) -> None:
    answer = get_auth_code(api)  # no scopes, no consentedScopes

    assert_success(answer)
    assert answer.body["authCode"]
    assert answer.body["authSuccessScopes"] == ["auth_base"]
    assert not answer.body.get("authErrorScopes")
    assert consents(dynamodb) == [], "a silent scope must not store a consent"
    tokens = api.apply_code(answer.body["authCode"])
    assert_success(tokens)
    assert tokens.body["customerId"] == USER_ID


def test_consent_scope_without_consent_asks_for_it_and_writes_nothing(api: Api, dynamodb: Any) -> None:
    before = snapshot(dynamodb)

    answer = get_auth_code(api, scopes=["auth_user"])

    assert_refused(answer, "USER_CONSENT_REQUIRED")
    assert answer.body["consentRequiredScopes"] == ["auth_user"]
    assert answer.body["appInfo"]["appId"] == APP_ID
    assert answer.body["appInfo"]["appName"] == "Demo Coffee"
    assert "authCode" not in answer.body
    assert snapshot(dynamodb) == before


def test_consent_required_lists_only_the_scopes_lacking_consent(api: Api) -> None:
    answer = get_auth_code(api, scopes=["auth_base", "USER_ADDRESS", "auth_user"])

    assert_refused(answer, "USER_CONSENT_REQUIRED")
    assert answer.body["consentRequiredScopes"] == ["USER_ADDRESS", "auth_user"]


def test_consent_is_stored_and_remembered_per_user_and_app(api: Api) -> None:
    first = get_auth_code(api, scopes=["auth_user"], consentedScopes=["auth_user"])
    assert_success(first)
    assert first.body["authSuccessScopes"] == ["auth_user"]

    again = get_auth_code(api, scopes=["auth_user"])  # no consentedScopes this time
    assert_success(again)
    assert again.body["authSuccessScopes"] == ["auth_user"]

    other_app = api.call(GET_AUTH_CODE, {"userId": USER_ID, "appId": SECOND_APP_ID, "scopes": ["auth_user"]})
    assert_refused(other_app, "USER_CONSENT_REQUIRED")
    assert other_app.body["consentRequiredScopes"] == ["auth_user"]
    assert other_app.body["appInfo"]["appId"] == SECOND_APP_ID

    other_user = api.call(GET_AUTH_CODE, {"userId": BARE_USER_ID, "appId": APP_ID, "scopes": ["auth_user"]})
    assert_refused(other_user, "USER_CONSENT_REQUIRED")


def test_denied_consent_scope_is_reported_and_the_rest_is_granted(api: Api, dynamodb: Any) -> None:
    answer = get_auth_code(api, scopes=["auth_base", "auth_user"], consentedScopes=[])

    assert_success(answer)
    assert answer.body["authSuccessScopes"] == ["auth_base"]
    assert answer.body["authErrorScopes"] == {"auth_user": "USER_DENIED"}
    assert consents(dynamodb) == [], "a refused consent must not be remembered"
    tokens = api.apply_code(answer.body["authCode"])
    info = api.inquiry(tokens.body["accessToken"])
    assert_success(info)
    assert set(info.body["userInfo"]) == {"userId", "status"}, "a denied scope must unlock nothing"


def test_partially_consented_scopes(api: Api) -> None:
    answer = get_auth_code(api, scopes=["USER_NICKNAME", "USER_ADDRESS"], consentedScopes=["USER_NICKNAME"])

    assert_success(answer)
    assert answer.body["authSuccessScopes"] == ["USER_NICKNAME"]
    assert answer.body["authErrorScopes"] == {"USER_ADDRESS": "USER_DENIED"}


def test_unknown_scope_is_an_invalid_scope(api: Api) -> None:
    answer = get_auth_code(api, scopes=["auth_base", "NO_SUCH_SCOPE"])

    assert_success(answer)
    assert answer.body["authSuccessScopes"] == ["auth_base"]
    assert answer.body["authErrorScopes"] == {"NO_SUCH_SCOPE": "INVALID_SCOPE"}


def test_scope_outside_the_clients_allow_list_is_not_allowed(api: Api) -> None:
    # App 2021000000000003 belongs to client 2022000000000002, which may only have auth_user.
    answer = api.call(
        GET_AUTH_CODE, {"userId": USER_ID, "appId": OTHER_APP_ID, "scopes": ["auth_base", "USER_ADDRESS"]}
    )

    assert_success(answer)
    assert answer.body["authSuccessScopes"] == ["auth_base"]
    assert answer.body["authErrorScopes"] == {"USER_ADDRESS": "SCOPE_NOT_ALLOWED"}


def test_scope_outside_the_allow_list_is_not_allowed_even_when_consented(api: Api, dynamodb: Any) -> None:
    before = snapshot(dynamodb)

    answer = api.call(
        GET_AUTH_CODE,
        {"userId": USER_ID, "appId": OTHER_APP_ID, "scopes": ["USER_ADDRESS"], "consentedScopes": ["USER_ADDRESS"]},
    )

    assert_refused(answer, "ACCESS_DENIED")
    assert answer.body["authErrorScopes"] == {"USER_ADDRESS": "SCOPE_NOT_ALLOWED"}
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize(
    ("scopes", "consented", "errors"),
    [
        (["auth_user"], [], {"auth_user": "USER_DENIED"}),
        (["NO_SUCH_SCOPE"], None, {"NO_SUCH_SCOPE": "INVALID_SCOPE"}),
    ],
    ids=["all-denied", "all-unknown"],
)
def test_nothing_grantable_is_access_denied(
    api: Api, dynamodb: Any, scopes: list[str], consented: list[str] | None, errors: dict[str, str]
) -> None:
    body: dict[str, Any] = {"scopes": scopes}
    if consented is not None:
        body["consentedScopes"] = consented
    before = snapshot(dynamodb)

    answer = get_auth_code(api, **body)

    assert_refused(answer, "ACCESS_DENIED")
    assert answer.body["authErrorScopes"] == errors
    assert "authCode" not in answer.body
    assert snapshot(dynamodb) == before


@UNKNOWN_USER_OR_UNAVAILABLE_APP
def test_get_auth_code_refuses_unknown_user_or_unavailable_app(
    api: Api, dynamodb: Any, user_id: str, app_id: str, code: str
) -> None:
    before = snapshot(dynamodb)

    answer = api.call(
        GET_AUTH_CODE,
        {"userId": user_id, "appId": app_id, "scopes": ["auth_user"], "consentedScopes": ["auth_user"]},
    )

    assert_refused(answer, code)
    assert "authCode" not in answer.body
    assert snapshot(dynamodb) == before


def test_a_new_code_every_call(api: Api) -> None:
    first = get_auth_code(api)
    second = get_auth_code(api)

    assert_success(first)
    assert_success(second)
    assert first.body["authCode"] != second.body["authCode"]
    assert_success(api.apply_code(first.body["authCode"]))
    assert_success(api.apply_code(second.body["authCode"]))


@pytest.mark.parametrize(
    "body",
    [
        {"appId": APP_ID},
        {"userId": USER_ID},
        {"userId": 2088000000000001, "appId": APP_ID},
        {"userId": USER_ID, "appId": 2021000000000001},
        {"userId": USER_ID, "appId": APP_ID, "scopes": "auth_user"},
        {"userId": USER_ID, "appId": APP_ID, "scopes": [1]},
        {"userId": USER_ID, "appId": APP_ID, "consentedScopes": "auth_user"},
        {"userId": "", "appId": APP_ID},
        {"userId": USER_ID, "appId": "2" * 33},
    ],
    ids=[
        "missing-userId",
        "missing-appId",
        "userId-number",
        "appId-number",
        "scopes-string",
        "scopes-of-numbers",
        "consentedScopes-string",
        "userId-empty",
        "appId-too-long",
    ],
)
def test_get_auth_code_param_illegal(api: Api, dynamodb: Any, body: dict[str, Any]) -> None:
    before = snapshot(dynamodb)

    answer = api.call(GET_AUTH_CODE, body)

    assert_refused(answer, "PARAM_ILLEGAL")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (GET_AUTH_CODE, "not json"),
        (GET_AUTH_CODE, json.dumps([USER_ID, APP_ID])),
        (GET_OPEN_USER_INFO, json.dumps({"userId": USER_ID, "appId": APP_ID, "consented": "true"})),
        (GET_OPEN_USER_INFO, json.dumps({"appId": APP_ID, "consented": True})),
        (LIST_AUTHORIZATIONS, json.dumps({})),
        (LIST_AUTHORIZATIONS, json.dumps({"userId": ["2088000000000001"]})),
        (REVOKE_AUTHORIZATION, json.dumps({"userId": USER_ID})),
        (REVOKE_AUTHORIZATION, json.dumps({"userId": USER_ID, "appId": None})),
    ],
    ids=[
        "getAuthCode-not-json",
        "getAuthCode-array",
        "getOpenUserInfo-consented-string",
        "getOpenUserInfo-missing-userId",
        "list-missing-userId",
        "list-userId-list",
        "revoke-missing-appId",
        "revoke-appId-null",
    ],
)
def test_wallet_bodies_param_illegal(api: Api, dynamodb: Any, path: str, body: str) -> None:
    before = snapshot(dynamodb)

    answer = api.raw(path, body, {"Content-Type": "application/json"})

    assert_refused(answer, "PARAM_ILLEGAL")
    assert snapshot(dynamodb) == before


# -- getOpenUserInfo --------------------------------------------------------------------------------


def test_open_user_info_without_consent_is_40003(api: Api, dynamodb: Any) -> None:
    before = snapshot(dynamodb)

    answer = open_user_info(api)

    assert_success(answer)
    assert isinstance(answer.body["response"], str)
    response = json.loads(answer.body["response"])
    assert response["code"] == "40003"
    assert not {"nickName", "avatar", "gender", "countryCode", "province", "city", "userId"} & set(response)
    assert snapshot(dynamodb) == before


def test_open_user_info_refused_consent_is_40003(api: Api, dynamodb: Any) -> None:
    answer = open_user_info(api, consented=False)

    assert_success(answer)
    assert json.loads(answer.body["response"])["code"] == "40003"
    assert consents(dynamodb) == []


def test_open_user_info_with_consent_returns_the_public_profile(api: Api) -> None:
    answer = open_user_info(api, consented=True)

    assert_success(answer)
    assert isinstance(answer.body["response"], str)
    assert json.loads(answer.body["response"]) == {
        "code": "10000",
        "msg": "Success",
        "nickName": "Ana",
        "avatar": "https://example.com/avatars/ana.png",
        "gender": "f",
        "countryCode": "MX",
        "province": "CDMX",
        "city": "Ciudad de Mexico",
    }
    assert USER_ID not in json.dumps(answer.body), "getOpenUserInfo must never reveal the userId"


def test_open_user_info_consent_is_remembered(api: Api) -> None:
    assert_success(open_user_info(api, consented=True))

    again = open_user_info(api)  # no `consented` this time

    assert_success(again)
    response = json.loads(again.body["response"])
    assert (response["code"], response["msg"]) == ("10000", "Success")
    assert response["nickName"] == "Ana"
    other_app = api.call(GET_OPEN_USER_INFO, {"userId": USER_ID, "appId": SECOND_APP_ID})
    assert json.loads(other_app.body["response"])["code"] == "40003"


def test_open_user_info_of_a_bare_user_omits_missing_fields(api: Api) -> None:
    answer = api.call(GET_OPEN_USER_INFO, {"userId": BARE_USER_ID, "appId": APP_ID, "consented": True})

    assert_success(answer)
    assert json.loads(answer.body["response"]) == {"code": "10000", "msg": "Success"}


@UNKNOWN_USER_OR_UNAVAILABLE_APP
def test_open_user_info_refuses_unknown_user_or_unavailable_app(
    api: Api, dynamodb: Any, user_id: str, app_id: str, code: str
) -> None:
    before = snapshot(dynamodb)

    answer = api.call(GET_OPEN_USER_INFO, {"userId": user_id, "appId": app_id, "consented": True})

    assert_refused(answer, code)
    assert "response" not in answer.body
    assert snapshot(dynamodb) == before


# -- authorizations list / revoke ---------------------------------------------------------------------


def test_list_shows_the_consented_apps_with_their_scopes(api: Api, clock: FakeClock) -> None:
    assert_success(get_auth_code(api, scopes=["auth_user"], consentedScopes=["auth_user"]))
    clock.advance(60)
    assert_success(get_auth_code(api, scopes=["USER_ADDRESS"], consentedScopes=["USER_ADDRESS"]))
    assert_success(api.call(GET_OPEN_USER_INFO, {"userId": USER_ID, "appId": SECOND_APP_ID, "consented": True}))

    answer = api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID})

    assert_success(answer)
    listed = {entry["appId"]: entry for entry in answer.body["authorizations"]}
    assert set(listed) == {APP_ID, SECOND_APP_ID}
    coffee = listed[APP_ID]
    assert coffee["appName"] == "Demo Coffee"
    assert coffee["scopes"] == ["USER_ADDRESS", "auth_user"]
    assert coffee["consentedScopes"] == ["USER_ADDRESS", "auth_user"]
    assert coffee["openUserInfo"] is False
    assert coffee["liveGrants"] == 2  # one per code issued, neither redeemed yet
    assert coffee["authorizedTime"] == "2026-11-22T02:00:00.000+00:00"
    assert coffee["updatedTime"] == "2026-11-22T02:01:00.000+00:00"
    tickets = listed[SECOND_APP_ID]
    assert tickets["appName"] == "Demo Tickets"
    assert tickets["scopes"] == []
    assert tickets["openUserInfo"] is True
    assert tickets["liveGrants"] == 0


def test_list_shows_silent_grants_while_they_live(api: Api, clock: FakeClock) -> None:
    """An auth_base grant needs no consent, but the merchant can use it: the user must see it to withdraw it."""
    code = get_auth_code(api).body["authCode"]  # auth_base only: silent, no consent stored
    clock.advance(5)
    pair = api.apply_code(code).body

    listed = api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"]

    assert listed == [{
        "appId": APP_ID, "appName": "Demo Coffee", "appLogo": "https://example.com/logos/coffee.png",
        "scopes": ["auth_base"], "consentedScopes": [], "openUserInfo": False, "liveGrants": 1,
        "authorizedTime": "2026-11-22T02:00:00.000+00:00", "updatedTime": "2026-11-22T02:00:00.000+00:00",
    }]
    assert_success(api.revoke(pair["accessToken"]))
    assert api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"] == []


def test_list_leaves_out_expired_silent_grants(api: Api, clock: FakeClock) -> None:
    get_auth_code(api)
    clock.advance(settings().auth_code_ttl + 1)  # never redeemed: the grant dies with its code

    assert api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"] == []


def test_list_of_unknown_user(api: Api) -> None:
    assert_refused(api.call(LIST_AUTHORIZATIONS, {"userId": UNKNOWN_USER_ID}), "USER_NOT_EXIST")


def test_revoke_authorization_forgets_consent_and_kills_tokens_and_codes(api: Api) -> None:
    live = api.tokens(["auth_user"])  # a redeemed code: live access and refresh tokens
    pending_code = api.auth_code(["auth_user"])  # issued, not yet redeemed
    other_app_tokens = api.apply_code(api.auth_code(["auth_user"], app_id=SECOND_APP_ID), app_id=SECOND_APP_ID)
    assert_success(other_app_tokens)

    answer = api.call(REVOKE_AUTHORIZATION, {"userId": USER_ID, "appId": APP_ID})

    assert_success(answer)
    listed = api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"]
    assert [entry["appId"] for entry in listed] == [SECOND_APP_ID]
    assert_refused(get_auth_code(api, scopes=["auth_user"]), "USER_CONSENT_REQUIRED")
    assert_refused(api.inquiry(live["accessToken"]), "INVALID_ACCESS_TOKEN")
    assert_refused(api.refresh(live["refreshToken"]), "INVALID_REFRESH_TOKEN")
    assert_refused(api.apply_code(pending_code), "INVALID_AUTHCODE")
    # The other app's authorization is untouched.
    assert_success(api.inquiry(other_app_tokens.body["accessToken"], app_id=SECOND_APP_ID))


def test_revoke_authorization_also_forgets_open_user_info_consent(api: Api) -> None:
    assert_success(open_user_info(api, consented=True))

    assert_success(api.call(REVOKE_AUTHORIZATION, {"userId": USER_ID, "appId": APP_ID}))

    assert json.loads(open_user_info(api).body["response"])["code"] == "40003"


def test_revoke_authorization_without_consent_writes_only_the_marker(api: Api, dynamodb: Any) -> None:
    """Silent grants have no consent item: the withdrawal must create the marker that kills them."""
    before = snapshot(dynamodb)

    answer = api.call(REVOKE_AUTHORIZATION, {"userId": USER_ID, "appId": APP_ID})

    assert_success(answer)
    after = snapshot(dynamodb)
    consents_table = settings().tables.consents
    assert {name: rows for name, rows in after.items() if name != consents_table} == {
        name: rows for name, rows in before.items() if name != consents_table
    }
    [marker] = [json.loads(row) for row in after[consents_table]]
    assert marker["epoch"] == {"N": "1"}
    assert marker["withdrawnAt"]
    assert "consentedScopes" not in marker and "openUserInfo" not in marker
    assert api.call(LIST_AUTHORIZATIONS, {"userId": USER_ID}).body["authorizations"] == []


def test_revoke_authorization_of_unknown_user(api: Api, dynamodb: Any) -> None:
    before = snapshot(dynamodb)

    answer = api.call(REVOKE_AUTHORIZATION, {"userId": UNKNOWN_USER_ID, "appId": APP_ID})

    assert_refused(answer, "USER_NOT_EXIST")
    assert snapshot(dynamodb) == before

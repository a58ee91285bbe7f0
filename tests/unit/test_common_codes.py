"""The Open API's common result codes (contract section 4) and the access-token codes of section 5."""

from __future__ import annotations

import json
from typing import Any

import pytest

from miniauth import credentials, runtime
from miniauth.config import settings
from miniauth.domain.ports import StorageThrottled

from support import (
    APP_ID,
    CLIENT_ID,
    OTHER_APP_ID,
    OTHER_CLIENT_ID,
    SECOND_APP_ID,
    STRANGER_KEY,
    SUSPENDED_CLIENT_ID,
    USER_ID,
    Answer,
    Api,
    FakeClock,
    signed_headers,
    snapshot,
)

V1, V2 = "v1", "v2"
VERSIONS = [V2, V1]
INQUIRY = {V2: "/v2/users/inquiryUserInfo", V1: "/v1/customers/user/inquiryUserInfoByAccessToken"}
REVOKE = {V2: "/v2/authorizations/revoke", V1: "/v1/authorizations/cancelToken"}
JSON = {"Content-Type": "application/json; charset=UTF-8"}
UNKNOWN_CLIENT_ID = "2022999999999999"
SUSPENDED_APP_ID = "2021000000000009"
NEVER_ISSUED_TOKEN = "never-issued-" + "x" * 51


def token_body(
    version: str, access_token: Any, app_id: str = APP_ID, client_id: str = CLIENT_ID, **extra: Any
) -> dict[str, Any]:
    if version == V2:
        return {"appId": app_id, "authClientId": client_id, "accessToken": access_token, **extra}
    return {"accessToken": access_token, "referenceClientId": app_id, **extra}


def inquiry(api: Api, version: str, access_token: Any, client_id: str = CLIENT_ID, **body: Any) -> Answer:
    return api.call(INQUIRY[version], token_body(version, access_token, **body), client_id=client_id)


def revoke(api: Api, version: str, access_token: Any, client_id: str = CLIENT_ID, **body: Any) -> Answer:
    return api.call(REVOKE[version], token_body(version, access_token, **body), client_id=client_id)


def assert_success(answer: Answer) -> None:
    assert answer.status == 200, answer.body
    assert (answer.code, answer.result_status) == ("SUCCESS", "S"), answer.body


def assert_refused(answer: Answer, code: str, status: str = "F") -> None:
    """A business refusal: HTTP 200, the code, its status, a message, and nothing else in the body."""
    assert answer.status == 200, answer.body
    assert (answer.code, answer.result_status) == (code, status), answer.body
    assert answer.body["result"]["resultMessage"]
    assert "userInfo" not in answer.body


@pytest.fixture
def tokens(api: Api) -> dict[str, Any]:
    return api.tokens(["auth_user"])


@pytest.fixture
def access_token(tokens: dict[str, Any]) -> str:
    return tokens["accessToken"]


# -- SUCCESS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_success(api: Api, access_token: str, version: str) -> None:
    answer = inquiry(api, version, access_token)

    assert_success(answer)
    assert answer.body["result"]["resultMessage"]
    assert answer.body["userInfo"]["userId"] == USER_ID


# -- PARAM_ILLEGAL --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "raw_body",
    ["not json", '{"accessToken": ', "[]", '["accessToken"]', '"text"', ""],
    ids=["text", "truncated", "empty-array", "array", "json-string", "empty"],
)
def test_param_illegal_for_a_body_that_is_not_a_json_object(
    api: Api, dynamodb: Any, access_token: str, version: str, raw_body: str
) -> None:
    before = snapshot(dynamodb)

    answer = api.raw(INQUIRY[version], raw_body, {**JSON, "Client-Id": CLIENT_ID})

    assert_refused(answer, "PARAM_ILLEGAL")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_param_illegal_without_client_id_header(api: Api, dynamodb: Any, access_token: str, version: str) -> None:
    before = snapshot(dynamodb)

    answer = inquiry(api, version, access_token, client_id=None)  # type: ignore[arg-type]

    assert_refused(answer, "PARAM_ILLEGAL")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_param_illegal_without_access_token(api: Api, dynamodb: Any, access_token: str, version: str) -> None:
    body = token_body(version, access_token)
    del body["accessToken"]
    before = snapshot(dynamodb)

    answer = api.call(INQUIRY[version], body)

    assert_refused(answer, "PARAM_ILLEGAL")
    assert "accessToken" in answer.body["result"]["resultMessage"]
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "bad_token",
    [123456, ["token"], {"token": "x"}, True, "", "t" * 129],
    ids=["number", "list", "object", "boolean", "empty", "too-long"],
)
def test_param_illegal_for_a_malformed_access_token(api: Api, dynamodb: Any, version: str, bad_token: Any) -> None:
    before = snapshot(dynamodb)

    answer = inquiry(api, version, bad_token)

    assert_refused(answer, "PARAM_ILLEGAL")
    assert snapshot(dynamodb) == before


def test_param_illegal_message_does_not_echo_the_value_sent(api: Api) -> None:
    secret_looking = "S3CRET-" + "z" * 130

    answer = inquiry(api, V2, secret_looking)

    assert_refused(answer, "PARAM_ILLEGAL")
    assert "S3CRET" not in json.dumps(answer.body)


@pytest.mark.parametrize(
    "body",
    [
        {"authClientId": CLIENT_ID, "accessToken": "token"},
        {"appId": 2021000000000001, "authClientId": CLIENT_ID, "accessToken": "token"},
        {"appId": "2" * 33, "authClientId": CLIENT_ID, "accessToken": "token"},
        {"appId": APP_ID, "authClientId": 2022000000000001, "accessToken": "token"},
        {"appId": APP_ID, "accessToken": "token", "extendInfo": "e" * 4097},
    ],
    ids=["missing-appId", "appId-number", "appId-too-long", "authClientId-number", "extendInfo-too-long"],
)
def test_param_illegal_for_other_v2_fields(api: Api, dynamodb: Any, body: dict[str, Any]) -> None:
    before = snapshot(dynamodb)

    for path in (INQUIRY[V2], REVOKE[V2]):
        assert_refused(api.call(path, body), "PARAM_ILLEGAL")
    assert snapshot(dynamodb) == before


# -- INVALID_AUTH_CLIENT / INVALID_AUTH_CLIENT_STATUS -------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_client_id_is_answered_like_a_bad_signature(
    api: Api, dynamodb: Any, access_token: str, version: str
) -> None:
    """Unsigned, a caller must not learn which Client-Ids exist: same code and message as a known client's bad
    signature (the contract's INVALID_AUTH_CLIENT stays for a body authClientId naming another client)."""
    before = snapshot(dynamodb)

    unknown = inquiry(api, version, access_token, client_id=UNKNOWN_CLIENT_ID)
    body = json.dumps(token_body(version, access_token))
    forged = api.raw(INQUIRY[version], body, {**JSON, **signed_headers(INQUIRY[version], body, CLIENT_ID,
                                                                       key=STRANGER_KEY)})

    assert_refused(unknown, "INVALID_SIGNATURE")
    assert unknown.body == forged.body
    assert snapshot(dynamodb) == before


def test_invalid_auth_client_when_body_names_another_client(api: Api, dynamodb: Any, access_token: str) -> None:
    before = snapshot(dynamodb)

    answer = api.call(INQUIRY[V2], {"appId": APP_ID, "authClientId": OTHER_CLIENT_ID, "accessToken": access_token})

    assert_refused(answer, "INVALID_AUTH_CLIENT")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_invalid_auth_client_status_for_a_suspended_client(
    api: Api, dynamodb: Any, access_token: str, version: str
) -> None:
    body = token_body(version, access_token, app_id=SUSPENDED_APP_ID, client_id=SUSPENDED_CLIENT_ID)
    before = snapshot(dynamodb)

    answer = api.call(INQUIRY[version], body, client_id=SUSPENDED_CLIENT_ID)

    assert_refused(answer, "INVALID_AUTH_CLIENT_STATUS")
    assert snapshot(dynamodb) == before


# -- ACCESS_DENIED ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("app_id", [OTHER_APP_ID, "2021999999999999"], ids=["other-clients-app", "unknown-app"])
def test_access_denied_for_an_app_the_client_does_not_own(
    api: Api, dynamodb: Any, access_token: str, version: str, app_id: str
) -> None:
    before = snapshot(dynamodb)

    answer = inquiry(api, version, access_token, app_id=app_id)

    assert_refused(answer, "ACCESS_DENIED")
    assert snapshot(dynamodb) == before
    assert_success(inquiry(api, version, access_token))  # the token itself is fine


@pytest.mark.parametrize("version", VERSIONS)
def test_access_denied_for_revoke_naming_an_app_the_client_does_not_own(
    api: Api, dynamodb: Any, access_token: str, version: str
) -> None:
    before = snapshot(dynamodb)

    answer = revoke(api, version, access_token, app_id=OTHER_APP_ID)

    assert_refused(answer, "ACCESS_DENIED")
    assert snapshot(dynamodb) == before
    assert_success(inquiry(api, version, access_token))


# -- INVALID_API -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v2/authorizations/unknown", "/v1/authorizations/unknown"])
def test_invalid_api_for_a_path_no_route_serves(api: Api, dynamodb: Any, path: str) -> None:
    before = snapshot(dynamodb)

    body = json.dumps({"appId": APP_ID, "authClientId": CLIENT_ID})
    answer = api.raw(path, body, {**JSON, **signed_headers(path, body, CLIENT_ID)})

    assert_refused(answer, "INVALID_API")
    assert snapshot(dynamodb) == before


# -- PROCESS_FAIL ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_process_fail_when_the_grants_user_is_gone(api: Api, dynamodb: Any, access_token: str, version: str) -> None:
    dynamodb.delete_item(TableName=settings().tables.users, Key={"userId": {"S": USER_ID}})
    before = snapshot(dynamodb)

    answer = inquiry(api, version, access_token)

    assert_refused(answer, "PROCESS_FAIL")
    assert snapshot(dynamodb) == before


# -- REQUEST_TRAFFIC_EXCEED_LIMIT / UNKNOWN_EXCEPTION ---------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_request_traffic_exceed_limit_when_storage_throttles(
    api: Api, dynamodb: Any, access_token: str, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(token_hash: str) -> None:
        raise StorageThrottled("ProvisionedThroughputExceededException")

    monkeypatch.setattr(runtime.store(), "token", throttled)
    before = snapshot(dynamodb)

    answer = inquiry(api, version, access_token)

    assert_refused(answer, "REQUEST_TRAFFIC_EXCEED_LIMIT", status="U")
    assert snapshot(dynamodb) == before
    monkeypatch.undo()
    assert_success(inquiry(api, version, access_token))  # safe to retry: nothing was spent


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_exception_is_500_and_reveals_no_internals(
    api: Api, dynamodb: Any, access_token: str, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(token_hash: str) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(runtime.store(), "token", broken)
    before = snapshot(dynamodb)

    answer = inquiry(api, version, access_token)

    assert answer.status == 500
    assert (answer.code, answer.result_status) == ("UNKNOWN_EXCEPTION", "U")
    text = json.dumps(answer.body)
    assert "secret internals" not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text
    assert set(answer.body) == {"result"}
    assert snapshot(dynamodb) == before


# -- INVALID_ACCESS_TOKEN / EXPIRED_ACCESS_TOKEN: inquiry -----------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_inquiry_invalid_access_token_for_an_unknown_token(api: Api, dynamodb: Any, version: str) -> None:
    before = snapshot(dynamodb)

    answer = inquiry(api, version, NEVER_ISSUED_TOKEN)

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_inquiry_invalid_access_token_for_a_refresh_token(
    api: Api, dynamodb: Any, tokens: dict[str, Any], version: str
) -> None:
    before = snapshot(dynamodb)

    answer = inquiry(api, version, tokens["refreshToken"])

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_inquiry_invalid_access_token_for_another_app_of_the_same_client(
    api: Api, dynamodb: Any, access_token: str, version: str
) -> None:
    before = snapshot(dynamodb)

    answer = inquiry(api, version, access_token, app_id=SECOND_APP_ID)

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_inquiry_invalid_access_token_for_another_clients_token(
    api: Api, dynamodb: Any, access_token: str, version: str
) -> None:
    body = token_body(version, access_token, app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID)
    before = snapshot(dynamodb)

    answer = api.call(INQUIRY[version], body, client_id=OTHER_CLIENT_ID)

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_inquiry_expired_access_token(
    api: Api, dynamodb: Any, clock: FakeClock, access_token: str, version: str
) -> None:
    clock.advance(86401)
    before = snapshot(dynamodb)
    tokens_table = settings().tables.tokens
    stored = dynamodb.get_item(TableName=tokens_table, Key={"tokenHash": {"S": credentials.digest(access_token)}})
    assert "Item" in stored, "moto never deletes by TTL: the expiry must be checked on read"

    answer = inquiry(api, version, access_token)

    assert_refused(answer, "EXPIRED_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_inquiry_is_still_valid_just_before_expiry(api: Api, clock: FakeClock, access_token: str, version: str) -> None:
    clock.advance(86399)

    assert_success(inquiry(api, version, access_token))


# -- revoke ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_revoke_kills_the_access_and_refresh_token(api: Api, tokens: dict[str, Any], version: str) -> None:
    assert_success(revoke(api, version, tokens["accessToken"]))

    assert_refused(inquiry(api, version, tokens["accessToken"]), "INVALID_ACCESS_TOKEN")
    assert_refused(api.refresh(tokens["refreshToken"]), "INVALID_REFRESH_TOKEN")


@pytest.mark.parametrize("version", VERSIONS)
def test_revoke_is_idempotent(api: Api, dynamodb: Any, access_token: str, version: str) -> None:
    assert_success(revoke(api, version, access_token))
    after_first = snapshot(dynamodb)

    assert_success(revoke(api, version, access_token))

    assert snapshot(dynamodb) == after_first, "the second revoke must change nothing"
    assert_refused(inquiry(api, version, access_token), "INVALID_ACCESS_TOKEN")


@pytest.mark.parametrize("version", VERSIONS)
def test_revoke_invalid_access_token_for_an_unknown_token(api: Api, dynamodb: Any, version: str) -> None:
    before = snapshot(dynamodb)

    answer = revoke(api, version, NEVER_ISSUED_TOKEN)

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_revoke_invalid_access_token_for_a_foreign_clients_token(
    api: Api, dynamodb: Any, access_token: str, version: str
) -> None:
    body = token_body(version, access_token, app_id=OTHER_APP_ID, client_id=OTHER_CLIENT_ID)
    before = snapshot(dynamodb)

    answer = api.call(REVOKE[version], body, client_id=OTHER_CLIENT_ID)

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before
    assert_success(inquiry(api, version, access_token))  # the owner's token survives


@pytest.mark.parametrize("version", VERSIONS)
def test_revoke_invalid_access_token_for_a_refresh_token(
    api: Api, dynamodb: Any, tokens: dict[str, Any], version: str
) -> None:
    before = snapshot(dynamodb)

    answer = revoke(api, version, tokens["refreshToken"])

    assert_refused(answer, "INVALID_ACCESS_TOKEN")
    assert snapshot(dynamodb) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_revoke_of_an_expired_access_token_still_ends_the_grant(
    api: Api, clock: FakeClock, tokens: dict[str, Any], version: str
) -> None:
    # Contract section 5 lists EXPIRED_ACCESS_TOKEN for inquiryUserInfo only; for revoke the only refusal
    # is INVALID_ACCESS_TOKEN (unknown or foreign). An expired access token of the caller is neither, and
    # its refresh token (30 days) is still alive: revoke must kill it.
    clock.advance(86401)

    answer = revoke(api, version, tokens["accessToken"])

    assert_success(answer)
    assert_refused(api.refresh(tokens["refreshToken"]), "INVALID_REFRESH_TOKEN")

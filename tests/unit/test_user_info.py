"""inquiryUserInfo returns exactly the userInfo fields the grant's scopes unlock (contract section 2)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from miniauth.scopes import REGISTRY

from support import BARE_USER_ID, CLIENT_ID, USER_ID, Answer, Api

PROFILE = {"nickName", "userName", "avatar", "gender", "birthDate", "nationality"}

# What each scope adds to {"userId", "status"} for the full-profile demo user, written out from the
# contract's table rather than derived from the registry under test.
UNLOCKS: dict[str, set[str]] = {
    "auth_base": set(),
    "USER_ID": set(),
    "auth_user": PROFILE,
    "USER_NICKNAME": {"nickName"},
    "USER_NAME": {"userName"},
    "USER_AVATAR": {"avatar"},
    "USER_GENDER": {"gender"},
    "USER_BIRTHDAY": {"birthDate"},
    "USER_NATIONALITY": {"nationality"},
    "USER_LOGIN_ID": {"loginIdInfos"},
    "PLAINTEXT_USER_LOGIN_ID": {"loginIdInfos"},
    "HASH_LOGIN_ID": {"loginIdInfos"},
    "USER_CONTACTINFO": {"contactInfos"},
    "PLAINTEXT_MOBILE_PHONE": {"contactInfos"},
    "USER_ADDRESS": {"addresses"},
    "SEND_MESSAGE": set(),
}

PHONE = "13812345678"


def user_info(api: Api, scopes: list[str], user_id: str = USER_ID) -> dict[str, Any]:
    tokens = api.apply_code(api.auth_code(scopes, user_id=user_id))
    assert tokens.code == "SUCCESS", tokens.body
    answer = api.inquiry(tokens.body["accessToken"])
    assert (answer.status, answer.code, answer.result_status) == (200, "SUCCESS", "S"), answer.body
    return answer.body["userInfo"]


def test_the_expectations_cover_every_registered_scope() -> None:
    assert set(UNLOCKS) == set(REGISTRY)


@pytest.mark.parametrize("scope", sorted(REGISTRY))
def test_each_scope_unlocks_exactly_its_fields(api: Api, scope: str) -> None:
    info = user_info(api, [scope])

    assert set(info) == {"userId", "status"} | UNLOCKS[scope]
    assert info["userId"] == USER_ID
    assert info["status"] == "ACTIVE"


def test_auth_user_profile_values(api: Api) -> None:
    info = user_info(api, ["auth_user"])

    assert info == {
        "userId": USER_ID,
        "status": "ACTIVE",
        "nickName": "Ana",
        "userName": {"fullName": "Ana Maria Lopez", "firstName": "Ana Maria", "lastName": "Lopez"},
        "avatar": "https://example.com/avatars/ana.png",
        "gender": "FEMALE",
        "birthDate": "1990-05-17",
        "nationality": "MX",
    }


def test_several_scopes_unlock_the_union_of_their_fields(api: Api) -> None:
    info = user_info(api, ["USER_NICKNAME", "USER_ADDRESS", "SEND_MESSAGE"])

    assert set(info) == {"userId", "status", "nickName", "addresses"}


def test_user_login_id_is_masked(api: Api) -> None:
    info = user_info(api, ["USER_LOGIN_ID"])

    assert info["loginIdInfos"] == [{"loginIdType": "MOBILE_PHONE", "loginId": "138****5678"}]


def test_plaintext_user_login_id_is_not_masked(api: Api) -> None:
    info = user_info(api, ["PLAINTEXT_USER_LOGIN_ID"])

    assert info["loginIdInfos"] == [{"loginIdType": "MOBILE_PHONE", "loginId": PHONE}]


def test_hash_login_id_is_the_sha256_hex_of_the_login_id(api: Api) -> None:
    info = user_info(api, ["HASH_LOGIN_ID"])

    expected = hashlib.sha256(PHONE.encode("utf-8")).hexdigest()
    assert info["loginIdInfos"] == [{"loginIdType": "MOBILE_PHONE", "loginId": expected}]


def test_user_contactinfo_entries_are_masked(api: Api) -> None:
    info = user_info(api, ["USER_CONTACTINFO"])

    assert info["contactInfos"] == [
        {"contactType": "MOBILE_PHONE", "contactNo": "138****5678"},
        {"contactType": "EMAIL", "contactNo": "a****z@example.com"},
    ]
    assert "ana.lopez@example.com" not in str(info)
    assert PHONE not in str(info)


def test_plaintext_mobile_phone_unmasks_only_mobile_phone_entries(api: Api) -> None:
    info = user_info(api, ["PLAINTEXT_MOBILE_PHONE"])

    assert info["contactInfos"] == [{"contactType": "MOBILE_PHONE", "contactNo": PHONE}]


def test_user_address_values(api: Api) -> None:
    info = user_info(api, ["USER_ADDRESS"])

    assert info["addresses"] == [
        {
            "region": "MX",
            "province": "CDMX",
            "city": "Ciudad de Mexico",
            "area": "Coyoacan",
            "address1": "Av. Universidad 3000",
            "zipCode": "04510",
        }
    ]


def test_missing_profile_fields_are_omitted(api: Api) -> None:
    info = user_info(api, ["auth_user"], user_id=BARE_USER_ID)

    assert info == {"userId": BARE_USER_ID, "status": "ACTIVE"}


@pytest.mark.parametrize(
    "scope", ["USER_LOGIN_ID", "USER_CONTACTINFO", "PLAINTEXT_MOBILE_PHONE", "USER_ADDRESS", "USER_NAME"]
)
def test_missing_list_and_object_fields_are_omitted(api: Api, scope: str) -> None:
    info = user_info(api, [scope], user_id=BARE_USER_ID)

    assert info == {"userId": BARE_USER_ID, "status": "ACTIVE"}


def test_v1_inquiry_by_access_token(api: Api) -> None:
    tokens = api.tokens(["USER_NICKNAME"])

    answer: Answer = api.call(
        "/v1/customers/user/inquiryUserInfoByAccessToken", {"accessToken": tokens["accessToken"]}, client_id=CLIENT_ID
    )

    assert (answer.status, answer.code, answer.result_status) == (200, "SUCCESS", "S"), answer.body
    assert answer.body["userInfo"] == {"userId": USER_ID, "status": "ACTIVE", "nickName": "Ana"}

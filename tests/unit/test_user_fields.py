"""A user profile field is defined once, on domain.models.User: the users table item, `users put`,
the userInfo builder, the scope registry and openapi.yaml must all follow that one definition."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from miniauth import scopes
from miniauth.domain.models import PROFILE_FIELDS, ProfileKind, User
from miniauth.storage.items import UserItem
from miniauth.userinfo import build_user_info
from miniauth_tools import admin

from support import ROOT

NAMES = {field.name for field in PROFILE_FIELDS}
GOOD: dict[ProfileKind, Any] = {
    ProfileKind.TEXT: "x",
    ProfileKind.GENDER: "FEMALE",
    ProfileKind.DATE: "1990-05-17",
    ProfileKind.NAME: {"fullName": "Ana Lopez"},
    ProfileKind.OBJECTS: [{"a": "b"}],
    ProfileKind.LOGIN_IDS: [{"loginIdType": "EMAIL", "loginId": "ana@example.com"}],
    ProfileKind.CONTACTS: [{"contactType": "EMAIL", "contactNo": "ana@example.com"}],
}
BAD: dict[ProfileKind, Any] = {
    ProfileKind.TEXT: "",
    ProfileKind.GENDER: "F",
    ProfileKind.DATE: "1990-02-30",
    ProfileKind.NAME: {"nickName": "Ana"},
    ProfileKind.OBJECTS: ["b"],
    ProfileKind.LOGIN_IDS: "ana@example.com",
    ProfileKind.CONTACTS: {"contactNo": "1"},
}


def test_the_users_table_item_stores_each_profile_field_under_its_contract_name() -> None:
    stored = {attribute.attr_name for attribute in UserItem.get_attributes().values()}
    assert stored == {"userId", "status", *NAMES}
    for field in PROFILE_FIELDS:
        assert UserItem.get_attributes()[field.attribute].attr_name == field.name


def test_every_profile_field_is_unlocked_by_a_scope_and_every_unlocked_field_exists() -> None:
    unlocked = set().union(*(scope.fields for scope in scopes.REGISTRY.values()))
    assert unlocked >= NAMES, f"no scope unlocks {sorted(NAMES - unlocked)} (scopes.py)"
    assert unlocked <= NAMES | scopes.ALWAYS, f"scopes unlock unknown fields {sorted(unlocked - NAMES)}"


def test_openapi_documents_every_profile_field_of_user_info() -> None:
    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    assert set(document["components"]["schemas"]["UserInfo"]["properties"]) == {"userId", "status", *NAMES}


@pytest.mark.parametrize("field", PROFILE_FIELDS, ids=lambda field: field.name)
def test_users_put_accepts_each_field_by_its_kind_and_refuses_a_wrong_value(field) -> None:
    assert admin.profile_attributes("u1", {field.name: GOOD[field.kind]}) == {field.attribute: GOOD[field.kind]}
    with pytest.raises(admin.AdminError, match=f"^{field.name} must be "):
        admin.profile_attributes("u1", {field.name: BAD[field.kind]})


@pytest.mark.parametrize("field", PROFILE_FIELDS, ids=lambda field: field.name)
def test_user_info_shows_a_field_only_to_a_scope_that_unlocks_it(field) -> None:
    user = User("u1", **{field.attribute: GOOD[field.kind]})
    unlocking = sorted(name for name, scope in scopes.REGISTRY.items() if field.name in scope.fields)
    assert unlocking and field.name in build_user_info(user, unlocking)
    assert build_user_info(user, ["auth_base"]) == {"userId": "u1", "status": "ACTIVE"}

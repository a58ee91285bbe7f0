"""The scope registry (contract section 2): which scopes are silent and what each unlocks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class LoginIdForm(Enum):
    MASKED = "masked"
    PLAINTEXT = "plaintext"
    HASHED = "hashed"


@dataclass(frozen=True)
class Scope:
    name: str
    silent: bool
    fields: frozenset[str] = frozenset()


AUTH_BASE = "auth_base"
DEFAULT_SCOPES = (AUTH_BASE,)

_PROFILE = frozenset({"userId", "nickName", "userName", "avatar", "gender", "birthDate", "nationality"})

REGISTRY: dict[str, Scope] = {
    scope.name: scope
    for scope in (
        Scope(AUTH_BASE, silent=True, fields=frozenset({"userId"})),
        Scope("USER_ID", silent=True, fields=frozenset({"userId"})),
        Scope("auth_user", silent=False, fields=_PROFILE),
        Scope("USER_NICKNAME", silent=False, fields=frozenset({"nickName"})),
        Scope("USER_NAME", silent=False, fields=frozenset({"userName"})),
        Scope("USER_AVATAR", silent=False, fields=frozenset({"avatar"})),
        Scope("USER_GENDER", silent=False, fields=frozenset({"gender"})),
        Scope("USER_BIRTHDAY", silent=False, fields=frozenset({"birthDate"})),
        Scope("USER_NATIONALITY", silent=False, fields=frozenset({"nationality"})),
        Scope("USER_LOGIN_ID", silent=False, fields=frozenset({"loginIdInfos"})),
        Scope("PLAINTEXT_USER_LOGIN_ID", silent=False, fields=frozenset({"loginIdInfos"})),
        Scope("HASH_LOGIN_ID", silent=False, fields=frozenset({"loginIdInfos"})),
        Scope("USER_CONTACTINFO", silent=False, fields=frozenset({"contactInfos"})),
        Scope("PLAINTEXT_MOBILE_PHONE", silent=False, fields=frozenset({"contactInfos"})),
        Scope("USER_ADDRESS", silent=False, fields=frozenset({"addresses"})),
        Scope("SEND_MESSAGE", silent=False),
    )
}

# Fields every userInfo carries, whatever the scopes.
ALWAYS = frozenset({"userId", "status"})


def is_known(name: str) -> bool:
    return name in REGISTRY


def needs_consent(name: str) -> bool:
    return not REGISTRY[name].silent


def fields_for(scopes: Iterable[str]) -> frozenset[str]:
    unlocked: set[str] = set(ALWAYS)
    for name in scopes:
        scope = REGISTRY.get(name)
        if scope:
            unlocked |= scope.fields
    return frozenset(unlocked)


def login_id_form(scopes: Iterable[str]) -> LoginIdForm:
    """The most revealing login-id form the grant allows wins."""
    granted = set(scopes)
    if "PLAINTEXT_USER_LOGIN_ID" in granted:
        return LoginIdForm.PLAINTEXT
    if "HASH_LOGIN_ID" in granted:
        return LoginIdForm.HASHED
    return LoginIdForm.MASKED

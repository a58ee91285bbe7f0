"""The platform's nouns as plain values. Secrets never appear here: only their digests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any

AUTHORIZATION_CODE = "AUTHORIZATION_CODE"
REFRESH_TOKEN = "REFRESH_TOKEN"
GRANT_TYPES = (AUTHORIZATION_CODE, REFRESH_TOKEN)


class ClientStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


class CodeStatus(StrEnum):
    ISSUED = "ISSUED"
    REDEEMED = "REDEEMED"
    REVOKED = "REVOKED"  # the user withdrew the authorization before it was redeemed


class GrantStatus(StrEnum):
    PENDING = "PENDING"  # its authCode is not redeemed yet
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class TokenKind(StrEnum):
    ACCESS = "ACCESS"
    REFRESH = "REFRESH"


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    status: ClientStatus = ClientStatus.ACTIVE
    allowed_scopes: frozenset[str] = frozenset()
    grant_types: frozenset[str] = frozenset(GRANT_TYPES)
    public_keys: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status is ClientStatus.ACTIVE


@dataclass(frozen=True)
class App:
    app_id: str
    client_id: str
    name: str
    logo: str | None = None


class ProfileKind(StrEnum):
    """What a user profile field holds: how it is validated, stored and shown."""

    TEXT = "TEXT"
    GENDER = "GENDER"
    DATE = "DATE"  # YYYY-MM-DD
    NAME = "NAME"  # {fullName, firstName, lastName}
    OBJECTS = "OBJECTS"  # a list of objects, shown as stored
    LOGIN_IDS = "LOGIN_IDS"  # a list of objects, shown masked, hashed or plain as the scopes choose
    CONTACTS = "CONTACTS"  # a list of objects, shown masked or plain as the scopes choose


GENDERS = ("MALE", "FEMALE")
USER_NAME_PARTS = ("fullName", "firstName", "lastName")
_LISTS = (ProfileKind.OBJECTS, ProfileKind.LOGIN_IDS, ProfileKind.CONTACTS)
_RULES = {
    ProfileKind.TEXT: "a non-empty string",
    ProfileKind.GENDER: " or ".join(GENDERS),
    ProfileKind.DATE: "a date as YYYY-MM-DD",
    ProfileKind.NAME: f"an object of strings with {', '.join(USER_NAME_PARTS)}",
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _profile(name: str, kind: ProfileKind) -> Any:
    """A profile field of User: `name` is its contract name, also its attribute name in the users table."""
    metadata = {"profile": name, "kind": kind}
    if kind in _LISTS:
        return field(default_factory=list, metadata=metadata)
    return field(default=None, metadata=metadata)


@dataclass(frozen=True)
class User:
    """The one definition of a user's profile: the users table item, `users put` and userInfo follow it.

    Adding a field is one line here plus the scope that unlocks it (scopes.py); see CONTRIBUTING.md.
    """

    user_id: str
    status: str = "ACTIVE"
    nick_name: str | None = _profile("nickName", ProfileKind.TEXT)
    user_name: dict[str, str] | None = _profile("userName", ProfileKind.NAME)
    avatar: str | None = _profile("avatar", ProfileKind.TEXT)
    gender: str | None = _profile("gender", ProfileKind.GENDER)
    birth_date: str | None = _profile("birthDate", ProfileKind.DATE)
    nationality: str | None = _profile("nationality", ProfileKind.TEXT)
    login_id_infos: list[dict[str, str]] = _profile("loginIdInfos", ProfileKind.LOGIN_IDS)
    contact_infos: list[dict[str, str]] = _profile("contactInfos", ProfileKind.CONTACTS)
    addresses: list[dict[str, Any]] = _profile("addresses", ProfileKind.OBJECTS)


@dataclass(frozen=True)
class ProfileField:
    name: str  # the contract's (and the users table's) camelCase name
    attribute: str  # User's (and UserItem's) attribute
    kind: ProfileKind

    @property
    def is_list(self) -> bool:
        return self.kind in _LISTS

    @property
    def rule(self) -> str:
        """What `accepts` asks for, in words: "nickName must be <rule>"."""
        return _RULES.get(self.kind, "a list of objects")

    def accepts(self, value: object) -> bool:
        """A value `users put` may store in this field."""
        if self.kind is ProfileKind.TEXT:
            return isinstance(value, str) and bool(value)
        if self.kind is ProfileKind.GENDER:
            return value in GENDERS
        if self.kind is ProfileKind.DATE:
            return isinstance(value, str) and _is_iso_date(value)
        if self.kind is ProfileKind.NAME:
            return isinstance(value, dict) and all(
                key in USER_NAME_PARTS and isinstance(part, str) for key, part in value.items()
            )
        return isinstance(value, list) and all(isinstance(entry, dict) for entry in value)


def _is_iso_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


PROFILE_FIELDS: tuple[ProfileField, ...] = tuple(
    ProfileField(spec.metadata["profile"], spec.name, spec.metadata["kind"])
    for spec in fields(User)
    if "profile" in spec.metadata
)


@dataclass(frozen=True)
class Consent:
    """What a user allowed an app, and the (user, app)'s revocation marker.

    `epoch` counts withdrawals: every code, grant and token records the epoch it was issued under and is
    dead once the consent's epoch has moved past it. `withdrawn_at` is set by a withdrawal and cleared by
    the next consent or code, so a retried withdrawal finds nothing more to do.
    """

    user_id: str
    app_id: str
    scopes: frozenset[str]
    open_user_info: bool
    consented_at: datetime | None
    updated_at: datetime
    epoch: int = 0
    withdrawn_at: datetime | None = None

    @property
    def given(self) -> bool:
        """Something is consented (a bare withdrawal marker is not a consent)."""
        return bool(self.scopes or self.open_user_info)


@dataclass(frozen=True)
class AuthCode:
    code_hash: str
    grant_id: str
    user_id: str
    app_id: str
    client_id: str
    scopes: tuple[str, ...]
    status: CodeStatus
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None = None
    epoch: int = 0  # the (user, app) consent epoch it was issued under


@dataclass(frozen=True)
class TokenPair:
    """A freshly minted pair: the only place the plaintext tokens exist, never stored."""

    access_token: str
    access_hash: str
    access_expires_at: datetime
    refresh_token: str
    refresh_hash: str
    refresh_expires_at: datetime
    issued_at: datetime


@dataclass(frozen=True)
class Grant:
    """One authorization of (user, app, client, scopes); holds exactly one live token pair."""

    grant_id: str
    user_id: str
    app_id: str
    client_id: str
    scopes: tuple[str, ...]
    status: GrantStatus
    created_at: datetime
    expires_at: datetime
    access_hash: str | None = None
    refresh_hash: str | None = None
    access_expires_at: datetime | None = None
    prev_refresh_hash: str | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None
    epoch: int = 0  # the (user, app) consent epoch it was issued under

    def live(self, now: datetime, epoch: int) -> bool:
        """Not revoked, not expired, and not withdrawn by the user since it was issued."""
        return self.status is not GrantStatus.REVOKED and self.expires_at > now and self.epoch >= epoch

    def holds_access(self, access_hash: str) -> bool:
        return self.status is GrantStatus.ACTIVE and self.access_hash == access_hash


@dataclass(frozen=True)
class Token:
    """The stored record of one issued token, keyed by its digest."""

    token_hash: str
    kind: TokenKind
    grant_id: str
    user_id: str
    app_id: str
    client_id: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    epoch: int = 0  # the (user, app) consent epoch its grant was issued under

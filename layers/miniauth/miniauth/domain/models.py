"""The platform's nouns as plain values. Secrets never appear here: only their digests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class User:
    user_id: str
    status: str = "ACTIVE"
    nick_name: str | None = None
    user_name: dict[str, str] | None = None
    avatar: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    nationality: str | None = None
    login_id_infos: list[dict[str, str]] = field(default_factory=list)
    contact_infos: list[dict[str, str]] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)


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

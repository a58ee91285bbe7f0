"""What the domain needs from storage. The DynamoDB adapter is the one implementation."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from miniauth.domain.models import App, AuthCode, Client, Consent, Grant, Token, TokenPair, User


class CodeNotRedeemed(Exception):  # noqa: N818 - an outcome, not an error
    """The redemption's conditions failed; carries what storage held, for the domain to judge."""

    def __init__(self, code: AuthCode | None, grant: Grant | None) -> None:
        super().__init__("authCode redemption refused")
        self.code = code
        self.grant = grant


class RotationRefused(Exception):  # noqa: N818
    """A grant refused a new pair (revoked, or the presented token is no longer current).

    `reused` is set when the refresh token itself was already used outside the retry window.
    """

    def __init__(self, grant: Grant | None, reused: bool = False) -> None:
        super().__init__("token rotation refused")
        self.grant = grant
        self.reused = reused


class StorageThrottled(Exception):
    """Storage asked us to slow down or hit a conflicting transaction: safe to retry."""


class Registry(Protocol):
    def client(self, client_id: str) -> Client | None: ...

    def app(self, app_id: str) -> App | None: ...

    def user(self, user_id: str) -> User | None: ...


class AuthorizationStore(Protocol):
    # Wallet side.
    def consent(self, user_id: str, app_id: str) -> Consent | None: ...

    def save_consent(self, consent: Consent) -> None: ...

    def consents_of(self, user_id: str) -> list[Consent]: ...

    def issue_code(self, code: AuthCode, grant: Grant) -> None: ...

    def withdraw(self, user_id: str, app_id: str, now: datetime) -> int:
        """Forget the consent and revoke every grant (and unredeemed code) of (user, app)."""
        ...

    # Open API side.
    def auth_code(self, code_hash: str) -> AuthCode | None: ...

    def redeem_code(self, code: AuthCode, pair: TokenPair, window_start: datetime | None) -> None:
        """First redemption, or a retry inside the window: one transaction, the pair replaces any other."""
        ...

    def token(self, token_hash: str) -> Token | None: ...

    def grant_and_user(self, grant_id: str, user_id: str) -> tuple[Grant | None, User | None]: ...

    def rotate_refresh(self, token: Token, pair: TokenPair, window_start: datetime | None) -> None: ...

    def revoke_grant(self, grant_id: str, now: datetime, reason: str, access_hash: str | None = None) -> bool: ...

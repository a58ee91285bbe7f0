"""What the domain needs from storage. The DynamoDB adapter is the one implementation."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from miniauth.domain.models import App, AuthCode, Client, Consent, Grant, Token, TokenPair, User


class CodeNotRedeemed(Exception):  # noqa: N818 - an outcome, not an error
    """The redemption's conditions failed; carries what storage held, for the domain to judge."""

    def __init__(self, code: AuthCode | None, grant: Grant | None, withdrawn: bool = False) -> None:
        super().__init__("authCode redemption refused")
        self.code = code
        self.grant = grant
        self.withdrawn = withdrawn  # the user withdrew the (user, app) after the code was issued


class RotationRefused(Exception):  # noqa: N818
    """A grant refused a new pair (revoked, or the presented token is no longer current).

    `reused` is set when the refresh token itself was already used outside the retry window;
    `withdrawn` when the user withdrew the (user, app) after the grant was issued.
    """

    def __init__(self, grant: Grant | None, reused: bool = False, withdrawn: bool = False) -> None:
        super().__init__("token rotation refused")
        self.grant = grant
        self.reused = reused
        self.withdrawn = withdrawn


class ConsentChanged(Exception):  # noqa: N818
    """The (user, app) was withdrawn between the consent read and the code write: no code was written."""


class StorageThrottled(Exception):
    """Storage asked us to slow down or hit a conflicting transaction: safe to retry."""


class Registry(Protocol):
    def client(self, client_id: str) -> Client | None: ...

    def app(self, app_id: str) -> App | None: ...

    def user(self, user_id: str) -> User | None: ...


class AuthorizationStore(Protocol):
    # Wallet side.
    def consent(self, user_id: str, app_id: str) -> Consent | None: ...

    def record_consent(
        self,
        user_id: str,
        app_id: str,
        now: datetime,
        scopes: frozenset[str] = frozenset(),
        open_user_info: bool = False,
    ) -> None:
        """Add to the stored consent without reading it: concurrent consents are all kept."""
        ...

    def consents_of(self, user_id: str) -> list[Consent]:
        """Every consent item of the user, withdrawal markers included."""
        ...

    def grants_of(self, user_id: str) -> list[Grant]:
        """Every stored grant of the user, dead ones included; may miss a grant written a moment ago."""
        ...

    def issue_code(self, code: AuthCode, grant: Grant, consent: Consent | None) -> None:
        """Write code and PENDING grant if the (user, app) epoch is still `code.epoch`, else ConsentChanged.

        `consent` is what was read before (None: no item); a withdrawal marker in it is cleared.
        """
        ...

    def withdraw(self, user_id: str, app_id: str, now: datetime) -> bool:
        """Move the (user, app) epoch on and forget the consent, in one write; False if already withdrawn."""
        ...

    # Open API side.
    def auth_code(self, code_hash: str) -> AuthCode | None: ...

    def redeem_code(self, code: AuthCode, pair: TokenPair, window_start: datetime | None) -> None:
        """First redemption, or a retry inside the window: one transaction, the pair replaces any other."""
        ...

    def token(self, token_hash: str) -> Token | None: ...

    def grant_user_and_epoch(
        self, grant_id: str, user_id: str, app_id: str
    ) -> tuple[Grant | None, User | None, int]:
        """The grant, its user and the (user, app) consent epoch, read together."""
        ...

    def rotate_refresh(self, token: Token, pair: TokenPair, window_start: datetime | None) -> None: ...

    def revoke_grant(self, grant_id: str, now: datetime, reason: str, access_hash: str | None = None) -> bool: ...

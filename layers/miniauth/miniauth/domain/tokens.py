"""The Open API rules: applyToken (both grants), inquiryUserInfo and revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from miniauth import credentials
from miniauth.clock import Clock
from miniauth.config import Settings
from miniauth.domain.models import (
    AUTHORIZATION_CODE,
    REFRESH_TOKEN,
    AuthCode,
    Client,
    CodeStatus,
    GrantStatus,
    Token,
    TokenKind,
    TokenPair,
)
from miniauth.domain.ports import AuthorizationStore, CodeNotRedeemed, Registry, RotationRefused
from miniauth.results import (
    AccessDenied,
    AppNotMatchAuthCode,
    ExpiredAccessToken,
    ExpiredAuthCode,
    ExpiredRefreshToken,
    InvalidAccessToken,
    InvalidAuthCode,
    InvalidRefreshToken,
    ParamIllegal,
    ProcessFail,
    UnsupportedGrantType,
    UsedAuthCode,
    UsedRefreshToken,
)
from miniauth.userinfo import build_user_info

REASON_CODE_REPLAY = "AUTHCODE_REPLAY"
REASON_REFRESH_REUSE = "REFRESH_TOKEN_REUSE"
REASON_CLIENT_REVOKE = "REVOKED_BY_CLIENT"


@dataclass(frozen=True)
class Issued:
    """What applyToken answers with; `retried` marks a retry-window reissue."""

    pair: TokenPair
    customer_id: str
    retried: bool = False


class TokenService:
    def __init__(self, store: AuthorizationStore, registry: Registry, clock: Clock, settings: Settings) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._settings = settings

    # -- helpers -----------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        # Whole seconds: expiries are stored as epoch seconds, so the wire shows the same instant.
        return self._clock.now().replace(microsecond=0)

    def _mint(self, now: datetime) -> TokenPair:
        access, refresh = credentials.new_token(), credentials.new_token()
        return TokenPair(
            access_token=access,
            access_hash=credentials.digest(access),
            access_expires_at=now + timedelta(seconds=self._settings.access_token_ttl),
            refresh_token=refresh,
            refresh_hash=credentials.digest(refresh),
            refresh_expires_at=now + timedelta(seconds=self._settings.refresh_token_ttl),
            issued_at=now,
        )

    def _window_start(self, now: datetime) -> datetime | None:
        """Earliest first use still inside the retry window; None when the window is disabled (0 s)."""
        if self._settings.retry_grace <= 0:
            return None
        return now - timedelta(seconds=self._settings.retry_grace)

    def check_app(self, client: Client, app_id: str | None) -> None:
        """A client may only act for its own mini programs."""
        if app_id is None:
            return
        app = self._registry.app(app_id)
        if app is None or app.client_id != client.client_id:
            raise AccessDenied(f"The app {app_id!r} does not belong to this client.")

    # -- applyToken ----------------------------------------------------------------------------------------

    def apply_token(
        self,
        client: Client,
        app_id: str | None,
        grant_type: str,
        auth_code: str | None = None,
        refresh_token: str | None = None,
    ) -> Issued:
        if grant_type not in client.grant_types:
            raise UnsupportedGrantType(f"The grant type {grant_type} is not allowed for this client.")
        self.check_app(client, app_id)
        if grant_type == AUTHORIZATION_CODE:
            if not auth_code:
                raise ParamIllegal("authCode is required for AUTHORIZATION_CODE.")
            return self._redeem(client, app_id, auth_code)
        if grant_type == REFRESH_TOKEN:
            if not refresh_token:
                raise ParamIllegal("refreshToken is required for REFRESH_TOKEN.")
            return self._refresh(client, app_id, refresh_token)
        raise ParamIllegal(f"Unknown grantType {grant_type!r}.")

    def _redeem(self, client: Client, app_id: str | None, auth_code: str) -> Issued:
        now = self._now()
        code = self._store.auth_code(credentials.digest(auth_code))
        self._judge_code(code, client, app_id, now)
        assert code is not None  # _judge_code refused otherwise
        if code.status is CodeStatus.REDEEMED and not self._in_window(code.redeemed_at, now):
            self._store.revoke_grant(code.grant_id, now, REASON_CODE_REPLAY)
            raise UsedAuthCode(replay=True)
        pair = self._mint(now)
        try:
            self._store.redeem_code(code, pair, self._window_start(now))
        except CodeNotRedeemed as refused:
            if refused.withdrawn:
                raise InvalidAuthCode("The user withdrew the authorization behind this authCode.") from None
            # Lost a race: judge what storage holds now; a revoked grant means the user withdrew it.
            self._judge_code(refused.code, client, app_id, now)
            if refused.grant is not None and refused.grant.status is GrantStatus.REVOKED:
                raise InvalidAuthCode("The authorization behind this authCode was revoked.") from None
            raise UsedAuthCode() from None
        return Issued(pair=pair, customer_id=code.user_id, retried=code.status is CodeStatus.REDEEMED)

    def _judge_code(self, code: AuthCode | None, client: Client, app_id: str | None, now: datetime) -> None:
        if code is None or code.client_id != client.client_id or code.status is CodeStatus.REVOKED:
            raise InvalidAuthCode()
        if app_id is not None and code.app_id != app_id:
            raise AppNotMatchAuthCode()
        if code.status is CodeStatus.ISSUED and code.expires_at <= now:
            raise ExpiredAuthCode()

    def _in_window(self, first_use: datetime | None, now: datetime) -> bool:
        window_start = self._window_start(now)
        return first_use is not None and window_start is not None and first_use >= window_start

    def _refresh(self, client: Client, app_id: str | None, refresh_token: str) -> Issued:
        now = self._now()
        token = self._held_token(TokenKind.REFRESH, client, app_id, refresh_token)
        if token is None:
            raise InvalidRefreshToken()
        if token.expires_at <= now:
            raise ExpiredRefreshToken()
        if token.used_at is not None and not self._in_window(token.used_at, now):
            self._store.revoke_grant(token.grant_id, now, REASON_REFRESH_REUSE)
            raise UsedRefreshToken(replay=True)
        pair = self._mint(now)
        try:
            self._store.rotate_refresh(token, pair, self._window_start(now))
        except RotationRefused as refused:
            if refused.withdrawn:
                raise InvalidRefreshToken("The user withdrew the authorization behind this token.") from None
            if refused.reused and (refused.grant is None or refused.grant.status is GrantStatus.ACTIVE):
                # Lost a race to a use outside the window: a used refresh token is being replayed.
                self._store.revoke_grant(token.grant_id, now, REASON_REFRESH_REUSE)
                raise UsedRefreshToken(replay=True) from None
            # The grant is revoked, or this never-used token's pair was replaced (retry window).
            raise InvalidRefreshToken() from None
        return Issued(pair=pair, customer_id=token.user_id, retried=token.used_at is not None)

    # -- inquiryUserInfo and revoke --------------------------------------------------------------------

    def _held_token(self, kind: TokenKind, client: Client, app_id: str | None, secret: str) -> Token | None:
        """The stored token, if it is of this kind and was issued to this client (and app, when named)."""
        token = self._store.token(credentials.digest(secret))
        if (
            token is None
            or token.kind is not kind
            or token.client_id != client.client_id
            or (app_id is not None and token.app_id != app_id)
        ):
            return None
        return token

    def _access_token(self, client: Client, app_id: str | None, access_token: str) -> Token:
        token = self._held_token(TokenKind.ACCESS, client, app_id, access_token)
        if token is None:
            raise InvalidAccessToken()
        return token

    def inquiry_user_info(self, client: Client, app_id: str | None, access_token: str) -> dict[str, Any]:
        self.check_app(client, app_id)
        now = self._now()
        token = self._access_token(client, app_id, access_token)
        if token.expires_at <= now:
            raise ExpiredAccessToken()
        grant, user, epoch = self._store.grant_user_and_epoch(token.grant_id, token.user_id, token.app_id)
        if grant is None or not grant.holds_access(token.token_hash) or grant.epoch < epoch:
            raise InvalidAccessToken()
        if user is None:
            raise ProcessFail("The user of this grant is no longer available.")
        return build_user_info(user, grant.scopes)

    def revoke(self, client: Client, app_id: str | None, access_token: str) -> None:
        """Kills the pair the token belongs to; a pair already dead is SUCCESS (idempotent)."""
        self.check_app(client, app_id)
        token = self._access_token(client, app_id, access_token)
        self._store.revoke_grant(token.grant_id, self._now(), REASON_CLIENT_REVOKE, access_hash=token.token_hash)

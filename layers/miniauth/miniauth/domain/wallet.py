"""The Wallet API rules: consent, authCode issuance, open user info and the user's authorizations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from miniauth import credentials
from miniauth import scopes as scope_registry
from miniauth.clock import Clock, iso8601
from miniauth.config import Settings
from miniauth.domain.models import App, AuthCode, Client, CodeStatus, Consent, Grant, GrantStatus, User
from miniauth.domain.ports import AuthorizationStore, ConsentChanged, Registry
from miniauth.results import (
    INVALID_SCOPE,
    SCOPE_NOT_ALLOWED,
    USER_DENIED,
    AccessDenied,
    InvalidApp,
    RequestTrafficExceedLimit,
    UserConsentRequired,
    UserNotExist,
)

OPEN_USER_INFO_SUCCESS = {"code": "10000", "msg": "Success"}
OPEN_USER_INFO_NO_CONSENT = {
    "code": "40003",
    "msg": "Insufficient Conditions",
    "subCode": "isv.user-consent-required",
    "subMsg": "The user has not consented to share the public profile.",
}
_PLATFORM_GENDER = {"MALE": "m", "FEMALE": "f"}
# A withdrawal landing between getAuthCode's read and its write makes it judge again from what is stored.
ISSUE_ATTEMPTS = 3


@dataclass(frozen=True)
class AuthCodeGranted:
    auth_code: str
    success_scopes: list[str]
    error_scopes: dict[str, str] = field(default_factory=dict)


def app_display(app: App) -> dict[str, Any]:
    shown = {"appId": app.app_id, "appName": app.name}
    if app.logo:
        shown["appLogo"] = app.logo
    return shown


def _dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


class WalletService:
    def __init__(self, store: AuthorizationStore, registry: Registry, clock: Clock, settings: Settings) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._settings = settings

    def _user_app_client(self, user_id: str, app_id: str) -> tuple[User, App, Client]:
        user = self._registry.user(user_id)
        if user is None:
            raise UserNotExist()
        app = self._registry.app(app_id)
        client = self._registry.client(app.client_id) if app else None
        if app is None or client is None or not client.active:
            raise InvalidApp()
        return user, app, client

    def get_auth_code(
        self,
        user_id: str,
        app_id: str,
        requested: list[str] | None = None,
        consented: list[str] | None = None,
    ) -> AuthCodeGranted:
        user, app, client = self._user_app_client(user_id, app_id)
        errors: dict[str, str] = {}
        candidates: list[str] = []
        for name in _dedupe(requested or list(scope_registry.DEFAULT_SCOPES)):
            if not scope_registry.is_known(name):
                errors[name] = INVALID_SCOPE
            elif scope_registry.needs_consent(name) and name not in client.allowed_scopes:
                errors[name] = SCOPE_NOT_ALLOWED
            else:
                candidates.append(name)
        for _ in range(ISSUE_ATTEMPTS):
            try:
                return self._issue(user, app, client, candidates, dict(errors), consented)
            except ConsentChanged:
                continue
        raise RequestTrafficExceedLimit("The authorization changed while the authCode was issued; retry.")

    def _issue(
        self,
        user: User,
        app: App,
        client: Client,
        candidates: list[str],
        errors: dict[str, str],
        consented: list[str] | None,
    ) -> AuthCodeGranted:
        """Judge the candidates against the stored consent and write the code under the epoch read."""
        now = self._clock.now().replace(microsecond=0)
        consent = self._store.consent(user.user_id, app.app_id)
        remembered = consent.scopes if consent else frozenset()
        lacking = [s for s in candidates if scope_registry.needs_consent(s) and s not in remembered]
        if lacking and consented is None:
            raise UserConsentRequired(consentRequiredScopes=lacking, appInfo=app_display(app))
        newly = [s for s in lacking if s in (consented or [])]
        if newly:
            self._store.record_consent(user.user_id, app.app_id, now, scopes=frozenset(newly))
        errors.update({s: USER_DENIED for s in lacking if s not in newly})
        granted = [s for s in candidates if s not in errors]
        if not granted:
            raise AccessDenied("No requested scope could be granted.", authErrorScopes=errors)

        auth_code = credentials.new_auth_code()
        code_hash = credentials.digest(auth_code)
        expires_at = now + timedelta(seconds=self._settings.auth_code_ttl)
        epoch = consent.epoch if consent else 0
        self._store.issue_code(
            AuthCode(
                code_hash=code_hash,
                grant_id=code_hash,
                user_id=user.user_id,
                app_id=app.app_id,
                client_id=client.client_id,
                scopes=tuple(granted),
                status=CodeStatus.ISSUED,
                issued_at=now,
                expires_at=expires_at,
                epoch=epoch,
            ),
            Grant(
                grant_id=code_hash,
                user_id=user.user_id,
                app_id=app.app_id,
                client_id=client.client_id,
                scopes=tuple(granted),
                status=GrantStatus.PENDING,
                created_at=now,
                expires_at=expires_at,
                epoch=epoch,
            ),
            consent,
        )
        return AuthCodeGranted(auth_code=auth_code, success_scopes=granted, error_scopes=errors)

    def get_open_user_info(self, user_id: str, app_id: str, consented: bool | None = None) -> str:
        """The platform's shape: a JSON string with code 10000 and the public profile, or 40003."""
        user, app, _ = self._user_app_client(user_id, app_id)
        consent = self._store.consent(user.user_id, app.app_id)
        if not (consent and consent.open_user_info):
            if consented is not True:
                return json.dumps(OPEN_USER_INFO_NO_CONSENT, separators=(",", ":"))
            now = self._clock.now().replace(microsecond=0)
            self._store.record_consent(user.user_id, app.app_id, now, open_user_info=True)
        return json.dumps({**OPEN_USER_INFO_SUCCESS, **public_profile(user)}, separators=(",", ":"))

    def list_authorizations(self, user_id: str) -> list[dict[str, Any]]:
        """Every app with a live grant (silent ones included) or a standing consent, merged per app."""
        if self._registry.user(user_id) is None:
            raise UserNotExist()
        now = self._clock.now()
        grants = self._store.grants_of(user_id)
        # Consents after grants: a withdrawal landing between the two reads then hides its grants, never shows them.
        consents = {c.app_id: c for c in self._store.consents_of(user_id)}
        live: dict[str, list[Grant]] = {}
        for grant in grants:
            consent = consents.get(grant.app_id)
            if grant.live(now, consent.epoch if consent else 0):
                live.setdefault(grant.app_id, []).append(grant)
        given = {app_id: c for app_id, c in consents.items() if c.given}
        return [self._listed(app_id, given.get(app_id), live.get(app_id, [])) for app_id in sorted(live | given)]

    def _listed(self, app_id: str, consent: Consent | None, grants: list[Grant]) -> dict[str, Any]:
        app = self._registry.app(app_id)
        consented = consent.scopes if consent else frozenset()
        since = [g.created_at for g in grants] + ([consent.consented_at or consent.updated_at] if consent else [])
        changed = [g.created_at for g in grants] + ([consent.updated_at] if consent else [])
        return {
            **(app_display(app) if app else {"appId": app_id}),
            "scopes": sorted(consented.union(*(g.scopes for g in grants))),
            "consentedScopes": sorted(consented),
            "openUserInfo": bool(consent and consent.open_user_info),
            "liveGrants": len(grants),
            "authorizedTime": iso8601(min(since)),
            "updatedTime": iso8601(max(changed)),
        }

    def revoke_authorization(self, user_id: str, app_id: str) -> bool:
        """Withdraw (user, app): True if this call did it, False if it was already withdrawn (a retry)."""
        if self._registry.user(user_id) is None:
            raise UserNotExist()
        return self._store.withdraw(user_id, app_id, self._clock.now().replace(microsecond=0))


def public_profile(user: User) -> dict[str, str]:
    address = user.addresses[0] if user.addresses else {}
    profile = {
        "nickName": user.nick_name,
        "avatar": user.avatar,
        "gender": _PLATFORM_GENDER.get(user.gender or ""),
        "countryCode": user.nationality,
        "province": address.get("province"),
        "city": address.get("city"),
    }
    return {k: v for k, v in profile.items() if v}

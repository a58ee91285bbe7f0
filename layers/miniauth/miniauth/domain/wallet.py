"""The Wallet API rules: consent, authCode issuance, open user info and the user's authorizations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from miniauth import credentials
from miniauth import scopes as scope_registry
from miniauth.clock import Clock, iso8601
from miniauth.config import Settings
from miniauth.domain.models import App, AuthCode, Client, CodeStatus, Consent, Grant, GrantStatus, User
from miniauth.domain.ports import AuthorizationStore, Registry
from miniauth.results import (
    INVALID_SCOPE,
    SCOPE_NOT_ALLOWED,
    USER_DENIED,
    AccessDenied,
    InvalidApp,
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

        now = self._clock.now().replace(microsecond=0)
        consent = self._store.consent(user.user_id, app.app_id)
        remembered = consent.scopes if consent else frozenset()
        lacking = [s for s in candidates if scope_registry.needs_consent(s) and s not in remembered]
        if lacking and consented is None:
            raise UserConsentRequired(consentRequiredScopes=lacking, appInfo=app_display(app))
        newly = [s for s in lacking if s in (consented or [])]
        if newly:
            self._store.save_consent(
                _consent_with(consent, user.user_id, app.app_id, now, scopes=remembered | frozenset(newly))
            )
        errors.update({s: USER_DENIED for s in lacking if s not in newly})
        granted = [s for s in candidates if s not in errors]
        if not granted:
            raise AccessDenied("No requested scope could be granted.", authErrorScopes=errors)

        auth_code = credentials.new_auth_code()
        code_hash = credentials.digest(auth_code)
        expires_at = now + timedelta(seconds=self._settings.auth_code_ttl)
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
            ),
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
            self._store.save_consent(_consent_with(consent, user.user_id, app.app_id, now, open_user_info=True))
        return json.dumps({**OPEN_USER_INFO_SUCCESS, **public_profile(user)}, separators=(",", ":"))

    def list_authorizations(self, user_id: str) -> list[dict[str, Any]]:
        if self._registry.user(user_id) is None:
            raise UserNotExist()
        listed = []
        for consent in self._store.consents_of(user_id):
            app = self._registry.app(consent.app_id)
            shown = app_display(app) if app else {"appId": consent.app_id}
            listed.append(
                {
                    **shown,
                    "scopes": sorted(consent.scopes),
                    "openUserInfo": consent.open_user_info,
                    "authorizedTime": iso8601(consent.consented_at),
                    "updatedTime": iso8601(consent.updated_at),
                }
            )
        return listed

    def revoke_authorization(self, user_id: str, app_id: str) -> int:
        if self._registry.user(user_id) is None:
            raise UserNotExist()
        return self._store.withdraw(user_id, app_id, self._clock.now())


def _consent_with(
    consent: Consent | None,
    user_id: str,
    app_id: str,
    now: datetime,
    scopes: frozenset[str] | None = None,
    open_user_info: bool | None = None,
) -> Consent:
    """The stored consent with some parts granted now; first consent time is kept."""
    return Consent(
        user_id=user_id,
        app_id=app_id,
        scopes=scopes if scopes is not None else (consent.scopes if consent else frozenset()),
        open_user_info=open_user_info if open_user_info is not None else bool(consent and consent.open_user_info),
        consented_at=consent.consented_at if consent else now,
        updated_at=now,
    )


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

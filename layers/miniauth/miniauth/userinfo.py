"""Builds the userInfo a grant may see: exactly the fields its scopes unlock."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from miniauth import scopes as scope_registry
from miniauth.domain.models import PROFILE_FIELDS, ProfileKind, User
from miniauth.scopes import LoginIdForm

MOBILE_PHONE = "MOBILE_PHONE"


def mask(value: str) -> str:
    """138****5678 for phone-like values, a****e@example.com for e-mail addresses."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}****{local[-1:] if len(local) > 1 else ''}@{domain}"
    if len(value) >= 8:
        return f"{value[:3]}****{value[-4:]}"
    return f"{value[:1]}****" if value else value


def _login_ids(entries: list[dict[str, str]], granted: set[str]) -> list[dict[str, str]]:
    form = scope_registry.login_id_form(granted)
    rendered = []
    for entry in entries:
        login_id = entry.get("loginId", "")
        if form is LoginIdForm.PLAINTEXT:
            shown = login_id
        elif form is LoginIdForm.HASHED:
            shown = hashlib.sha256(login_id.encode("utf-8")).hexdigest()
        else:
            shown = mask(login_id)
        rendered.append({**entry, "loginId": shown})
    return rendered


def _contacts(entries: list[dict[str, str]], granted: set[str]) -> list[dict[str, str]]:
    all_masked = "USER_CONTACTINFO" in granted
    mobile_plain = "PLAINTEXT_MOBILE_PHONE" in granted
    rendered = []
    for entry in entries:
        is_mobile = entry.get("contactType") == MOBILE_PHONE
        if is_mobile and mobile_plain:
            rendered.append(dict(entry))
        elif all_masked:
            rendered.append({**entry, "contactNo": mask(entry.get("contactNo", ""))})
    return rendered


# Profile kinds whose form the granted scopes choose; every other field is shown as stored.
_CHOSEN_FORM: dict[ProfileKind, Callable[[list[dict[str, str]], set[str]], list[dict[str, str]]]] = {
    ProfileKind.LOGIN_IDS: _login_ids,
    ProfileKind.CONTACTS: _contacts,
}


def build_user_info(user: User, scopes: Iterable[str]) -> dict[str, Any]:
    """userId and status, the unlocked fields shown as stored, then those whose form the scopes choose."""
    granted = set(scopes)
    unlocked = scope_registry.fields_for(granted)
    info: dict[str, Any] = {"userId": user.user_id, "status": user.status}
    shown = [field for field in PROFILE_FIELDS if field.name in unlocked]
    for field in shown:
        value = getattr(user, field.attribute)
        if field.kind not in _CHOSEN_FORM and value:
            info[field.name] = value
    for field in shown:
        if field.kind in _CHOSEN_FORM:
            rendered = _CHOSEN_FORM[field.kind](getattr(user, field.attribute), granted)
            if rendered:
                info[field.name] = rendered
    return info

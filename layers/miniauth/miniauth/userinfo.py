"""Builds the userInfo a grant may see: exactly the fields its scopes unlock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from miniauth import scopes as scope_registry
from miniauth.domain.models import User
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


def _login_ids(user: User, form: LoginIdForm) -> list[dict[str, str]]:
    rendered = []
    for entry in user.login_id_infos:
        login_id = entry.get("loginId", "")
        if form is LoginIdForm.PLAINTEXT:
            shown = login_id
        elif form is LoginIdForm.HASHED:
            shown = hashlib.sha256(login_id.encode("utf-8")).hexdigest()
        else:
            shown = mask(login_id)
        rendered.append({**entry, "loginId": shown})
    return rendered


def _contacts(user: User, granted: set[str]) -> list[dict[str, str]]:
    all_masked = "USER_CONTACTINFO" in granted
    mobile_plain = "PLAINTEXT_MOBILE_PHONE" in granted
    rendered = []
    for entry in user.contact_infos:
        is_mobile = entry.get("contactType") == MOBILE_PHONE
        if is_mobile and mobile_plain:
            rendered.append(dict(entry))
        elif all_masked:
            rendered.append({**entry, "contactNo": mask(entry.get("contactNo", ""))})
    return rendered


def build_user_info(user: User, scopes: Iterable[str]) -> dict[str, Any]:
    granted = set(scopes)
    fields = scope_registry.fields_for(granted)
    info: dict[str, Any] = {"userId": user.user_id, "status": user.status}
    plain = {
        "nickName": user.nick_name,
        "userName": user.user_name,
        "avatar": user.avatar,
        "gender": user.gender,
        "birthDate": user.birth_date,
        "nationality": user.nationality,
        "addresses": user.addresses,
    }
    for name, value in plain.items():
        if name in fields and value:
            info[name] = value
    if "loginIdInfos" in fields and user.login_id_infos:
        info["loginIdInfos"] = _login_ids(user, scope_registry.login_id_form(granted))
    if "contactInfos" in fields:
        contacts = _contacts(user, granted)
        if contacts:
            info["contactInfos"] = contacts
    return info

"""Demo data: a merchant with two mini programs, a second merchant, a suspended one, and users."""

from __future__ import annotations

from typing import Any

from miniauth.scopes import REGISTRY
from miniauth.storage.items import AppItem, ClientItem, UserItem

ALL_CONSENT_SCOPES = sorted(name for name, scope in REGISTRY.items() if not scope.silent)

CLIENTS: list[dict[str, Any]] = [
    {"client_id": "2022000000000001", "name": "Demo Merchant", "status": "ACTIVE",
     "allowed_scopes": ALL_CONSENT_SCOPES, "grant_types": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"]},
    {"client_id": "2022000000000002", "name": "Other Merchant", "status": "ACTIVE",
     "allowed_scopes": ["auth_user"], "grant_types": ["AUTHORIZATION_CODE"]},
    {"client_id": "2022000000000009", "name": "Suspended Merchant", "status": "SUSPENDED",
     "allowed_scopes": ["auth_user"], "grant_types": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"]},
]

APPS: list[dict[str, Any]] = [
    {"app_id": "2021000000000001", "client_id": "2022000000000001", "name": "Demo Coffee",
     "logo": "https://example.com/logos/coffee.png"},
    {"app_id": "2021000000000002", "client_id": "2022000000000001", "name": "Demo Tickets"},
    {"app_id": "2021000000000003", "client_id": "2022000000000002", "name": "Other Shop"},
    {"app_id": "2021000000000009", "client_id": "2022000000000009", "name": "Suspended Shop"},
]

USERS: list[dict[str, Any]] = [
    {
        "user_id": "2088000000000001",
        "status": "ACTIVE",
        "nick_name": "Ana",
        "user_name": {"fullName": "Ana Maria Lopez", "firstName": "Ana Maria", "lastName": "Lopez"},
        "avatar": "https://example.com/avatars/ana.png",
        "gender": "FEMALE",
        "birth_date": "1990-05-17",
        "nationality": "MX",
        "login_id_infos": [{"loginIdType": "MOBILE_PHONE", "loginId": "13812345678"}],
        "contact_infos": [
            {"contactType": "MOBILE_PHONE", "contactNo": "13812345678"},
            {"contactType": "EMAIL", "contactNo": "ana.lopez@example.com"},
        ],
        "addresses": [
            {"region": "MX", "province": "CDMX", "city": "Ciudad de Mexico", "area": "Coyoacan",
             "address1": "Av. Universidad 3000", "zipCode": "04510"}
        ],
    },
    {"user_id": "2088000000000002", "status": "ACTIVE"},
]


def seed(clients: list[dict[str, Any]] = CLIENTS, apps: list[dict[str, Any]] = APPS,
         users: list[dict[str, Any]] = USERS) -> None:
    """Write the registry rows (tables must exist and be bound)."""
    for client in clients:
        ClientItem(client["client_id"], **{k: v for k, v in client.items() if k != "client_id"}).save()
    for app in apps:
        AppItem(app["app_id"], **{k: v for k, v in app.items() if k != "app_id"}).save()
    for user in users:
        UserItem(user["user_id"], **{k: v for k, v in user.items() if k != "user_id"}).save()

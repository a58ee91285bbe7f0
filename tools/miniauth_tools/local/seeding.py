"""What a local server starts with: the demo registry and its key files, or the operator's own data file.

Data file (JSON; relative paths are read from the file's folder):

    {
      "clients": [{"authClientId": "2022...", "name": "My Shop", "status": "ACTIVE",
                   "allowedScopes": ["auth_user"], "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                   "publicKeys": {"1": "keys/my_shop_public.pem"}}],
      "apps":    [{"appId": "2021...", "authClientId": "2022...", "name": "My Mini Program", "logo": "https://..."}],
      "users":   [{"userId": "2088...", "nickName": "Ana", "loginIdInfos": [...], ...}],
      "walletPrivateKey": "keys/wallet_private.pem"
    }

A public key is a path to a PEM file or the PEM text itself. Without walletPrivateKey the wallet's
key pair is generated in the key folder. Everything goes through the admin CLI's validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miniauth.domain.models import ClientStatus
from miniauth.signing import load_private_key
from miniauth.wallet_keys import key_document
from miniauth_tools import admin
from miniauth_tools.local import demo

WALLET = "wallet"
WALLET_KEY_DOCUMENT = "wallet_keys.json"


@dataclass
class Seeded:
    """What was loaded, for the startup banner and for `miniauth demo`."""

    clients: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    merchant_keys: dict[str, str] = field(default_factory=dict)  # client id -> private key file
    wallet_public_key: str = ""
    wallet_key_document: str = ""


def key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """NAME_private.pem / NAME_public.pem in the folder, generated the first time and kept after."""
    private, public = folder / f"{name}_private.pem", folder / f"{name}_public.pem"
    if not (private.exists() and public.exists()):
        private.unlink(missing_ok=True)
        public.unlink(missing_ok=True)
        admin.generate_key_pair(folder, name)
    return private, public


def write_wallet_document(folder: Path, private_pem: str) -> Path:
    """The wallet key document the functions read locally (WALLET_KEY_FILE), owner-only."""
    load_private_key(private_pem)  # refuse an unusable key at startup, not at the first request
    path = folder / WALLET_KEY_DOCUMENT
    admin.replace_private_file(path, key_document({"1": private_pem}, "1").encode())
    return path


def wallet_key(folder: Path, private_key_file: Path | None = None) -> tuple[Path, Path]:
    """(key document, public key file) for the wallet: from the given private key, else the folder's pair."""
    folder.mkdir(parents=True, exist_ok=True)
    if private_key_file is None:
        private, public = key_pair(folder, WALLET)
    else:
        private = private_key_file
        public = folder / f"{WALLET}_public.pem"
        from cryptography.hazmat.primitives import serialization

        key = load_private_key(private.read_bytes())
        public.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return write_wallet_document(folder, private.read_text()), public


def seed_demo(folder: Path) -> Seeded:
    """The demo merchants, mini programs and users; one key pair per merchant in the folder."""
    seeded = Seeded()
    clients = []
    for client in demo.CLIENTS:
        private, public = key_pair(folder, client["client_id"])
        clients.append({**client, "public_keys": {"1": public.read_text()}})
        seeded.merchant_keys[client["client_id"]] = str(private)
    demo.seed(clients=clients)
    seeded.clients = [c["client_id"] for c in demo.CLIENTS]
    seeded.apps = [a["app_id"] for a in demo.APPS]
    seeded.users = [u["user_id"] for u in demo.USERS]
    return seeded


def _pem(value: str, base: Path) -> str:
    if not value.lstrip().startswith("-----BEGIN"):
        return admin.read_public_key(base / value)
    return admin.check_public_key(value, "an inline public key") + "\n"


def load_data(path: Path) -> tuple[Seeded, Path | None]:
    """Apply a data file (see the module docstring); returns what was seeded and the wallet key file, if named."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise admin.AdminError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise admin.AdminError(f"{path}: the data file must be a JSON object")
    unknown = sorted(set(document) - {"clients", "apps", "users", "walletPrivateKey"})
    if unknown:
        raise admin.AdminError(f"{path}: unknown section {', '.join(unknown)}")
    try:
        return _apply(document, path.parent)
    except KeyError as missing:
        raise admin.AdminError(f"{path}: an entry lacks {missing.args[0]}") from None
    except (TypeError, AttributeError):
        raise admin.AdminError(f"{path}: every section must be a list of JSON objects") from None


def _apply(document: dict[str, Any], base: Path) -> tuple[Seeded, Path | None]:
    seeded = Seeded()
    for client in document.get("clients", []):
        _client(client, base)
        seeded.clients.append(client["authClientId"])
    for app in document.get("apps", []):
        admin.add_app(app["appId"], app["authClientId"], app["name"], app.get("logo"), replace=True)
        seeded.apps.append(app["appId"])
    for user in document.get("users", []):
        admin.put_user(user["userId"], user)
        seeded.users.append(user["userId"])
    wallet_file = document.get("walletPrivateKey")
    return seeded, (base / wallet_file) if wallet_file else None


def _client(client: dict[str, Any], base: Path) -> None:
    client_id, name = client["authClientId"], client["name"]
    keys = {admin.check_key_version(v): _pem(pem, base) for v, pem in (client.get("publicKeys") or {}).items()}
    admin.add_client(client_id, name, client.get("allowedScopes", ()), client.get("grantTypes"), replace=True)
    for version, pem in keys.items():
        admin.add_key(client_id, version, pem)
    status = client.get("status", ClientStatus.ACTIVE.value)
    if status != ClientStatus.ACTIVE.value:
        admin.set_client_status(client_id, ClientStatus(status))

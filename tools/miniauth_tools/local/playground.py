"""The merchant playground that `miniauth serve` adds under /_miniauth/: a wallet simulator and the API reference.

Never part of the deployed API: the template has no route under the prefix (a test holds it so).
The simulator page plays `my.getAuthCode` and `my.getOpenUserInfo` against this server's own Wallet
API, so a merchant can click through consent and take the authCode to their backend. The API
reference is Swagger UI from the `swagger-ui-py` package, rendering `openapi.yaml`; nothing is
fetched from the internet.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import mimetypes
from pathlib import Path
from typing import Any

from miniauth.scopes import REGISTRY
from miniauth.storage.items import AppItem, ClientItem, UserItem
from miniauth_tools import admin
from miniauth_tools.scope_text import OPEN_USER_INFO, describe

PREFIX = "/_miniauth/"
Answer = tuple[int, list[tuple[str, str]], bytes]
PAGES = ("index.html", "wallet.js", "wallet.css", "api.html")  # package data in local/pages/
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
NO_STORE = ("Cache-Control", "no-store")


def swagger_ui_folder() -> Path | None:
    """swagger-ui-py's static files, found without importing the package (it imports web frameworks)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


class Playground:
    PREFIX = PREFIX

    def __init__(self, openapi: Path, tables: admin.RegistryTables, endpoint: str, region: str) -> None:
        self.openapi = openapi
        self.tables = tables
        self.endpoint = endpoint
        self.region = region
        self._client: Any = None

    def answer(self, method: str, path: str) -> Answer | None:
        """The page for a path at / or under the prefix; None hands it to the API's routes."""
        if path == "/":
            return _redirect(PREFIX) if method in ("GET", "HEAD") else None
        if path == PREFIX.rstrip("/"):
            return _redirect(PREFIX)
        if method not in ("GET", "HEAD"):
            return _text(405, "only GET here", [("Allow", "GET, HEAD")])
        name = path[len(PREFIX):]
        if name == "":
            name = "index.html"
        if name == "api":
            return _redirect(PREFIX + "api/")
        if name == "api/":
            name = "api.html"
        if name in PAGES:
            return _file(importlib.resources.files("miniauth_tools.local").joinpath("pages", name).read_bytes(), name)
        if name == "registry.json":
            return 200, [("Content-Type", "application/json"), NO_STORE], json.dumps(self.registry()).encode()
        if name == "openapi.yaml":
            if not self.openapi.is_file():
                return _text(404, f"{self.openapi.name} is not beside the template")
            return 200, [("Content-Type", "application/yaml; charset=utf-8"), NO_STORE], self.openapi.read_bytes()
        if name.startswith("swagger-ui/") and name.removeprefix("swagger-ui/") in SWAGGER_FILES:
            folder = swagger_ui_folder()
            if folder is None:
                return _text(404, "Swagger UI is not installed: pip install swagger-ui-py (make venv does)")
            file = name.removeprefix("swagger-ui/")
            return _file((folder / file).read_bytes(), file)
        return _text(404, "no such page")

    def registry(self) -> dict[str, Any]:
        """Users, apps (with their client's allow-list) and scopes in plain words, for the simulator's pickers."""
        clients = {view["authClientId"]: view for view in (admin.client_view(item) for item in self._scan(ClientItem))}
        apps = []
        for view in sorted((admin.app_view(item) for item in self._scan(AppItem)), key=lambda v: v["appId"]):
            client = clients.get(view["authClientId"], {})
            apps.append({**view, "clientName": client.get("name"), "clientStatus": client.get("status"),
                         "allowedScopes": client.get("allowedScopes", [])})
        users = [{"userId": item.user_id, "nickName": item.nick_name}
                 for item in sorted(self._scan(UserItem), key=lambda item: item.user_id)]
        scopes = [{"name": name, "silent": scope.silent, "description": describe(name)}
                  for name, scope in REGISTRY.items()]
        return {"users": users, "apps": apps, "scopes": scopes, "openUserInfo": OPEN_USER_INFO}

    def _scan(self, model: Any) -> list[Any]:
        if self._client is None:
            import boto3

            # The credentials `miniauth serve` put in its environment for the functions.
            self._client = boto3.client("dynamodb", endpoint_url=self.endpoint, region_name=self.region)
        table = getattr(self.tables, {ClientItem: "clients", AppItem: "apps", UserItem: "users"}[model])
        pages = self._client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
        return [model.from_raw_data(item) for page in pages for item in page["Items"]]


def _redirect(location: str) -> Answer:
    return 302, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")], f"see {location}\n".encode()


def _text(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Answer:
    return status, [("Content-Type", "text/plain; charset=utf-8"), *(headers or [])], (message + "\n").encode()


def _file(content: bytes, name: str) -> Answer:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    return 200, [("Content-Type", kind), NO_STORE, ("X-Content-Type-Options", "nosniff")], content

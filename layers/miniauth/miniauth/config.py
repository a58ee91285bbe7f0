"""Settings read once per container from the function's environment (set by template.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class TableNames:
    auth_codes: str
    tokens: str
    grants: str
    consents: str
    clients: str
    apps: str
    users: str
    request_replays: str = "RequestReplaysTable"


@dataclass(frozen=True)
class Settings:
    tables: TableNames
    auth_code_ttl: int = 86400
    access_token_ttl: int = 86400
    refresh_token_ttl: int = 30 * 86400
    retry_grace: int = 30
    request_time_skew: int = 300
    registry_cache_seconds: int = 60

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
        def number(name: str, default: int) -> int:
            raw = env.get(name)
            return int(raw) if raw not in (None, "") else default

        tables = TableNames(
            auth_codes=env.get("AUTH_CODES_TABLE", "AuthCodesTable"),
            tokens=env.get("TOKENS_TABLE", "TokensTable"),
            grants=env.get("GRANTS_TABLE", "GrantsTable"),
            consents=env.get("CONSENTS_TABLE", "ConsentsTable"),
            clients=env.get("CLIENTS_TABLE", "ClientsTable"),
            apps=env.get("APPS_TABLE", "AppsTable"),
            users=env.get("USERS_TABLE", "UsersTable"),
            request_replays=env.get("REQUEST_REPLAYS_TABLE", "RequestReplaysTable"),
        )
        return cls(
            tables=tables,
            auth_code_ttl=number("AUTH_CODE_TTL_SECONDS", 86400),
            access_token_ttl=number("ACCESS_TOKEN_TTL_SECONDS", 86400),
            refresh_token_ttl=number("REFRESH_TOKEN_TTL_SECONDS", 30 * 86400),
            retry_grace=number("RETRY_GRACE_SECONDS", 30),
            request_time_skew=number("REQUEST_TIME_SKEW_SECONDS", 300),
            registry_cache_seconds=number("REGISTRY_CACHE_SECONDS", 60),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()

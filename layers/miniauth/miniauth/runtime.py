"""Composition root: one store and one set of services per container, built on first use."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from contextlib import suppress
from functools import lru_cache
from typing import Any

from miniauth.clock import Clock, SystemClock
from miniauth.config import settings
from miniauth.domain.tokens import TokenService
from miniauth.domain.wallet import WalletService
from miniauth.storage.dynamodb import DynamoDBStore, warm_up_requests

_clock: Clock = SystemClock()
_store: DynamoDBStore | None = None  # set only by use_store (the unit tests' in-memory store)


def clock() -> Clock:
    return _clock


def store() -> DynamoDBStore:
    return _store if _store is not None else _dynamodb_store()


@lru_cache(maxsize=1)
def _dynamodb_store() -> DynamoDBStore:
    return DynamoDBStore(settings())


@lru_cache(maxsize=1)
def secrets_client() -> Any:
    """Secrets Manager, from the DynamoDB connection's botocore session (its loaded data is shared)."""
    return _dynamodb_store().session().create_client("secretsmanager")  # an in-memory store has no session


@lru_cache(maxsize=1)
def token_service() -> TokenService:
    return TokenService(store(), store(), _clock, settings())


@lru_cache(maxsize=1)
def wallet_service() -> WalletService:
    return WalletService(store(), store(), _clock, settings())


def prepare(wallet_key: bool = False, uses: Iterable[str] | None = None) -> None:
    """At Lambda init, not in the first request: the DynamoDB client, warmed without a request, and,
    for functions that sign, the wallet key read, parsed and used once. `uses` names the store methods the
    function calls (its ports' method names, e.g. "first_receipt", "token", "revoke_grant"): only
    their requests are warmed; None warms every one. Best effort: a fault here meets the first
    request again, which reports it as it always does; a name the store does not have is an error."""
    if uses is not None:
        uses = tuple(uses)
        warm_up_requests(uses)  # a misspelt name fails here, at init, not silently
    with suppress(Exception):
        store().warm_up(uses)
    if wallet_key:
        from miniauth.signing import sign
        from miniauth.wallet_keys import current_wallet_key

        with suppress(Exception):
            # One throwaway signature: OpenSSL sets up a key's Montgomery and blinding state on its first
            # use (0.25-0.6 ms), which would otherwise fall on the first response signed.
            sign(current_wallet_key().private_key, b"")


def use_clock(clock: Clock) -> None:
    """Tests and the local server move time by swapping the clock (services are rebuilt)."""
    global _clock
    _clock = clock
    reset()


def use_store(fake: object | None) -> None:
    """Unit tests run the services and handlers on an in-memory store with the same ports; None: DynamoDB again."""
    global _store
    _store = fake  # type: ignore[assignment]  # any Registry + AuthorizationStore + first_receipt
    reset()


def reset() -> None:
    for built in (_dynamodb_store, secrets_client, token_service, wallet_service, settings):
        built.cache_clear()


def settle() -> None:
    """The last step of Lambda init: move every object init built into the permanent generation
    (`gc.freeze`), so no collection walks them again. Otherwise the first invocation pays for a
    collection over the tens of thousands of objects init left in the young generations (1.7 of the
    6.8 ms of a first applyToken). Only on Lambda (AWS_LAMBDA_FUNCTION_NAME is set): a test run or a
    local server loads handler after handler in one process, and freezing would keep what each left."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        gc.freeze()

"""The unit tier: the real handlers and services on an in-memory store (fake_store.py), with sockets blocked.

The fixtures keep the names the moto fixtures have (tests/conftest.py), so a rule test reads the same in
either tier: `dynamodb` is the store's low-level view (snapshots, single rows), `registry` the seeded store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pynamodb.models import Model

from miniauth import runtime
from miniauth.config import settings

from fake_store import FakeDynamoDBClient, FakeStore

UNIT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-socket's --disable-socket for this folder only: a unit test that opens any socket fails."""
    for item in items:
        if UNIT in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.disable_socket)


@pytest.fixture
def fake_store() -> Iterator[FakeStore]:
    runtime.reset()
    store = FakeStore(settings())
    runtime.use_store(store)
    yield store
    runtime.use_store(None)


@pytest.fixture
def dynamodb(fake_store: FakeStore, monkeypatch: pytest.MonkeyPatch) -> FakeDynamoDBClient:
    """The store's low-level view; an item's save() (the demo seeding, a test's setup row) lands in the store.

    Nothing else reaches DynamoDB: with sockets blocked, any other pynamodb call fails the test.
    """
    monkeypatch.setattr(Model, "save", lambda item, *args, **kwargs: fake_store.save(item))
    return fake_store.client_view

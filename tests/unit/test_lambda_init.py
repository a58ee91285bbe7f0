"""Lambda init ends by freezing what it built, so the first invocation's collection does not walk it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from miniauth.protocol import api, open_api


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # back to the young generations: the test process keeps collecting as before


@pytest.mark.parametrize("build", [lambda: api.lambda_handler(api.Routes(), ()),
                                   lambda: open_api.open_api_handler(open_api.open_api_routes(), ())],
                         ids=["wallet API", "Open API"])
def test_on_lambda_init_ends_with_everything_frozen(build: object, unfrozen: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ApplyTokenFunction")
    build()  # type: ignore[operator]
    assert gc.get_freeze_count() > 1000  # every module, route and client init made
    assert gc.get_count()[0] < 50  # nothing left for the first invocation's collection


def test_outside_lambda_nothing_is_frozen(unfrozen: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests and the local server load handler after handler in one process: freezing would keep each one's garbage."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    api.lambda_handler(api.Routes(), ())
    assert gc.get_freeze_count() == 0

"""Fixtures: moto tables built from template.yaml, a movable clock, the demo registry."""

from __future__ import annotations

import json
import os

# Before anything imports boto3/pynamodb or reads settings: a fake account and the template's environment.
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_name, None)

import tempfile  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from support import MERCHANT_KEYS, TEMPLATE, WALLET_KEY, Api, FakeClock, new_key, private_pem, public_pem  # noqa: E402

os.environ.update(TEMPLATE.function("ApplyTokenFunction").environment)
os.environ.pop("WALLET_KEY_SECRET", None)
_wallet_key_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
_wallet_key_file.write(json.dumps({"currentKeyVersion": "1", "privateKeys": {"1": private_pem(WALLET_KEY)}}))
_wallet_key_file.close()
os.environ["WALLET_KEY_FILE"] = _wallet_key_file.name

from miniauth import runtime  # noqa: E402
from miniauth.clock import SystemClock  # noqa: E402
from miniauth_tools.local.demo import CLIENTS, seed  # noqa: E402
from miniauth_tools.local.template import create_tables  # noqa: E402


@pytest.fixture
def dynamodb() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("dynamodb")
        create_tables(client, TEMPLATE)
        runtime.reset()
        yield client
        runtime.reset()


@pytest.fixture
def clock(dynamodb: object) -> Iterator[FakeClock]:
    fake = FakeClock()
    runtime.use_clock(fake)
    yield fake
    runtime.use_clock(SystemClock())


@pytest.fixture
def registry(dynamodb: object, clock: FakeClock) -> object:
    runtime.store()  # binds the item models to the template's table names
    seed(clients=[{**c, "public_keys": {"1": public_pem(MERCHANT_KEYS[c["client_id"]])}} for c in CLIENTS])
    return runtime.store()


@pytest.fixture
def api(registry: object) -> Api:
    return Api()


@pytest.fixture
def rotated_wallet_key(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The wallet mid-rotation: keys 1 (the session's) and 2 (returned) held, 2 current."""
    from miniauth.wallet_keys import key_document

    rotated = new_key()
    document = tmp_path / "wallet-keys.json"  # type: ignore[operator]
    document.write_text(key_document({"1": private_pem(WALLET_KEY), "2": private_pem(rotated)}, "2"))
    monkeypatch.setenv("WALLET_KEY_FILE", str(document))
    return rotated


TESTS = Path(__file__).resolve().parent
TIERS = {"unit", "integration", "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test carries its tier's marker (its folder's name), so `-m "not e2e"` and the like select tiers."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0] if TESTS in item.path.parents else None
        if folder in TIERS:
            item.add_marker(folder)


# Figures the hardening suites measure (fuzzed cases, throughput, latency), printed after the run.
_FIGURES: list[str] = []


@pytest.fixture(scope="session")
def figures() -> list[str]:
    """Append one readable line per figure; pytest prints them all in a closing `miniauth figures` section."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("miniauth figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)

"""The wallet key from Secrets Manager: read with the DynamoDB client's session, cached, failures named."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from miniauth import runtime, wallet_keys
from miniauth.wallet_keys import WalletKeyUnavailable, current_wallet_key, key_document

from support import WALLET_KEY, new_key, private_pem


@pytest.fixture
def secret(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A mid-rotation key document in a (moto) secret, and the function environment pointing at it."""
    rotated = new_key()
    arn = boto3.client("secretsmanager").create_secret(
        Name="wallet-keys", SecretString=key_document({"1": private_pem(WALLET_KEY), "2": private_pem(rotated)}, "2")
    )["ARN"]
    monkeypatch.setenv("WALLET_KEY_SECRET", arn)
    monkeypatch.setenv("WALLET_KEY_CACHE_SECONDS", "300")
    wallet_keys._secrets.clear()
    runtime.reset()
    yield rotated
    wallet_keys._secrets.clear()


def _reads() -> list[str]:
    calls: list[str] = []
    runtime.secrets_client().meta.events.register("before-call.secrets-manager", lambda **_: calls.append("read"))
    return calls


def test_the_key_comes_from_the_secret_and_is_read_once_per_cache_period(secret: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _reads()
    key = current_wallet_key()
    assert key.key_version == "2"
    assert key.private_key.private_numbers() == secret.private_numbers()
    current_wallet_key()
    assert reads == ["read"]  # cached for WALLET_KEY_CACHE_SECONDS
    monkeypatch.setenv("WALLET_KEY_CACHE_SECONDS", "0")
    current_wallet_key()
    assert reads == ["read", "read"]


def test_the_secret_shares_the_dynamodb_session(secret: Any) -> None:
    assert runtime.secrets_client()._loader is runtime.store().session().get_component("data_loader")


def test_an_unreadable_secret_is_a_named_fault(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_KEY_SECRET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf")
    wallet_keys._secrets.clear()
    runtime.reset()
    with pytest.raises(WalletKeyUnavailable, match="cannot be read"):
        current_wallet_key()

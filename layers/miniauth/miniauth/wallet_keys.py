"""The wallet's own signing keys, read once per container and re-read after a short time.

Key material is a JSON document: {"currentKeyVersion": "2", "privateKeys": {"1": PEM, "2": PEM}}.
In the cloud it is an AWS Secrets Manager secret (WALLET_KEY_SECRET), read with the DynamoDB client's
botocore session and cached for WALLET_KEY_CACHE_SECONDS; locally it is a file (WALLET_KEY_FILE),
or under `sam local` the document itself (WALLET_KEY_DOCUMENT, from an --env-vars file). Rotation:
add the new version, make it current, and drop the old one once merchants have its public key.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from miniauth.signing import check_key_size, load_private_key

SECRET_ENV = "WALLET_KEY_SECRET"
FILE_ENV = "WALLET_KEY_FILE"
DOCUMENT_ENV = "WALLET_KEY_DOCUMENT"
CACHE_ENV = "WALLET_KEY_CACHE_SECONDS"


class WalletKeyUnavailable(RuntimeError):
    """No usable wallet key is configured: a deployment fault, answered as UNKNOWN_EXCEPTION."""


@dataclass(frozen=True)
class WalletKey:
    key_version: str
    private_key: rsa.RSAPrivateKey


@lru_cache(maxsize=8)
def _parsed(pem: str) -> rsa.RSAPrivateKey:
    return load_private_key(pem, trusted=True)  # the operator's own secret: no 30 ms of checks at init


_secrets: dict[str, tuple[float, dict[str, Any]]] = {}


def _json_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("the wallet key document is not a JSON object")
    return value


def _secret(secret_id: str, max_age: int) -> dict[str, Any]:
    """The secret's JSON, kept for max_age seconds. Read through the botocore session the DynamoDB
    client already has: no boto3 import and no second session loading AWS's endpoint data (60 ms)."""
    hit = _secrets.get(secret_id)
    now = time.monotonic()
    if hit is not None and now - hit[0] < max_age:
        return hit[1]
    from botocore.exceptions import BotoCoreError, ClientError

    from miniauth.runtime import secrets_client

    try:
        value = _json_object(secrets_client().get_secret_value(SecretId=secret_id)["SecretString"])
    except (BotoCoreError, ClientError) as error:
        raise WalletKeyUnavailable(f"the wallet key secret cannot be read: {type(error).__name__}") from None
    _secrets[secret_id] = (now, value)
    return value


def _document() -> dict[str, Any]:
    secret = os.environ.get(SECRET_ENV)
    if secret:
        return _secret(secret, int(os.environ.get(CACHE_ENV, "300")))
    document = os.environ.get(DOCUMENT_ENV)
    if document:
        return _json_object(document)
    path = os.environ.get(FILE_ENV)
    if path:
        return _json_object(Path(path).read_text())
    raise WalletKeyUnavailable(f"set {SECRET_ENV}, {DOCUMENT_ENV} or {FILE_ENV}")


def current_wallet_key() -> WalletKey:
    """The current signing key, loaded and checked; any failure (secret unreachable, throttled, bad document,
    weak key, nothing configured) is WalletKeyUnavailable, whose message names the cause's type only."""
    try:
        document = _document()
        version = str(document["currentKeyVersion"])
        private_key = _parsed(document["privateKeys"][version])
        check_key_size(private_key)
        return WalletKey(version, private_key)
    except WalletKeyUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - botocore, JSON and key-parsing errors alike: no key, no answer
        raise WalletKeyUnavailable(f"the wallet key cannot be loaded: {type(error).__name__}") from None


def key_document(private_keys: dict[str, str], current: str) -> str:
    return json.dumps({"currentKeyVersion": current, "privateKeys": private_keys})

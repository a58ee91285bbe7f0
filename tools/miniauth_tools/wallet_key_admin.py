"""`miniauth wallet-keys`: create, rotate and publish the wallet's response-signing keys.

The key document is what the functions read (see `wallet_keys.py`):
{"currentKeyVersion": "1", "privateKeys": {"1": "<PKCS#8 PEM>"}}. It lives in a file (0600) or in
the stack's `WalletKeySecret` (Secrets Manager). Rotation is two steps so no merchant ever meets a
signature it cannot check: add version N+1 and publish its public key, later make it current, and
once no answer signed with the old version can still be in flight, drop it.

Local tooling like `admin.py`: never imported by a handler. No private key is ever printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import UnsupportedAlgorithm

from miniauth.signing import load_private_key
from miniauth.wallet_keys import key_document
from miniauth_tools.admin import (
    MIN_KEY_BITS,
    AdminError,
    check_key_version,
    new_private_key,
    private_pem,
    public_pem,
    replace_private_file,
)

SECRET_OUTPUT = "WalletKeySecretArn"


@dataclass(frozen=True)
class KeyDocument:
    current: str
    private_keys: dict[str, str]  # keyVersion -> PKCS#8 PEM

    def to_json(self) -> str:
        return key_document(self.private_keys, self.current)

    def versions(self) -> list[str]:
        return sorted(self.private_keys, key=_version_order)

    def public_keys(self) -> dict[str, str]:
        """keyVersion -> SubjectPublicKeyInfo PEM, what merchants configure."""
        return {version: public_pem(load_private_key(self.private_keys[version])) for version in self.versions()}


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), version) if version.isdigit() else (1 << 62, version)


def parse_document(text: str, where: str) -> KeyDocument:
    """A key document the functions can use, else an AdminError naming what is wrong (never a key)."""
    try:
        raw = json.loads(text)
        current = raw["currentKeyVersion"]
        keys = raw["privateKeys"]
    except (ValueError, KeyError, TypeError):
        raise AdminError(f"{where} does not hold a wallet key document "
                         "({\"currentKeyVersion\": ..., \"privateKeys\": {...}})") from None
    if not isinstance(current, str) or not isinstance(keys, dict) or current not in keys:
        raise AdminError(f"{where}: currentKeyVersion must name one of privateKeys")
    for version, pem in keys.items():
        try:
            key = load_private_key(pem)
        except (ValueError, TypeError, AttributeError, UnsupportedAlgorithm):
            raise AdminError(f"{where}: keyVersion {version} is not an RSA private key PEM") from None
        if key.key_size < MIN_KEY_BITS:
            raise AdminError(f"{where}: keyVersion {version} has {key.key_size} bits, fewer than {MIN_KEY_BITS}")
    return KeyDocument(current, dict(keys))


# -- where the document lives ----------------------------------------------------------------------------


class KeyStore(Protocol):
    where: str

    def read_text(self) -> str | None:
        """The stored document as text, None when nothing is stored yet."""

    def write_text(self, text: str) -> None: ...


class FileStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.where = str(self.path)

    def read_text(self) -> str | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise AdminError(f"{self.path}: {error.strerror or error}") from None
        return text if text.strip() else None

    def write_text(self, text: str) -> None:
        replace_private_file(self.path, text.encode())


class SecretStore:
    """A Secrets Manager secret; an empty secret (no version yet, as the stack creates it) reads as None."""

    def __init__(self, secret_id: str, region: str | None = None) -> None:
        import boto3  # a dev dependency: only this path needs it

        self.secret_id = secret_id
        self.where = f"secret {secret_id}"
        self.client = boto3.client("secretsmanager", region_name=region)

    def read_text(self) -> str | None:
        from botocore.exceptions import ClientError

        self.client.describe_secret(SecretId=self.secret_id)  # a missing secret is an error, not "empty"
        try:
            answer = self.client.get_secret_value(SecretId=self.secret_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None  # the secret exists without any value
            raise
        text = answer.get("SecretString")
        return text if text and text.strip() else None

    def write_text(self, text: str) -> None:
        self.client.put_secret_value(SecretId=self.secret_id, SecretString=text)


def secret_from_outputs(stack_name: str, outputs: dict[str, str]) -> str:
    secret = outputs.get(SECRET_OUTPUT)
    if not secret:
        raise AdminError(f"stack {stack_name} has no output {SECRET_OUTPUT}")
    return secret


# -- the operations --------------------------------------------------------------------------------------


def load(store: KeyStore) -> KeyDocument:
    text = store.read_text()
    if text is None:
        raise AdminError(f"{store.where} holds no wallet key document yet (run `wallet-keys init`)")
    return parse_document(text, store.where)


def init(store: KeyStore, bits: int = MIN_KEY_BITS, force: bool = False) -> KeyDocument:
    """keyVersion 1 as the only and current key. Refuses to replace anything already stored unless forced."""
    if not force and store.read_text() is not None:
        raise AdminError(f"{store.where} already holds a value: refusing to replace it (rotate instead, or "
                         "--force to discard it and every key in it)")
    document = KeyDocument("1", {"1": private_pem(new_private_key(bits))})
    store.write_text(document.to_json())
    return document


@dataclass(frozen=True)
class Rotation:
    document: KeyDocument
    added: str | None
    dropped: str | None


def rotate(store: KeyStore, *, make_current: bool = False, current: str | None = None, drop: str | None = None,
           bits: int = MIN_KEY_BITS) -> Rotation:
    """Without `current`/`drop`: add version N+1 (current too with `make_current`). With them: switch the
    current version to one already published, and/or drop a version that is not current."""
    document = load(store)
    keys, now = dict(document.private_keys), document.current
    added = None
    if current is None and drop is None:
        numbers = [int(version) for version in keys if version.isdigit()]
        added = str(max(numbers, default=0) + 1)
        keys[added] = private_pem(new_private_key(bits))
        if make_current:
            now = added
    if current is not None:
        current = check_key_version(current)
        if current not in keys:
            raise AdminError(f"keyVersion {current} is not in {store.where} "
                             f"(versions: {', '.join(document.versions())})")
        now = current
    if drop is not None:
        drop = check_key_version(drop)
        if drop not in keys:
            raise AdminError(f"keyVersion {drop} is not in {store.where} (versions: {', '.join(document.versions())})")
        if drop == now:
            raise AdminError(f"keyVersion {drop} is current: make another version current before dropping it")
        del keys[drop]
    rotated = KeyDocument(now, keys)
    if rotated != document:
        store.write_text(rotated.to_json())
    return Rotation(rotated, added, drop)


def public_keys(store: KeyStore, version: str | None = None) -> tuple[KeyDocument, dict[str, str]]:
    document = load(store)
    keys = document.public_keys()
    if version is not None:
        if version not in keys:
            raise AdminError(f"keyVersion {version} is not in {store.where} (versions: {', '.join(keys)})")
        keys = {version: keys[version]}
    return document, keys


def write_public_keys(keys: dict[str, str], out: str | Path) -> list[Path]:
    """wallet_public_v<N>.pem per version (replaced: a public key is no secret)."""
    directory = Path(out)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for version, pem in keys.items():
            path = directory / f"wallet_public_v{version}.pem"
            path.write_text(pem)
            written.append(path)
    except OSError as error:
        raise AdminError(f"{directory}: {error.strerror or error}") from None
    return written


def describe(document: KeyDocument) -> dict[str, Any]:
    """What may be shown: versions and which is current, never key material."""
    return {"currentKeyVersion": document.current, "keyVersions": document.versions()}

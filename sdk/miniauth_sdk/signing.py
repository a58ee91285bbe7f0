"""The merchant's half of the Open API signatures (contract section 4): RSA PKCS#1 v1.5 with SHA-256.

Signed content, exactly:  POST <path>\\n<Client-Id>.<Request-Time|Response-Time>.<raw body>
Signature header value:  algorithm=RSA256, keyVersion=<n>, signature=<URL-encoded Base64>

The wallet's server verifies and signs the same way in its own module; the SDK keeps its copy so that a
merchant installs `cryptography` and nothing of the server. Tests sign with one and verify with the other.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "RSA256"
MIN_KEY_BITS = 2048  # the wallet refuses shorter keys; the SDK does not trust a shorter wallet key either
_PAIR = re.compile(r"^\s*([A-Za-z]+)\s*=\s*(\S*?)\s*$")
_EPOCH_MILLIS = re.compile(r"^\d{12,14}$")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def iso8601(moment: datetime) -> str:
    """The wire form: ISO 8601 with milliseconds and an explicit offset."""
    return moment.isoformat(timespec="milliseconds")


class MalformedSignature(ValueError):
    """A Signature or Response-Time header that cannot be read at all."""


@dataclass(frozen=True)
class SignatureHeader:
    algorithm: str
    key_version: str
    signature: str  # still URL-encoded, as sent


def signed_content(path: str, client_id: str, moment: str, body: str | bytes) -> bytes:
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    return f"POST {path}\n{client_id}.{moment}.".encode() + raw


def parse_signature_header(value: str | None) -> SignatureHeader:
    if not value:
        raise MalformedSignature("The Signature header is missing.")
    pairs: dict[str, str] = {}
    for part in value.split(","):
        match = _PAIR.match(part)
        if not match:
            raise MalformedSignature("The Signature header is not a list of key=value pairs.")
        key = match.group(1).lower()
        if key in pairs:
            raise MalformedSignature(f"The Signature header repeats {match.group(1)}.")
        pairs[key] = match.group(2)
    try:
        header = SignatureHeader(pairs["algorithm"], pairs["keyversion"], pairs["signature"])
    except KeyError as missing:
        raise MalformedSignature(f"The Signature header lacks {missing.args[0]}.") from None
    if not header.signature or not header.key_version:
        raise MalformedSignature("The Signature header has an empty value.")
    return header


def parse_time(value: str | None) -> datetime:
    """ISO 8601 with an explicit offset, or epoch milliseconds."""
    if not value:
        raise MalformedSignature("The time header is missing.")
    text = value.strip()
    if _EPOCH_MILLIS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedSignature("The time header is not ISO 8601 or epoch milliseconds.") from None
    if moment.tzinfo is None:
        raise MalformedSignature("The time header needs an explicit offset.")
    return moment


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """PKCS#8 or PKCS#1 ("BEGIN RSA PRIVATE KEY") PEM."""
    key = serialization.load_pem_private_key(pem if isinstance(pem, bytes) else pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY") PEM, at least MIN_KEY_BITS."""
    key = serialization.load_pem_public_key(pem if isinstance(pem, bytes) else pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"the RSA key has {key.key_size} bits; at least {MIN_KEY_BITS} are required")
    return key


def sign(private_key: rsa.RSAPrivateKey, content: bytes) -> str:
    raw = private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return quote(base64.b64encode(raw).decode("ascii"), safe="")


def verify(public_key: rsa.RSAPublicKey, content: bytes, signature: str) -> bool:
    try:
        raw = base64.b64decode(unquote(signature), validate=True)
        public_key.verify(raw, content, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signature_header(key_version: str, signature: str) -> str:
    return f"algorithm={ALGORITHM}, keyVersion={key_version}, signature={signature}"

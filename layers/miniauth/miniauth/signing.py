"""Open API message signatures (contract section 4): RSA PKCS#1 v1.5 with SHA-256, both ways.

Signed content, exactly:  POST <path>\\n<Client-Id>.<Request-Time|Response-Time>.<raw body>
Signature header value:  algorithm=RSA256, keyVersion=<n>, signature=<URL-encoded Base64>
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from cryptography.exceptions import InvalidSignature as _BadSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "RSA256"
MIN_KEY_BITS = 2048  # NIST SP 800-131A: shorter RSA keys are no longer acceptable for signatures
_PAIR = re.compile(r"^\s*([A-Za-z]+)\s*=\s*(\S*?)\s*$")
_EPOCH_MILLIS = re.compile(r"^\d{12,14}$")
MAX_CLIENT_ID = 128  # contract section 4: authClientId at most 128 characters
_CLIENT_ID = re.compile(rf"^[!-~]{{1,{MAX_CLIENT_ID}}}$")  # printable ASCII, no space


def well_formed_client_id(value: str | None) -> bool:
    """A Client-Id (authClientId) is 1 to 128 printable ASCII characters without spaces."""
    return bool(value) and _CLIENT_ID.fullmatch(value) is not None  # type: ignore[arg-type]


class WeakKey(ValueError):
    """An RSA key shorter than MIN_KEY_BITS: never registered, never trusted."""


class MalformedSignature(ValueError):
    """The Signature or Request-Time header cannot be read at all (PARAM_ILLEGAL)."""


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


def parse_request_time(value: str | None) -> datetime:
    """ISO 8601 with an explicit offset, or epoch milliseconds."""
    if not value:
        raise MalformedSignature("The Request-Time header is missing.")
    text = value.strip()
    if _EPOCH_MILLIS.match(text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedSignature("The Request-Time header is not ISO 8601 or epoch milliseconds.") from None
    if moment.tzinfo is None:
        raise MalformedSignature("The Request-Time header needs an explicit offset.")
    return moment


def load_private_key(pem: str | bytes, *, trusted: bool = False) -> rsa.RSAPrivateKey:
    """PKCS#8 or PKCS#1 ("BEGIN RSA PRIVATE KEY") PEM.

    `trusted` skips cryptography's RSA consistency checks (about 30 ms, most of a key load): only for
    a key from the operator's own secret, which OpenSSL's signing still guards against CRT faults.
    """
    key = serialization.load_pem_private_key(
        pem if isinstance(pem, bytes) else pem.encode(), password=None, unsafe_skip_rsa_key_validation=trusted
    )
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY") PEM, at least MIN_KEY_BITS."""
    key = serialization.load_pem_public_key(pem if isinstance(pem, bytes) else pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    check_key_size(key)
    return key


def check_key_size(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> None:
    if key.key_size < MIN_KEY_BITS:
        raise WeakKey(f"the RSA key has {key.key_size} bits; at least {MIN_KEY_BITS} are required")


def sign(private_key: rsa.RSAPrivateKey, content: bytes) -> str:
    raw = private_key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    return quote(base64.b64encode(raw).decode("ascii"), safe="")


def signature_bytes(signature: str) -> bytes:
    """The raw signature a header value carries (URL-encoded Base64); ValueError if it is not readable."""
    try:
        return base64.b64decode(unquote(signature), validate=True)
    except binascii.Error as error:
        raise ValueError("the signature is not Base64") from error


def verify(public_key: rsa.RSAPublicKey, content: bytes, signature: str) -> bool:
    try:
        raw = signature_bytes(signature)
        public_key.verify(raw, content, padding.PKCS1v15(), hashes.SHA256())
    except (_BadSignature, ValueError):
        return False
    return True


def signature_header(key_version: str, signature: str) -> str:
    return f"algorithm={ALGORITHM}, keyVersion={key_version}, signature={signature}"

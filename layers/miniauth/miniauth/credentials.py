"""Opaque codes and tokens, and the only form in which they are stored: a digest."""

from __future__ import annotations

import hashlib
import secrets

# token_urlsafe(n) draws n random bytes: 32 bytes = 256 bits -> 43 chars, 48 bytes -> 64 chars.
AUTH_CODE_BYTES = 32
TOKEN_BYTES = 48


def new_auth_code() -> str:
    return secrets.token_urlsafe(AUTH_CODE_BYTES)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(secret: str) -> str:
    """SHA-256 hex: enough for values with 256 bits of entropy, and safe to log."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()

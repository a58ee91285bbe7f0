"""How the SDK moves bytes. The default uses the standard library; tests and callers may plug their own."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from miniauth_sdk.errors import TransportError


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


class Transport(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> RawResponse:
        """POST `body` to `url`; return whatever came back, error statuses included."""
        ...


class UrllibTransport:
    """HTTP(S) POST with a timeout; network failures become TransportError."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> RawResponse:
        if not url.lower().startswith(("http://", "https://")):
            raise TransportError(f"Only http and https URLs are supported, not {url!r}.")
        request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return RawResponse(response.status, response.read(), dict(response.headers.items()))
        except urllib.error.HTTPError as answered:
            with answered:
                return RawResponse(answered.code, answered.read(), dict(answered.headers.items()))
        except (urllib.error.URLError, TimeoutError, ConnectionError) as failed:
            reason = getattr(failed, "reason", failed)
            # Refused or unresolvable: no byte of the request reached the wallet. Anything else may have.
            unsent = isinstance(reason, ConnectionRefusedError | socket.gaierror)
            raise TransportError(f"POST {url} failed: {reason}", unsent=unsent) from None

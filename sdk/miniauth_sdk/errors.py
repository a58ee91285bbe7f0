"""What the merchant SDK raises: one base class, then why the call failed."""

from __future__ import annotations

from typing import Any


class MiniauthClientError(Exception):
    """Base of every SDK error."""


class OpenApiError(MiniauthClientError):
    """The wallet answered, signed, with a result other than SUCCESS.

    `result_code` is spelled as the wallet sent it (v1 or v2 vocabulary), `result_status` is
    "F" (do not retry as is) or "U" (unknown outcome, safe to retry).
    """

    def __init__(self, result_code: str, result_status: str, result_message: str, http_status: int,
                 body: dict[str, Any]) -> None:
        super().__init__(f"{result_code} ({result_status}): {result_message}")
        self.result_code = result_code
        self.result_status = result_status
        self.result_message = result_message
        self.http_status = http_status
        self.body = body

    @property
    def retryable(self) -> bool:
        return self.result_status == "U"


class ResponseVerificationError(MiniauthClientError):
    """The answer is not provably the wallet's: missing, stale or wrong signature, or altered content.

    Never act on such an answer. Tokens it may contain must be treated as unknown.
    """


class TransportError(MiniauthClientError):
    """No answer from the wallet's functions: network failure, timeout, or an unsigned gateway reply.

    `unsent` is set when the request provably never left (connection refused, unknown host).
    """

    def __init__(self, message: str, http_status: int | None = None, *, unsent: bool = False) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.unsent = unsent

    @property
    def retryable(self) -> bool:
        # No answer at all, throttling, or a gateway fault; a 4xx from the gateway is final.
        return self.http_status is None or self.http_status == 429 or self.http_status >= 500

    @property
    def unprocessed(self) -> bool:
        """The wallet provably did not act on the request: it was never sent, or the gateway throttled it (429)."""
        return self.unsent or self.http_status == 429

"""The merchant side of the Open APIs: sign each request, verify each answer, raise typed errors.

    client = MerchantClient("https://wallet.example.com/api", "2022000000000001",
                            private_key=pem_text, wallet_public_keys=wallet_pem)
    pair = client.apply_token(auth_code, app_id)
    info = client.inquiry_user_info(pair.access_token, app_id)

Only the standard library and `cryptography` are needed; the wallet's server modules are not imported.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from miniauth_sdk import signing
from miniauth_sdk.errors import MiniauthClientError, OpenApiError, ResponseVerificationError, TransportError
from miniauth_sdk.signing import Clock, SystemClock, iso8601
from miniauth_sdk.transport import RawResponse, Transport, UrllibTransport

CONTENT_TYPE = "application/json; charset=UTF-8"
APPLY_TOKEN, INQUIRY_USER_INFO, REVOKE = "applyToken", "inquiryUserInfo", "revoke"
PATHS = {
    "v2": {
        APPLY_TOKEN: "/v2/authorizations/applyToken",
        INQUIRY_USER_INFO: "/v2/users/inquiryUserInfo",
        REVOKE: "/v2/authorizations/revoke",
    },
    "v1": {
        APPLY_TOKEN: "/v1/authorizations/applyToken",
        INQUIRY_USER_INFO: "/v1/customers/user/inquiryUserInfoByAccessToken",
        REVOKE: "/v1/authorizations/cancelToken",
    },
}

IDEMPOTENT = frozenset({INQUIRY_USER_INFO, REVOKE})  # repeating them changes nothing the first did not

PrivateKeyInput = str | bytes | rsa.RSAPrivateKey
PublicKeyInput = str | bytes | rsa.RSAPublicKey


@dataclass(frozen=True)
class TokenPair:
    """applyToken's answer. Tokens are kept out of repr() so they do not end up in logs by accident."""

    access_token: str = field(repr=False)
    access_token_expiry_time: datetime
    refresh_token: str = field(repr=False)
    refresh_token_expiry_time: datetime
    customer_id: str | None = None
    extend_info: str | None = None


@dataclass(frozen=True)
class UserInfo:
    """inquiryUserInfo's answer: `fields` is the `userInfo` object exactly as sent."""

    user_id: str
    status: str | None
    fields: Mapping[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def _private_key(value: PrivateKeyInput) -> rsa.RSAPrivateKey:
    return value if isinstance(value, rsa.RSAPrivateKey) else signing.load_private_key(value)


def _public_key(value: PublicKeyInput) -> rsa.RSAPublicKey:
    return value if isinstance(value, rsa.RSAPublicKey) else signing.load_public_key(value)


class _RequestTimes:
    """Request-Times for signing: never the same millisecond twice in this process.

    The wallet refuses a (Client-Id, signature) it has already received, and two identical requests signed
    in the same millisecond carry the same signature. So each moment handed out is later than the last one
    (by 1 ms when the clock has not moved); a clock more than a minute behind the last moment (another
    clock, or a step back) is taken as it is.
    """

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def fresh(self, now: datetime) -> datetime:
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        with self._lock:
            last = self._last
            if last is not None and now <= last < now + timedelta(seconds=60):
                now = last + timedelta(milliseconds=1)
            self._last = now
            return now


fresh_request_time = _RequestTimes().fresh  # shared by every client of the process


class MerchantClient:
    """A merchant's signed connection to the wallet's Open APIs.

    `wallet_public_keys` is one key (trusted for every keyVersion) or a mapping keyVersion -> key,
    which lets a merchant accept the wallet's old and new key while it rotates. `api_version="v1"`
    uses the v1 paths and field names.

    Retries (`retries` times, `backoff` seconds doubling, each with a fresh Request-Time and signature):
    inquiryUserInfo and revoke are idempotent and are retried on any unknown outcome (status "U", no
    answer, 429/5xx from the gateway). applyToken (code or refresh) is not idempotent: a redemption that
    committed but whose answer was lost, presented again outside the wallet's retry window, revokes the
    grant. So it is retried only when the wallet provably did not act (the connection was refused, or
    the gateway answered 429), unless `retry_window` declares the wallet's RetryGraceSeconds: then every
    unknown outcome is retried, and the whole retry schedule must fit inside the window (checked here).
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        private_key: PrivateKeyInput,
        wallet_public_keys: PublicKeyInput | Mapping[str, PublicKeyInput],
        *,
        key_version: str = "1",
        api_version: str = "v2",
        timeout: float = 10.0,
        retries: int = 1,
        backoff: float = 0.2,
        retry_window: float | None = None,
        response_time_skew: float = 300.0,
        transport: Transport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if api_version not in PATHS:
            raise ValueError(f"api_version must be one of {sorted(PATHS)}, not {api_version!r}")
        if retries < 0:
            raise ValueError("retries must not be negative")
        if retry_window:
            schedule = timeout * (retries + 1) + backoff * (2**retries - 1)
            if schedule > retry_window:
                raise ValueError(
                    f"timeout x (retries + 1) + backoffs = {schedule:g} s does not fit in retry_window "
                    f"{retry_window:g} s: a late applyToken retry would replay the code and revoke the grant"
                )
        self.retry_window = retry_window or None
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.key_version = str(key_version)
        self.api_version = api_version
        self.retries = retries
        self.backoff = backoff
        self.response_time_skew = timedelta(seconds=response_time_skew)
        self._private_key = _private_key(private_key)
        if isinstance(wallet_public_keys, Mapping):
            self._wallet_keys: dict[str, rsa.RSAPublicKey] = {
                str(version): _public_key(key) for version, key in wallet_public_keys.items()
            }
            self._any_version_key: rsa.RSAPublicKey | None = None
        else:
            self._wallet_keys = {}
            self._any_version_key = _public_key(wallet_public_keys)
        self._transport = transport or UrllibTransport(timeout)
        self._clock = clock or SystemClock()
        self._sleep = sleep

    @classmethod
    def from_files(cls, base_url: str, client_id: str, private_key_file: str | Path,
                   wallet_public_key_file: str | Path, **options: Any) -> MerchantClient:
        return cls(base_url, client_id, Path(private_key_file).read_bytes(),
                   Path(wallet_public_key_file).read_bytes(), **options)

    def __repr__(self) -> str:
        return f"MerchantClient({self.base_url!r}, client_id={self.client_id!r}, api_version={self.api_version!r})"

    # -- the four operations --------------------------------------------------------------------------

    def apply_token(self, auth_code: str, app_id: str | None, extend_info: str | None = None) -> TokenPair:
        """Exchange a one-time authCode for a token pair."""
        return self._token_pair({"grantType": "AUTHORIZATION_CODE", "authCode": auth_code}, app_id, extend_info)

    def refresh(self, refresh_token: str, app_id: str | None, extend_info: str | None = None) -> TokenPair:
        """Rotate a pair: the refresh token presented dies, a fresh pair comes back."""
        return self._token_pair({"grantType": "REFRESH_TOKEN", "refreshToken": refresh_token}, app_id, extend_info)

    def inquiry_user_info(self, access_token: str, app_id: str | None, extend_info: str | None = None) -> UserInfo:
        """The user's information, limited to the scopes the grant holds."""
        body = self._call(INQUIRY_USER_INFO, self._fields({"accessToken": access_token}, app_id, extend_info))
        info = body.get("userInfo")
        if not isinstance(info, dict) or "userId" not in info:
            raise MiniauthClientError("The signed answer carries no userInfo.")
        return UserInfo(info["userId"], info.get("status"), info)

    def revoke(self, access_token: str, app_id: str | None, extend_info: str | None = None) -> None:
        """Kill the access token and its refresh token. Revoking twice is not an error."""
        self._call(REVOKE, self._fields({"accessToken": access_token}, app_id, extend_info))

    # -- request building -----------------------------------------------------------------------------

    def path(self, operation: str) -> str:
        return PATHS[self.api_version][operation]

    def _fields(self, fields: dict[str, str], app_id: str | None, extend_info: str | None) -> dict[str, str]:
        if self.api_version == "v2":
            if not app_id:
                raise ValueError("app_id is required by the v2 Open APIs")
            addressed = {"appId": app_id, "authClientId": self.client_id}
        else:
            addressed = {"referenceClientId": app_id} if app_id else {}
        extra = {"extendInfo": extend_info} if extend_info is not None else {}
        return {**addressed, **fields, **extra}

    def _token_pair(self, fields: dict[str, str], app_id: str | None, extend_info: str | None) -> TokenPair:
        body = self._call(APPLY_TOKEN, self._fields(fields, app_id, extend_info))
        try:
            return TokenPair(
                access_token=body["accessToken"],
                access_token_expiry_time=datetime.fromisoformat(body["accessTokenExpiryTime"]),
                refresh_token=body["refreshToken"],
                refresh_token_expiry_time=datetime.fromisoformat(body["refreshTokenExpiryTime"]),
                customer_id=body.get("customerId"),
                extend_info=body.get("extendInfo"),
            )
        except (KeyError, TypeError, ValueError):
            raise MiniauthClientError("The signed answer lacks a complete token pair.") from None

    def signed_request(self, path: str, body: bytes) -> dict[str, str]:
        """The headers of one request: Client-Id, Request-Time and the RSA256 Signature over path and body."""
        moment = iso8601(fresh_request_time(self._clock.now()))
        content = signing.signed_content(path, self.client_id, moment, body)
        return {
            "Content-Type": CONTENT_TYPE,
            "Client-Id": self.client_id,
            "Request-Time": moment,
            "Signature": signing.signature_header(self.key_version, signing.sign(self._private_key, content)),
        }

    def _call(self, operation: str, fields: dict[str, str]) -> dict[str, Any]:
        path = self.path(operation)
        body = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        attempt = 0
        while True:
            try:
                raw = self._transport(self.base_url + path, body, self.signed_request(path, body))
                return self.verify_response(path, raw)
            except (OpenApiError, TransportError) as failure:
                if not self._may_retry(operation, failure) or attempt >= self.retries:
                    raise
            self._sleep(self.backoff * 2**attempt)
            attempt += 1

    def _may_retry(self, operation: str, failure: OpenApiError | TransportError) -> bool:
        if not failure.retryable:
            return False
        if operation in IDEMPOTENT or self.retry_window:
            return True
        # applyToken without a declared window: only when the wallet provably did nothing.
        return isinstance(failure, TransportError) and failure.unprocessed

    # -- answer checking ------------------------------------------------------------------------------

    def verify_response(self, path: str, raw: RawResponse) -> dict[str, Any]:
        """Check the wallet's signature over the raw answer, then read its result envelope.

        Returns the body of a SUCCESS answer; raises OpenApiError for any other signed result,
        ResponseVerificationError when the answer cannot be proven to be the wallet's, and
        TransportError for an unsigned error status (the gateway answered, not a function).
        """
        signature_text = raw.header("Signature")
        if signature_text is None:
            if raw.status >= 400:
                raise TransportError(f"HTTP {raw.status} without a wallet signature.", raw.status)
            raise ResponseVerificationError("The answer carries no Signature header.")
        try:
            signature = signing.parse_signature_header(signature_text)
        except signing.MalformedSignature as malformed:
            raise ResponseVerificationError(str(malformed)) from None
        response_time = raw.header("Response-Time") or ""
        try:
            responded_at = signing.parse_time(response_time)
        except signing.MalformedSignature:
            raise ResponseVerificationError("The Response-Time header is missing or unreadable.") from None
        if raw.header("Client-Id") != self.client_id:
            raise ResponseVerificationError("The answer is addressed to another Client-Id.")
        if signature.algorithm.upper() != signing.ALGORITHM:
            raise ResponseVerificationError(f"Unsupported answer signature algorithm {signature.algorithm[:16]!r}.")
        if abs(self._clock.now() - responded_at) > self.response_time_skew:
            raise ResponseVerificationError("The answer's Response-Time is outside the accepted window.")
        key = self._wallet_keys.get(signature.key_version, self._any_version_key)
        if key is None:
            raise ResponseVerificationError(f"No wallet public key for keyVersion {signature.key_version[:16]!r}.")
        content = signing.signed_content(path, self.client_id, response_time, raw.body)
        if not signing.verify(key, content, signature.signature):
            raise ResponseVerificationError("The answer's signature does not match its content.")
        return _succeeded(raw)


def _succeeded(raw: RawResponse) -> dict[str, Any]:
    try:
        body = json.loads(raw.body)
        if not isinstance(body, dict):
            raise TypeError("not an object")
        result = body["result"]
        code, status, message = result["resultCode"], result["resultStatus"], result.get("resultMessage", "")
    except (ValueError, TypeError, KeyError):
        raise MiniauthClientError("The signed answer is not a result envelope.") from None
    if code == "SUCCESS" and status == "S":
        return body
    raise OpenApiError(str(code), str(status), str(message), raw.status, body)

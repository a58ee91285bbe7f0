"""Result codes of the wire contract and the typed errors that carry them.

Every refusal in the domain is one of the exceptions below; the protocol layer
turns it into the `result` envelope in the caller's API version spelling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

SUCCESS_STATUS, FAILURE_STATUS, UNKNOWN_STATUS = "S", "F", "U"


@dataclass(frozen=True)
class ResultCode:
    """A contract result code; `v1` is the v1 spelling where it differs."""

    code: str
    status: str
    message: str
    v1: str | None = None
    http_status: int = 200

    def spelled(self, version: str) -> str:
        return self.v1 if version == "v1" and self.v1 else self.code


SUCCESS = ResultCode("SUCCESS", SUCCESS_STATUS, "Success.")

# Common codes (contract section 4).
PARAM_ILLEGAL = ResultCode("PARAM_ILLEGAL", FAILURE_STATUS, "Illegal parameters.")
INVALID_SIGNATURE = ResultCode("INVALID_SIGNATURE", FAILURE_STATUS, "The signature is invalid.")
INVALID_AUTH_CLIENT = ResultCode("INVALID_AUTH_CLIENT", FAILURE_STATUS, "The auth client is invalid.")
INVALID_AUTH_CLIENT_STATUS = ResultCode(
    "INVALID_AUTH_CLIENT_STATUS", FAILURE_STATUS, "The auth client is not active."
)
ACCESS_DENIED = ResultCode("ACCESS_DENIED", FAILURE_STATUS, "Access is denied.")
INVALID_API = ResultCode("INVALID_API", FAILURE_STATUS, "The API is invalid.")
PROCESS_FAIL = ResultCode("PROCESS_FAIL", FAILURE_STATUS, "The request could not be processed.")
REQUEST_TRAFFIC_EXCEED_LIMIT = ResultCode(
    "REQUEST_TRAFFIC_EXCEED_LIMIT", UNKNOWN_STATUS, "Too many requests, retry later."
)
UNKNOWN_EXCEPTION = ResultCode(
    "UNKNOWN_EXCEPTION", UNKNOWN_STATUS, "An unknown error occurred, retry later.", http_status=500
)

# applyToken (contract section 5).
INVALID_AUTHCODE = ResultCode("INVALID_AUTHCODE", FAILURE_STATUS, "The authCode is invalid.", v1="INVALID_CODE")
USED_AUTHCODE = ResultCode("USED_AUTHCODE", FAILURE_STATUS, "The authCode has been used.", v1="USED_CODE")
EXPIRED_AUTHCODE = ResultCode(
    "EXPIRED_AUTHCODE", FAILURE_STATUS, "The authCode has expired.", v1="EXPIRED_CODE"
)
APP_NOT_MATCH_AUTHCODE = ResultCode(
    "INVALID_AUTHCODE",
    FAILURE_STATUS,
    "The authCode was not issued for this app.",
    v1="REFERENCE_CLIENT_ID_NOT_MATCH",
)
INVALID_REFRESH_TOKEN = ResultCode("INVALID_REFRESH_TOKEN", FAILURE_STATUS, "The refresh token is invalid.")
EXPIRED_REFRESH_TOKEN = ResultCode("EXPIRED_REFRESH_TOKEN", FAILURE_STATUS, "The refresh token has expired.")
USED_REFRESH_TOKEN = ResultCode("USED_REFRESH_TOKEN", FAILURE_STATUS, "The refresh token has been used.")
AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE = ResultCode(
    "AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE", FAILURE_STATUS, "The grant type is not allowed for this client."
)

# inquiryUserInfo / revoke.
INVALID_ACCESS_TOKEN = ResultCode("INVALID_ACCESS_TOKEN", FAILURE_STATUS, "The access token is invalid.")
EXPIRED_ACCESS_TOKEN = ResultCode("EXPIRED_ACCESS_TOKEN", FAILURE_STATUS, "The access token has expired.")

# Wallet API (contract section 6).
USER_CONSENT_REQUIRED = ResultCode(
    "USER_CONSENT_REQUIRED", FAILURE_STATUS, "The user has not consented to some scopes."
)
USER_NOT_EXIST = ResultCode("USER_NOT_EXIST", FAILURE_STATUS, "The user does not exist.")
INVALID_APP = ResultCode("INVALID_APP", FAILURE_STATUS, "The app does not exist or is not available.")

# Per-scope outcomes inside getAuthCode's authErrorScopes.
INVALID_SCOPE = "INVALID_SCOPE"
SCOPE_NOT_ALLOWED = "SCOPE_NOT_ALLOWED"
USER_DENIED = "USER_DENIED"


class MiniauthError(Exception):
    """A refusal with a contract result code; `extra` fields join the response body.

    `replay` marks a refusal that detected a replayed credential (and revoked its grant).
    """

    result: ClassVar[ResultCode] = UNKNOWN_EXCEPTION

    def __init__(self, message: str | None = None, *, replay: bool = False, **extra: Any) -> None:
        self.message = message or self.result.message
        self.replay = replay
        self.extra = extra
        super().__init__(self.message)


class ParamIllegal(MiniauthError):
    result = PARAM_ILLEGAL


class InvalidSignature(MiniauthError):
    result = INVALID_SIGNATURE


class InvalidAuthClient(MiniauthError):
    result = INVALID_AUTH_CLIENT


class InvalidAuthClientStatus(MiniauthError):
    result = INVALID_AUTH_CLIENT_STATUS


class AccessDenied(MiniauthError):
    result = ACCESS_DENIED


class InvalidApi(MiniauthError):
    result = INVALID_API


class ProcessFail(MiniauthError):
    result = PROCESS_FAIL


class RequestTrafficExceedLimit(MiniauthError):
    result = REQUEST_TRAFFIC_EXCEED_LIMIT


class InvalidAuthCode(MiniauthError):
    result = INVALID_AUTHCODE


class UsedAuthCode(MiniauthError):
    result = USED_AUTHCODE


class ExpiredAuthCode(MiniauthError):
    result = EXPIRED_AUTHCODE


class AppNotMatchAuthCode(MiniauthError):
    result = APP_NOT_MATCH_AUTHCODE


class InvalidRefreshToken(MiniauthError):
    result = INVALID_REFRESH_TOKEN


class ExpiredRefreshToken(MiniauthError):
    result = EXPIRED_REFRESH_TOKEN


class UsedRefreshToken(MiniauthError):
    result = USED_REFRESH_TOKEN


class UnsupportedGrantType(MiniauthError):
    result = AUTH_CLIENT_UNSUPPORTED_GRANT_TYPE


class InvalidAccessToken(MiniauthError):
    result = INVALID_ACCESS_TOKEN


class ExpiredAccessToken(MiniauthError):
    result = EXPIRED_ACCESS_TOKEN


class UserConsentRequired(MiniauthError):
    result = USER_CONSENT_REQUIRED


class UserNotExist(MiniauthError):
    result = USER_NOT_EXIST


class InvalidApp(MiniauthError):
    result = INVALID_APP

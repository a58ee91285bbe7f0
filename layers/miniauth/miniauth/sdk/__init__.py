"""Merchant SDK for miniauth's Open APIs: signed requests, verified answers, typed errors."""

from miniauth.sdk.client import PATHS, MerchantClient, TokenPair, UserInfo
from miniauth.sdk.errors import MiniauthClientError, OpenApiError, ResponseVerificationError, TransportError
from miniauth.sdk.transport import RawResponse, Transport, UrllibTransport

__all__ = [
    "PATHS",
    "MerchantClient",
    "MiniauthClientError",
    "OpenApiError",
    "RawResponse",
    "ResponseVerificationError",
    "TokenPair",
    "Transport",
    "TransportError",
    "UrllibTransport",
    "UserInfo",
]

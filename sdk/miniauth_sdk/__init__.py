"""Merchant SDK for miniauth's Open APIs: signed requests, verified answers, typed errors."""

from miniauth_sdk.client import PATHS, MerchantClient, TokenPair, UserInfo
from miniauth_sdk.errors import MiniauthClientError, OpenApiError, ResponseVerificationError, TransportError
from miniauth_sdk.transport import RawResponse, Transport, UrllibTransport

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

"""Request bodies of every route, with the contract's field limits (section 4).

Each body is a frozen dataclass whose fields carry their schema; `reader()` turns it into a validator
of pydantic's own engine (pydantic-core), which checks a decoded JSON body and builds the dataclass in
one pass. pydantic's BaseModel layer is not used here: importing it and building the models cost about
65 ms of every cold start, for bodies that are flat objects of strings. The messages are pydantic's
("appId: String should have at most 32 characters"), and `pydantic.json_schema` reads these schemas
for the openapi.yaml check.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

from miniauth.domain.models import AUTHORIZATION_CODE, REFRESH_TOKEN

SCHEMA = "schema"  # the dataclass field metadata key holding the field's core schema
MAX_SCOPES = 32


def _text(max_length: int, min_length: int | None = 1) -> cs.CoreSchema:
    return cs.str_schema(strict=True, min_length=min_length, max_length=max_length)


APP_ID = _text(32)
AUTH_CLIENT_ID = _text(128)
AUTH_CODE = _text(64)
TOKEN = _text(128)
EXTEND_INFO = _text(4096, min_length=None)  # may be empty
USER_ID = _text(128)
CUSTOMER_BELONGS_TO = _text(64)
GRANT_TYPE = cs.literal_schema([AUTHORIZATION_CODE, REFRESH_TOKEN])
SCOPES = cs.list_schema(_text(64), max_length=MAX_SCOPES)
STRICT_BOOL = cs.bool_schema(strict=True)


def required(schema: cs.CoreSchema) -> Any:
    return field(metadata={SCHEMA: schema})


def optional(schema: cs.CoreSchema) -> Any:
    """May be left out or sent as null: both read as None."""
    return field(default=None, metadata={SCHEMA: schema})


# Unknown fields are ignored, as the platform does, so merchants can send newer fields safely.
body = dataclass(frozen=True, slots=True, kw_only=True)


@body
class _GrantFields:
    grantType: str = required(GRANT_TYPE)
    authCode: str | None = optional(AUTH_CODE)
    refreshToken: str | None = optional(TOKEN)
    extendInfo: str | None = optional(EXTEND_INFO)

    def __post_init__(self) -> None:  # pydantic-core reports a ValueError here as a validation error
        if self.grantType == AUTHORIZATION_CODE and self.authCode is None:
            raise ValueError("authCode is required when grantType is AUTHORIZATION_CODE")
        if self.grantType == REFRESH_TOKEN and self.refreshToken is None:
            raise ValueError("refreshToken is required when grantType is REFRESH_TOKEN")


@body
class ApplyTokenV2(_GrantFields):
    appId: str = required(APP_ID)
    authClientId: str = required(AUTH_CLIENT_ID)
    customerBelongsTo: str | None = optional(CUSTOMER_BELONGS_TO)


@body
class ApplyTokenV1(_GrantFields):
    referenceClientId: str | None = optional(APP_ID)


@body
class AccessTokenV2:
    accessToken: str = required(TOKEN)
    appId: str = required(APP_ID)
    authClientId: str | None = optional(AUTH_CLIENT_ID)
    extendInfo: str | None = optional(EXTEND_INFO)


@body
class AccessTokenV1:
    accessToken: str = required(TOKEN)
    referenceClientId: str | None = optional(APP_ID)
    extendInfo: str | None = optional(EXTEND_INFO)


@body
class GetAuthCodeRequest:
    userId: str = required(USER_ID)
    appId: str = required(APP_ID)
    scopes: list[str] | None = optional(SCOPES)
    consentedScopes: list[str] | None = optional(SCOPES)


@body
class GetOpenUserInfoRequest:
    userId: str = required(USER_ID)
    appId: str = required(APP_ID)
    consented: bool | None = optional(STRICT_BOOL)


@body
class ListAuthorizationsRequest:
    userId: str = required(USER_ID)


@body
class RevokeAuthorizationRequest:
    userId: str = required(USER_ID)
    appId: str = required(APP_ID)


def schema_of(request_type: type) -> cs.CoreSchema:
    """The core schema of a body dataclass: its fields' schemas, optional ones nullable with None as default."""
    arguments = []
    for declared in fields(request_type):
        schema = declared.metadata[SCHEMA]
        if declared.default is None:
            schema = cs.with_default_schema(cs.nullable_schema(schema), default=None)
        arguments.append(cs.dataclass_field(declared.name, schema, kw_only=True))
    return cs.dataclass_schema(
        request_type,
        cs.dataclass_args_schema(request_type.__name__, arguments, extra_behavior="ignore"),
        [declared.name for declared in fields(request_type)],
        post_init=hasattr(request_type, "__post_init__"),
        slots=True,
        frozen=True,
    )


def reader(request_type: type) -> SchemaValidator:
    """Validates a decoded JSON object into `request_type`; raises pydantic_core.ValidationError."""
    return SchemaValidator(schema_of(request_type))

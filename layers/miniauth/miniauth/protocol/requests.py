"""Request bodies of every route, with the contract's field limits (section 4)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from miniauth.domain.models import AUTHORIZATION_CODE, REFRESH_TOKEN


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strict=True, min_length=1, max_length=max_length)


AppId = Annotated[str, _text(32)]
AuthClientId = Annotated[str, _text(128)]
AuthCodeText = Annotated[str, _text(64)]
TokenText = Annotated[str, _text(128)]
ExtendInfo = Annotated[str, StringConstraints(strict=True, max_length=4096)]
UserId = Annotated[str, _text(128)]
ScopeName = Annotated[str, _text(64)]
CustomerBelongsTo = Annotated[str, _text(64)]
GrantType = Literal["AUTHORIZATION_CODE", "REFRESH_TOKEN"]


class Body(BaseModel):
    # Unknown fields are ignored, as the platform does, so merchants can send newer fields safely.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _GrantFields(Body):
    grantType: GrantType
    authCode: AuthCodeText | None = None
    refreshToken: TokenText | None = None
    extendInfo: ExtendInfo | None = None

    @model_validator(mode="after")
    def _credential_for_grant(self) -> _GrantFields:
        if self.grantType == AUTHORIZATION_CODE and self.authCode is None:
            raise ValueError("authCode is required when grantType is AUTHORIZATION_CODE")
        if self.grantType == REFRESH_TOKEN and self.refreshToken is None:
            raise ValueError("refreshToken is required when grantType is REFRESH_TOKEN")
        return self


class ApplyTokenV2(_GrantFields):
    appId: AppId
    authClientId: AuthClientId
    customerBelongsTo: CustomerBelongsTo | None = None


class ApplyTokenV1(_GrantFields):
    referenceClientId: AppId | None = None


class AccessTokenV2(Body):
    accessToken: TokenText
    appId: AppId
    authClientId: AuthClientId | None = None
    extendInfo: ExtendInfo | None = None


class AccessTokenV1(Body):
    accessToken: TokenText
    referenceClientId: AppId | None = None
    extendInfo: ExtendInfo | None = None


class GetAuthCodeRequest(Body):
    userId: UserId
    appId: AppId
    scopes: list[ScopeName] | None = Field(default=None, max_length=32)
    consentedScopes: list[ScopeName] | None = Field(default=None, max_length=32)


class GetOpenUserInfoRequest(Body):
    userId: UserId
    appId: AppId
    consented: StrictBool | None = None


class ListAuthorizationsRequest(Body):
    userId: UserId


class RevokeAuthorizationRequest(Body):
    userId: UserId
    appId: AppId

"""PynamoDB item models, one per table of template.yaml. Table names are bound at run time."""

from __future__ import annotations

from contextlib import suppress

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from miniauth.config import TableNames
from miniauth.domain.models import GRANT_TYPES


class AuthCodeItem(Model):
    class Meta:
        table_name = "AuthCodesTable"

    code_hash = UnicodeAttribute(hash_key=True, attr_name="codeHash")
    grant_id = UnicodeAttribute(attr_name="grantId")
    user_id = UnicodeAttribute(attr_name="userId")
    app_id = UnicodeAttribute(attr_name="appId")
    client_id = UnicodeAttribute(attr_name="authClientId")
    scopes = ListAttribute(of=UnicodeAttribute)
    status = UnicodeAttribute()
    issued_at = UTCDateTimeAttribute(attr_name="issuedAt")
    expires_at = TTLAttribute(attr_name="expiresAt")
    redeemed_at = UTCDateTimeAttribute(null=True, attr_name="redeemedAt")
    epoch = NumberAttribute(null=True)  # the (user, app) consent epoch it was issued under; absent = 0


class TokenItem(Model):
    class Meta:
        table_name = "TokensTable"

    token_hash = UnicodeAttribute(hash_key=True, attr_name="tokenHash")
    kind = UnicodeAttribute()
    grant_id = UnicodeAttribute(attr_name="grantId")
    user_id = UnicodeAttribute(attr_name="userId")
    app_id = UnicodeAttribute(attr_name="appId")
    client_id = UnicodeAttribute(attr_name="authClientId")
    issued_at = UTCDateTimeAttribute(attr_name="issuedAt")
    expires_at = TTLAttribute(attr_name="expiresAt")
    used_at = UTCDateTimeAttribute(null=True, attr_name="usedAt")
    epoch = NumberAttribute(null=True)


class UserAppIndex(GlobalSecondaryIndex["GrantItem"]):
    class Meta:
        index_name = "UserAppIndex"
        projection = KeysOnlyProjection()

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    app_id = UnicodeAttribute(range_key=True, attr_name="appId")


class GrantItem(Model):
    class Meta:
        table_name = "GrantsTable"

    grant_id = UnicodeAttribute(hash_key=True, attr_name="grantId")
    user_id = UnicodeAttribute(attr_name="userId")
    app_id = UnicodeAttribute(attr_name="appId")
    client_id = UnicodeAttribute(attr_name="authClientId")
    scopes = ListAttribute(of=UnicodeAttribute)
    status = UnicodeAttribute()
    created_at = UTCDateTimeAttribute(attr_name="createdAt")
    expires_at = TTLAttribute(attr_name="expiresAt")
    access_hash = UnicodeAttribute(null=True, attr_name="accessHash")
    refresh_hash = UnicodeAttribute(null=True, attr_name="refreshHash")
    access_expires_at = UTCDateTimeAttribute(null=True, attr_name="accessExpiresAt")
    prev_refresh_hash = UnicodeAttribute(null=True, attr_name="prevRefreshHash")
    rotated_at = UTCDateTimeAttribute(null=True, attr_name="rotatedAt")
    revoked_at = UTCDateTimeAttribute(null=True, attr_name="revokedAt")
    revoke_reason = UnicodeAttribute(null=True, attr_name="revokeReason")
    epoch = NumberAttribute(null=True)
    by_user_app = UserAppIndex()


class ConsentItem(Model):
    class Meta:
        table_name = "ConsentsTable"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    app_id = UnicodeAttribute(range_key=True, attr_name="appId")
    # A string set, so a consent is an atomic union (ADD); rows written before it hold a list in `scopes`.
    consented_scopes = UnicodeSetAttribute(null=True, attr_name="consentedScopes")
    legacy_scopes = ListAttribute(of=UnicodeAttribute, null=True, attr_name="scopes")
    open_user_info = BooleanAttribute(null=True, attr_name="openUserInfo")
    consented_at = UTCDateTimeAttribute(null=True, attr_name="consentedAt")
    updated_at = UTCDateTimeAttribute(attr_name="updatedAt")
    # The revocation marker: withdrawals count up (absent = 0); withdrawnAt stays until the next consent or code.
    epoch = NumberAttribute(null=True)
    withdrawn_at = UTCDateTimeAttribute(null=True, attr_name="withdrawnAt")


class ClientItem(Model):
    class Meta:
        table_name = "ClientsTable"

    client_id = UnicodeAttribute(hash_key=True, attr_name="authClientId")
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="ACTIVE")
    allowed_scopes = ListAttribute(of=UnicodeAttribute, default=list, attr_name="allowedScopes")
    # A client registered without grant types may use both, as the admin CLI assumes.
    grant_types = ListAttribute(of=UnicodeAttribute, default=lambda: list(GRANT_TYPES), attr_name="grantTypes")
    # keyVersion -> PEM public key
    public_keys = MapAttribute(default=dict, attr_name="publicKeys")


class AppItem(Model):
    class Meta:
        table_name = "AppsTable"

    app_id = UnicodeAttribute(hash_key=True, attr_name="appId")
    client_id = UnicodeAttribute(attr_name="authClientId")
    name = UnicodeAttribute()
    logo = UnicodeAttribute(null=True)


class UserItem(Model):
    class Meta:
        table_name = "UsersTable"

    user_id = UnicodeAttribute(hash_key=True, attr_name="userId")
    status = UnicodeAttribute(default="ACTIVE")
    nick_name = UnicodeAttribute(null=True, attr_name="nickName")
    user_name = MapAttribute(null=True, attr_name="userName")
    avatar = UnicodeAttribute(null=True)
    gender = UnicodeAttribute(null=True)
    birth_date = UnicodeAttribute(null=True, attr_name="birthDate")
    nationality = UnicodeAttribute(null=True)
    login_id_infos = ListAttribute(null=True, attr_name="loginIdInfos")
    contact_infos = ListAttribute(null=True, attr_name="contactInfos")
    addresses = ListAttribute(null=True)


class RequestReplayItem(Model):
    """One signed Open API request already received: only a digest of (Client-Id, signature), until it expires."""

    class Meta:
        table_name = "RequestReplaysTable"

    request_hash = UnicodeAttribute(hash_key=True, attr_name="requestHash")
    expires_at = TTLAttribute(attr_name="expiresAt")


ITEMS: dict[str, type[Model]] = {
    "auth_codes": AuthCodeItem,
    "tokens": TokenItem,
    "grants": GrantItem,
    "consents": ConsentItem,
    "clients": ClientItem,
    "apps": AppItem,
    "users": UserItem,
    "request_replays": RequestReplayItem,
}


def bind(tables: TableNames, connection: Connection | None = None) -> None:
    """Point every model at the deployed table names and, when given, at one shared connection.

    pynamodb gives each model a Connection of its own: its own botocore session and client, each
    parsing DynamoDB's service model again (about 50 ms apiece on a first call). One serves them all.
    """
    for field_name, model in ITEMS.items():
        model.Meta.table_name = getattr(tables, field_name)
        if connection is None:
            continue
        table = model._get_connection()  # pynamodb's per-table wrapper: the key schema, no request
        if table.connection is not connection:
            with suppress(ValueError):  # the connection knows this table already
                connection.add_meta_table(table.get_meta_table())
            table.connection = connection

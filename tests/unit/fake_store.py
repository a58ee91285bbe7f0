"""An in-memory Registry + AuthorizationStore with the DynamoDB adapter's contract, for the unit tier.

Rows are kept exactly as DynamoDB holds them (the adapter's own item models serialise them), so the
domain values come back through the adapter's own converters, and a table snapshot compares as it does
on moto. Every conditional write is judged here as the adapter's condition expressions judge it:

* a redemption or a rotation is all-or-nothing; a refusal raises CodeNotRedeemed / RotationRefused with
  what storage held (the code and grant whose condition failed) and `withdrawn` when the (user, app)
  consent epoch moved on since the code or token was issued;
* issuing a code checks that epoch too (ConsentChanged) and clears a withdrawal marker;
* a withdrawal moves the epoch on and forgets the consent, once (False when already withdrawn);
* a replay marker counts as absent once its expiry has passed; nothing trusts a TTL to have deleted a row.

Each method holds one lock, as one DynamoDB request is atomic. The adapter's registry cache, request
budgets and error translation are DynamoDB matters: the integration tier tests those on moto.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pynamodb.models import Model

from miniauth.config import Settings
from miniauth.domain.models import (
    App,
    AuthCode,
    Client,
    CodeStatus,
    Consent,
    Grant,
    GrantStatus,
    Token,
    TokenPair,
    User,
)
from miniauth.domain.ports import CodeNotRedeemed, ConsentChanged, RotationRefused
from miniauth.storage.dynamodb import (
    _code,
    _consent,
    _epoch,
    _grant,
    _token,
    _token_items,
    app_from_item,
    client_from_item,
    user_from_item,
)
from miniauth.storage.items import (
    ITEMS,
    AppItem,
    AuthCodeItem,
    ClientItem,
    ConsentItem,
    GrantItem,
    RequestReplayItem,
    TokenItem,
    UserItem,
    bind,
)

Row = dict[str, dict[str, Any]]


def _key_names(model: type[Model]) -> list[str]:
    keys = (model._hash_key_attribute(), model._range_key_attribute())
    return [attribute.attr_name for attribute in keys if attribute is not None]


def _key_of(model: type[Model], row: Row) -> tuple[str, ...]:
    return tuple(next(iter(row[name].values())) for name in _key_names(model))


class FakeStore:
    """Registry + AuthorizationStore (+ the replay marker) over dicts of DynamoDB-shaped rows."""

    def __init__(self, settings: Settings) -> None:
        bind(settings.tables)
        self._lock = threading.RLock()
        self._models = {model.Meta.table_name: model for model in ITEMS.values()}
        self._rows: dict[str, dict[tuple[str, ...], Row]] = {name: {} for name in self._models}
        self.client_view = FakeDynamoDBClient(self)

    # -- rows ------------------------------------------------------------------------------------------

    def save(self, item: Model) -> None:
        """Write an item as DynamoDB would hold it (seeding, and tests that set up a stored state)."""
        model = type(item)
        row = item.serialize(null_check=False)
        with self._lock:
            self._rows[model.Meta.table_name][_key_of(model, row)] = copy.deepcopy(row)

    def load(self, model: type[Model], *key: str) -> Any:
        with self._lock:
            row = self._rows[model.Meta.table_name].get(tuple(key))
            return model.from_raw_data(copy.deepcopy(row)) if row is not None else None

    def update(self, model: type[Model], *key: str, **fields: Any) -> None:
        """Set attributes of a stored item (what a test's UpdateItem would do)."""
        with self._lock:
            item = self.load(model, *key)
            assert item is not None, f"no {model.__name__} {key}"
            for name, value in fields.items():
                setattr(item, name, value)
            self.save(item)

    def rows(self, model: type[Model]) -> list[Any]:
        with self._lock:
            return [model.from_raw_data(copy.deepcopy(row)) for row in self._rows[model.Meta.table_name].values()]

    def clear(self) -> None:
        with self._lock:
            for rows in self._rows.values():
                rows.clear()

    def clear_cache(self) -> None:
        """The adapter caches the registry per container; the fake reads it fresh every time."""

    def _epoch_now(self, user_id: str, app_id: str) -> int:
        consent = self.load(ConsentItem, user_id, app_id)
        return _epoch(consent.epoch) if consent is not None else 0

    # -- Registry -------------------------------------------------------------------------------------

    def client(self, client_id: str) -> Client | None:
        item = self.load(ClientItem, client_id)
        return client_from_item(item) if item else None

    def app(self, app_id: str) -> App | None:
        item = self.load(AppItem, app_id)
        return app_from_item(item) if item else None

    def user(self, user_id: str) -> User | None:
        item = self.load(UserItem, user_id)
        return user_from_item(item) if item else None

    # -- request replays ------------------------------------------------------------------------------

    def first_receipt(self, request_hash: str, now: datetime, expires_at: datetime) -> bool:
        with self._lock:
            marker = self.load(RequestReplayItem, request_hash)
            if marker is not None and marker.expires_at > now:
                return False
            self.save(RequestReplayItem(request_hash, expires_at=expires_at))
            return True

    # -- consents -------------------------------------------------------------------------------------

    def consent(self, user_id: str, app_id: str) -> Consent | None:
        item = self.load(ConsentItem, user_id, app_id)
        return _consent(item) if item else None

    def record_consent(
        self,
        user_id: str,
        app_id: str,
        now: datetime,
        scopes: frozenset[str] = frozenset(),
        open_user_info: bool = False,
    ) -> None:
        with self._lock:
            item = self.load(ConsentItem, user_id, app_id) or ConsentItem(user_id, app_id)
            item.updated_at = now
            item.consented_at = item.consented_at or now
            item.withdrawn_at = None
            if scopes:
                item.consented_scopes = set(item.consented_scopes or ()) | set(scopes)
            if open_user_info:
                item.open_user_info = True
            self.save(item)

    def consents_of(self, user_id: str) -> list[Consent]:
        items = [item for item in self.rows(ConsentItem) if item.user_id == user_id]
        return [_consent(item) for item in sorted(items, key=lambda item: item.app_id)]

    def grants_of(self, user_id: str) -> list[Grant]:
        return [_grant(item) for item in self.rows(GrantItem) if item.user_id == user_id]

    # -- codes and grants -----------------------------------------------------------------------------

    def issue_code(self, code: AuthCode, grant: Grant, consent: Consent | None) -> None:
        with self._lock:
            if self._epoch_now(code.user_id, code.app_id) != code.epoch:
                raise ConsentChanged()
            # Fresh 256-bit digests: a collision would be a DynamoDB transaction error, not an outcome.
            assert self.load(AuthCodeItem, code.code_hash) is None and self.load(GrantItem, grant.grant_id) is None
            if consent is not None and consent.withdrawn_at is not None:
                marker = self.load(ConsentItem, code.user_id, code.app_id) or ConsentItem(code.user_id, code.app_id)
                marker.withdrawn_at = None
                self.save(marker)
            self.save(AuthCodeItem(
                code.code_hash, grant_id=code.grant_id, user_id=code.user_id, app_id=code.app_id,
                client_id=code.client_id, scopes=list(code.scopes), status=code.status.value,
                issued_at=code.issued_at, expires_at=code.expires_at, epoch=code.epoch,
            ))
            self.save(GrantItem(
                grant.grant_id, user_id=grant.user_id, app_id=grant.app_id, client_id=grant.client_id,
                scopes=list(grant.scopes), status=grant.status.value, created_at=grant.created_at,
                expires_at=grant.expires_at, epoch=grant.epoch,
            ))

    def withdraw(self, user_id: str, app_id: str, now: datetime) -> bool:
        with self._lock:
            item = self.load(ConsentItem, user_id, app_id) or ConsentItem(user_id, app_id)
            if item.withdrawn_at is not None:
                return False
            item.epoch = _epoch(item.epoch) + 1
            item.withdrawn_at = now
            item.updated_at = now
            item.consented_scopes = None
            item.legacy_scopes = None
            item.open_user_info = None
            item.consented_at = None
            self.save(item)
            return True

    def revoke_grant(self, grant_id: str, now: datetime, reason: str, access_hash: str | None = None) -> bool:
        with self._lock:
            item = self.load(GrantItem, grant_id)
            if item is None or item.status == GrantStatus.REVOKED.value:
                return False
            if access_hash is not None and item.access_hash != access_hash:
                return False
            item.status = GrantStatus.REVOKED.value
            item.revoked_at = now
            item.revoke_reason = reason
            self.save(item)
            return True

    def auth_code(self, code_hash: str) -> AuthCode | None:
        item = self.load(AuthCodeItem, code_hash)
        return _code(item) if item else None

    def redeem_code(self, code: AuthCode, pair: TokenPair, window_start: datetime | None) -> None:
        now = pair.issued_at
        with self._lock:
            withdrawn = self._epoch_now(code.user_id, code.app_id) != code.epoch
            stored = self.load(AuthCodeItem, code.code_hash)
            redeemable = stored is not None and (
                (stored.status == CodeStatus.ISSUED.value and stored.expires_at > now)
                or (window_start is not None and stored.status == CodeStatus.REDEEMED.value
                    and stored.redeemed_at is not None and stored.redeemed_at >= window_start)
            )
            grant = self.load(GrantItem, code.grant_id)
            grant_ok = grant is not None and grant.status in (GrantStatus.PENDING.value, GrantStatus.ACTIVE.value)
            if withdrawn or not redeemable or not grant_ok:
                # As the adapter reads the cancellation: the failed items' old images (absent rows give none).
                current = _code(stored) if stored is not None and not redeemable else code
                failed_grant = _grant(grant) if grant is not None and not grant_ok else None
                raise CodeNotRedeemed(current, failed_grant, withdrawn=withdrawn)
            assert stored is not None and grant is not None
            stored.status = CodeStatus.REDEEMED.value
            stored.redeemed_at = stored.redeemed_at or now
            self._with_pair(grant, pair)
            self.save(stored)
            self.save(grant)
            self._save_tokens(_token_items(code, code.grant_id, pair))

    def token(self, token_hash: str) -> Token | None:
        item = self.load(TokenItem, token_hash)
        return _token(item) if item else None

    def grant_user_and_epoch(self, grant_id: str, user_id: str, app_id: str) -> tuple[Grant | None, User | None, int]:
        with self._lock:
            grant = self.load(GrantItem, grant_id)
            return (_grant(grant) if grant else None, self.user(user_id), self._epoch_now(user_id, app_id))

    def rotate_refresh(self, token: Token, pair: TokenPair, window_start: datetime | None) -> None:
        now = pair.issued_at
        with self._lock:
            withdrawn = self._epoch_now(token.user_id, token.app_id) != token.epoch
            stored = self.load(TokenItem, token.token_hash)
            # An absent row has no usedAt: the condition holds, as DynamoDB's attribute_not_exists does.
            unused = stored is None or stored.used_at is None or (
                window_start is not None and stored.used_at >= window_start
            )
            grant = self.load(GrantItem, token.grant_id)
            current = grant is not None and grant.status == GrantStatus.ACTIVE.value and (
                grant.refresh_hash == token.token_hash
                or (window_start is not None and grant.prev_refresh_hash == token.token_hash)
            )
            if withdrawn or not unused or not current:
                failed_grant = _grant(grant) if grant is not None and not current else None
                raise RotationRefused(failed_grant, reused=not unused, withdrawn=withdrawn)
            assert grant is not None
            stored = stored or TokenItem(token.token_hash)
            stored.used_at = stored.used_at or now
            self._with_pair(grant, pair)
            grant.prev_refresh_hash = token.token_hash
            grant.rotated_at = now
            self.save(stored)
            self.save(grant)
            self._save_tokens(_token_items(token, token.grant_id, pair))

    @staticmethod
    def _with_pair(grant: GrantItem, pair: TokenPair) -> None:
        grant.status = GrantStatus.ACTIVE.value
        grant.access_hash = pair.access_hash
        grant.refresh_hash = pair.refresh_hash
        grant.access_expires_at = pair.access_expires_at
        grant.expires_at = pair.refresh_expires_at

    def _save_tokens(self, items: Iterable[TokenItem]) -> None:
        for item in items:
            assert self.load(TokenItem, item.token_hash) is None, "a fresh token digest collided"
            self.save(item)


class FakeDynamoDBClient:
    """The few low-level calls the tests make on moto's client, answered from a FakeStore's rows.

    So a test comparing table snapshots (support.snapshot) or reading one row reads the same shapes here.
    """

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def list_tables(self) -> dict[str, list[str]]:
        return {"TableNames": sorted(self._store._rows)}

    def scan(self, TableName: str, **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's parameter names
        with self._store._lock:
            items = copy.deepcopy(list(self._store._rows[TableName].values()))
        return {"Items": items, "Count": len(items)}

    def get_item(self, TableName: str, Key: Row, **_: Any) -> dict[str, Any]:  # noqa: N803
        model = self._store._models[TableName]
        with self._store._lock:
            row = self._store._rows[TableName].get(_key_of(model, Key))
        return {"Item": copy.deepcopy(row)} if row is not None else {}

    def put_item(self, TableName: str, Item: Row, **_: Any) -> dict[str, Any]:  # noqa: N803
        model = self._store._models[TableName]
        with self._store._lock:
            self._store._rows[TableName][_key_of(model, Item)] = copy.deepcopy(Item)
        return {}

    def delete_item(self, TableName: str, Key: Row, **_: Any) -> dict[str, Any]:  # noqa: N803
        model = self._store._models[TableName]
        with self._store._lock:
            self._store._rows[TableName].pop(_key_of(model, Key), None)
        return {}

    def update_item(self, TableName: str, Key: Row, UpdateExpression: str,  # noqa: N803
                    ExpressionAttributeNames: dict[str, str] | None = None,  # noqa: N803
                    ExpressionAttributeValues: dict[str, Any] | None = None, **_: Any) -> dict[str, Any]:  # noqa: N803
        """Only `SET a = :x, #b = :y` or `REMOVE a, #b` (what the tests send); anything else is refused."""
        match = re.fullmatch(r"(SET|REMOVE)\s+(.+)", UpdateExpression.strip())
        assert match, f"the fake client only understands SET or REMOVE: {UpdateExpression}"
        names, values = ExpressionAttributeNames or {}, ExpressionAttributeValues or {}
        model = self._store._models[TableName]
        with self._store._lock:
            row = self._store._rows[TableName].setdefault(_key_of(model, Key), copy.deepcopy(Key))
            for clause in match.group(2).split(","):
                if match.group(1) == "REMOVE":
                    row.pop(names.get(clause.strip(), clause.strip()), None)
                    continue
                name, value = (part.strip() for part in clause.split("="))
                row[names.get(name, name)] = copy.deepcopy(values[value])
        return {}

"""DynamoDB adapter: implements the domain's Registry and AuthorizationStore ports.

Request budget per Open API operation (see README, "Table design"):
  applyToken  = 1 consistent GetItem (code or refresh token) + 1 TransactWriteItems (with a ConditionCheck
                that the (user, app) consent epoch is still the one the code or token was issued under)
  inquiry     = 1 consistent GetItem (access token) + 1 TransactGetItems (grant + user + consent epoch)
  revoke      = 1 consistent GetItem (access token) + 1 conditional UpdateItem (grant)
plus, for each of them, 1 conditional PutItem recording the signed request (replay protection).
Clients and apps come from a per-container cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, cast

from pynamodb.attributes import MapAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactGet, TransactWrite

from miniauth.config import Settings
from miniauth.domain.models import (
    GRANT_TYPES,
    PROFILE_FIELDS,
    App,
    AuthCode,
    Client,
    ClientStatus,
    CodeStatus,
    Consent,
    Grant,
    GrantStatus,
    ProfileField,
    Token,
    TokenKind,
    TokenPair,
    User,
)
from miniauth.domain.ports import CodeNotRedeemed, ConsentChanged, RotationRefused, StorageThrottled
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
    plain_map,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ALL_OLD = "ALL_OLD"
REGISTRY_CACHE_ENTRIES = 2048  # per cache (clients, apps): a few hundred KiB at most
CONDITION_FAILED = "ConditionalCheckFailed"
CONDITION_FAILED_EXCEPTION = "ConditionalCheckFailedException"
_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
}

P = ParamSpec("P")
R = TypeVar("R")
V = TypeVar("V")
M = TypeVar("M", bound=Model)


def _retryable(error: PynamoDBException) -> bool:
    if error.cause_response_code in _RETRYABLE:
        return True
    if isinstance(error, TransactWriteError):
        return any(r is not None and r.code in ("TransactionConflict", "ThrottlingError") for r in _reasons(error))
    return False


def _reasons(error: TransactWriteError) -> list[Any]:
    return list(error.cancellation_reasons or [])


def translated(method: Callable[P, R]) -> Callable[P, R]:
    """Throttling and transaction conflicts become StorageThrottled (a retryable outcome)."""

    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as error:
            if _retryable(error):
                raise StorageThrottled(error.cause_response_code or "throttled") from error
            raise

    return call


# -- item <-> domain ---------------------------------------------------------------------------------


def _code(item: AuthCodeItem) -> AuthCode:
    return AuthCode(
        code_hash=item.code_hash,
        grant_id=item.grant_id,
        user_id=item.user_id,
        app_id=item.app_id,
        client_id=item.client_id,
        scopes=tuple(item.scopes),
        status=CodeStatus(item.status),
        issued_at=item.issued_at,
        expires_at=item.expires_at,
        redeemed_at=item.redeemed_at,
        epoch=_epoch(item.epoch),
    )


def _epoch(stored: float | None) -> int:
    """Rows written before withdrawals had epochs count as epoch 0."""
    return int(stored or 0)


def _grant(item: GrantItem) -> Grant:
    return Grant(
        grant_id=item.grant_id,
        user_id=item.user_id,
        app_id=item.app_id,
        client_id=item.client_id,
        scopes=tuple(item.scopes),
        status=GrantStatus(item.status),
        created_at=item.created_at,
        expires_at=item.expires_at,
        access_hash=item.access_hash,
        refresh_hash=item.refresh_hash,
        access_expires_at=item.access_expires_at,
        prev_refresh_hash=item.prev_refresh_hash,
        rotated_at=item.rotated_at,
        revoked_at=item.revoked_at,
        revoke_reason=item.revoke_reason,
        epoch=_epoch(item.epoch),
    )


def _token(item: TokenItem) -> Token:
    return Token(
        token_hash=item.token_hash,
        kind=TokenKind(item.kind),
        grant_id=item.grant_id,
        user_id=item.user_id,
        app_id=item.app_id,
        client_id=item.client_id,
        issued_at=item.issued_at,
        expires_at=item.expires_at,
        used_at=item.used_at,
        epoch=_epoch(item.epoch),
    )


def _consent(item: ConsentItem) -> Consent:
    return Consent(
        user_id=item.user_id,
        app_id=item.app_id,
        scopes=frozenset(item.consented_scopes or ()) | frozenset(item.legacy_scopes or ()),
        open_user_info=bool(item.open_user_info),
        consented_at=item.consented_at,
        updated_at=item.updated_at,
        epoch=_epoch(item.epoch),
        withdrawn_at=item.withdrawn_at,
    )


def _at_epoch(epoch: int) -> Condition:
    """The (user, app) consent item is still at this epoch (an absent item or attribute is epoch 0)."""
    # pynamodb leaves NumberAttribute.__get__ and Condition.__or__ unannotated: name the type here
    same: Condition = ConsentItem.epoch == epoch
    if epoch == 0:
        absent_or_same: Condition = ConsentItem.epoch.does_not_exist() | same
        return absent_or_same
    return same


def _consent_check(tx: TransactWrite, owner: AuthCode | Token) -> None:
    """Part of a redemption or a refresh: the user has not withdrawn (user, app) since `owner` was issued.

    pynamodb sends a transaction's condition checks before its other items, so this one is reason 0.
    """
    tx.condition_check(ConsentItem, owner.user_id, owner.app_id, condition=_at_epoch(owner.epoch))


def _consent_check_failed(error: TransactWriteError) -> bool:
    reasons = _reasons(error)
    return bool(reasons) and reasons[0] is not None and reasons[0].code == CONDITION_FAILED


def client_from_item(item: ClientItem) -> Client:
    return Client(
        client_id=item.client_id,
        name=item.name,
        status=ClientStatus(item.status),
        allowed_scopes=frozenset(item.allowed_scopes or ()),
        grant_types=frozenset(item.grant_types or GRANT_TYPES),
        public_keys={str(k): str(v) for k, v in (plain_map(item.public_keys) if item.public_keys else {}).items()},
    )


def app_from_item(item: AppItem) -> App:
    return App(app_id=item.app_id, client_id=item.client_id, name=item.name, logo=item.logo)


def user_from_item(item: UserItem) -> User:
    profile = {field.attribute: _profile_value(field, getattr(item, field.attribute)) for field in PROFILE_FIELDS}
    return User(user_id=item.user_id, status=item.status, **profile)


def _profile_value(field: ProfileField, stored: Any) -> Any:
    """A stored attribute as the domain holds it: plain dicts and lists, an absent list as []."""
    if field.is_list:
        return list(stored or [])
    if isinstance(stored, MapAttribute):
        return plain_map(stored) if stored else None
    return stored


def _token_items(code_or_token: AuthCode | Token, grant_id: str, pair: TokenPair) -> list[TokenItem]:
    common: dict[str, Any] = {
        "grant_id": grant_id,
        "user_id": code_or_token.user_id,
        "app_id": code_or_token.app_id,
        "client_id": code_or_token.client_id,
        "issued_at": pair.issued_at,
        "epoch": code_or_token.epoch,
    }
    return [
        TokenItem(pair.access_hash, kind=TokenKind.ACCESS.value, expires_at=pair.access_expires_at, **common),
        TokenItem(pair.refresh_hash, kind=TokenKind.REFRESH.value, expires_at=pair.refresh_expires_at, **common),
    ]


def _pair_actions(pair: TokenPair) -> list[Any]:
    return [
        GrantItem.status.set(GrantStatus.ACTIVE.value),
        GrantItem.access_hash.set(pair.access_hash),
        GrantItem.refresh_hash.set(pair.refresh_hash),
        GrantItem.access_expires_at.set(pair.access_expires_at),
        GrantItem.expires_at.set(pair.refresh_expires_at),
    ]


class _Cache(Generic[V]):
    """A per-container LRU cache with a time limit, for registry reads.

    Bounded, because the keys come from callers: unknown Client-Ids are cached too (as None), and a
    stream of junk ids must evict old entries, not grow the container's memory.
    """

    def __init__(self, seconds: int, max_entries: int = REGISTRY_CACHE_ENTRIES) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str, load: Callable[[], V]) -> V:
        hit = self._entries.get(key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._seconds:
            self._entries.move_to_end(key)
            return hit[1]
        value = load()
        if self._seconds > 0:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()


WARM_UP = "miniauth-warm-up"

# The requests each store method sends, as its warm-up repeats them: (operation, tables). A
# transaction lists one table per item, in the order pynamodb sends them (condition checks, deletes,
# puts, updates), because DynamoDB's endpoint rules take that list as a parameter and botocore caches
# each resolution per exact list. The tables are fields of config.TableNames.
REQUESTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "client": (("GetItem", ("clients",)),),
    "app": (("GetItem", ("apps",)),),
    "user": (("GetItem", ("users",)),),
    "first_receipt": (("PutItem", ("request_replays",)),),
    "consent": (("GetItem", ("consents",)),),
    "record_consent": (("UpdateItem", ("consents",)),),
    "consents_of": (("Query", ("consents",)),),
    "grants_of": (("Query", ("grants",)), ("BatchGetItem", ("grants",))),
    "issue_code": (
        ("TransactWriteItems", ("consents", "auth_codes", "grants")),  # the consent's check, then the puts
        ("TransactWriteItems", ("auth_codes", "grants", "consents")),  # after a withdrawal: puts, then the update
    ),
    "withdraw": (("UpdateItem", ("consents",)),),
    "revoke_grant": (("UpdateItem", ("grants",)),),
    "auth_code": (("GetItem", ("auth_codes",)),),
    "redeem_code": (("TransactWriteItems", ("consents", "tokens", "tokens", "auth_codes", "grants")),),
    "token": (("GetItem", ("tokens",)),),
    "grant_user_and_epoch": (("TransactGetItems", ("grants", "users", "consents")),),
    "rotate_refresh": (("TransactWriteItems", ("consents", "tokens", "tokens", "tokens", "grants")),),
}


def warm_up_requests(uses: Iterable[str] | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """The distinct requests of the store methods named in `uses` (None: every method), in a stable order.

    An unknown name is a ValueError: a function that declares a method the store does not have would
    otherwise meet its first request unwarmed, silently.
    """
    names = list(REQUESTS) if uses is None else list(uses)
    unknown = sorted(set(names) - set(REQUESTS))
    if unknown:
        raise ValueError(f"not a DynamoDBStore method that sends a request: {', '.join(unknown)}")
    return list(dict.fromkeys(request for name in names for request in REQUESTS[name]))


class _EmptyBody:
    @staticmethod
    def stream(**_: Any) -> Any:
        yield b"{}"


class _LocalAnswers:
    """A before-send hook that answers the warm-up's requests inside the process while it runs.

    Registered once per client and left in place (it lets every other request through): botocore
    forgets every event's handler lookup when a handler is registered or unregistered, so removing
    the hook after the warm-up would make the first request look its handlers up again. Only a
    request that names the warm-up's key is answered, so a real one made meanwhile on the same
    client (a host that runs handlers in threads) is still sent, never answered by the process.
    """

    def __init__(self) -> None:
        self.active = False

    def __call__(self, request: Any, **_: Any) -> Any:
        body = request.body or b""
        if not self.active or (WARM_UP if isinstance(body, str) else WARM_UP.encode()) not in body:
            return None  # botocore sends the request
        from botocore.awsrequest import AWSResponse

        return AWSResponse(request.url, 200, {}, _EmptyBody())  # type: ignore[arg-type]  # stubs: any mapping works


class DynamoDBStore:
    """Registry + AuthorizationStore over the template's tables."""

    def __init__(self, settings: Settings, connection: Connection | None = None) -> None:
        self._connection = connection or Connection()
        self._tables = settings.tables
        bind(settings.tables, self._connection)  # one botocore client for every table and transaction
        self._clients = _Cache[Client | None](settings.registry_cache_seconds)
        self._apps = _Cache[App | None](settings.registry_cache_seconds)
        self._local_answers = _LocalAnswers()

    def clear_cache(self) -> None:
        self._clients.clear()
        self._apps.clear()

    def session(self) -> Any:
        """The botocore session behind the DynamoDB client, for other AWS clients to share."""
        return self._connection.session

    def warm_up(self, uses: Iterable[str] | None = None) -> None:
        """Send the requests of the store methods in `uses` (None: all) through the client, answered locally.

        botocore builds its serialisers, signer, endpoint rules and parsers on a client's first call
        of each operation; done here, at init, the first request does not pay for them. DynamoDB's
        endpoint is resolved per table (its rules take the table, or a transaction's list of tables,
        as a parameter, cached per value), so each request names the tables the real one names.
        Reads go through the item models, so pynamodb's first read of each model happens here too.
        Nothing is sent: a before-send hook answers every request in the process, and each write is
        conditioned on something that cannot hold, in case one ever were sent.
        """
        requests = warm_up_requests(uses)
        client = cast("DynamoDBClient", self._connection.client)  # pynamodb types it as a bare BaseClient
        client.meta.events.register_first("before-send.dynamodb", self._local_answers, unique_id=WARM_UP)
        self._local_answers.active = True
        try:
            for operation, fields in requests:
                self._warm_up(client, operation, [getattr(self._tables, field) for field in fields], fields)
        finally:
            self._local_answers.active = False

    @classmethod
    def _warm_up(cls, client: DynamoDBClient, operation: str, tables: list[str], fields: tuple[str, ...]) -> None:
        key = {"authClientId": {"S": WARM_UP}}  # only the clients table has this key; elsewhere DynamoDB refuses it
        never = "attribute_exists(authClientId) AND attribute_not_exists(authClientId)"  # writes nothing if sent
        table = tables[0]
        if operation == "GetItem":
            model = ITEMS[fields[0]]
            ranged = any(attribute.is_range_key for attribute in model.get_attributes().values())
            cls._get(model, WARM_UP, WARM_UP if ranged else None)
        elif operation == "PutItem":
            client.put_item(TableName=table, Item=key, ConditionExpression=never)
        elif operation == "UpdateItem":
            client.update_item(TableName=table, Key=key, ConditionExpression=never)
        elif operation == "Query":
            client.query(TableName=table, KeyConditionExpression="authClientId = :k",
                         ExpressionAttributeValues={":k": {"S": WARM_UP}})
        elif operation == "BatchGetItem":
            client.batch_get_item(RequestItems={table: {"Keys": [key], "ConsistentRead": True}})
        elif operation == "TransactGetItems":
            client.transact_get_items(TransactItems=[{"Get": {"TableName": t, "Key": key}} for t in tables])
        elif operation == "TransactWriteItems":
            client.transact_write_items(TransactItems=[
                {"ConditionCheck": {"TableName": t, "Key": key, "ConditionExpression": never}} for t in tables
            ])
        else:
            raise ValueError(f"no warm-up for {operation}")

    # -- Registry -------------------------------------------------------------------------------------

    @staticmethod
    def _get(model: type[M], hash_key: str, range_key: str | None = None) -> M | None:
        try:
            return model.get(hash_key, range_key, consistent_read=True)
        except DoesNotExist:
            return None

    @translated
    def client(self, client_id: str) -> Client | None:
        def load() -> Client | None:
            item = self._get(ClientItem, client_id)
            return client_from_item(item) if item else None

        return self._clients.get(client_id, load)

    @translated
    def app(self, app_id: str) -> App | None:
        def load() -> App | None:
            item = self._get(AppItem, app_id)
            return app_from_item(item) if item else None

        return self._apps.get(app_id, load)

    @translated
    def user(self, user_id: str) -> User | None:
        item = self._get(UserItem, user_id)
        return user_from_item(item) if item else None

    # -- request replays -----------------------------------------------------------------------------------

    @translated
    def first_receipt(self, request_hash: str, now: datetime, expires_at: datetime) -> bool:
        """Record a signed request as received: one conditional PutItem. False if it was already received.

        A marker whose expiry has passed counts as absent (TTL deletes late), so its request may be recorded again.
        """
        try:
            RequestReplayItem(request_hash, expires_at=expires_at).save(
                condition=RequestReplayItem.request_hash.does_not_exist() | (RequestReplayItem.expires_at <= now)
            )
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED_EXCEPTION:
                return False
            raise
        return True

    # -- consents ------------------------------------------------------------------------------------

    @translated
    def consent(self, user_id: str, app_id: str) -> Consent | None:
        item = self._get(ConsentItem, user_id, app_id)
        return _consent(item) if item else None

    @translated
    def record_consent(
        self,
        user_id: str,
        app_id: str,
        now: datetime,
        scopes: frozenset[str] = frozenset(),
        open_user_info: bool = False,
    ) -> None:
        # One UpdateItem, no read: ADD to a string set is an atomic union, so concurrent consents are all kept.
        actions: list[Any] = [
            ConsentItem.updated_at.set(now),
            ConsentItem.consented_at.set(ConsentItem.consented_at | now),
            ConsentItem.withdrawn_at.remove(),
        ]
        if scopes:
            actions.append(ConsentItem.consented_scopes.add(set(scopes)))
        if open_user_info:
            actions.append(ConsentItem.open_user_info.set(True))
        self._update(ConsentItem, user_id, app_id, actions)

    @translated
    def consents_of(self, user_id: str) -> list[Consent]:
        return [_consent(item) for item in ConsentItem.query(user_id, consistent_read=True)]

    @translated
    def grants_of(self, user_id: str) -> list[Grant]:
        # The index projects keys only (and is eventually consistent); the grants are then read consistently.
        keys = [item.grant_id for item in GrantItem.by_user_app.query(user_id)]
        return [_grant(item) for item in GrantItem.batch_get(keys, consistent_read=True)]

    # -- codes and grants ------------------------------------------------------------------------------

    @translated
    def issue_code(self, code: AuthCode, grant: Grant, consent: Consent | None) -> None:
        try:
            self._issue_code(code, grant, consent)
        except TransactWriteError as error:
            # The code and grant ids are fresh 256-bit digests: only the consent's condition can fail.
            if _retryable(error) or not any(r is not None and r.code == CONDITION_FAILED for r in _reasons(error)):
                raise
            raise ConsentChanged() from error

    def _issue_code(self, code: AuthCode, grant: Grant, consent: Consent | None) -> None:
        with TransactWrite(connection=self._connection) as tx:
            if consent is not None and consent.withdrawn_at is not None:
                # Re-authorized after a withdrawal: clear the marker, so that the next withdrawal acts again.
                tx.update(
                    ConsentItem(code.user_id, code.app_id),
                    actions=[ConsentItem.withdrawn_at.remove()],
                    condition=_at_epoch(code.epoch),
                )
            else:
                tx.condition_check(ConsentItem, code.user_id, code.app_id, condition=_at_epoch(code.epoch))
            tx.save(
                AuthCodeItem(
                    code.code_hash,
                    grant_id=code.grant_id,
                    user_id=code.user_id,
                    app_id=code.app_id,
                    client_id=code.client_id,
                    scopes=list(code.scopes),
                    status=code.status.value,
                    issued_at=code.issued_at,
                    expires_at=code.expires_at,
                    epoch=code.epoch,
                ),
                condition=AuthCodeItem.code_hash.does_not_exist(),
            )
            tx.save(
                GrantItem(
                    grant.grant_id,
                    user_id=grant.user_id,
                    app_id=grant.app_id,
                    client_id=grant.client_id,
                    scopes=list(grant.scopes),
                    status=grant.status.value,
                    created_at=grant.created_at,
                    expires_at=grant.expires_at,
                    epoch=grant.epoch,
                ),
                condition=GrantItem.grant_id.does_not_exist(),
            )

    @translated
    def withdraw(self, user_id: str, app_id: str, now: datetime) -> bool:
        # One conditional UpdateItem, however many grants there are: moving the epoch on kills every code,
        # grant and token issued under the old one (each use checks it), and the consent goes in the same write.
        # Already withdrawn with no consent or code since: a retry, with nothing more to do.
        return self._conditional(
            ConsentItem,
            (user_id, app_id),
            [
                ConsentItem.epoch.add(1),
                ConsentItem.withdrawn_at.set(now),
                ConsentItem.updated_at.set(now),
                ConsentItem.consented_scopes.remove(),
                ConsentItem.legacy_scopes.remove(),
                ConsentItem.open_user_info.remove(),
                ConsentItem.consented_at.remove(),
            ],
            ConsentItem.withdrawn_at.does_not_exist(),
        )

    def _update(
        self, model: type[Model], hash_key: str, range_key: str | None, actions: list[Any], condition: Any = None
    ) -> None:
        """One UpdateItem that asks for nothing back. Model.update asks for the whole item as updated
        (ReturnValues ALL_NEW), which botocore then parses and pynamodb deserialises, for callers that
        only need to know whether the write happened."""
        self._connection.update_item(
            model.Meta.table_name, hash_key, range_key, actions=actions, condition=condition
        )

    def _conditional(self, model: type[Model], key: tuple[str, str | None], actions: list[Any], condition: Any) -> bool:
        try:
            self._update(model, *key, actions, condition)
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED_EXCEPTION:
                return False
            raise
        return True

    @translated
    def revoke_grant(self, grant_id: str, now: datetime, reason: str, access_hash: str | None = None) -> bool:
        condition = GrantItem.grant_id.exists() & (GrantItem.status != GrantStatus.REVOKED.value)
        if access_hash is not None:
            condition &= GrantItem.access_hash == access_hash
        return self._conditional(
            GrantItem,
            (grant_id, None),
            [
                GrantItem.status.set(GrantStatus.REVOKED.value),
                GrantItem.revoked_at.set(now),
                GrantItem.revoke_reason.set(reason),
            ],
            condition,
        )

    @translated
    def auth_code(self, code_hash: str) -> AuthCode | None:
        item = self._get(AuthCodeItem, code_hash)
        return _code(item) if item else None

    @translated
    def redeem_code(self, code: AuthCode, pair: TokenPair, window_start: datetime | None) -> None:
        now = pair.issued_at
        condition = (AuthCodeItem.status == CodeStatus.ISSUED.value) & (AuthCodeItem.expires_at > now)
        if window_start is not None:
            condition |= (AuthCodeItem.status == CodeStatus.REDEEMED.value) & (
                AuthCodeItem.redeemed_at >= window_start
            )
        try:
            with TransactWrite(connection=self._connection) as tx:
                _consent_check(tx, code)
                tx.update(
                    AuthCodeItem(code.code_hash),
                    actions=[
                        AuthCodeItem.status.set(CodeStatus.REDEEMED.value),
                        AuthCodeItem.redeemed_at.set(AuthCodeItem.redeemed_at | now),
                    ],
                    condition=condition,
                    return_values=ALL_OLD,
                )
                tx.update(
                    GrantItem(code.grant_id),
                    actions=_pair_actions(pair),
                    condition=GrantItem.status.is_in(GrantStatus.PENDING.value, GrantStatus.ACTIVE.value),
                    return_values=ALL_OLD,
                )
                for token in _token_items(code, code.grant_id, pair):
                    tx.save(token, condition=TokenItem.token_hash.does_not_exist())
        except TransactWriteError as error:
            if _retryable(error):
                raise
            failed = _failed_items(error)
            current: AuthCode | None = code
            if "codeHash" in failed:
                current = _code(AuthCodeItem.from_raw_data(failed["codeHash"])) if failed["codeHash"] else None
            grant = _grant(GrantItem.from_raw_data(failed["grantId"])) if failed.get("grantId") else None
            raise CodeNotRedeemed(current, grant, withdrawn=_consent_check_failed(error)) from error

    # -- tokens ----------------------------------------------------------------------------------------

    @translated
    def token(self, token_hash: str) -> Token | None:
        item = self._get(TokenItem, token_hash)
        return _token(item) if item else None

    @translated
    def grant_user_and_epoch(
        self, grant_id: str, user_id: str, app_id: str
    ) -> tuple[Grant | None, User | None, int]:
        with TransactGet(connection=self._connection) as tx:
            grant_future = tx.get(GrantItem, grant_id)
            user_future = tx.get(UserItem, user_id)
            consent_future = tx.get(ConsentItem, user_id, app_id)
        grant = _resolved(grant_future)
        user = _resolved(user_future)
        consent = _resolved(consent_future)
        return (
            _grant(grant) if grant else None,
            user_from_item(user) if user else None,
            _epoch(consent.epoch) if consent else 0,
        )

    @translated
    def rotate_refresh(self, token: Token, pair: TokenPair, window_start: datetime | None) -> None:
        now = pair.issued_at
        unused = TokenItem.used_at.does_not_exist()
        current = GrantItem.refresh_hash == token.token_hash
        if window_start is not None:
            # Or the one just rotated away, presented again inside the retry window.
            unused |= TokenItem.used_at >= window_start
            current |= GrantItem.prev_refresh_hash == token.token_hash
        try:
            with TransactWrite(connection=self._connection) as tx:
                _consent_check(tx, token)
                tx.update(
                    TokenItem(token.token_hash),
                    actions=[TokenItem.used_at.set(TokenItem.used_at | now)],
                    condition=unused,
                    return_values=ALL_OLD,
                )
                tx.update(
                    GrantItem(token.grant_id),
                    actions=[
                        *_pair_actions(pair),
                        GrantItem.prev_refresh_hash.set(token.token_hash),
                        GrantItem.rotated_at.set(now),
                    ],
                    condition=(GrantItem.status == GrantStatus.ACTIVE.value) & current,
                    return_values=ALL_OLD,
                )
                for item in _token_items(token, token.grant_id, pair):
                    tx.save(item, condition=TokenItem.token_hash.does_not_exist())
        except TransactWriteError as error:
            if _retryable(error):
                raise
            failed = _failed_items(error)
            grant = _grant(GrantItem.from_raw_data(failed["grantId"])) if failed.get("grantId") else None
            withdrawn = _consent_check_failed(error)
            raise RotationRefused(grant, reused="tokenHash" in failed, withdrawn=withdrawn) from error


def _failed_items(error: TransactWriteError) -> dict[str, Any]:
    """The items whose condition failed, keyed by their table's key name (codeHash, grantId, tokenHash).

    pynamodb reorders a transaction's items (checks, deletes, puts, updates), so reasons are matched
    by the key of the item they return, never by position. A failed item that did not exist maps to None.
    """
    failed: dict[str, Any] = {}
    for reason in _reasons(error):
        if reason is None or reason.code != CONDITION_FAILED:
            continue
        item = reason.raw_item or {}
        key = next((k for k in ("codeHash", "tokenHash", "grantId") if k in item), None)
        if key is not None:
            failed[key] = item
    return failed


def _resolved(future: Any) -> Any:
    try:
        return future.get()
    except DoesNotExist:
        return None

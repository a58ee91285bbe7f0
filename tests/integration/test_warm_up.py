"""Lambda init prepares the DynamoDB client without sending a request or touching a table."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.hooks import _PrefixTrie
from pynamodb.connection import Connection

from miniauth import runtime
from miniauth.config import settings
from miniauth.protocol import api
from miniauth.protocol.requests import USER_ID, body, required
from miniauth.storage.dynamodb import REQUESTS, WARM_UP, DynamoDBStore, _LocalAnswers, warm_up_requests

import support

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there


@body
class Greeting:
    name: str = required(USER_ID)


def test_the_warm_up_sends_nothing() -> None:
    store = DynamoDBStore(settings(), Connection(host=NOWHERE, max_retry_attempts=0, connect_timeout_seconds=1))
    store.warm_up()  # any request that left the process would fail to connect
    # Afterwards requests go out again: the local answers were for the warm-up only.
    with pytest.raises(EndpointConnectionError):
        store._connection.client.get_item(TableName="ClientsTable", Key={"authClientId": {"S": "x"}})


def test_the_first_request_finds_the_handlers_the_warm_up_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore forgets its handler lookups whenever a handler comes or goes: the warm-up's hook stays."""
    store = DynamoDBStore(settings(), Connection(host=NOWHERE, max_retry_attempts=0, connect_timeout_seconds=1))
    store.warm_up(["client"])
    looked_up: list[str] = []
    search = _PrefixTrie.prefix_search

    def recorded(trie: _PrefixTrie, key: str) -> Any:
        looked_up.append(key)
        return search(trie, key)

    monkeypatch.setattr(_PrefixTrie, "prefix_search", recorded)
    with pytest.raises(EndpointConnectionError):  # the request went out: nothing answers it locally now
        store._connection.client.get_item(TableName="ClientsTable", Key={"authClientId": {"S": "x"}})
    # Only the failure's own event is new (the warm-up's requests never fail).
    assert [event for event in looked_up if event.endswith(".GetItem")] == ["after-call-error.dynamodb.GetItem"]


def test_while_warming_up_only_the_warm_ups_own_requests_are_answered_in_the_process() -> None:
    """A real request made meanwhile on the same client (another thread) must reach DynamoDB: answered
    locally, a replay marker would count as recorded without being written."""
    answers = _LocalAnswers()
    real = SimpleNamespace(url="https://dynamodb", body=b'{"TableName": "RequestReplaysTable", "Item": {}}')
    ours = SimpleNamespace(url="https://dynamodb", body=b'{"Key": {"authClientId": {"S": "%s"}}}' % WARM_UP.encode())
    assert answers(ours) is None and answers(real) is None  # not warming up: everything is sent
    answers.active = True
    assert answers(real) is None
    assert answers(SimpleNamespace(url="https://dynamodb", body=None)) is None
    assert answers(ours).status_code == 200
    assert answers(SimpleNamespace(url="https://dynamodb", body=ours.body.decode())).status_code == 200


def test_prepare_builds_the_client_and_reads_the_wallet_key_at_init(registry: Any) -> None:
    from miniauth.wallet_keys import _parsed

    runtime.reset()
    _parsed.cache_clear()
    runtime.prepare(wallet_key=True)
    assert runtime.store()._connection._client is not None
    assert _parsed.cache_info().currsize == 1


def test_prepare_signs_once_with_the_wallet_key_so_the_first_response_does_not_set_it_up(
    registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from miniauth import signing
    from miniauth.wallet_keys import _parsed, current_wallet_key

    used: list[Any] = []
    real_sign = signing.sign

    def recorded(key: Any, content: bytes) -> str:
        used.append(key)
        return real_sign(key, content)

    monkeypatch.setattr(signing, "sign", recorded)
    runtime.reset()
    _parsed.cache_clear()
    runtime.prepare()
    assert used == []  # a function that does not sign leaves the key alone
    runtime.prepare(wallet_key=True)
    assert used == [current_wallet_key().private_key]


def test_the_warm_up_resolves_every_table_endpoint() -> None:
    """DynamoDB's endpoint rules take the table as a parameter: each table's first request resolves anew."""
    store = DynamoDBStore(settings(), Connection(host=NOWHERE, max_retry_attempts=0, connect_timeout_seconds=1))
    seen: set[str] = set()

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.update(support.tables_in_order(params))

    store._connection.client.meta.events.register("provide-client-params.dynamodb", record)
    store.warm_up()
    assert seen == set(vars(settings().tables).values())


Request = tuple[str, tuple[str, ...]]  # (operation, the tables it names, in order)


class Requests:
    """Records each DynamoDB request a client is asked to make, before anything is sent."""

    def __init__(self) -> None:
        self.seen: list[Request] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.seen.append((model.name, support.tables_in_order(params)))


def _recorded(store: DynamoDBStore) -> Requests:
    requests = Requests()
    store._connection.client.meta.events.register("provide-client-params.dynamodb", requests)
    return requests


def _named(requests: list[tuple[str, tuple[str, ...]]]) -> list[Request]:
    tables = settings().tables
    return [(operation, tuple(getattr(tables, field) for field in fields)) for operation, fields in requests]


def test_the_warm_up_sends_only_the_requests_of_the_methods_a_function_uses() -> None:
    store = DynamoDBStore(settings(), Connection(host=NOWHERE, max_retry_attempts=0, connect_timeout_seconds=1))
    requests = _recorded(store)
    store.warm_up(["first_receipt", "client", "app", "token", "revoke_grant", "token"])
    assert requests.seen == [
        ("PutItem", ("RequestReplaysTable",)),
        ("GetItem", ("ClientsTable",)),
        ("GetItem", ("AppsTable",)),
        ("GetItem", ("TokensTable",)),
        ("UpdateItem", ("GrantsTable",)),
    ]


def test_every_method_that_sends_a_request_has_its_warm_up() -> None:
    local = {"clear_cache", "session", "warm_up"}
    methods = {name for name in vars(DynamoDBStore) if not name.startswith("_")} - local
    assert set(REQUESTS) == methods


def test_a_method_the_store_does_not_have_is_refused_at_init() -> None:
    with pytest.raises(ValueError, match="revoke_grants"):
        runtime.prepare(uses=["token", "revoke_grants"])


def test_the_warm_up_makes_the_requests_the_operations_make(registry: object) -> None:
    """Same operations and the same table lists (botocore resolves the endpoint once per exact list)."""
    handlers = support.Api()
    store = runtime.store()
    requests = _recorded(store)
    store.warm_up()
    warmed = set(requests.seen)
    assert sorted(warmed) == sorted(_named(warm_up_requests()))
    requests.seen.clear()

    pair = handlers.tokens(["auth_user"])  # getAuthCode, applyToken (code)
    refreshed = handlers.refresh(pair["refreshToken"]).body
    handlers.inquiry(refreshed["accessToken"])
    handlers.call("/wallet/getOpenUserInfo", {"userId": support.USER_ID, "appId": support.APP_ID})
    handlers.call("/wallet/authorizations/list", {"userId": support.USER_ID})
    handlers.revoke(refreshed["accessToken"])
    handlers.call("/wallet/authorizations/revoke", {"userId": support.USER_ID, "appId": support.APP_ID})
    handlers.tokens(["auth_user"])  # a code after a withdrawal clears the marker in the same transaction
    assert set(requests.seen) == warmed  # every kind of request the functions make, and no other


def test_init_builds_each_routes_validator_so_the_first_request_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    app = api.Routes()

    @app.post("/hello")
    def hello(request: Greeting) -> api.Answer:
        return {"statusCode": 200, "body": request.name}

    def built_late(*_: Any) -> None:
        raise AssertionError("built on the first request, not at init")

    monkeypatch.setattr(api, "reader", built_late)
    event = {"httpMethod": "POST", "path": "/hello", "resource": "/hello", "body": '{"name": "wallet"}',
             "headers": {"Content-Type": "application/json"}, "requestContext": {"requestId": "r"},
             "isBase64Encoded": False}
    answer = app.resolve(event)
    assert answer == {"statusCode": 200, "body": "wallet"}, answer

"""Lambda init prepares the DynamoDB client without sending a request or touching a table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from pynamodb.connection import Connection

from miniauth import runtime
from miniauth.config import settings
from miniauth.protocol import api
from miniauth.protocol.requests import USER_ID, body, required
from miniauth.storage.dynamodb import DynamoDBStore

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


def test_prepare_builds_the_client_and_reads_the_wallet_key_at_init(registry: Any) -> None:
    from miniauth.wallet_keys import _parsed

    runtime.reset()
    _parsed.cache_clear()
    runtime.prepare(wallet_key=True)
    assert runtime.store()._connection._client is not None
    assert _parsed.cache_info().currsize == 1


def test_the_warm_up_resolves_every_table_endpoint() -> None:
    """DynamoDB's endpoint rules take the table as a parameter: each table's first request resolves anew."""
    store = DynamoDBStore(settings(), Connection(host=NOWHERE, max_retry_attempts=0, connect_timeout_seconds=1))
    seen: set[str] = set()

    def record(params: dict[str, Any], **_: Any) -> None:
        seen.update(_tables_of(params))

    store._connection.client.meta.events.register("provide-client-params.dynamodb", record)
    store.warm_up()
    assert seen == set(vars(settings().tables).values())


def _tables_of(params: dict[str, Any]) -> set[str]:
    if "TableName" in params:
        return {params["TableName"]}
    return {action["TableName"] for item in params.get("TransactItems", []) for action in item.values()}


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

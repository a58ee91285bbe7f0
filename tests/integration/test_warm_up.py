"""Lambda init prepares the DynamoDB client without sending a request or touching a table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from pynamodb.connection import Connection

from miniauth import runtime
from miniauth.config import settings
from miniauth.storage.dynamodb import DynamoDBStore

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there


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

"""Storage rules: request budgets per operation, and no plaintext code or token at rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.handlers import BUILTIN_HANDLERS

from miniauth.storage.items import ITEMS

from support import CLIENT_ID, Api


class DynamoDBCalls:
    """Counts DynamoDB API calls through a botocore event hook on every client created from now on."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, model: object, **_: object) -> None:
        self.names.append(model.name)  # type: ignore[attr-defined]

    def during(self, action: object) -> list[str]:
        self.names.clear()
        action()  # type: ignore[operator]
        return list(self.names)


@pytest.fixture
def calls(api: Api) -> Iterator[DynamoDBCalls]:
    counter = DynamoDBCalls()
    hook = ("before-call.dynamodb", counter)
    BUILTIN_HANDLERS.append(hook)
    from miniauth import runtime

    # Fresh botocore clients pick the hook up; the registry cache starts cold.
    for model in ITEMS.values():
        model._connection = None
    runtime.reset()
    try:
        yield counter
    finally:
        BUILTIN_HANDLERS.remove(hook)
        for model in ITEMS.values():
            model._connection = None
        runtime.reset()


def test_request_budgets_with_a_warm_registry(api: Api, calls: DynamoDBCalls, clock: object) -> None:
    first = api.tokens(["auth_user"])  # warms the per-container client and app caches
    api.inquiry(first["accessToken"])
    api.revoke(first["accessToken"])

    code = api.auth_code(["auth_user"])
    redeem = calls.during(lambda: api.apply_code(code))
    assert redeem == ["GetItem", "TransactWriteItems"]

    pair = api.apply_code(api.auth_code(["auth_user"])).body
    refresh = calls.during(lambda: api.refresh(pair["refreshToken"]))
    assert refresh == ["GetItem", "TransactWriteItems"]

    fresh = api.tokens(["auth_user"])
    inquiry = calls.during(lambda: api.inquiry(fresh["accessToken"]))
    assert inquiry == ["GetItem", "TransactGetItems"]

    revoke = calls.during(lambda: api.revoke(fresh["accessToken"]))
    assert revoke == ["GetItem", "UpdateItem"]


def test_retry_and_replay_paths_stay_within_two_requests(api: Api, calls: DynamoDBCalls, clock) -> None:
    api.tokens(["auth_user"])  # warm caches
    code = api.auth_code(["auth_user"])
    api.apply_code(code)
    retry = calls.during(lambda: api.apply_code(code))
    assert retry == ["GetItem", "TransactWriteItems"]
    clock.advance(31)
    replay = calls.during(lambda: api.apply_code(code))
    assert replay == ["GetItem", "UpdateItem"]
    unknown = calls.during(lambda: api.apply_code("no-such-code"))
    assert unknown == ["GetItem"]


def test_no_table_holds_a_plaintext_code_or_token(api: Api, dynamodb: object) -> None:
    code = api.auth_code(["auth_user"])
    pair = api.apply_code(code).body
    rotated = api.refresh(pair["refreshToken"]).body
    secrets = [code, pair["accessToken"], pair["refreshToken"], rotated["accessToken"], rotated["refreshToken"]]
    for table in dynamodb.list_tables()["TableNames"]:  # type: ignore[attr-defined]
        dump = json.dumps(dynamodb.scan(TableName=table)["Items"])  # type: ignore[attr-defined]
        for secret in secrets:
            assert secret not in dump, f"plaintext credential found in {table}"


def test_expired_items_are_refused_although_still_present(api: Api, dynamodb: object, clock) -> None:
    """TTL is cleanup only: moto (like DynamoDB for hours) keeps expired items; reads must check."""
    code = api.auth_code()
    clock.advance(86400 + 1)
    assert dynamodb.scan(TableName="AuthCodesTable")["Count"] == 1  # type: ignore[attr-defined]
    assert api.apply_code(code).code == "EXPIRED_AUTHCODE"

    pair = api.tokens()
    clock.advance(86400 + 1)
    assert api.inquiry(pair["accessToken"]).code == "EXPIRED_ACCESS_TOKEN"


def test_a_client_row_without_grant_types_may_use_both(api: Api, dynamodb: Any) -> None:
    """Rows written by hand or by older tools lack grantTypes; that means both grants, as the admin CLI assumes."""
    from miniauth import runtime
    from miniauth.config import settings

    table = settings().tables.clients
    row = dynamodb.get_item(TableName=table, Key={"authClientId": {"S": CLIENT_ID}})["Item"]
    del row["grantTypes"]
    dynamodb.put_item(TableName=table, Item=row)
    runtime.store().clear_cache()

    tokens = api.tokens()
    assert api.refresh(tokens["refreshToken"]).code == "SUCCESS"

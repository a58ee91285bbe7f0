"""Storage rules: request budgets per operation, and no plaintext code or token at rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.handlers import BUILTIN_HANDLERS

from miniauth import runtime
from miniauth.storage import dynamodb as dynamodb_module
from miniauth.storage.dynamodb import REGISTRY_CACHE_ENTRIES, _Cache
from miniauth.storage.items import ITEMS

from support import APP_ID, CLIENT_ID, USER_ID, Api, signed_headers

INQUIRY = "/v2/users/inquiryUserInfo"


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
    assert redeem == ["PutItem", "GetItem", "TransactWriteItems"]  # PutItem: the replay marker

    pair = api.apply_code(api.auth_code(["auth_user"])).body
    refresh = calls.during(lambda: api.refresh(pair["refreshToken"]))
    assert refresh == ["PutItem", "GetItem", "TransactWriteItems"]

    fresh = api.tokens(["auth_user"])
    inquiry = calls.during(lambda: api.inquiry(fresh["accessToken"]))
    assert inquiry == ["PutItem", "GetItem", "TransactGetItems"]

    revoke = calls.during(lambda: api.revoke(fresh["accessToken"]))
    assert revoke == ["PutItem", "GetItem", "UpdateItem"]


def test_retry_and_replay_paths_stay_within_three_requests(api: Api, calls: DynamoDBCalls, clock) -> None:
    api.tokens(["auth_user"])  # warm caches
    code = api.auth_code(["auth_user"])
    api.apply_code(code)
    retry = calls.during(lambda: api.apply_code(code))
    assert retry == ["PutItem", "GetItem", "TransactWriteItems"]
    clock.advance(31)
    replay = calls.during(lambda: api.apply_code(code))
    assert replay == ["PutItem", "GetItem", "UpdateItem"]
    unknown = calls.during(lambda: api.apply_code("no-such-code"))
    assert unknown == ["PutItem", "GetItem"]


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
    from miniauth.config import settings

    table = settings().tables.clients
    row = dynamodb.get_item(TableName=table, Key={"authClientId": {"S": CLIENT_ID}})["Item"]
    del row["grantTypes"]
    dynamodb.put_item(TableName=table, Item=row)
    runtime.store().clear_cache()

    tokens = api.tokens()
    assert api.refresh(tokens["refreshToken"]).code == "SUCCESS"


def test_a_malformed_client_id_is_refused_before_any_lookup(api: Api, calls: DynamoDBCalls) -> None:
    body = json.dumps({"appId": APP_ID, "authClientId": CLIENT_ID, "accessToken": "x" * 40})
    for client_id in ("2022 0001", "7" * 129, "caf\u00e9", "tab\there", "\u00a0"):
        headers = {**signed_headers(INQUIRY, body, CLIENT_ID), "Client-Id": client_id}
        answer = calls.during(lambda h=headers: api.raw(INQUIRY, body, h))
        assert answer == [], client_id
        assert api.raw(INQUIRY, body, headers).code == "PARAM_ILLEGAL"


def test_junk_client_ids_leave_the_registry_cache_bounded(api: Api, calls: DynamoDBCalls) -> None:
    """3,000 unknown Client-Ids: each costs its GetItem, none stays beyond the LRU's bound."""
    store = runtime.store()
    junk = [f"junk-{n:06d}" for n in range(3000)]
    looked_up = calls.during(lambda: [store.client(client_id) for client_id in junk])
    assert looked_up == ["GetItem"] * 3000
    cached = len(store._clients)  # noqa: SLF001 - the bound is the point of the test
    assert cached == REGISTRY_CACHE_ENTRIES < 3000
    assert calls.during(lambda: store.client(junk[-1])) == []  # recent entries still serve
    assert calls.during(lambda: store.client(junk[0])) == ["GetItem"]  # the oldest were evicted
    assert store.client(CLIENT_ID) is not None


def test_the_registry_cache_keeps_its_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(dynamodb_module.time, "monotonic", lambda: now[0])
    loads: list[str] = []
    cache = _Cache(seconds=60, max_entries=2)
    for key in ("a", "b", "a"):
        cache.get(key, lambda k=key: loads.append(k) or k)
    assert loads == ["a", "b"]
    cache.get("c", lambda: loads.append("c"))  # evicts "b", the least recently used
    cache.get("a", lambda: loads.append("a"))
    assert loads == ["a", "b", "c"] and len(cache) == 2
    now[0] += 60
    cache.get("a", lambda: loads.append("a"))
    assert loads == ["a", "b", "c", "a"]


def test_conditional_updates_ask_for_nothing_back(api: Api, clock: object) -> None:
    """A revocation, a withdrawal and a consent only need to know whether their write happened:
    asking for the item as updated (ALL_NEW) made botocore parse it and pynamodb deserialise it."""
    updates: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if dynamodb_module.WARM_UP not in json.dumps(params["Key"]):  # a function's init, answered locally
            updates.append(dict(params))

    runtime.store()._connection.client.meta.events.register("provide-client-params.dynamodb.UpdateItem", record)
    tokens = api.tokens(["auth_user"])  # a first consent of these scopes: one UpdateItem on the consents
    assert api.revoke(tokens["accessToken"]).code == "SUCCESS"  # one on the grant
    withdrawn = api.call("/wallet/authorizations/revoke", {"userId": USER_ID, "appId": APP_ID})
    assert withdrawn.code == "SUCCESS", withdrawn.body  # one on the consent
    assert [u["TableName"] for u in updates] == ["ConsentsTable", "GrantsTable", "ConsentsTable"]
    assert [u.get("ReturnValues", "NONE") for u in updates] == ["NONE"] * 3
    # What the writes did is still what the next reads see.
    assert api.inquiry(tokens["accessToken"]).code != "SUCCESS"
    assert runtime.store().consent(USER_ID, APP_ID).withdrawn_at is not None  # type: ignore[attr-defined]

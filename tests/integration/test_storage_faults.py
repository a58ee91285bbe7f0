"""Storage faults and request budgets: what only the DynamoDB adapter on moto can show.

The rules these paths serve run on the in-memory store in tests/unit (test_withdrawal.py,
test_request_security.py); here botocore itself throttles or counts the requests the adapter sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS
from pynamodb.exceptions import PutError
from test_request_security import every_table
from test_withdrawal import assert_nothing_live, authorize, listed_apps, live, withdraw

from miniauth import runtime
from miniauth.storage.items import ITEMS, RequestReplayItem

from support import APP_ID, SECOND_APP_ID, Api


class DynamoDBFaults:
    """A botocore hook on every DynamoDB call: counts them, and throttles the n-th one when told to."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.throttle_at: int | None = None

    def __call__(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)
        if self.throttle_at is not None and len(self.names) == self.throttle_at:
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)

    def during(self, action: Any, throttle_at: int | None = None) -> Any:
        self.names.clear()
        self.throttle_at = throttle_at
        try:
            return action()
        finally:
            self.throttle_at = None


@pytest.fixture
def faults(api: Api) -> Iterator[DynamoDBFaults]:
    hook = DynamoDBFaults()
    BUILTIN_HANDLERS.append(("before-call.dynamodb", hook))
    # Fresh botocore clients pick the hook up.
    for model in ITEMS.values():
        model._connection = None
    runtime.reset()
    try:
        yield hook
    finally:
        BUILTIN_HANDLERS.remove(("before-call.dynamodb", hook))
        for model in ITEMS.values():
            model._connection = None
        runtime.reset()


# -- a throttle part-way, then a retry ------------------------------------------------------------------------


@pytest.mark.parametrize("throttle_at", [1, 2, 3, 4, 5, 6])
def test_a_throttled_withdrawal_is_all_or_nothing_and_its_retry_leaves_nothing_live(
    api: Api, faults: DynamoDBFaults, throttle_at: int
) -> None:
    """DynamoDB throttles the withdrawal's n-th request. Whatever n, the tables never show the app gone from
    the list while its tokens still work (or the reverse), and the wallet's retry kills every grant."""
    held = authorize(api)

    first = faults.during(lambda: withdraw(api), throttle_at=throttle_at)

    assert first.code in ("SUCCESS", "REQUEST_TRAFFIC_EXCEED_LIMIT"), first.body
    still_live = live(api, held["access"])
    assert still_live in ([], held["access"]), "a throttled withdrawal left some grants live and some dead"
    assert (APP_ID in listed_apps(api)) == bool(still_live), "the list disagrees with what the tokens can do"
    if first.code == "SUCCESS":
        assert still_live == []

    assert withdraw(api).code == "SUCCESS"
    assert_nothing_live(api, held)


def test_a_withdrawal_costs_the_same_requests_however_many_grants_there_are(
    api: Api, faults: DynamoDBFaults
) -> None:
    api.tokens(["auth_user"])
    assert faults.during(lambda: withdraw(api, app_id=APP_ID)).code == "SUCCESS"
    one_grant = list(faults.names)
    for _ in range(12):  # 12 redeemed grants and 12 unredeemed silent codes
        api.apply_code(api.auth_code(["auth_user"], app_id=SECOND_APP_ID), app_id=SECOND_APP_ID)
        api.auth_code(["auth_base"], app_id=SECOND_APP_ID)
    assert faults.during(lambda: withdraw(api, app_id=SECOND_APP_ID)).code == "SUCCESS"
    many_grants = list(faults.names)

    assert one_grant == many_grants == ["GetItem", "UpdateItem"]  # the user, then the consent item



def test_a_throttled_marker_write_is_a_retryable_refusal(api: Api, dynamodb: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    code = api.auth_code(["auth_user"])

    def throttled(*_: Any, **__: Any) -> None:
        error = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                            "PutItem")
        raise PutError("Failed to put item", error)

    monkeypatch.setattr(RequestReplayItem, "save", throttled)
    before = every_table(dynamodb)
    answer = api.apply_code(code)
    assert (answer.code, answer.result_status) == ("REQUEST_TRAFFIC_EXCEED_LIMIT", "U")
    assert every_table(dynamodb) == before
    monkeypatch.undo()
    assert api.apply_code(code).code == "SUCCESS"  # the code was never touched

"""Races over real HTTP: `miniauth serve` with several worker processes, merchants in threads started together.

tests/integration/test_concurrency.py runs the same races in one process against a serialised moto; here each request is
signed, sent, handled by whichever worker is free, and the tables are read back afterwards. Inside the retry
window (the template's 30 s) a re-presented code or refresh token gets a fresh pair and the previous pair is
revoked, so the property checked is "exactly one live pair", not "exactly one success".
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from miniauth_sdk import MerchantClient, OpenApiError, TokenPair

from audit import digest
from served import ServedApi
from stored import AUTH_CODES, GRANTS, TOKENS, Tables
from support import APP_ID

pytestmark = [pytest.mark.e2e, pytest.mark.concurrency]
RACERS = 20
INQUIRERS, ROUNDS = 6, 3
T = TypeVar("T")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    with ServedApi(tmp_path_factory.mktemp("racing"), "--workers", "4") as api:
        yield api


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """No retry window: every second presentation is a replay."""
    with ServedApi(tmp_path_factory.mktemp("strict"), "--workers", "4", "--parameter-overrides",
                   "RetryGraceSeconds=0") as api:
        yield api


@pytest.fixture(scope="module")
def sdk(served: ServedApi) -> MerchantClient:
    # retries=0: a refusal is an outcome to count, never retried into a success.
    return served.merchant(retries=0, timeout=60)


@pytest.fixture(scope="module")
def tables(served: ServedApi) -> Tables:
    return Tables(served.state["dynamodbEndpoint"])


def together(n: int, call: Callable[[], T]) -> list[T | str]:
    """`call` in n threads released at once by a barrier; a refusal comes back as its result code."""
    start = threading.Barrier(n)

    def one(_: int) -> T | str:
        start.wait(timeout=30)
        try:
            return call()
        except OpenApiError as refused:
            return refused.result_code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def refusal(call: Callable[[], Any]) -> str:
    try:
        call()
    except OpenApiError as refused:
        return refused.result_code
    return "SUCCESS"


def split(outcomes: list[TokenPair | str]) -> tuple[list[TokenPair], list[str]]:
    return [o for o in outcomes if isinstance(o, TokenPair)], [o for o in outcomes if isinstance(o, str)]


def only_live_pair(sdk: MerchantClient, pairs: list[TokenPair]) -> TokenPair:
    """Exactly one pair still works: its access token answers and its refresh token refreshes; no other does.

    The dead refresh tokens are tried first: presenting a replaced, never-used one changes nothing, while
    refreshing the live pair would retire it.
    """
    answers = [refusal(lambda p=pair: sdk.inquiry_user_info(p.access_token, APP_ID)) for pair in pairs]
    assert set(answers) <= {"SUCCESS", "INVALID_ACCESS_TOKEN"}, answers
    live = [pair for pair, answer in zip(pairs, answers, strict=True) if answer == "SUCCESS"]
    assert len(live) == 1, f"{len(pairs)} pairs issued, {len(live)} access tokens still answer"
    dead = [pair for pair in pairs if pair is not live[0]]
    assert {refusal(lambda p=pair: sdk.refresh(p.refresh_token, APP_ID)) for pair in dead} <= {"INVALID_REFRESH_TOKEN"}
    sdk.refresh(live[0].refresh_token, APP_ID)
    return live[0]


def holding_grants(tables: Tables, pairs: list[TokenPair]) -> list[dict[str, Any]]:
    """Every grant row that names one of these pairs' tokens as its current access or refresh token."""
    hashes = {digest(t) for pair in pairs for t in (pair.access_token, pair.refresh_token)}
    return [g for g in tables.scan(GRANTS).values() if {g.get("accessHash"), g.get("refreshHash")} & hashes]


def test_parallel_redemptions_of_one_code_leave_one_live_pair(served: ServedApi, sdk: MerchantClient,
                                                               tables: Tables, figures: list[str]) -> None:
    code = served.auth_code()
    begun = time.monotonic()
    pairs, refused = split(together(RACERS, lambda: sdk.apply_token(code, APP_ID)))
    took = time.monotonic() - begun
    assert pairs and set(refused) <= {"USED_AUTHCODE"}, refused

    # The table: one grant (keyed by the code's hash) holds one of the pairs, and every pair was issued from it.
    stored_code = tables.get(AUTH_CODES, digest(code))
    assert stored_code is not None and stored_code["status"] == "REDEEMED"
    grants = holding_grants(tables, pairs)
    assert [g["grantId"] for g in grants] == [stored_code["grantId"]]
    grant = grants[0]
    assert grant["status"] == "ACTIVE"
    in_grant = [p for p in pairs if digest(p.access_token) == grant["accessHash"]]
    assert len(in_grant) == 1 and grant["refreshHash"] == digest(in_grant[0].refresh_token)
    for pair in pairs:
        for token in (pair.access_token, pair.refresh_token):
            row = tables.get(TOKENS, digest(token))
            assert row is not None and row["grantId"] == grant["grantId"]

    # Over HTTP: that same pair, and no other, still works.
    assert only_live_pair(sdk, pairs) is in_grant[0]
    figures.append(f"http race: {RACERS} redemptions of one code in {took:.2f} s -> {len(pairs)} pairs issued, "
                   f"{len(refused)} refused, 1 live pair (grant row and HTTP agree)")


def test_parallel_refreshes_of_one_token_leave_one_live_pair(served: ServedApi, sdk: MerchantClient,
                                                             tables: Tables, figures: list[str]) -> None:
    original = sdk.apply_token(served.auth_code(), APP_ID)
    begun = time.monotonic()
    pairs, refused = split(together(RACERS, lambda: sdk.refresh(original.refresh_token, APP_ID)))
    took = time.monotonic() - begun
    # Inside the window each re-presentation replaces the pair before it. A USED_REFRESH_TOKEN would mean the
    # server took a racer for a thief and revoked the grant: allowed as a code, but then no pair would live.
    assert pairs and set(refused) <= {"INVALID_REFRESH_TOKEN", "USED_REFRESH_TOKEN"}, refused
    assert refusal(lambda: sdk.inquiry_user_info(original.access_token, APP_ID)) == "INVALID_ACCESS_TOKEN"

    grants = holding_grants(tables, [original, *pairs])
    assert len(grants) == 1
    grant = grants[0]
    assert grant["status"] == "ACTIVE" and grant["prevRefreshHash"] == digest(original.refresh_token)
    in_grant = [p for p in pairs if digest(p.access_token) == grant["accessHash"]]
    assert len(in_grant) == 1 and grant["refreshHash"] == digest(in_grant[0].refresh_token)
    assert tables.get(TOKENS, digest(original.refresh_token))["usedAt"]

    assert only_live_pair(sdk, pairs) is in_grant[0]
    figures.append(f"http race: {RACERS} refreshes of one refresh token in {took:.2f} s -> {len(pairs)} pairs "
                   f"issued, {len(refused)} refused {sorted(set(refused))}, 1 live pair, the original dead")


@pytest.mark.parametrize("credential", ["authCode", "refreshToken"])
def test_without_a_retry_window_exactly_one_racer_wins(strict: ServedApi, credential: str,
                                                       figures: list[str]) -> None:
    """A racer that reads the credential already used is a replay: it may revoke the grant, so at most one
    pair lives, but exactly one racer is ever handed one."""
    sdk = strict.merchant(retries=0, timeout=60)
    if credential == "authCode":
        code = strict.auth_code()
        pairs, refused = split(together(RACERS, lambda: sdk.apply_token(code, APP_ID)))
        expected = {"USED_AUTHCODE", "INVALID_AUTHCODE"}  # the latter once a replay revoked the grant
    else:
        token = sdk.apply_token(strict.auth_code(), APP_ID).refresh_token
        pairs, refused = split(together(RACERS, lambda: sdk.refresh(token, APP_ID)))
        expected = {"USED_REFRESH_TOKEN", "INVALID_REFRESH_TOKEN"}
    assert len(pairs) == 1 and set(refused) <= expected, refused
    alive = refusal(lambda: sdk.inquiry_user_info(pairs[0].access_token, APP_ID))
    assert alive in ("SUCCESS", "INVALID_ACCESS_TOKEN")
    fate = "lives" if alive == "SUCCESS" else "was revoked by a replay"
    figures.append(f"http race without a retry window: {RACERS} presentations of one {credential} -> 1 pair, "
                   f"refused {dict(sorted(Counter(refused).items()))}, the pair {fate}")


def test_no_inquiry_sent_after_revoke_answered_sees_the_user(served: ServedApi, sdk: MerchantClient,
                                                             figures: list[str]) -> None:
    sent_after = in_flight = total = 0
    for _ in range(ROUNDS):
        pair = sdk.apply_token(served.auth_code(), APP_ID)
        calls, revoke_sent, revoked = _revoke_amid_inquiries(sdk, pair.access_token)
        late = [outcome for sent, _, outcome in calls if sent > revoked]
        assert late and set(late) == {"INVALID_ACCESS_TOKEN"}, late
        assert {outcome for _, answered, outcome in calls if answered < revoke_sent} == {"SUCCESS"}
        assert refusal(lambda p=pair: sdk.refresh(p.refresh_token, APP_ID)) == "INVALID_REFRESH_TOKEN"
        total += len(calls)
        sent_after += len(late)
        # Answered with the user after revoke was sent: they were sent before its answer, so that is correct.
        in_flight += sum(answered > revoke_sent and outcome == "SUCCESS" for _, answered, outcome in calls)
    figures.append(f"http race: revoke vs {INQUIRERS} inquiring threads, {ROUNDS} rounds, {total} inquiries, "
                   f"{sent_after} sent after revoke answered (all INVALID_ACCESS_TOKEN), "
                   f"{in_flight} overlapping ones answered with the user")


def _revoke_amid_inquiries(sdk: MerchantClient, token: str) -> tuple[list[tuple[float, float, str]], float, float]:
    """Threads inquire with `token` in a loop; once they are under way it is revoked.

    Returns every inquiry as (sent, answered, outcome), when revoke was sent and when its answer arrived, all
    in time.monotonic() seconds. The threads keep going until each has had time to send after the revoke.
    """
    calls: list[tuple[float, float, str]] = []
    stop = threading.Event()

    def inquire() -> None:
        while not stop.is_set():
            sent = time.monotonic()  # taken before signing, so never later than the request left
            outcome = refusal(lambda: sdk.inquiry_user_info(token, APP_ID))
            calls.append((sent, time.monotonic(), outcome))

    threads = [threading.Thread(target=inquire) for _ in range(INQUIRERS)]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: len(calls) >= 2 * INQUIRERS)
        revoke_sent = time.monotonic()
        sdk.revoke(token, APP_ID)
        revoked = time.monotonic()
        _wait_for(lambda: sum(sent > revoked for sent, _, _ in calls) >= 2 * INQUIRERS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return calls, revoke_sent, revoked


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the inquiring threads made no progress"
        time.sleep(0.01)

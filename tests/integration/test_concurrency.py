"""N concurrent redemptions (or refreshes) against a serialised moto leave exactly one live pair."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from miniauth import runtime
from miniauth.config import settings
from miniauth.domain.models import AUTHORIZATION_CODE, REFRESH_TOKEN
from miniauth.domain.tokens import TokenService
from miniauth.results import MiniauthError

from support import APP_ID, CLIENT_ID, USER_ID, Api, SerialisedMoto

THREADS = 32
pytestmark = pytest.mark.concurrency


def _race(grant_type: str, credential: str) -> tuple[list[str], list[str]]:
    """Every thread presents the same credential at once; returns the access tokens won and codes refused."""
    service = runtime.token_service()
    client = runtime.store().client(CLIENT_ID)

    def attempt(_: int) -> tuple[str | None, str | None]:
        try:
            if grant_type == AUTHORIZATION_CODE:
                issued = service.apply_token(client, APP_ID, grant_type, auth_code=credential)
            else:
                issued = service.apply_token(client, APP_ID, grant_type, refresh_token=credential)
        except MiniauthError as refused:
            return None, refused.result.code
        return issued.pair.access_token, None

    with SerialisedMoto(), ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    return [a for a, _ in outcomes if a], [c for _, c in outcomes if c]


def _live(api: Api, access_tokens: list[str]) -> list[str]:
    return [t for t in access_tokens if api.inquiry(t).code == "SUCCESS"]


def test_concurrent_redemptions_of_one_code_leave_one_live_pair(api: Api) -> None:
    code = api.auth_code(["auth_user"])
    won, refused = _race(AUTHORIZATION_CODE, code)
    # Inside the retry window every loser is handed a fresh pair that replaces the one before it.
    assert len(won) + len(refused) == THREADS
    assert len(won) >= 1
    assert set(refused) <= {"USED_AUTHCODE"}
    assert len(_live(api, won)) == 1


def test_concurrent_refreshes_of_one_token_leave_one_live_pair(api: Api) -> None:
    first = api.tokens(["auth_user"])
    won, refused = _race(REFRESH_TOKEN, first["refreshToken"])
    assert len(won) + len(refused) == THREADS
    assert len(won) >= 1
    assert set(refused) <= {"USED_REFRESH_TOKEN", "INVALID_REFRESH_TOKEN"}
    assert len(_live(api, won + [first["accessToken"]])) == 1


def test_concurrent_redemptions_outside_the_window_have_one_winner(api: Api, clock: object) -> None:
    """With no retry window, exactly one of N redemptions wins and the rest are refused."""
    strict = replace(settings(), retry_grace=0)
    service = TokenService(runtime.store(), runtime.store(), clock, strict)  # type: ignore[arg-type]
    client = runtime.store().client(CLIENT_ID)
    code = api.auth_code(["auth_user"])

    def attempt(_: int) -> str:
        try:
            service.apply_token(client, APP_ID, AUTHORIZATION_CODE, auth_code=code)
        except MiniauthError as refused:
            return refused.result.code
        return "SUCCESS"

    with SerialisedMoto(), ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = list(pool.map(attempt, range(THREADS)))
    assert outcomes.count("SUCCESS") == 1


def test_a_withdrawal_racing_issues_and_redemptions_leaves_only_later_grants_live(api: Api) -> None:
    """Flows (silent getAuthCode, then applyToken) run while the user withdraws: whatever the interleaving,
    every pair issued under the old epoch is dead, every later one lives, and the list agrees."""
    from miniauth import credentials

    wallet, tokens, store = runtime.wallet_service(), runtime.token_service(), runtime.store()
    client = store.client(CLIENT_ID)
    api.handler_for("/wallet/authorizations/revoke")  # its Lambda init (the client's warm-up) before the race

    def flow(i: int) -> str | None:
        if i == THREADS // 2:
            assert api.call("/wallet/authorizations/revoke", {"userId": USER_ID, "appId": APP_ID}).code == "SUCCESS"
            return None
        try:
            code = wallet.get_auth_code(USER_ID, APP_ID).auth_code
            return tokens.apply_token(client, APP_ID, AUTHORIZATION_CODE, auth_code=code).pair.access_token
        except MiniauthError as refused:
            assert refused.result.code == "INVALID_AUTHCODE", refused.result.code  # its code was withdrawn
            return None

    with SerialisedMoto(), ThreadPoolExecutor(max_workers=THREADS) as pool:
        won = [token for token in pool.map(flow, range(THREADS)) if token]

    epoch = store.consent(USER_ID, APP_ID).epoch  # type: ignore[union-attr]
    assert epoch == 1
    issued_under = {token: store.token(credentials.digest(token)).epoch for token in won}  # type: ignore[union-attr]
    assert set(_live(api, won)) == {token for token, at in issued_under.items() if at == epoch}
    listed = api.call("/wallet/authorizations/list", {"userId": USER_ID}).body["authorizations"]
    assert [entry["appId"] for entry in listed] == ([APP_ID] if epoch in issued_under.values() else [])

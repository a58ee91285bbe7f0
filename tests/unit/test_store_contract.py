"""The storage ports' contract, asked of the store directly: the conditions that only matter in a race.

The services read before they write, so most of these refusals never show through a handler call alone:
here a stale read is handed to the store on purpose. The same tests run on the DynamoDB adapter on moto
(tests/integration/test_rules_on_moto.py), so the in-memory store and the adapter are held to one contract.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import pytest

from miniauth.domain.models import AuthCode, CodeStatus, Grant, GrantStatus, TokenPair
from miniauth.domain.ports import CodeNotRedeemed, ConsentChanged, RotationRefused

from support import APP_ID, CLIENT_ID, USER_ID, FakeClock

MINUTE = timedelta(minutes=1)


def issue(store: Any, now: datetime, epoch: int = 0, consent: Any = None) -> AuthCode:
    digest = secrets.token_hex(32)
    code = AuthCode(digest, digest, USER_ID, APP_ID, CLIENT_ID, ("auth_user",), CodeStatus.ISSUED, now,
                    now + 5 * MINUTE, epoch=epoch)
    grant = Grant(digest, USER_ID, APP_ID, CLIENT_ID, ("auth_user",), GrantStatus.PENDING, now, now + 5 * MINUTE,
                  epoch=epoch)
    store.issue_code(code, grant, consent)
    return code


def pair(now: datetime) -> TokenPair:
    return TokenPair("a", secrets.token_hex(32), now + 60 * MINUTE, "r", secrets.token_hex(32), now + 600 * MINUTE,
                     now)


def grant_of(store: Any, grant_id: str) -> Grant:
    grant, _, _ = store.grant_user_and_epoch(grant_id, USER_ID, APP_ID)
    assert grant is not None
    return grant


def test_a_second_redemption_is_refused_with_what_storage_holds(registry: Any, clock: FakeClock) -> None:
    code, first = issue(registry, clock.now()), pair(clock.now())
    registry.redeem_code(code, first, None)
    clock.advance(1)
    second = pair(clock.now())

    with pytest.raises(CodeNotRedeemed) as refused:
        registry.redeem_code(code, second, None)  # `code` is the stale read: ISSUED

    assert refused.value.code is not None and refused.value.code.status is CodeStatus.REDEEMED
    assert refused.value.code.redeemed_at == first.issued_at and not refused.value.withdrawn
    assert grant_of(registry, code.grant_id).access_hash == first.access_hash
    assert registry.token(second.access_hash) is None and registry.token(second.refresh_hash) is None


def test_a_retry_inside_the_window_replaces_the_pair_and_keeps_the_first_redemption_time(
    registry: Any, clock: FakeClock
) -> None:
    code, first = issue(registry, clock.now()), pair(clock.now())
    registry.redeem_code(code, first, None)
    clock.advance(1)
    second = pair(clock.now())

    registry.redeem_code(code, second, clock.now() - MINUTE)

    assert grant_of(registry, code.grant_id).access_hash == second.access_hash
    assert registry.auth_code(code.code_hash).redeemed_at == first.issued_at


def test_an_expired_code_is_refused_although_its_row_is_still_there(registry: Any, clock: FakeClock) -> None:
    code = issue(registry, clock.now())
    clock.advance(5 * 60)  # its expiry: TTL may not have deleted the row, and must not be trusted to

    with pytest.raises(CodeNotRedeemed) as refused:
        registry.redeem_code(code, pair(clock.now()), None)

    assert refused.value.code is not None and refused.value.code.status is CodeStatus.ISSUED
    assert registry.auth_code(code.code_hash) is not None
    assert grant_of(registry, code.grant_id).status is GrantStatus.PENDING


def test_a_redemption_after_a_withdrawal_is_refused_as_withdrawn_and_writes_nothing(
    registry: Any, clock: FakeClock
) -> None:
    code, tokens = issue(registry, clock.now()), pair(clock.now())
    assert registry.withdraw(USER_ID, APP_ID, clock.now())

    with pytest.raises(CodeNotRedeemed) as refused:
        registry.redeem_code(code, tokens, None)

    assert refused.value.withdrawn
    assert registry.auth_code(code.code_hash).status is CodeStatus.ISSUED
    assert registry.token(tokens.access_hash) is None


def test_a_code_written_after_a_withdrawal_it_did_not_see_is_not_written(registry: Any, clock: FakeClock) -> None:
    seen = registry.consent(USER_ID, APP_ID)
    assert registry.withdraw(USER_ID, APP_ID, clock.now())

    with pytest.raises(ConsentChanged):
        issue(registry, clock.now(), epoch=0, consent=seen)

    assert registry.grants_of(USER_ID) == []


def test_a_code_under_the_new_epoch_clears_the_withdrawal_marker(registry: Any, clock: FakeClock) -> None:
    assert registry.withdraw(USER_ID, APP_ID, clock.now())
    assert not registry.withdraw(USER_ID, APP_ID, clock.now()), "a withdrawal is done once"
    marker = registry.consent(USER_ID, APP_ID)
    assert marker.epoch == 1 and marker.withdrawn_at is not None and not marker.given

    issue(registry, clock.now(), epoch=1, consent=marker)

    after = registry.consent(USER_ID, APP_ID)
    assert after.epoch == 1 and after.withdrawn_at is None
    assert registry.withdraw(USER_ID, APP_ID, clock.now()), "the next withdrawal acts again"
    assert registry.consent(USER_ID, APP_ID).epoch == 2


def test_a_used_refresh_token_is_refused_as_reused_outside_the_window(registry: Any, clock: FakeClock) -> None:
    code, first = issue(registry, clock.now()), pair(clock.now())
    registry.redeem_code(code, first, None)
    stale = registry.token(first.refresh_hash)
    clock.advance(1)
    second = pair(clock.now())
    registry.rotate_refresh(stale, second, None)
    clock.advance(1)

    with pytest.raises(RotationRefused) as refused:
        registry.rotate_refresh(stale, pair(clock.now()), None)

    assert refused.value.reused and not refused.value.withdrawn
    assert refused.value.grant is not None and refused.value.grant.refresh_hash == second.refresh_hash
    retried = pair(clock.now())
    registry.rotate_refresh(stale, retried, clock.now() - MINUTE)  # inside the window: the pair is replaced
    assert grant_of(registry, code.grant_id).refresh_hash == retried.refresh_hash
    assert registry.token(first.refresh_hash).used_at == second.issued_at


def test_a_rotation_after_a_withdrawal_is_refused_as_withdrawn(registry: Any, clock: FakeClock) -> None:
    code, first = issue(registry, clock.now()), pair(clock.now())
    registry.redeem_code(code, first, None)
    token = registry.token(first.refresh_hash)
    assert registry.withdraw(USER_ID, APP_ID, clock.now())

    with pytest.raises(RotationRefused) as refused:
        registry.rotate_refresh(token, pair(clock.now()), None)

    assert refused.value.withdrawn
    assert registry.token(first.refresh_hash).used_at is None


def test_revoking_names_the_pair_it_ends(registry: Any, clock: FakeClock) -> None:
    code, first = issue(registry, clock.now()), pair(clock.now())
    registry.redeem_code(code, first, None)

    assert not registry.revoke_grant(code.grant_id, clock.now(), "REVOKED_BY_CLIENT", access_hash="0" * 64)
    assert grant_of(registry, code.grant_id).status is GrantStatus.ACTIVE
    assert registry.revoke_grant(code.grant_id, clock.now(), "REVOKED_BY_CLIENT", access_hash=first.access_hash)
    assert not registry.revoke_grant(code.grant_id, clock.now(), "REVOKED_BY_CLIENT")
    assert not registry.revoke_grant("f" * 64, clock.now(), "REVOKED_BY_CLIENT")
    revoked = grant_of(registry, code.grant_id)
    assert (revoked.status, revoked.revoke_reason) == (GrantStatus.REVOKED, "REVOKED_BY_CLIENT")


def test_a_request_is_received_once_until_its_marker_expires(registry: Any, clock: FakeClock) -> None:
    digest = secrets.token_hex(32)
    assert registry.first_receipt(digest, clock.now(), clock.now() + MINUTE)
    assert not registry.first_receipt(digest, clock.now() + MINUTE - timedelta(seconds=1), clock.now() + MINUTE)
    assert registry.first_receipt(digest, clock.now() + MINUTE, clock.now() + 2 * MINUTE)


def test_consents_add_up(registry: Any, clock: FakeClock) -> None:
    registry.record_consent(USER_ID, APP_ID, clock.now(), frozenset({"auth_user"}))
    clock.advance(1)
    registry.record_consent(USER_ID, APP_ID, clock.now(), frozenset({"auth_email"}), open_user_info=True)

    consent = registry.consent(USER_ID, APP_ID)
    assert consent.scopes == {"auth_user", "auth_email"} and consent.open_user_info
    assert consent.consented_at == clock.now() - timedelta(seconds=1) and consent.updated_at == clock.now()
    assert [c.app_id for c in registry.consents_of(USER_ID)] == [APP_ID]

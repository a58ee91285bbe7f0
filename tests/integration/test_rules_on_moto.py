"""The adapter on moto for each storage path the rules take: the same test functions the unit tier runs
on the in-memory store, collected here again so that tests/conftest.py's moto fixtures serve them.

One or two per path keep the fake honest against the real conditional writes: redemption (and its
replay), rotation (and reuse), a withdrawal racing a redemption and a code, the
pre-epoch rows, consent as an atomic union, the replay marker and its expiry, inquiry, revoke; and the
whole port contract asked of the store directly (test_store_contract.py).
"""
# ruff: noqa: F401 - imported to be collected here, with this folder's (moto) fixtures

from test_apply_token import (
    test_auth_code_replay_marks_the_grant_revoked,
    test_auth_code_revoked_by_an_older_withdrawal_is_invalid,
    test_auth_code_withdrawn_during_redemption_is_invalid,
    test_expired_auth_code,
    test_refresh_rotates_the_pair,
    test_refresh_token_reuse_marks_the_grant_revoked,
)
from test_common_codes import (  # with the fixtures they take
    access_token,
    test_process_fail_when_the_grants_user_is_gone,
    test_revoke_is_idempotent,
    tokens,
)
from test_request_security import test_an_expired_marker_counts_as_absent, test_markers_hold_a_digest_for_twice_the_skew
from test_store_contract import (
    test_a_code_under_the_new_epoch_clears_the_withdrawal_marker,
    test_a_code_written_after_a_withdrawal_it_did_not_see_is_not_written,
    test_a_redemption_after_a_withdrawal_is_refused_as_withdrawn_and_writes_nothing,
    test_a_request_is_received_once_until_its_marker_expires,
    test_a_retry_inside_the_window_replaces_the_pair_and_keeps_the_first_redemption_time,
    test_a_rotation_after_a_withdrawal_is_refused_as_withdrawn,
    test_a_second_redemption_is_refused_with_what_storage_holds,
    test_a_used_refresh_token_is_refused_as_reused_outside_the_window,
    test_an_expired_code_is_refused_although_its_row_is_still_there,
    test_consents_add_up,
    test_revoking_names_the_pair_it_ends,
)
from test_wallet_api import (
    test_consent_is_stored_and_remembered_per_user_and_app,
    test_list_shows_the_consented_apps_with_their_scopes,
    test_revoke_authorization_without_consent_writes_only_the_marker,
)
from test_withdrawal import (
    test_a_consent_withdrawn_before_its_code_is_written_is_given_again_under_the_new_epoch,
    test_a_refresh_raced_by_a_withdrawal_is_refused_and_writes_nothing,
    test_concurrent_consents_are_both_kept,
    test_get_auth_code_withdrawn_between_its_read_and_its_write_issues_no_code,
    test_rows_written_before_epochs_count_as_epoch_zero,
)

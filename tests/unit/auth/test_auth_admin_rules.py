"""The rules of staff managing accounts: whom they may act on, which roles they may hand out,
what a search means, and when an account may sign in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agora.auth.domain import (
    ACCOUNT_LOCKED,
    MAX_QUERY_WORDS,
    UserRecord,
    UserStatus,
    audit_target,
    ensure_may_grant,
    ensure_may_manage,
    ensure_may_sign_in,
    user_filter,
    validate_lock_reason,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument, PermissionDenied

NOW = datetime(2026, 12, 3, tzinfo=UTC)
USER = UserRecord(
    id="u1",
    email="ada@example.com",
    name="Ada",
    password_hash=None,
    email_verified=True,
    totp_secret=None,
    totp_pending_secret=None,
    totp_last_step=None,
    created_at=NOW,
    roles=("customer",),
)


def test_staff_manage_an_account_whose_permissions_they_all_hold() -> None:
    ensure_may_manage("staff", {"a", "b", "c"}, "u1", {"a", "b"})


def test_an_account_with_a_permission_the_staff_member_lacks_is_refused() -> None:
    with pytest.raises(PermissionDenied, match="x:admin"):
        ensure_may_manage("staff", {"a"}, "u1", {"a", "x:admin"})


def test_staff_may_not_act_on_their_own_account() -> None:
    with pytest.raises(FailedPrecondition):
        ensure_may_manage("u1", {"a", "b"}, "u1", {"a"})


def test_a_role_is_handed_out_only_by_a_holder_of_all_its_permissions() -> None:
    ensure_may_grant({"a", "b"}, {"b"})
    with pytest.raises(PermissionDenied):
        ensure_may_grant({"a"}, {"a", "b"})


def test_a_search_is_lowercased_deduplicated_and_bounded() -> None:
    found = user_filter(" Ada@", "Desk desk  LOVELACE", " support ", UserStatus.LOCKED)
    assert (found.email_prefix, found.words, found.role, found.status) == (
        "ada@",
        ("desk", "lovelace"),
        "support",
        UserStatus.LOCKED,
    )
    with pytest.raises(InvalidArgument):
        user_filter("", " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS + 1)), "", None)


def test_a_locked_account_may_not_sign_in() -> None:
    ensure_may_sign_in(USER)
    with pytest.raises(FailedPrecondition) as refused:
        ensure_may_sign_in(replace(USER, locked_at=NOW))
    assert refused.value.reason == ACCOUNT_LOCKED


def test_an_audit_target_id_needs_its_type() -> None:
    assert audit_target(" user ", "u1") == ("user", "u1")
    with pytest.raises(InvalidArgument):
        audit_target("", "u1")


def test_a_lock_reason_is_collapsed_and_bounded() -> None:
    assert validate_lock_reason("  card \n fraud ") == "card fraud"
    with pytest.raises(InvalidArgument):
        validate_lock_reason("x" * 501)
    with pytest.raises(InvalidArgument):
        validate_lock_reason("nul\x00")

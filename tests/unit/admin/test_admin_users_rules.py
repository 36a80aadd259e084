"""The four-eyes rule of 2FA resets: who may approve, until when, and what a retry answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agora.admin.users import (
    TotpResetStatus,
    apply_directly,
    approve,
    check_time_range,
    request_totp_reset,
    resets_directly,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
TTL_S = 3600


def test_a_request_waits_until_it_expires() -> None:
    reset = request_totp_reset(
        reset_id="r1",
        user_id="u1",
        reason=" lost \n phone ",
        requested_by="alice",
        now=NOW,
        ttl_s=TTL_S,
    )
    assert reset.reason == "lost phone"
    assert reset.status(NOW + timedelta(seconds=TTL_S - 1)) is TotpResetStatus.PENDING
    assert reset.status(NOW + timedelta(seconds=TTL_S)) is TotpResetStatus.EXPIRED


def test_a_request_needs_a_reason() -> None:
    with pytest.raises(InvalidArgument):
        request_totp_reset(
            reset_id="r1", user_id="u1", reason="  ", requested_by="a", now=NOW, ttl_s=TTL_S
        )


def test_a_second_staff_member_approves_in_time() -> None:
    reset = request_totp_reset(
        reset_id="r1", user_id="u1", reason="lost", requested_by="alice", now=NOW, ttl_s=TTL_S
    )
    approved = approve(reset, "bob", NOW + timedelta(minutes=5))
    assert (approved.status(NOW), approved.approved_by) == (TotpResetStatus.APPLIED, "bob")
    assert approve(approved, "bob", NOW + timedelta(days=2)) is approved  # a retry
    with pytest.raises(FailedPrecondition, match="already"):
        approve(approved, "carol", NOW)


def test_the_requester_cannot_approve_their_own_and_nobody_an_expired_one() -> None:
    reset = request_totp_reset(
        reset_id="r1", user_id="u1", reason="lost", requested_by="alice", now=NOW, ttl_s=TTL_S
    )
    with pytest.raises(FailedPrecondition, match="your own"):
        approve(reset, "alice", NOW)
    with pytest.raises(FailedPrecondition, match="expired"):
        approve(reset, "bob", NOW + timedelta(seconds=TTL_S))


def test_only_an_administrator_resets_directly() -> None:
    assert resets_directly({"admin"})
    assert not resets_directly({"staff", "support"})
    reset = request_totp_reset(
        reset_id="r1", user_id="u1", reason="lost", requested_by="root", now=NOW, ttl_s=TTL_S
    )
    done = apply_directly(reset, NOW)
    assert (done.status(NOW), done.approved_by) == (TotpResetStatus.APPLIED, "root")


def test_a_reversed_or_empty_time_range_is_refused() -> None:
    check_time_range(NOW, NOW + timedelta(seconds=1))
    check_time_range(None, NOW)
    for after, before in ((NOW, NOW), (NOW + timedelta(seconds=1), NOW)):
        with pytest.raises(InvalidArgument):
            check_time_range(after, before)

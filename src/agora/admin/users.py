"""The rules of user management that admin decides itself: a 2FA reset needs a second staff
member (four eyes) unless an administrator asks, and a request not approved in time expires.
Everything else about accounts is auth's to decide. Pure: no I/O, no transport.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from agora.platform.errors import FailedPrecondition, InvalidArgument
from agora.platform.kernel.checks import require_text

# The built-in role whose holders reset a second factor without a second approval.
ADMIN_ROLE = "admin"
MAX_REASON = 500  # agrees with the proto's rule on `reason`


class TotpResetStatus(Enum):
    PENDING = "pending"
    APPLIED = "applied"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TotpReset:
    """A request to remove an account's TOTP, and its approval once given."""

    id: str
    user_id: str
    reason: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    approved_by: str = ""
    applied_at: datetime | None = None

    def status(self, now: datetime) -> TotpResetStatus:
        if self.applied_at is not None:
            return TotpResetStatus.APPLIED
        if now >= self.expires_at:
            return TotpResetStatus.EXPIRED
        return TotpResetStatus.PENDING


def resets_directly(caller_roles: Collection[str]) -> bool:
    """An administrator's reset needs nobody else's approval."""
    return ADMIN_ROLE in caller_roles


def request_totp_reset(
    *, reset_id: str, user_id: str, reason: str, requested_by: str, now: datetime, ttl_s: int
) -> TotpReset:
    """A pending reset, valid for `ttl_s`; the reason is what the approver judges by."""
    reason = require_text(" ".join(reason.split()), "reason", max_len=MAX_REASON)
    return TotpReset(
        id=reset_id,
        user_id=user_id,
        reason=reason,
        requested_by=requested_by,
        requested_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
    )


def apply_directly(reset: TotpReset, now: datetime) -> TotpReset:
    """An administrator's own request, applied as it is made (they are their own approver)."""
    return replace(reset, approved_by=reset.requested_by, applied_at=now)


def approve(reset: TotpReset, approver: str, now: datetime) -> TotpReset:
    """The reset approved by `approver` (a second staff member, in time). Approving again what
    the same person already approved answers the same; anything else is FAILED_PRECONDITION."""
    match reset.status(now):
        case TotpResetStatus.APPLIED if reset.approved_by == approver:
            return reset
        case TotpResetStatus.APPLIED:
            raise FailedPrecondition("this reset was already approved and applied")
        case TotpResetStatus.EXPIRED:
            raise FailedPrecondition("this reset request has expired: ask for a new one")
        case TotpResetStatus.PENDING if approver == reset.requested_by:
            raise FailedPrecondition(
                "a reset needs a second staff member: you cannot approve your own request"
            )
        case TotpResetStatus.PENDING:
            return replace(reset, approved_by=approver, applied_at=now)


def check_time_range(after: datetime | None, before: datetime | None) -> None:
    """A search's time range must not be reversed (or empty)."""
    if after is not None and before is not None and after >= before:
        raise InvalidArgument.for_field("occurredBefore", "must be after occurredAfter")

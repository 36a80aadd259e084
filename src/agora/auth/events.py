"""What auth announces, always through the outbox of the transaction that made the change:
its events on the AUTH stream (`auth.user.*`) and its audit entries on the AUDIT stream
(`audit.auth.<action>`).

Audit entries go through `agora.platform.audit`, naming their actor explicitly: a login's actor
is the account that logs in, not the anonymous caller of the RPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.auth.v1 import events_pb2 as ev
from agora.auth.domain import UserRecord
from agora.platform.audit import AuditActor, Outcome, record_audit
from agora.platform.bus.outbox import Producer
from agora.platform.rpc.timestamps import timestamp
from agora.platform.security.origin import Origin

PRODUCER = "auth"
SERVICE = "auth"

USER_REGISTERED = "auth.user.registered"
EMAIL_VERIFIED = "auth.user.email_verified"
USER_ROLES_CHANGED = "auth.user.roles_changed"

SUCCESS: Outcome = "success"
DENIED: Outcome = "denied"
FAILED: Outcome = "failed"


# Puts an event in the outbox, in the transaction of the change it announces.
record = Producer(PRODUCER).record


async def user_registered(session: AsyncSession, user: UserRecord, *, source: str) -> None:
    """Announce a new account (`source`: how it was made: password, oidc:<provider>, cli)."""
    await record(session, USER_REGISTERED, registration(user, source), aggregate_id=user.id)


def registration(user: UserRecord, source: str) -> ev.UserRegistered:
    """The event announcing `user`'s new account."""
    return ev.UserRegistered(
        user_id=user.id,
        email=user.email,
        name=user.name,
        registered_at=timestamp(user.created_at),
        source=source,
    )


async def email_verified(session: AsyncSession, user: UserRecord) -> None:
    await record(session, EMAIL_VERIFIED, verification(user), aggregate_id=user.id)


def verification(user: UserRecord) -> ev.EmailVerified:
    """The event announcing that `user`'s email address is verified."""
    return ev.EmailVerified(user_id=user.id, email=user.email)


async def roles_changed(session: AsyncSession, user: UserRecord) -> None:
    """Announce the account's roles after a grant or a withdrawal."""
    changed = ev.UserRolesChanged(user_id=user.id, roles=list(user.roles))
    await record(session, USER_ROLES_CHANGED, changed, aggregate_id=user.id)


Actor = AuditActor

ANONYMOUS_ACTOR = Actor("", "anonymous")
CLI_ACTOR = Actor("cli", "operator")


@dataclass(frozen=True)
class Target:
    """What an audited action acted on (`Target()`: nothing in particular)."""

    type: str = ""
    id: str = ""

    @classmethod
    def user(cls, user_id: str) -> Target:
        return cls("user", user_id)

    @classmethod
    def session(cls, session_id: str) -> Target:
        return cls("session", session_id)


async def audit(
    session: AsyncSession,
    action: str,
    actor: Actor,
    origin: Origin,
    target: Target = Target(),
    *,
    outcome: Outcome = SUCCESS,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    detail: str = "",
) -> None:
    """Record an `agora.events.v1.AuditEntry` on `audit.auth.<action>` in the outbox: the one
    way auth audits, one call per audited action."""
    await record_audit(
        session,
        service=SERVICE,
        action=action,
        target_type=target.type,
        target_id=target.id,
        outcome=outcome,
        before=before,
        after=after,
        detail=detail,
        actor=actor,
        origin=origin,
    )

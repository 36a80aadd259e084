"""What auth announces, always through the outbox of the transaction that made the change:
its events on the AUTH stream (`auth.user.*`) and its audit entries on the AUDIT stream
(`audit.auth.<action>`).

Audit entries are built as `agora.platform.audit` builds them, but name their actor explicitly:
a login's actor is the account that logs in, not the anonymous caller of the RPC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora.platform.audit import Outcome, audit_subject, snapshot_json
from agora.platform.bus.outbox import record_event
from agora.platform.bus.streams import AUDIT_SUBJECT_PREFIX
from agora.platform.logging import current_request_id
from agora.platform.security.origin import Origin
from agora.platform.security.principal import Principal

PRODUCER = "auth"
SERVICE = "auth"

USER_REGISTERED = "auth.user.registered"
EMAIL_VERIFIED = "auth.user.email_verified"
USER_ROLES_CHANGED = "auth.user.roles_changed"

SUCCESS: Outcome = "success"
DENIED: Outcome = "denied"
FAILED: Outcome = "failed"


async def record(session: AsyncSession, subject: str, event: Message, *, aggregate_id: str) -> None:
    """Put `event` in the outbox, in the transaction of the change it announces."""
    await record_event(
        session, producer=PRODUCER, subject=subject, event=event, aggregate_id=aggregate_id
    )


@dataclass(frozen=True)
class Actor:
    """Who an audit entry names: the principal of the call, or the account a login is for."""

    subject: str
    kind: str
    session_id: str = ""

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.subject, principal.kind, principal.session_id)

    @classmethod
    def user(cls, user_id: str, session_id: str = "") -> Actor:
        return cls(user_id, "user", session_id)


ANONYMOUS_ACTOR = Actor("", "anonymous")
CLI_ACTOR = Actor("cli", "operator")


async def audit(
    session: AsyncSession,
    action: str,
    *,
    actor: Actor,
    origin: Origin,
    outcome: Outcome = SUCCESS,
    target_type: str = "",
    target_id: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    detail: str = "",
) -> None:
    """Record an `agora.events.v1.AuditEntry` on `audit.auth.<action>` in the outbox."""
    entry = AuditEntry(
        action=f"{SERVICE}.{action}",
        actor_subject=actor.subject,
        actor_kind=actor.kind,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        client_ip=origin.client_ip,
        user_agent=origin.user_agent,
        before_json=snapshot_json(before),
        after_json=snapshot_json(after),
        detail=detail,
        service=SERVICE,
        session_id=actor.session_id,
        request_id=current_request_id() or "",
    )
    entry.occurred_at.FromDatetime(datetime.now(UTC))
    await record_event(
        session,
        producer=AUDIT_SUBJECT_PREFIX,
        subject=audit_subject(SERVICE, action),
        event=entry,
        aggregate_id=f"{target_type}:{target_id}",
    )

"""Background work of the auth service: keeping every service's audit entries (a durable
consumer of the AUDIT stream) and forgetting expired credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.auth import store
from agora.auth.keys import purge_expired_keys
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode
from agora.platform.bus.streams import AUDIT_STREAM, AUDIT_SUBJECT_PREFIX
from agora.platform.db import session_factory, transaction
from agora.platform.jobs import run_every

log = structlog.get_logger("agora.auth")

AUDIT_SUBJECTS = f"{AUDIT_SUBJECT_PREFIX}.>"
AUDIT_LOG_CONSUMER = "auth-audit-log"
HOUSEKEEPING_INTERVAL_S = 3600.0
# Spent or expired secrets are kept a while for investigations, then deleted.
KEEP_SPENT = timedelta(days=7)


class AuditLog:
    """Appends each audit entry to `audit_log` (once per event, whatever is redelivered)."""

    name = AUDIT_LOG_CONSUMER
    filter_subjects = [AUDIT_SUBJECTS]

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        entry = decode(envelope, AuditEntry)
        occurred = entry.occurred_at if entry.HasField("occurred_at") else envelope.occurred_at
        service = entry.service or envelope.subject.split(".")[1]
        await store.append_audit_entry(
            session,
            store.AuditRecord(
                event_id=envelope.event_id,
                service=service,
                action=entry.action,
                actor_subject=entry.actor_subject,
                actor_kind=entry.actor_kind,
                target_type=entry.target_type,
                target_id=entry.target_id,
                outcome=entry.outcome,
                client_ip=entry.client_ip,
                user_agent=entry.user_agent,
                before_json=entry.before_json,
                after_json=entry.after_json,
                detail=entry.detail,
                occurred_at=occurred.ToDatetime(tzinfo=UTC),
            ),
        )


def audit_log_consumer(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    *,
    durable: str = AUDIT_LOG_CONSUMER,
) -> EventConsumer:
    """The durable consumer feeding `AuditLog` from the AUDIT stream."""
    handler = AuditLog()
    return EventConsumer(
        js,
        sessions,
        stream=AUDIT_STREAM,
        durable=durable,
        filter_subjects=handler.filter_subjects,
        handler=handler.handle,
    )


_PURGES = (
    "DELETE FROM one_time_tokens WHERE expires_at < :before",
    "DELETE FROM mfa_challenges WHERE expires_at < :before",
    "DELETE FROM oidc_logins WHERE expires_at < :before",
    # Used tokens stay until they expire: presenting one again must still revoke its family.
    "DELETE FROM refresh_tokens WHERE expires_at < :before",
    "DELETE FROM login_failures WHERE last_failure_at < :before",
)


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete credentials that expired over a week ago, and keys nothing can need."""
    before = now - KEEP_SPENT
    removed = 0
    for statement in _PURGES:
        result = await session.execute(sa.text(statement), {"before": before})
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed + await purge_expired_keys(session, now)


class Housekeeping:
    """Runs `purge_expired` every hour."""

    def __init__(self, engine: AsyncEngine, interval_s: float = HOUSEKEEPING_INTERVAL_S) -> None:
        self._sessions = session_factory(engine)
        self._interval_s = interval_s

    async def purge(self) -> int:
        async with transaction(self._sessions) as session:
            removed = await purge_expired(session, datetime.now(UTC))
        if removed:
            log.info("auth_purged", rows=removed)
        return removed

    async def run(self) -> None:
        await run_every(self._interval_s, self.purge, name="auth_housekeeping")

"""The auth service's event handler: it keeps every service's audit entries, a durable consumer
of the AUDIT stream appending each to `audit_log`."""

from __future__ import annotations

from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora._proto.agora.events.v1.audit_pb2 import AuditEntry
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.auth import store
from agora.auth.domain import AUDIT_ENTRY_FIELDS, AuditRecord
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode
from agora.platform.bus.streams import AUDIT_STREAM, AUDIT_SUBJECT_PREFIX
from agora.platform.rpc.timestamps import datetime_of

AUDIT_SUBJECTS = f"{AUDIT_SUBJECT_PREFIX}.>"
AUDIT_LOG_CONSUMER = "auth-audit-log"


class AuditLog:
    """Appends each audit entry to `audit_log` (once per event, whatever is redelivered)."""

    name = AUDIT_LOG_CONSUMER
    filter_subjects = [AUDIT_SUBJECTS]

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        entry = decode(envelope, AuditEntry)
        occurred = entry.occurred_at if entry.HasField("occurred_at") else envelope.occurred_at
        await store.append_audit_entry(
            session,
            AuditRecord(
                event_id=envelope.event_id,
                service=entry.service or envelope.subject.split(".")[1],
                occurred_at=datetime_of(occurred),
                **{name: getattr(entry, name) for name in AUDIT_ENTRY_FIELDS},
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

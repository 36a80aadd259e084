"""The transactional outbox: an event is recorded in the same transaction as its state change.

Either both commit or neither does, so an event is never lost nor announced for a change that
rolled back. The relay (`agora.platform.bus.relay`) later publishes the row to JetStream.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from google.protobuf.message import Message
from sqlalchemy import LargeBinary, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.envelope import new_envelope

CHANNEL_PREFIX = "agora_outbox_"

# One round trip: the row, plus a notification that PostgreSQL delivers only at commit (and folds
# into one per transaction), so a relay LISTENing on the schema's channel wakes up at once.
_RECORD = text(
    """
    WITH recorded AS (
        INSERT INTO outbox (event_id, subject, payload, headers)
        VALUES (:event_id, :subject, :payload, :headers)
        RETURNING seq
    )
    SELECT pg_notify(:channel_prefix || current_schema(), '') FROM recorded
    """
).bindparams(
    bindparam("event_id", type_=UUID(as_uuid=True)),
    bindparam("payload", type_=LargeBinary),
    bindparam("headers", type_=JSONB),
)


def outbox_channel(schema: str) -> str:
    """The PostgreSQL NOTIFY channel that announces new outbox rows in `schema`."""
    return f"{CHANNEL_PREFIX}{schema}"


async def record_event(
    session: AsyncSession,
    *,
    producer: str,
    subject: str,
    event: Message,
    aggregate_id: str,
    aggregate_version: int = 0,
    headers: Mapping[str, str] | None = None,
) -> EventEnvelope:
    """Record `event` in the outbox inside the caller's transaction; return its envelope.

    `session` must be in the transaction that makes the state change, with the service's schema
    first on its search_path. `headers` (e.g. `traceparent`) travel as NATS message headers.
    """
    envelope = new_envelope(
        producer=producer,
        subject=subject,
        event=event,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
    )
    await session.execute(
        _RECORD,
        {
            "event_id": uuid.UUID(envelope.event_id),
            "subject": subject,
            "payload": envelope.SerializeToString(),
            "headers": dict(headers or {}),
            "channel_prefix": CHANNEL_PREFIX,
        },
    )
    return envelope

"""Several events of one change into the outbox in one statement (`outbox.record_event` does one).

For handlers on a measured hot path (payments' chain transfers: a payment received and the status
it moved the invoice to). The events are recorded in the order given, so the relay publishes
them in that order, and the commit notifies the relay once, as `record_event` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.outbox import CHANNEL_PREFIX
from agora.platform.db import driver_connection

# Raw (asyncpg's prepared-statement cache): a hot path. Rows keep the order of the arrays.
_RECORD_ALL = f"""
    WITH recorded AS (
        INSERT INTO outbox (event_id, subject, payload, headers)
        SELECT e.event_id, e.subject, e.payload, '{{}}'::jsonb
        FROM unnest($1::uuid[], $2::text[], $3::bytea[])
            WITH ORDINALITY AS e (event_id, subject, payload, n)
        ORDER BY e.n
        RETURNING seq
    )
    SELECT pg_notify('{CHANNEL_PREFIX}' || current_schema(), '') FROM recorded LIMIT 1
"""


@dataclass(frozen=True)
class NewEvent:
    """One event to record: its subject, message and the aggregate (at its version) it is about."""

    subject: str
    event: Message
    aggregate_id: str
    aggregate_version: int = 0


async def record_events(
    session: AsyncSession, *, producer: str, events: Sequence[NewEvent]
) -> list[EventEnvelope]:
    """`outbox.record_event` for each of `events` (without headers), in one round trip."""
    envelopes = [
        new_envelope(
            producer=producer,
            subject=e.subject,
            event=e.event,
            aggregate_id=e.aggregate_id,
            aggregate_version=e.aggregate_version,
        )
        for e in events
    ]
    if envelopes:
        raw = await driver_connection(session)
        await raw.execute(
            _RECORD_ALL,
            [uuid.UUID(envelope.event_id) for envelope in envelopes],
            [envelope.subject for envelope in envelopes],
            [envelope.SerializeToString() for envelope in envelopes],
        )
    return envelopes

"""The transactional outbox: an event is recorded in the same transaction as its state change.

Either both commit or neither does, so an event is never lost nor announced for a change that
rolled back. The relay (`agora.platform.bus.relay`) later publishes the row to JetStream.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.bus.envelope import new_envelope
from agora.platform.db import driver_connection

CHANNEL_PREFIX = "agora_outbox_"

# One round trip: the row, plus a notification that PostgreSQL delivers only at commit (and folds
# into one per transaction), so a relay LISTENing on the schema's channel wakes up at once.
_RECORD = f"""
    WITH recorded AS (
        INSERT INTO outbox (event_id, subject, payload, headers) VALUES ($1, $2, $3, $4)
        RETURNING seq
    )
    SELECT pg_notify('{CHANNEL_PREFIX}' || current_schema(), '') FROM recorded
"""
# Many rows at once, in the order of the arrays (a hot path: asyncpg's statement cache).
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
    raw = await driver_connection(session)
    await raw.execute(
        _RECORD,
        uuid.UUID(envelope.event_id),
        subject,
        envelope.SerializeToString(),
        json.dumps(dict(headers or {})),
    )
    return envelope


@dataclass(frozen=True)
class Pending:
    """One event of a batch for `record_events`."""

    subject: str
    event: Message
    aggregate_id: str
    aggregate_version: int = 0


async def record_events(
    session: AsyncSession, *, producer: str, events: Sequence[Pending]
) -> list[EventEnvelope]:
    """`record_event` for many events (without headers) in one statement, in order: for a
    change that announces thousands at once (a block range of transfers) and for hot handlers
    (a payment and the invoice status it caused). The commit notifies the relay once."""
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


@dataclass(frozen=True)
class Producer:
    """A service as the producer of its events: `record` puts one in the outbox, in the
    transaction of the change it announces."""

    name: str

    async def record(
        self,
        session: AsyncSession,
        subject: str,
        event: Message,
        *,
        aggregate_id: str,
        version: int = 0,
    ) -> None:
        await record_event(
            session,
            producer=self.name,
            subject=subject,
            event=event,
            aggregate_id=aggregate_id,
            aggregate_version=version,
        )

    async def record_many(self, session: AsyncSession, events: Sequence[Pending]) -> None:
        await record_events(session, producer=self.name, events=events)

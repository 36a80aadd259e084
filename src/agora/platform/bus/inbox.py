"""The inbox: which events a durable consumer has handled, so a redelivery changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import MetaData, delete
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus.schema import inbox_table
from agora.platform.db import driver_connection

_INBOX = inbox_table(MetaData())
# Raw (asyncpg's prepared-statement cache): every delivered event runs it.
_REMEMBER = """
    INSERT INTO inbox (consumer, event_id, stream_seq, stored_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id
"""
# Raw, as `_REMEMBER`: a batched consumer records its whole batch in one statement.
_REMEMBER_ALL = """
    INSERT INTO inbox (consumer, event_id, stream_seq, stored_at)
    SELECT $1, e.event_id, e.stream_seq, e.stored_at
    FROM unnest($2::uuid[], $3::bigint[], $4::timestamptz[]) AS e (event_id, stream_seq, stored_at)
    ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id::text
"""
_FORGET = "DELETE FROM inbox WHERE consumer = $1 AND event_id = $2"


async def remember_event(
    session: AsyncSession,
    *,
    consumer: str,
    event_id: str,
    stream_seq: int | None = None,
    stored_at: datetime | None = None,
) -> bool:
    """Record that `consumer` handles `event_id` in this transaction; False if it already did.

    A concurrent delivery of the same event blocks on the primary key until the first
    transaction ends, then sees the conflict: one handler runs, the other skips.
    """
    raw = await driver_connection(session)
    inserted = await raw.fetchval(_REMEMBER, consumer, uuid.UUID(event_id), stream_seq, stored_at)
    return inserted is not None


async def remember_events(
    session: AsyncSession,
    *,
    consumer: str,
    events: Sequence[tuple[str, int | None, datetime | None]],
) -> set[str]:
    """`remember_event` for many `(event_id, stream_seq, stored_at)` in one statement: the ids
    recorded now (an id already in the inbox, or repeated in `events`, is recorded once)."""
    raw = await driver_connection(session)
    rows = await raw.fetch(
        _REMEMBER_ALL,
        consumer,
        [event_id for event_id, _, _ in events],  # asyncpg parses the text: cheaper than UUID()
        [stream_seq for _, stream_seq, _ in events],
        [stored_at for _, _, stored_at in events],
    )
    return {row[0] for row in rows}


async def forget_event(session: AsyncSession, *, consumer: str, event_id: str) -> None:
    """Undo `remember_event(s)` for `event_id` in this transaction (its handler failed)."""
    raw = await driver_connection(session)
    await raw.execute(_FORGET, consumer, uuid.UUID(event_id))


async def forget_processed(
    session: AsyncSession,
    consumer: str,
    *,
    from_seq: int | None = None,
    since: datetime | None = None,
) -> int:
    """Forget what `consumer` handled (from stream sequence `from_seq`, or stored `since`), so a
    replay runs the handler again for those events; with neither, forget everything."""
    statement = delete(_INBOX).where(_INBOX.c.consumer == consumer)
    if from_seq is not None:
        statement = statement.where(_INBOX.c.stream_seq >= from_seq)
    if since is not None:
        statement = statement.where(_INBOX.c.stored_at >= since)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]

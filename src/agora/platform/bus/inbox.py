"""The inbox: which events a durable consumer has handled, so a redelivery changes nothing."""

from __future__ import annotations

import uuid
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

"""Crash: a relay killed between commit and the end of publishing loses and doubles nothing.

The relay runs in a subprocess that hangs at a chosen point inside its batch transaction
(before publishing, or after JetStream acked but before the rows are deleted) and is SIGKILLed
there. A fresh relay then finishes the job, and a consumer must see the event exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator

import pytest
from bus_support import PAUSED, SCRIPT, BusTestbed, bus_testbed, consume_until, eventually
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus import EventEnvelope


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        yield testbed


async def _kill_relay_at(bed: BusTestbed, pause_at: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        bed.database_url,
        bed.nats_url,
        bed.schema,
        pause_at,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line.decode().startswith(PAUSED), line
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize(
    ("pause_at", "in_stream_after_crash", "republished_as_duplicate"),
    [("before_publish", 0, 0), ("after_ack", 1, 1)],
)
async def test_relay_killed_mid_batch_delivers_the_event_exactly_once_after_restart(
    bed: BusTestbed, pause_at: str, in_stream_after_crash: int, republished_as_duplicate: int
) -> None:
    envelope = await bed.record(aggregate_id="order-1")

    await _kill_relay_at(bed, pause_at)

    assert await bed.stream_messages() == in_stream_after_crash
    assert await bed.outbox_rows() == 1  # the killed transaction never deleted it
    # PostgreSQL rolls the killed relay's transaction back once it sees the connection gone.
    await eventually(lambda: _unlocked_rows_are(bed, 1))
    restarted = bed.relay()
    assert await restarted.publish_all_pending() == 1
    assert restarted.stats.duplicates == republished_as_duplicate
    assert await bed.stream_messages() == 1
    assert await bed.outbox_rows() == 0

    handled: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        handled.append(event.event_id)

    consumer = bed.consumer("crash", handler)
    await consume_until(consumer, lambda: bool(handled))
    await consumer.consume_once(timeout_s=0.3)  # nothing else may arrive

    assert handled == [envelope.event_id]
    assert await bed.inbox_rows(consumer.durable) == 1


async def _unlocked_rows_are(bed: BusTestbed, rows: int) -> bool:
    return await bed.unlocked_outbox_rows() == rows

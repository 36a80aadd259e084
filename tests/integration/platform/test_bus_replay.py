"""Replay: a projection dropped and replayed from the stream equals the original."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from bus_support import BusTestbed, bus_testbed
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus import (
    EventConsumer,
    EventEnvelope,
    RedeliveryBackoff,
    rebuild,
    replay_consumer,
)
from agora.platform.errors import NotFound

AGGREGATES = ["p-1", "p-2", "p-3", "p-4"]


class EventsPerAggregate:
    """A read model: how many events each aggregate has had."""

    def __init__(self, name: str, filter_subjects: list[str]) -> None:
        self.name = name
        self.filter_subjects = filter_subjects

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        await session.execute(
            text(
                "INSERT INTO events_per_aggregate (aggregate_id, events) VALUES (:id, 1) "
                "ON CONFLICT (aggregate_id) DO UPDATE SET events = events_per_aggregate.events + 1"
            ),
            {"id": envelope.aggregate_id},
        )

    async def reset(self, session: AsyncSession) -> None:
        await session.execute(text("TRUNCATE events_per_aggregate"))


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        async with testbed.engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE TABLE events_per_aggregate "
                    "(aggregate_id text PRIMARY KEY, events int NOT NULL)"
                )
            )
        yield testbed


def _projection_consumer(bed: BusTestbed) -> tuple[EventsPerAggregate, EventConsumer]:
    projection = EventsPerAggregate(f"{bed.producer}-counts", [f"{bed.producer}.>"])
    bed.durables.append(projection.name)
    consumer = EventConsumer(
        bed.js,
        bed.sessions,
        stream=bed.stream,
        durable=projection.name,
        filter_subjects=projection.filter_subjects,
        handler=projection.handle,
        backoff=RedeliveryBackoff(initial_s=0.05, max_s=0.1),
    )
    return projection, consumer


async def _record_events(bed: BusTestbed, count: int) -> None:
    for n in range(count):
        await bed.record(aggregate_id=AGGREGATES[n * n % len(AGGREGATES)], value=str(n))
    await bed.relay().publish_all_pending()


async def _read_model(bed: BusTestbed) -> dict[str, int]:
    async with bed.sessions() as session:
        rows = await session.execute(text("SELECT aggregate_id, events FROM events_per_aggregate"))
        return {row.aggregate_id: row.events for row in rows}


async def _consume_until_counted(bed: BusTestbed, consumer: EventConsumer, total: int) -> None:
    """Consume until the read model counts `total` events, then check no more arrive."""
    deadline = time.monotonic() + 10
    while sum((await _read_model(bed)).values()) < total:
        assert time.monotonic() < deadline, "the projection did not catch up"
        await consumer.consume_once(timeout_s=0.2)
    await consumer.consume_once(timeout_s=0.3)
    assert sum((await _read_model(bed)).values()) == total


async def test_projection_reset_and_replayed_from_sequence_one_equals_the_original(
    bed: BusTestbed,
) -> None:
    await _record_events(bed, 30)
    projection, consumer = _projection_consumer(bed)
    await _consume_until_counted(bed, consumer, 30)
    original = await _read_model(bed)
    assert len(original) > 1

    await rebuild(projection, bed.sessions, bed.js, stream=bed.stream, from_seq=1)
    assert await _read_model(bed) == {}
    assert await bed.inbox_rows(projection.name) == 0

    await _consume_until_counted(bed, consumer, 30)
    assert await _read_model(bed) == original
    assert await bed.inbox_rows(projection.name) == 30


async def test_replay_since_a_time_handles_only_the_later_events_again(bed: BusTestbed) -> None:
    await _record_events(bed, 6)
    await asyncio.sleep(0.05)
    between = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await _record_events(bed, 4)
    projection, consumer = _projection_consumer(bed)
    await _consume_until_counted(bed, consumer, 10)

    await replay_consumer(
        bed.nats_url,
        bed.stream,
        projection.name,
        since=between,
        database_url=bed.database_url,
        schema=bed.schema,
    )

    # Without a reset, the four later events count twice: proof they alone were replayed.
    await _consume_until_counted(bed, consumer, 14)
    assert await bed.inbox_rows(projection.name) == 10


async def test_replay_without_forgetting_the_inbox_changes_nothing(bed: BusTestbed) -> None:
    await _record_events(bed, 5)
    projection, consumer = _projection_consumer(bed)
    await _consume_until_counted(bed, consumer, 5)
    before = await _read_model(bed)

    info = await replay_consumer(bed.nats_url, bed.stream, projection.name, from_seq=1)

    assert info.num_pending == 5
    await _consume_until_counted(bed, consumer, 5)
    assert await _read_model(bed) == before
    after = await bed.js.consumer_info(bed.stream, projection.name)
    assert (after.num_pending, after.num_ack_pending) == (0, 0)


async def test_replaying_an_unknown_consumer_is_not_found(bed: BusTestbed) -> None:
    with pytest.raises(NotFound, match="nobody"):
        await replay_consumer(bed.nats_url, bed.stream, "nobody", from_seq=1)

"""PostgreSQL going away while a consumer handles an event: retried, never dead-lettered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bus_support import BusTestbed, bus_testbed, consume_until
from google.protobuf.wrappers_pb2 import StringValue
from postgres_support import RestartablePostgres, restartable_postgres
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus import DEAD_LETTER_STREAM, EventEnvelope, decode
from agora.platform.db import driver_connection, transaction


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[RestartablePostgres]:
    yield from restartable_postgres(tmp_path)


async def fill_pool(bed: BusTestbed) -> None:
    async def touch() -> None:
        async with transaction(bed.sessions) as session:
            await (await driver_connection(session)).execute("SELECT pg_sleep(0.05)")

    await asyncio.gather(*(touch() for _ in range(4)))


@pytest.fixture
async def bed(postgres: RestartablePostgres, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(postgres.database_url, nats_url) as testbed:
        async with testbed.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (event_id text, body text)"))
        yield testbed


async def test_an_event_arriving_while_postgresql_restarts_is_handled_once_it_returns(
    bed: BusTestbed, postgres: RestartablePostgres
) -> None:
    envelope = await bed.record(value="invoice settled")
    await bed.relay().publish_all_pending()
    await fill_pool(bed)  # pooled connections, all dead once PostgreSQL stops
    handled: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        handled.append(event.event_id)
        await (await driver_connection(session)).execute(
            "INSERT INTO notes VALUES ($1, $2)", event.event_id, decode(event, StringValue).value
        )

    # One delivery allowed: any failure counted against the message would dead-letter it.
    consumer = bed.consumer("settled", handler, max_deliver=1)
    await asyncio.to_thread(postgres.stop)
    for _ in range(5):  # deliveries while PostgreSQL is down
        await consumer.consume_once(timeout_s=0.2)
    await asyncio.to_thread(postgres.start)
    await consume_until(consumer, lambda: bool(handled), timeout_s=5)

    async with bed.sessions() as session:
        rows = (await session.execute(text("SELECT event_id, body FROM notes"))).all()
    assert [tuple(row) for row in rows] == [(envelope.event_id, "invoice settled")]
    dead = await bed.js.stream_info(DEAD_LETTER_STREAM, subjects_filter=f"dlq.{consumer.durable}.>")
    assert not dead.state.subjects
    assert await bed.inbox_rows(consumer.durable) == 1


async def test_an_event_whose_handler_loses_postgresql_is_handled_once_it_returns(
    bed: BusTestbed, postgres: RestartablePostgres
) -> None:
    envelope = await bed.record(value="invoice settled")
    await bed.relay().publish_all_pending()
    attempts: list[int] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        attempts.append(1)
        raw = await driver_connection(session)
        if len(attempts) == 1:
            await asyncio.to_thread(postgres.stop)  # the connection dies under the handler
        await raw.execute(
            "INSERT INTO notes VALUES ($1, $2)", event.event_id, decode(event, StringValue).value
        )

    consumer = bed.consumer("settled", handler, max_deliver=1)
    await consume_until(consumer, lambda: len(attempts) == 1)
    for _ in range(3):  # deliveries while PostgreSQL is down
        await consumer.consume_once(timeout_s=0.2)
    await asyncio.to_thread(postgres.start)
    await consume_until(consumer, lambda: len(attempts) >= 2, timeout_s=5)

    async with bed.sessions() as session:
        rows = (await session.execute(text("SELECT event_id, body FROM notes"))).all()
    assert [tuple(row) for row in rows] == [(envelope.event_id, "invoice settled")]
    dead = await bed.js.stream_info(DEAD_LETTER_STREAM, subjects_filter=f"dlq.{consumer.durable}.>")
    assert not dead.state.subjects

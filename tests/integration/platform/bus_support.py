"""Factories for the bus integration tests: a private schema, stream and connections per test,
and (run as a script) a relay that stops dead at a chosen point so a test can SIGKILL it."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import nats
from google.protobuf.wrappers_pb2 import StringValue
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import PubAck, RawStreamMsg
from nats.js.errors import NotFoundError
from sqlalchemy import Connection, MetaData, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agora.platform.bus import (
    DEAD_LETTER_STREAM,
    EventConsumer,
    EventEnvelope,
    EventHandler,
    OutboxRelay,
    RedeliveryBackoff,
    create_bus_tables,
    dead_letter_subject,
    ensure_stream,
    inbox_table,
    outbox_table,
    producer_stream,
    record_event,
)
from agora.platform.bus.relay import PendingEvent
from agora.platform.db import create_engine, ensure_database, session_factory, transaction

SCRIPT = Path(__file__)
PAUSED = "PAUSED"
FAST_BACKOFF = RedeliveryBackoff(initial_s=0.05, multiplier=2.0, max_s=0.2)


@dataclass
class BusTestbed:
    """One test's own producer, schema (with bus tables), stream and connections."""

    database_url: str
    nats_url: str
    producer: str
    schema: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    nc: NatsClient
    js: JetStreamContext
    durables: list[str] = field(default_factory=list)

    @property
    def stream(self) -> str:
        return self.producer.upper()

    def subject(self, event: str = "product.published") -> str:
        return f"{self.producer}.{event}"

    def relay(self, **options: Any) -> OutboxRelay:
        return OutboxRelay(self.engine, self.js, schema=self.schema, **options)

    def consumer(self, name: str, handler: EventHandler, **options: Any) -> EventConsumer:
        durable = f"{self.producer}-{name}"
        self.durables.append(durable)
        options.setdefault("backoff", FAST_BACKOFF)
        return EventConsumer(
            self.js,
            self.sessions,
            stream=self.stream,
            durable=durable,
            filter_subjects=[f"{self.producer}.>"],
            handler=handler,
            **options,
        )

    async def record(self, aggregate_id: str = "p-1", value: str = "event") -> EventEnvelope:
        """Commit one event (and nothing else) through the outbox."""
        async with transaction(self.sessions) as session:
            return await record_event(
                session,
                producer=self.producer,
                subject=self.subject(),
                event=StringValue(value=value),
                aggregate_id=aggregate_id,
            )

    async def stream_messages(self) -> int:
        return int((await self.js.stream_info(self.stream)).state.messages)

    async def outbox_rows(self) -> int:
        return await self._count(outbox_table(MetaData()))

    async def unlocked_outbox_rows(self) -> int:
        """Outbox rows no relay transaction holds right now."""
        outbox = outbox_table(MetaData())
        async with transaction(self.sessions) as session:
            locked = select(outbox.c.seq).with_for_update(skip_locked=True)
            return len((await session.execute(locked)).all())

    async def inbox_rows(self, durable: str) -> int:
        inbox = inbox_table(MetaData())
        return await self._count(inbox, inbox.c.consumer == durable)

    async def _count(self, table: Any, *where: Any) -> int:
        async with self.sessions() as session:
            counted = await session.scalar(select(func.count()).select_from(table).where(*where))
            return int(counted or 0)

    async def stored_envelope(self, seq: int) -> EventEnvelope:
        """The envelope stored at `seq` of this testbed's stream."""
        return envelope_in(await self.js.get_msg(self.stream, seq))


def envelope_in(message: RawStreamMsg) -> EventEnvelope:
    """The envelope a stream message carries."""
    assert message.data is not None
    return EventEnvelope.FromString(message.data)


def _create_tables(connection: Connection) -> None:
    # Imported here to keep Alembic out of the crashing relay subprocess's start-up.
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    with Operations.context(MigrationContext.configure(connection)):
        create_bus_tables()


@asynccontextmanager
async def bus_testbed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    """A testbed whose tables come from `create_bus_tables()` run through Alembic operations."""
    await _ensure_database_when_ready(database_url)
    suffix = uuid4().hex[:10]
    producer, schema = f"bt{suffix}", f"bus_{suffix}"
    engine = create_engine(database_url, schema, pool_size=4)
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    async with engine.begin() as connection:
        await connection.run_sync(_create_tables)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, producer_stream(producer, replicas=1))
    bed = BusTestbed(
        database_url, nats_url, producer, schema, engine, session_factory(engine), nc, js
    )
    try:
        yield bed
    finally:
        await _tear_down(bed)


async def _ensure_database_when_ready(database_url: str, timeout_s: float = 15.0) -> None:
    # The session fixture waits for PostgreSQL's port only; the server may still be starting.
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await ensure_database(database_url)
            return
        except asyncpg.CannotConnectNowError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _tear_down(bed: BusTestbed) -> None:
    await bed.js.delete_stream(bed.stream)
    for durable in bed.durables:
        with contextlib.suppress(NotFoundError):  # no consumer ran: no dead-letter stream yet
            await bed.js.purge_stream(DEAD_LETTER_STREAM, subject=dead_letter_subject(durable, ">"))
    await bed.nc.close()
    async with bed.engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{bed.schema}" CASCADE'))
    await bed.engine.dispose()


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, timeout_s: float = 10.0, step_s: float = 0.05
) -> None:
    """Wait until `condition()` holds, or fail the test."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(step_s)


async def consume_until(
    consumer: EventConsumer, condition: Callable[[], bool], timeout_s: float = 10.0
) -> None:
    """Drive `consumer` batch by batch until `condition()` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"consumer did not get there within {timeout_s}s")
        await consumer.consume_once(timeout_s=0.2)


class PausingRelay(OutboxRelay):
    """A relay that announces PAUSED on stdout and hangs at `pause_at`, inside its transaction."""

    def __init__(self, *args: Any, pause_at: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pause_at = pause_at

    async def _publish(self, events: Sequence[PendingEvent]) -> list[PubAck]:
        if self._pause_at == "before_publish":
            await _hang(f"{PAUSED} before publishing {len(events)}")
        acks = await super()._publish(events)
        await _hang(f"{PAUSED} after {len(acks)} acks")
        return acks


async def _hang(announcement: str) -> None:
    print(announcement, flush=True)
    await asyncio.Event().wait()


async def _run_pausing_relay(database_url: str, nats_url: str, schema: str, pause_at: str) -> None:
    engine = create_engine(database_url, schema, pool_size=1)
    nc = await nats.connect(nats_url)
    relay = PausingRelay(engine, nc.jetstream(), schema=schema, pause_at=pause_at)
    await relay.publish_pending_once()


if __name__ == "__main__":
    asyncio.run(_run_pausing_relay(*sys.argv[1:5]))

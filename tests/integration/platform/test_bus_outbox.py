"""The outbox: events commit with their state change and reach JetStream once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from bus_support import BusTestbed, bus_testbed, envelope_in, eventually
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import Connection, inspect, text

from agora.platform.bus import EventEnvelope, drop_bus_tables, producer_stream, record_event
from agora.platform.db import transaction


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        async with testbed.engine.begin() as connection:
            await connection.execute(
                text("CREATE TABLE products (slug text PRIMARY KEY, title text NOT NULL)")
            )
        yield testbed


async def _publish_product(bed: BusTestbed, slug: str, *, fail: bool = False) -> EventEnvelope:
    async with transaction(bed.sessions) as session:
        await session.execute(
            text("INSERT INTO products (slug, title) VALUES (:slug, 'Desk lamp')"), {"slug": slug}
        )
        envelope = await record_event(
            session,
            producer=bed.producer,
            subject=bed.subject("product.published"),
            event=StringValue(value=slug),
            aggregate_id=slug,
            aggregate_version=1,
            headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        )
        if fail:
            raise RuntimeError("the state change failed after the event was recorded")
        return envelope


async def test_outbox_event_committed_with_state_change_is_published_once(
    bed: BusTestbed,
) -> None:
    envelope = await _publish_product(bed, "desk-lamp")
    relay = bed.relay()

    assert await relay.publish_all_pending() == 1
    assert await relay.publish_all_pending() == 0

    assert await bed.stream_messages() == 1
    assert await bed.outbox_rows() == 0
    stored = await bed.js.get_last_msg(bed.stream, bed.subject("product.published"))
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == envelope.event_id
    assert stored.headers["traceparent"].startswith("00-4bf92f35")
    assert envelope_in(stored) == envelope


async def test_rolled_back_transaction_publishes_nothing(bed: BusTestbed) -> None:
    with pytest.raises(RuntimeError, match="state change failed"):
        await _publish_product(bed, "broken-lamp", fail=True)

    assert await bed.outbox_rows() == 0
    assert await bed.relay().publish_all_pending() == 0
    assert await bed.stream_messages() == 0


async def test_relay_publishes_in_the_order_events_were_recorded(bed: BusTestbed) -> None:
    recorded = [await bed.record(value=f"event-{n}") for n in range(25)]

    await bed.relay(batch_size=10).publish_all_pending()

    stored = [(await bed.stored_envelope(seq)).event_id for seq in range(1, 26)]
    assert stored == [envelope.event_id for envelope in recorded]


async def test_a_running_relay_creates_its_stream_and_wakes_on_commit(bed: BusTestbed) -> None:
    await bed.js.delete_stream(bed.stream)
    relay = bed.relay(poll_interval_s=60.0, stream=producer_stream(bed.producer, replicas=1))
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)  # let it drain the empty outbox and start listening
        await _publish_product(bed, "woken-lamp")

        await eventually(lambda: _stream_has(bed, 1), timeout_s=3.0)
    finally:
        await relay.stop()
        await running
    assert relay.stats.published == 1


async def test_drop_bus_tables_removes_outbox_and_inbox(bed: BusTestbed) -> None:
    def drop_and_list(connection: Connection) -> list[str]:
        with Operations.context(MigrationContext.configure(connection)):
            drop_bus_tables()
        return inspect(connection).get_table_names(schema=bed.schema)

    async with bed.engine.begin() as connection:
        remaining = await connection.run_sync(drop_and_list)

    assert remaining == ["products"]


async def _stream_has(bed: BusTestbed, messages: int) -> bool:
    return await bed.stream_messages() == messages

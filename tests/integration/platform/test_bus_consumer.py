"""Durable consumers: each event handled once, failures retried, poison dead-lettered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bus_support import BusTestbed, bus_testbed, consume_until, envelope_in, eventually
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus import DEAD_LETTER_STREAM, EventEnvelope, dead_letter_subject, decode


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        async with testbed.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (event_id text, body text)"))
        yield testbed


async def _write_note(session: AsyncSession, envelope: EventEnvelope) -> None:
    await session.execute(
        text("INSERT INTO notes VALUES (:id, :body)"),
        {"id": envelope.event_id, "body": decode(envelope, StringValue).value},
    )


async def _notes(bed: BusTestbed) -> list[tuple[str, str]]:
    async with bed.sessions() as session:
        rows = await session.execute(text("SELECT event_id, body FROM notes ORDER BY body"))
        return [(row.event_id, row.body) for row in rows]


async def test_an_event_delivered_twice_is_handled_once(bed: BusTestbed) -> None:
    envelope = await bed.record(value="restock")
    await bed.relay().publish_all_pending()
    # The same event again under another message id, as after a relay crash beyond the
    # duplicate window: JetStream stores it twice, the inbox must absorb it.
    await bed.js.publish(
        envelope.subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": "another-id"}
    )
    assert await bed.stream_messages() == 2
    deliveries: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        deliveries.append(event.event_id)
        await _write_note(session, event)

    consumer = bed.consumer("notes", handler)
    handled = [await consumer.consume_once(timeout_s=1.0) for _ in range(3)]

    assert sum(handled) == 2

    assert deliveries == [envelope.event_id]
    assert await _notes(bed) == [(envelope.event_id, "restock")]
    assert await bed.inbox_rows(consumer.durable) == 1
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)  # both copies acked


async def test_a_failing_handler_is_retried_and_its_work_committed_once(bed: BusTestbed) -> None:
    await bed.record(value="flaky")
    await bed.relay().publish_all_pending()
    attempts: list[int] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        attempts.append(1)
        await _write_note(session, event)
        if len(attempts) < 3:
            raise RuntimeError("search index rejected the document")

    consumer = bed.consumer("flaky", handler)
    await consume_until(consumer, lambda: len(attempts) == 3)

    # The two failed attempts rolled back their notes and inbox rows with them.
    assert [body for _, body in await _notes(bed)] == ["flaky"]
    assert await bed.inbox_rows(consumer.durable) == 1


async def test_an_outage_is_retried_past_max_deliver_without_dead_lettering(
    bed: BusTestbed,
) -> None:
    envelope = await bed.record(value="during outage")
    await bed.relay().publish_all_pending()
    attempts: list[int] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        attempts.append(1)
        if len(attempts) <= 3:
            raise ConnectionResetError("search index unreachable")
        await _write_note(session, event)

    consumer = bed.consumer("outage", handler, max_deliver=2)
    await consume_until(consumer, lambda: len(attempts) == 4)

    assert await _notes(bed) == [(envelope.event_id, "during outage")]
    dead = await bed.js.stream_info(DEAD_LETTER_STREAM, subjects_filter=f"dlq.{consumer.durable}.>")
    assert not dead.state.subjects


async def test_a_poison_message_lands_in_dead_letters_and_is_not_redelivered(
    bed: BusTestbed,
) -> None:
    envelope = await bed.record(value="negative price")
    await bed.relay().publish_all_pending()
    attempts: list[int] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        attempts.append(1)
        await _write_note(session, event)
        raise ValueError("price must not be negative")

    consumer = bed.consumer("poison", handler, max_deliver=3)
    await consume_until(consumer, lambda: len(attempts) == 3)
    await consumer.consume_once(timeout_s=0.5)  # a fourth delivery would arrive by now

    assert len(attempts) == 3
    assert await _notes(bed) == []
    assert await bed.inbox_rows(consumer.durable) == 0
    dead = await bed.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(consumer.durable, envelope.subject)
    )
    assert dead.headers is not None
    assert dead.headers["Agora-Error"] == "ValueError: price must not be negative"
    assert dead.headers["Agora-Original-Subject"] == envelope.subject
    assert dead.headers["Agora-Original-Stream-Seq"] == "1"
    assert dead.headers["Agora-Deliveries"] == "3"
    assert envelope_in(dead) == envelope
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_a_message_that_is_not_an_envelope_is_dead_lettered_at_once(
    bed: BusTestbed,
) -> None:
    subject = bed.subject("product.garbled")
    await bed.js.publish(subject, b"\xff\xff not protobuf")
    attempts: list[int] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        attempts.append(1)

    consumer = bed.consumer("garbled", handler)
    assert await consumer.consume_once(timeout_s=2.0) == 1
    await consumer.consume_once(timeout_s=0.5)

    dead = await bed.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(consumer.durable, subject)
    )
    assert dead.data == b"\xff\xff not protobuf"
    assert attempts == []


async def test_a_running_consumer_handles_events_as_they_are_published_and_stops(
    bed: BusTestbed,
) -> None:
    bodies: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        bodies.append(decode(event, StringValue).value)

    consumer = bed.consumer("live", handler)
    running = asyncio.create_task(consumer.run())
    relay = bed.relay()
    relaying = asyncio.create_task(relay.run())
    try:
        for n in range(5):
            await bed.record(value=f"live-{n}")

        await eventually(lambda: _have(bodies, 5))
    finally:
        await relay.stop()
        await consumer.stop()
        await asyncio.wait_for(asyncio.gather(running, relaying), timeout=5)

    assert bodies == [f"live-{n}" for n in range(5)]


async def _have(items: list[str], count: int) -> bool:
    return len(items) == count


async def test_a_stopping_consumer_finishes_the_message_in_hand_and_hands_back_the_rest(
    bed: BusTestbed,
) -> None:
    for n in range(6):
        await bed.record(value=f"held-{n}")
    await bed.relay().publish_all_pending()
    bodies: list[str] = []
    in_hand = asyncio.Event()
    release = asyncio.Event()

    async def slow(session: AsyncSession, event: EventEnvelope) -> None:
        bodies.append(decode(event, StringValue).value)
        in_hand.set()
        await release.wait()

    consumer = bed.consumer("handback", slow)
    running = asyncio.create_task(consumer.run())
    await asyncio.wait_for(in_hand.wait(), timeout=10)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(asyncio.gather(stopping, running), timeout=5)

    assert bodies == ["held-0"]
    # The five handed back come again at once (no ack_wait), to the next consumer.
    after: list[str] = []

    async def quick(session: AsyncSession, event: EventEnvelope) -> None:
        after.append(decode(event, StringValue).value)

    again = bed.consumer("handback", quick)
    assert await again.consume_once(timeout_s=2.0) == 5
    assert after == [f"held-{n}" for n in range(1, 6)]

"""Batched consumers with a batch handler: the batch's new events in one call, in the transaction
that records them in the inbox; when that call fails, the batch is redone message by message
(each in its own savepoint), so a poisoned event fails alone and every other one is handled once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest
from bus_support import BusTestbed, bus_testbed, consume_until
from google.protobuf.wrappers_pb2 import StringValue
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agora.platform.bus import DEAD_LETTER_STREAM, EventEnvelope, dead_letter_subject, decode
from agora.platform.bus.consumer import EventConsumer


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        async with testbed.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (event_id text, body text)"))
        yield testbed


def _body(event: EventEnvelope) -> str:
    return decode(event, StringValue).value


async def _write_notes(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
    await session.execute(
        text("INSERT INTO notes VALUES (:id, :body)"),
        [{"id": e.event_id, "body": _body(e)} for e in events],
    )


async def _notes(bed: BusTestbed) -> list[str]:
    async with bed.sessions() as session:
        rows = await session.execute(text("SELECT body FROM notes ORDER BY body"))
        return [row.body for row in rows]


async def _publish(bed: BusTestbed, count: int) -> list[EventEnvelope]:
    envelopes = [await bed.record(aggregate_id="p-1", value=f"n{n}") for n in range(count)]
    assert await bed.relay().publish_all_pending() == count
    return envelopes


async def _settled(bed: BusTestbed, consumer: EventConsumer) -> tuple[int, int]:
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    return info.num_pending, info.num_ack_pending


class Recorder:
    """A batch handler and a per-message handler that note what they were given."""

    def __init__(self, poisoned: str = "") -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.poisoned = poisoned

    async def handle_batch(self, session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
        self.batches.append([_body(e) for e in events])
        await _write_notes(session, events)
        if any(_body(e) == self.poisoned for e in events):
            raise ValueError("price must not be negative")

    async def handle(self, session: AsyncSession, event: EventEnvelope) -> None:
        self.singles.append(_body(event))
        await _write_notes(session, [event])
        if _body(event) == self.poisoned:
            raise ValueError("price must not be negative")


def _consumer(bed: BusTestbed, name: str, recorder: Recorder, **options: object) -> EventConsumer:
    return bed.consumer(name, recorder.handle, batch_handler=recorder.handle_batch, **options)


async def test_a_batch_goes_to_the_batch_handler_in_one_call_in_stream_order(
    bed: BusTestbed,
) -> None:
    await _publish(bed, 5)
    recorder = Recorder()
    consumer = _consumer(bed, "whole", recorder)

    assert await consumer.consume_once(timeout_s=2.0) == 5

    assert recorder.batches == [["n0", "n1", "n2", "n3", "n4"]]
    assert recorder.singles == []
    assert await _notes(bed) == ["n0", "n1", "n2", "n3", "n4"]
    assert await bed.inbox_rows(consumer.durable) == 5
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_batch_delivered_again_calls_no_handler(bed: BusTestbed) -> None:
    await _publish(bed, 3)
    recorder = Recorder()
    first = _consumer(bed, "replayed", recorder)
    assert await first.consume_once(timeout_s=2.0) == 3
    # The same stream delivered again to the same durable name, as after a crash between
    # commit and ack: every event is in the inbox already.
    await bed.js.delete_consumer(bed.stream, first.durable)
    again = _consumer(bed, "replayed", recorder)

    assert await again.consume_once(timeout_s=2.0) == 3

    assert recorder.batches == [["n0", "n1", "n2"]]
    assert recorder.singles == []
    assert await _notes(bed) == ["n0", "n1", "n2"]
    assert await _settled(bed, again) == (0, 0)


async def test_a_batch_handler_gets_each_event_once_and_only_the_new_ones(
    bed: BusTestbed,
) -> None:
    [old] = await _publish(bed, 1)
    recorder = Recorder()
    consumer = _consumer(bed, "partly", recorder)
    assert await consumer.consume_once(timeout_s=2.0) == 1
    # One batch: a copy of the handled event, a new one, then a copy of the new one.
    new = await bed.record(aggregate_id="p-1", value="fresh")
    for n, envelope in enumerate((old, new, new)):
        await bed.js.publish(
            envelope.subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": f"copy-{n}"}
        )

    assert await consumer.consume_once(timeout_s=2.0) == 3

    assert recorder.batches == [["n0"], ["fresh"]]
    assert await _notes(bed) == ["fresh", "n0"]
    assert await bed.inbox_rows(consumer.durable) == 2
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_failing_batch_handler_is_redone_message_by_message_and_the_poison_fails_alone(
    bed: BusTestbed,
) -> None:
    envelopes = await _publish(bed, 4)
    recorder = Recorder(poisoned="n2")
    consumer = _consumer(bed, "poisoned", recorder, max_deliver=2)

    assert await consumer.consume_once(timeout_s=2.0) == 4

    # The batch handler's writes were rolled back with its transaction; each message was then
    # handled alone, and only n2's savepoint rolled back.
    assert recorder.batches == [["n0", "n1", "n2", "n3"]]
    assert recorder.singles == ["n0", "n1", "n2", "n3"]
    assert await _notes(bed) == ["n0", "n1", "n3"]
    assert await bed.inbox_rows(consumer.durable) == 3
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert info.num_ack_pending == 1  # n2, waiting for its redelivery

    # Redelivered alone: the batch handler fails again, then n2 alone, and it is dead-lettered.
    await consume_until(consumer, lambda: recorder.singles.count("n2") == 2)
    assert recorder.batches[1:] == [["n2"]]
    dead = await bed.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(consumer.durable, envelopes[2].subject)
    )
    assert dead.headers is not None
    assert dead.headers["Agora-Error"] == "ValueError: price must not be negative"
    assert await _notes(bed) == ["n0", "n1", "n3"]
    assert await bed.inbox_rows(consumer.durable) == 3
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_connection_closed_in_the_batch_handler_acks_nothing_and_redoes_the_batch(
    bed: BusTestbed,
) -> None:
    await _publish(bed, 3)
    calls: list[list[str]] = []

    async def handle_batch(session: AsyncSession, events: Sequence[EventEnvelope]) -> None:
        calls.append([_body(e) for e in events])
        await _write_notes(session, events)
        if len(calls) == 1:
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    async def handle(session: AsyncSession, event: EventEnvelope) -> None:
        raise AssertionError("an outage is not the message's fault: no per-message redo")

    consumer = bed.consumer("outage", handle, batch_handler=handle_batch)
    assert await consumer.consume_once(timeout_s=2.0) == 3

    assert await _notes(bed) == []
    assert await bed.inbox_rows(consumer.durable) == 0
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert info.ack_floor.stream_seq == 0  # nothing acked

    await consume_until(consumer, lambda: len(calls) == 2)
    assert calls == [["n0", "n1", "n2"], ["n0", "n1", "n2"]]
    assert await _notes(bed) == ["n0", "n1", "n2"]
    assert await bed.inbox_rows(consumer.durable) == 3
    assert await _settled(bed, consumer) == (0, 0)

"""Batched durable consumers: one transaction per fetched batch, a SAVEPOINT per handler.

A failing handler is rolled back alone and retried (or dead-lettered) while the rest of its
batch commits; a redelivered batch runs no handler; a connection closed mid-batch acks nothing
and the whole batch is redone, each event handled once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bus_support import BusTestbed, bus_testbed, consume_until, envelope_in
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


async def _write_note(session: AsyncSession, envelope: EventEnvelope) -> None:
    await session.execute(
        text("INSERT INTO notes VALUES (:id, :body)"),
        {"id": envelope.event_id, "body": decode(envelope, StringValue).value},
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
    """Pending and unacknowledged messages once the consumer's acks reached the server (an
    ack is a publish the server applies after `consume_once` returns; 5 s at most)."""
    for _ in range(50):
        info = await bed.js.consumer_info(bed.stream, consumer.durable)
        if info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.1)
    return info.num_pending, info.num_ack_pending


def _body(event: EventEnvelope) -> str:
    return decode(event, StringValue).value


async def test_a_failing_message_is_retried_alone_while_its_batch_commits(
    bed: BusTestbed,
) -> None:
    await _publish(bed, 5)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)
        if _body(event) == "n2" and calls.count("n2") == 1:
            raise RuntimeError("search index rejected the document")

    consumer = bed.consumer("flaky", handler, batched=True)
    assert await consumer.consume_once(timeout_s=2.0) == 5

    # One batch: four committed and acked; n2's note and inbox row rolled back with it.
    assert calls == ["n0", "n1", "n2", "n3", "n4"]
    assert await _notes(bed) == ["n0", "n1", "n3", "n4"]
    assert await bed.inbox_rows(consumer.durable) == 4
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert info.ack_floor.stream_seq == 2  # n2 (stream seq 3) is still out

    await consume_until(consumer, lambda: calls.count("n2") == 2)

    assert calls == ["n0", "n1", "n2", "n3", "n4", "n2"]
    assert await _notes(bed) == ["n0", "n1", "n2", "n3", "n4"]
    assert await bed.inbox_rows(consumer.durable) == 5
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_batch_delivered_again_runs_no_handler(bed: BusTestbed) -> None:
    await _publish(bed, 4)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)

    first = bed.consumer("twice", handler, batched=True)
    assert await first.consume_once(timeout_s=2.0) == 4
    # The same stream delivered again from its start to the same durable name, as after a
    # crash between commit and ack: every event is in the inbox already.
    await bed.js.delete_consumer(bed.stream, first.durable)
    again = bed.consumer("twice", handler, batched=True)
    assert await again.consume_once(timeout_s=2.0) == 4

    assert calls == ["n0", "n1", "n2", "n3"]
    assert await _notes(bed) == ["n0", "n1", "n2", "n3"]
    assert await bed.inbox_rows(again.durable) == 4
    assert await _settled(bed, again) == (0, 0)  # the skipped ones acked too


async def test_a_copy_of_an_event_in_the_same_batch_runs_no_handler(bed: BusTestbed) -> None:
    [envelope] = await _publish(bed, 1)
    await bed.js.publish(
        envelope.subject, envelope.SerializeToString(), headers={"Nats-Msg-Id": "another-id"}
    )
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(event.event_id)
        await _write_note(session, event)

    consumer = bed.consumer("copies", handler, batched=True)
    assert await consumer.consume_once(timeout_s=2.0) == 2

    assert calls == [envelope.event_id]
    assert await _notes(bed) == ["n0"]
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_connection_closed_mid_batch_acks_nothing_and_the_batch_is_redone_once(
    bed: BusTestbed,
) -> None:
    await _publish(bed, 5)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)
        if _body(event) == "n2" and calls.count("n2") == 1:
            # The server closes this transaction's connection under it.
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    consumer = bed.consumer("crash", handler, batched=True)
    assert await consumer.consume_once(timeout_s=2.0) == 5

    assert calls == ["n0", "n1", "n2"]  # the batch stopped where the connection died
    assert await _notes(bed) == []
    assert await bed.inbox_rows(consumer.durable) == 0
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert info.ack_floor.stream_seq == 0  # nothing acked

    await consume_until(consumer, lambda: len(calls) == 8)

    assert sorted(calls[3:]) == ["n0", "n1", "n2", "n3", "n4"]  # all redone, once each
    assert await _notes(bed) == ["n0", "n1", "n2", "n3", "n4"]
    assert await bed.inbox_rows(consumer.durable) == 5
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_poison_message_is_dead_lettered_while_its_batch_commits(
    bed: BusTestbed,
) -> None:
    envelopes = await _publish(bed, 3)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)
        if _body(event) == "n1":
            raise ValueError("price must not be negative")

    consumer = bed.consumer("poison", handler, batched=True, max_deliver=2)
    await consume_until(consumer, lambda: calls.count("n1") == 2)
    await consumer.consume_once(timeout_s=0.5)  # a third delivery would arrive by now

    assert calls == ["n0", "n1", "n2", "n1"]
    assert await _notes(bed) == ["n0", "n2"]
    assert await bed.inbox_rows(consumer.durable) == 2
    dead = await bed.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(consumer.durable, envelopes[1].subject)
    )
    assert dead.headers is not None
    assert dead.headers["Agora-Error"] == "ValueError: price must not be negative"
    assert dead.headers["Agora-Original-Stream-Seq"] == "2"
    assert dead.headers["Agora-Deliveries"] == "2"
    assert envelope_in(dead) == envelopes[1]
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_message_that_is_not_an_envelope_is_dead_lettered_and_the_rest_handled(
    bed: BusTestbed,
) -> None:
    await _publish(bed, 1)
    garbled = bed.subject("product.garbled")
    await bed.js.publish(garbled, b"\xff\xff not protobuf")
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)

    consumer = bed.consumer("garbled", handler, batched=True)
    assert await consumer.consume_once(timeout_s=2.0) == 2

    assert calls == ["n0"]
    dead = await bed.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(consumer.durable, garbled)
    )
    assert dead.data == b"\xff\xff not protobuf"
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_handler_outage_redoes_its_batch_past_max_deliver_without_dead_letters(
    bed: BusTestbed,
) -> None:
    await _publish(bed, 2)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)
        if _body(event) == "n0" and calls.count("n0") <= 3:
            raise ConnectionResetError("search index unreachable")

    consumer = bed.consumer("outage", handler, batched=True, max_deliver=2)
    await consume_until(consumer, lambda: calls.count("n0") == 4)

    for _ in range(100):  # n1 may have been rolled back with n0's last failed batch
        if await _notes(bed) == ["n0", "n1"]:
            break
        await consumer.consume_once(timeout_s=0.2)

    # Each outage rolled the whole batch back (n1 with it, whenever it shared the batch) and
    # counted for neither message: four deliveries of n0 with max_deliver 2, no dead letter.
    assert calls.count("n0") == 4
    assert await _notes(bed) == ["n0", "n1"]
    assert await _settled(bed, consumer) == (0, 0)
    dead = await bed.js.stream_info(DEAD_LETTER_STREAM, subjects_filter=f"dlq.{consumer.durable}.>")
    assert not dead.state.subjects


async def test_a_handler_whose_statement_fails_is_rolled_back_alone(bed: BusTestbed) -> None:
    await _publish(bed, 3)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)
        if _body(event) == "n1" and calls.count("n1") == 1:
            await session.execute(text("SELECT 1 / 0"))  # aborts the transaction to its savepoint

    consumer = bed.consumer("division", handler, batched=True)
    assert await consumer.consume_once(timeout_s=2.0) == 3

    assert calls == ["n0", "n1", "n2"]
    assert await _notes(bed) == ["n0", "n2"]  # n2's statements ran after the rollback
    await consume_until(consumer, lambda: calls.count("n1") == 2)
    assert await _notes(bed) == ["n0", "n1", "n2"]
    assert await bed.inbox_rows(consumer.durable) == 3
    assert await _settled(bed, consumer) == (0, 0)


async def test_a_batch_whose_commit_fails_is_redone_message_by_message(bed: BusTestbed) -> None:
    async with bed.engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE seats (n int, UNIQUE (n) DEFERRABLE INITIALLY DEFERRED)")
        )
        await connection.execute(text("INSERT INTO seats VALUES (1)"))
    envelopes = await _publish(bed, 3)
    calls: list[str] = []

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        calls.append(_body(event))
        await _write_note(session, event)
        if _body(event) == "n1":  # checked only at commit: no savepoint catches it
            await session.execute(text("INSERT INTO seats VALUES (1)"))

    consumer = bed.consumer("deferred", handler, batched=True, max_deliver=2)
    assert await consumer.consume_once(timeout_s=2.0) == 3

    # The batch's commit failed; each message was then handled in a transaction of its own.
    assert calls == ["n0", "n1", "n2", "n0", "n1", "n2"]
    assert await _notes(bed) == ["n0", "n2"]
    await consume_until(consumer, lambda: calls.count("n1") == 4)  # batch, then alone
    dead = await bed.js.get_last_msg(
        DEAD_LETTER_STREAM, dead_letter_subject(consumer.durable, envelopes[1].subject)
    )
    assert dead.headers is not None
    assert dead.headers["Agora-Deliveries"] == "2"
    assert envelope_in(dead) == envelopes[1]
    assert await _notes(bed) == ["n0", "n2"]
    assert await bed.inbox_rows(consumer.durable) == 2
    assert await _settled(bed, consumer) == (0, 0)

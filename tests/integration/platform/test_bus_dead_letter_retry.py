"""Re-driving dead letters: a handler fixed after the fact handles its dead letter exactly once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from bus_support import BusTestbed, bus_testbed, consume_until
from click.testing import Result
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from agora.cli import app
from agora.platform.bus import EventEnvelope
from agora.platform.bus.dead_letters import (
    DeadLetter,
    dead_letter,
    list_dead_letters,
    retry_dead_letter,
)
from agora.platform.errors import NotFound


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        yield testbed


async def test_a_fixed_handler_handles_its_retried_dead_letter_exactly_once(
    bed: BusTestbed,
) -> None:
    envelope = await bed.record(value="settled")
    await bed.relay().publish_all_pending()
    handled: list[str] = []
    others: list[str] = []
    fixed = False

    async def handler(session: AsyncSession, event: EventEnvelope) -> None:
        if not fixed:
            raise ValueError("order 42 has no invoice")
        handled.append(event.event_id)

    async def other_handler(session: AsyncSession, event: EventEnvelope) -> None:
        others.append(event.event_id)

    consumer = bed.consumer("orders", handler, max_deliver=2)
    other = bed.consumer("search", other_handler)
    await consume_until(other, lambda: len(others) == 1)
    letters: list[DeadLetter] = []
    for _ in range(50):  # two failed deliveries, the second one dead-letters it
        await consumer.consume_once(timeout_s=0.2)
        letters = await list_dead_letters(bed.js, consumer.durable)
        if letters:
            break
    assert len(letters) == 1
    letter = await dead_letter(bed.js, letters[0].seq)
    assert (letter.consumer, letter.original_subject) == (consumer.durable, envelope.subject)
    assert letter.original_stream == bed.stream
    assert letter.deliveries == 2
    assert letter.error == "ValueError: order 42 has no invoice"
    assert letter.envelope() == envelope
    assert handled == []

    fixed = True
    await retry_dead_letter(bed.js, letter.seq)
    await consume_until(consumer, lambda: len(handled) == 1)
    await other.consume_once(timeout_s=0.5)

    with pytest.raises(NotFound):
        await retry_dead_letter(bed.js, letter.seq)
    await consumer.consume_once(timeout_s=0.5)
    assert handled == [envelope.event_id]
    assert others == [envelope.event_id]  # the other consumer skipped the retry: in its inbox
    assert await bed.inbox_rows(consumer.durable) == 1
    assert await list_dead_letters(bed.js, consumer.durable) == []
    info = await bed.js.consumer_info(bed.stream, consumer.durable)
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_the_command_lists_shows_and_retries_a_dead_letter(bed: BusTestbed) -> None:
    subject = bed.subject("product.garbled")
    await bed.js.publish(subject, b"\xff not an envelope")
    consumer = bed.consumer("garbled", _never_called)
    letters: list[DeadLetter] = []
    for _ in range(50):  # not an envelope: dead-lettered at its first delivery
        await consumer.consume_once(timeout_s=0.2)
        letters = await list_dead_letters(bed.js, consumer.durable)
        if letters:
            break
    seq = str(letters[0].seq)

    listed = await _agora(bed, "list", "--consumer", consumer.durable)
    shown = await _agora(bed, "show", seq)
    retried = await _agora(bed, "retry", seq)
    again = await _agora(bed, "retry", seq)

    assert listed.exit_code == 0, listed.output
    assert seq in listed.output
    assert "corrupt" in listed.output  # the end of the error, wrapped in 80 columns
    assert shown.exit_code == 0, shown.output
    shown_fields = json.loads(shown.output)
    assert shown_fields["subject"] == subject
    assert shown_fields["consumer"] == consumer.durable
    assert shown_fields["error"].startswith("DeadLetterReason: not an EventEnvelope")
    assert shown_fields["envelope"] is None
    assert retried.exit_code == 0, retried.output
    assert f"published again on {subject}" in retried.output
    assert again.exit_code == 1
    assert "not found" in again.output


async def _never_called(session: AsyncSession, event: EventEnvelope) -> None:
    raise AssertionError("a message that is not an envelope reached the handler")


async def _agora(bed: BusTestbed, *args: str) -> Result:
    """`agora events dead-letters <args>` against the testbed's NATS (in a thread: it runs its own
    event loop)."""
    env = {"AGORA_NATS_URL": bed.nats_url}
    command = ["events", "dead-letters", *args]
    return await asyncio.to_thread(CliRunner().invoke, app, command, env=env)

"""Re-driving dead letters: a handler fixed after the fact handles its dead letter exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bus_support import BusTestbed, bus_testbed, consume_until
from sqlalchemy.ext.asyncio import AsyncSession

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

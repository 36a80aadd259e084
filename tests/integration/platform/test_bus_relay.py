"""Several relays over one outbox share the work without publishing an event twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bus_support import BusTestbed, bus_testbed
from google.protobuf.wrappers_pb2 import StringValue

from agora.platform.bus import record_event
from agora.platform.db import transaction

EVENTS = 200


@pytest.fixture
async def bed(database_url: str, nats_url: str) -> AsyncIterator[BusTestbed]:
    async with bus_testbed(database_url, nats_url) as testbed:
        yield testbed


async def _record_many(bed: BusTestbed, count: int) -> set[str]:
    async with transaction(bed.sessions) as session:
        envelopes = [
            await record_event(
                session,
                producer=bed.producer,
                subject=bed.subject("stock.reserved"),
                event=StringValue(value=str(n)),
                aggregate_id=f"sku-{n % 7}",
            )
            for n in range(count)
        ]
    return {envelope.event_id for envelope in envelopes}


async def test_two_relays_running_concurrently_publish_every_event_exactly_once(
    bed: BusTestbed,
) -> None:
    recorded = await _record_many(bed, EVENTS)
    first, second = bed.relay(batch_size=10), bed.relay(batch_size=10)

    await asyncio.gather(first.publish_all_pending(), second.publish_all_pending())

    # A relay that re-read rows the other had locked would have had them acked as duplicates.
    assert first.stats.duplicates == second.stats.duplicates == 0
    assert first.stats.published > 0
    assert second.stats.published > 0
    assert first.stats.published + second.stats.published == EVENTS
    assert await bed.stream_messages() == EVENTS
    assert await bed.outbox_rows() == 0
    published = {(await bed.stored_envelope(seq)).event_id for seq in range(1, EVENTS + 1)}
    assert published == recorded

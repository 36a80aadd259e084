"""The catalog as `agora serve catalog` runs it: migrations, gRPC, outbox relay to JetStream and
the reservation-expiry loop, all wired by `bootstrap.run` against real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
import pytest
from catalog_support import TIMEOUT_S, create_product, key
from nats.js import JetStreamContext
from security_support import authorized_channel

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.catalog.bootstrap import run
from agora.catalog.settings import CatalogSettings
from agora.platform.net import free_port, wait_for_port_async
from agora.platform.settings import PlatformSettings

EXPIRED = "catalog.stock.reservation_expired"


@pytest.fixture
async def served_catalog(database_url: str, nats_url: str) -> AsyncIterator[CatalogServiceStub]:
    port = free_port()
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url)
    serving = asyncio.create_task(run(platform, CatalogSettings(port=port, expiry_interval_s=0.2)))
    await wait_for_port_async(port, timeout_s=30)
    channel = authorized_channel(f"127.0.0.1:{port}")
    yield CatalogServiceStub(channel)
    await channel.close()
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 15)
    assert serving.done()


async def _envelope_on_stream(
    js: JetStreamContext, subject: str, aggregate_id: str
) -> EventEnvelope:
    subscription = await js.subscribe(subject, ordered_consumer=True)
    try:
        while True:
            message = await subscription.next_msg(timeout=10)
            envelope = EventEnvelope.FromString(message.data)
            if envelope.aggregate_id == aggregate_id:
                return envelope
    finally:
        await subscription.unsubscribe()


async def test_a_stale_reservation_expires_and_its_event_reaches_jetstream(
    served_catalog: CatalogServiceStub, nats_url: str
) -> None:
    product = await create_product(served_catalog, "Served Lantern", on_hand=[2])
    variant_id = product.variants[0].id
    reservation = await served_catalog.ReserveStock(
        pb.ReserveStockRequest(
            idempotency_key=key(),
            lines=[pb.ReservationLine(variant_id=variant_id, quantity=2)],
            ttl_seconds=1,
        ),
        timeout=TIMEOUT_S,
    )
    status = pb.RESERVATION_STATUS_ACTIVE
    for _ in range(100):
        found = await served_catalog.GetReservation(pb.GetReservationRequest(id=reservation.id))
        status = found.status
        if status == pb.RESERVATION_STATUS_EXPIRED:
            break
        await asyncio.sleep(0.1)
    assert status == pb.RESERVATION_STATUS_EXPIRED
    stock = await served_catalog.GetStock(pb.GetStockRequest(variant_id=variant_id))
    assert stock.available == 2
    nc = await nats.connect(nats_url)
    try:
        envelope = await _envelope_on_stream(nc.jetstream(), EXPIRED, reservation.id)
    finally:
        await nc.close()
    assert (envelope.producer, envelope.type) == ("catalog", "agora.catalog.v1.ReservationExpired")

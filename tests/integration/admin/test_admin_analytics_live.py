"""WatchDashboard over gRPC: today's tiles at once, then again when a consumer commits events
(woken through PostgreSQL NOTIFY)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.js import JetStreamContext
from security_support import authorized_channel
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import analytics_pb2 as pb
from agora._proto.agora.admin.v1 import analytics_pb2_grpc
from agora._proto.agora.orders.v1 import events_pb2 as order_ev
from agora._proto.agora.orders.v1 import orders_pb2 as order_pb
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.admin.analytics_consumers import OrderFacts, analytics_consumers
from agora.admin.analytics_service import AnalyticsService
from agora.admin.analytics_signals import AnalyticsSignals
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import session_factory
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, wait_for_port
from agora.platform.rpc.server import GrpcServer


@pytest.fixture
def private_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server of this test's own: the session's ORDERS stream holds other tests' orders
    (placed today too), which the consumer here would count."""
    server = EmbeddedNats(tmp_path_factory.mktemp("live-nats"), free_port())
    with (server.data_dir / "nats.log").open("ab") as log:
        process = subprocess.Popen(server.command(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def js(private_nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(private_nats_url)
    yield nc.jetstream()
    await nc.close()


@pytest.fixture
async def live(admin_engine: AsyncEngine) -> AsyncIterator[tuple[str, AnalyticsSignals]]:
    """An analytics server of its own, with its signals listening."""
    signals = AnalyticsSignals(admin_engine)
    listening = asyncio.create_task(signals.run())
    await signals.listening.wait()
    server = GrpcServer("admin", "127.0.0.1", free_port())
    server.add(
        analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server,
        AnalyticsService(admin_engine, signals, "EUR"),
    )
    await server.start()
    yield server.address, signals
    await server.stop(0)
    listening.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listening


async def test_the_dashboard_pushes_todays_tiles_when_an_order_is_placed_and_paid(
    live: tuple[str, AnalyticsSignals], js: JetStreamContext, admin_engine: AsyncEngine
) -> None:
    address, signals = live
    channel = authorized_channel(address)
    stream = analytics_pb2_grpc.AnalyticsServiceStub(channel).WatchDashboard(
        pb.WatchDashboardRequest()
    )
    first = await stream.read()
    assert first.currency == "EUR"

    await ensure_stream(js, producer_stream("orders"))
    order_id, customer = str(uuid.uuid4()), str(uuid.uuid4())
    placed = order_ev.OrderPlaced(
        order_id=order_id,
        customer_id=customer,
        currency="EUR",
        totals=order_pb.Totals(total=Money(amount_minor=4_200, currency="EUR")),
        lines=[order_pb.OrderLine(product_id=str(uuid.uuid4()), quantity=2)],
    )
    paid = order_ev.OrderPaid(order_id=order_id, invoice_id=str(uuid.uuid4()))
    for version, (subject, event) in enumerate(
        [("orders.order.placed", placed), ("orders.order.paid", paid)], start=1
    ):
        envelope = new_envelope(
            producer="orders",
            subject=subject,
            event=event,
            aggregate_id=order_id,
            aggregate_version=version,
        )
        await js.publish(subject, envelope.SerializeToString())
    (orders,) = analytics_consumers(js, session_factory(admin_engine), [OrderFacts()])
    while await orders.consume_once(timeout_s=0.5):
        pass

    update = await asyncio.wait_for(stream.read(), 10)
    while update.orders_paid < first.orders_paid + 1:  # the placed event may come alone first
        update = await asyncio.wait_for(stream.read(), 10)
    assert update.orders_placed == first.orders_placed + 1
    assert update.revenue_minor == first.revenue_minor + 4_200
    assert update.new_customers == first.new_customers + 1
    stream.cancel()
    await channel.close()
    await asyncio.sleep(0)
    for _ in range(50):  # the servicer leaves its subscription once the call is cancelled
        if signals.subscribed == 0:
            break
        await asyncio.sleep(0.1)
    assert signals.subscribed == 0

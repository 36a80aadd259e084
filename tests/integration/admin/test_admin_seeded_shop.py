"""The admin's analytics see the seeded shop and the live one, through the real services and
NATS: `agora seed` into a running shop (catalog, payments, orders, admin) publishes its history
through each service's outbox, the analytics' sales equal the seeded paid orders' totals as the
orders schema holds them, and no consumer with effects acts on that history; then a newly paid
order moves the live dashboard feed (WatchDashboard) with its revenue."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import nats
import pytest
from rich.console import Console
from security_support import authorized_channel
from shop_orders_support import order_as, published_product
from shop_stack_support import ShopStack, migrated_database, own_jetstream, shop_stack

from agora._proto.agora.admin.v1 import analytics_pb2 as pb
from agora._proto.agora.admin.v1.analytics_pb2_grpc import AnalyticsServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as opb
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.platform.settings import PlatformSettings, to_libpq_url
from agora.seed.runner import seed_database

TIMEOUT_S = 30.0
# The streams of the shop's services (auth is not part of it: its seeded events stay in its
# outbox), whose every consumer must have caught up before figures are compared.
STREAMS = ("CATALOG", "PAYMENTS", "ORDERS")


@pytest.fixture(scope="module")
async def shop(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ShopStack]:
    url = await migrated_database(database_url, "seeded_shop")
    data = Path(tmp_path_factory.mktemp("seeded-shop"))
    with own_jetstream(data / "nats") as nats_url:
        platform = PlatformSettings(database_url=url, nats_url=nats_url, discovery=False)
        async with shop_stack(platform, data / "media") as stack:
            yield stack


async def fetch(stack: ShopStack, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(to_libpq_url(stack.platform.resolved_database_url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def settled(stack: ShopStack, timeout_s: float = 120.0) -> None:
    """Wait until every outbox is empty and every consumer of the shop's streams has handled
    everything in its stream."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    connection = await nats.connect(stack.platform.nats_url)
    try:
        js = connection.jetstream()
        while True:
            outboxes = await fetch(
                stack,
                "SELECT (SELECT count(*) FROM catalog.outbox)"
                " + (SELECT count(*) FROM payments.outbox) + (SELECT count(*) FROM orders.outbox)",
            )
            behind = outboxes[0][0]
            for stream in STREAMS:
                try:
                    consumers = await js.consumers_info(stream)
                except nats.js.errors.NotFoundError:
                    continue
                behind += sum(c.num_pending + c.num_ack_pending for c in consumers)
            if behind == 0:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{behind} events still pending")
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def test_analytics_of_the_seeded_shop_equal_its_paid_orders_and_nothing_else_acts(
    shop: ShopStack,
) -> None:
    outcome = await seed_database(
        shop.platform.resolved_database_url,
        "minimal",
        seed=11,
        scale=1.0,
        console=Console(quiet=True),
    )
    assert outcome.plan is not None
    plan = outcome.plan
    seeded_events = await fetch(
        shop,
        "SELECT order_id, count(*) AS n FROM orders.order_events GROUP BY order_id",
    )
    await settled(shop)

    days = await fetch(
        shop, "SELECT min(occurred_at)::date, max(occurred_at)::date FROM orders.order_events"
    )
    start, end = days[0][0], days[0][1] + timedelta(days=1)
    paid = await fetch(
        shop,
        "SELECT l.currency, count(*) AS orders, sum(l.total_minor) AS revenue"
        " FROM orders.order_events e JOIN orders.order_list l USING (order_id)"
        " WHERE e.type = 'paid' GROUP BY l.currency ORDER BY 1",
    )
    placed = await fetch(
        shop,
        "SELECT currency, count(*) FROM orders.order_list GROUP BY currency ORDER BY 1",
    )
    figures = {}
    for currency, _, _ in paid:
        report = await shop.analytics.GetSales(
            pb.AnalyticsQuery(
                start_date=start.isoformat(),
                end_date=end.isoformat(),
                granularity="month",
                currency=currency,
            ),
            timeout=TIMEOUT_S,
        )
        figures[currency] = report.total
    after_events = {
        str(r["order_id"]): r["n"]
        for r in await fetch(
            shop, "SELECT order_id, count(*) AS n FROM orders.order_events GROUP BY order_id"
        )
    }
    placed_only = [o.id for o in plan.orders if o.outcome == "placed"]
    invoices_of_placed = await fetch(
        shop,
        "SELECT count(*) FROM payments.invoices WHERE reference = ANY($1::text[])",
        placed_only,
    )
    ended = {o.id for o in plan.orders if o.outcome not in ("placed", "awaiting_payment")}

    assert len(paid) >= 2  # the minimal profile sells in several currencies
    assert {c: (f.orders_paid, f.revenue_minor) for c, f in figures.items()} == {
        r["currency"]: (r["orders"], r["revenue"]) for r in paid
    }
    assert {c: f.orders_placed for c, f in figures.items()} == {
        r["currency"]: r["count"] for r in placed if r["currency"] in figures
    }
    # The saga invoiced no seeded order and appended nothing to any that had ended.
    assert placed_only
    assert invoices_of_placed[0][0] == 0
    assert {str(r["order_id"]): r["n"] for r in seeded_events if str(r["order_id"]) in ended} == {
        order_id: n for order_id, n in after_events.items() if order_id in ended
    }


async def test_a_newly_paid_order_moves_the_live_dashboard_with_its_revenue(
    shop: ShopStack,
) -> None:
    product = await published_product(shop.catalog, "Reading Lamp", eur_minor=4_990, on_hand=5)
    await settled(shop)
    channel = authorized_channel(shop.admin_address)
    feed = AnalyticsServiceStub(channel).WatchDashboard(pb.WatchDashboardRequest())
    first = await asyncio.wait_for(feed.read(), TIMEOUT_S)
    order = await order_as(shop.orders, product, None, quantity=2)
    invoice_id = await awaiting_payment(shop, order.id)

    await shop.payments.DevPay(
        ppb.DevPayRequest(
            idempotency_key=str(uuid.uuid4()), id=invoice_id, action=ppb.DEV_PAY_ACTION_PAY_FULL
        ),
        timeout=TIMEOUT_S,
    )
    update = await asyncio.wait_for(feed.read(), TIMEOUT_S)
    while update.orders_paid < first.orders_paid + 1:  # the placement may come alone first
        update = await asyncio.wait_for(feed.read(), TIMEOUT_S)
    feed.cancel()
    await channel.close()

    assert first.date == datetime.now(UTC).date().isoformat()
    assert (update.currency, update.date) == ("EUR", first.date)
    assert update.orders_paid == first.orders_paid + 1
    assert update.revenue_minor == first.revenue_minor + order.totals.total.amount_minor
    assert order.totals.total.amount_minor > 2 * 4_990 - 1


async def awaiting_payment(shop: ShopStack, order_id: str) -> str:
    """The order's invoice id once the saga has invoiced it."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while True:
        order = await shop.orders.GetOrder(opb.GetOrderRequest(id=order_id), timeout=TIMEOUT_S)
        if order.status == opb.ORDER_STATUS_AWAITING_PAYMENT:
            return order.invoice_id
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"order {order_id} never awaited payment: {order.status}")
        await asyncio.sleep(0.05)

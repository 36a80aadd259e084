"""Analytics fed by the seeded full profile's events equal a brute-force recomputation from the
streams' raw events, for random ranges, granularities and currencies (hypothesis); a rebuild
replays every stream and reproduces every table; bad queries are refused naming the field."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from fractions import Fraction

import grpc
import nats
import pytest
from analytics_events import (
    World,
    bucket,
    fold,
    grouped_money,
    plan_events,
    publish,
    read_streams,
    seeded_plan,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.js import JetStreamContext
from security_support import authorized_channel, mint_token, with_token
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import analytics_pb2 as pb
from agora._proto.agora.admin.v1 import analytics_pb2_grpc
from agora.admin import analytics_store
from agora.admin.analytics_consumers import analytics_consumers, rebuild_analytics
from agora.admin.analytics_tables import ANALYTICS_TABLES
from agora.platform.bus.consumer import EventConsumer
from agora.platform.db import session_factory
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, wait_for_port
from agora.platform.rpc.server import GrpcServer

# The full profile at 0.01 takes minutes to fold here; `make test` uses 0.002 (400 orders).
SCALE = float(os.environ.get("AGORA_TEST_ANALYTICS_SCALE", "0.002"))
EXAMPLES = int(os.environ.get("AGORA_TEST_ANALYTICS_EXAMPLES", "25"))
REPORTING = "EUR"


async def drain(consumers: list[EventConsumer]) -> None:
    for consumer in consumers:
        while await consumer.consume_once(timeout_s=0.5):
            pass


@pytest.fixture(scope="module")
def private_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server of this module's own: the plan's synthetic events must not reach the
    session's streams, where other tests' services (orders' saga) would consume them."""
    server = EmbeddedNats(tmp_path_factory.mktemp("analytics-nats"), free_port())
    with (server.data_dir / "nats.log").open("ab") as log:
        process = subprocess.Popen(server.command(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
async def js(private_nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(private_nats_url)
    yield nc.jetstream()
    await nc.close()


@pytest.fixture(scope="module")
async def world(js: JetStreamContext, admin_engine: AsyncEngine) -> World:
    """The plan's events published and consumed; the brute force's view of the streams."""
    await publish(js, plan_events(seeded_plan(SCALE)))
    sessions = session_factory(admin_engine)
    await rebuild_analytics(sessions, js)
    await drain(analytics_consumers(js, sessions))
    return fold(await read_streams(js))


@pytest.fixture(scope="module")
async def analytics(
    admin_server: GrpcServer,
) -> AsyncIterator[analytics_pb2_grpc.AnalyticsServiceStub]:
    # Made on the session's event loop (a channel binds to the loop current when it is made).
    channel = authorized_channel(admin_server.address)
    yield analytics_pb2_grpc.AnalyticsServiceStub(channel)
    await channel.close()


def days(w: World) -> tuple[date, date]:
    placed = [o["placed"] for o in w.orders.values()]
    return min(placed), max(placed) + timedelta(days=3)


def expected_sales(w: World, start: date, end: date, grain: str, cur: str) -> dict[str, tuple]:
    target, converted = (cur, False) if cur else (REPORTING, True)
    counts: dict[date, list[int]] = defaultdict(lambda: [0] * 6)
    revenue_items, refund_items = [], []
    for o in w.orders.values():
        if not converted and o["currency"] != cur:
            continue
        if start <= o["placed"] <= end:
            counts[bucket(o["placed"], start, grain)][0] += 1
        if o["paid"] is not None and start <= o["paid"] <= end:
            b = bucket(o["paid"], start, grain)
            counts[b][1] += 1
            counts[b][2] += sum(q for _, q, _ in o["lines"])
            revenue_items.append((b, o["paid"], o["currency"], o["total"]))
    for day, currency, amount in w.refunds:
        if start <= day <= end and (converted or currency == cur):
            b = bucket(day, start, grain)
            counts[b][3] += 1
            refund_items.append((b, day, currency, amount))
    for day, currency in w.returns:
        if start <= day <= end and (converted or currency == cur):
            counts[bucket(day, start, grain)][4] += 1
    revenue = grouped_money(w, revenue_items, target, converted)
    refunded = grouped_money(w, refund_items, target, converted)
    out = {}
    for b, (placed, paid, units, refunds, returns, _) in counts.items():
        aov = round(Fraction(revenue[b], paid)) if paid else 0
        out[b.isoformat()] = (placed, paid, revenue[b], aov, units, refunds, refunded[b], returns)
    return out


def actual_sales(report: pb.SalesReport) -> dict[str, tuple]:
    return {
        p.start_date: (
            p.orders_placed,
            p.orders_paid,
            p.revenue_minor,
            p.average_order_value_minor,
            p.units,
            p.refunds,
            p.refunded_minor,
            p.returns_requested,
        )
        for p in report.periods
        if (p.orders_placed, p.orders_paid, p.refunds, p.returns_requested) != (0, 0, 0, 0)
    }


def expected_customers(w: World, start: date, end: date, grain: str) -> tuple[dict, dict]:
    first: dict[str, date] = {}
    for o in w.orders.values():
        if o["paid"] is not None and o["customer"]:
            c = o["customer"]
            first[c] = min(first.get(c, o["paid"]), o["paid"])
    new: dict[date, set] = defaultdict(set)
    returning: dict[date, set] = defaultdict(set)
    cohort_active: dict[str, dict[int, set]] = defaultdict(lambda: defaultdict(set))
    for o in w.orders.values():
        paid, c = o["paid"], o["customer"]
        if paid is None or not c or not start <= paid <= end:
            continue
        b = bucket(paid, start, grain)
        natural = bucket(paid, date.min, grain)
        (new if first[c] >= natural else returning)[b].add(c)
        if first[c] >= start:
            month = first[c].isoformat()[:7]
            offset = (paid.year - first[c].year) * 12 + paid.month - first[c].month
            cohort_active[month][offset].add(c)
    accounts: dict[date, int] = defaultdict(int)
    for d in w.registered:
        if start <= d <= end:
            accounts[bucket(d, start, grain)] += 1
    periods = {
        b.isoformat(): (accounts[b], len(new[b]), len(returning[b]))
        for b in set(new) | set(returning) | set(accounts)
    }
    last = end.year * 12 + end.month - 1
    cohorts = {}
    for month, active in cohort_active.items():
        y, m = map(int, month.split("-"))
        span = last - (y * 12 + m - 1) + 1
        cohorts[month] = [len(active.get(i, ())) for i in range(span)]
    return periods, cohorts


def expected_funnel(w: World, start: date, end: date, grain: str, cur: str) -> dict[str, tuple]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in w.orders.values():
        if start <= o["placed"] <= end and (not cur or o["currency"] == cur):
            f = out[bucket(o["placed"], start, grain).isoformat()]
            f[0] += 1
            f[1] += o["invoiced"]
            f[2] += o["paid"] is not None
    return {k: tuple(v) for k, v in out.items()}


def expected_products(w: World, start: date, end: date, cur: str) -> list[tuple]:
    target, converted = (cur, False) if cur else (REPORTING, True)
    units: dict[str, int] = defaultdict(int)
    orders: dict[str, set] = defaultdict(set)
    items = []
    for oid, o in w.orders.items():
        if o["paid"] is None or not start <= o["paid"] <= end:
            continue
        if not converted and o["currency"] != cur:
            continue
        for product, quantity, amount in o["lines"]:
            units[product] += quantity
            orders[product].add(oid)
            items.append((product, o["paid"], o["currency"], amount))
    revenue = grouped_money(w, items, target, converted)
    ranked = sorted(units, key=lambda p: (-units[p], -revenue[p], p))
    return [(p, units[p], len(orders[p]), revenue[p]) for p in ranked][:100]


def expected_methods(w: World, start: date, end: date, cur: str) -> tuple[dict, int]:
    target, converted = (cur, False) if cur else (REPORTING, True)
    count: dict[tuple, int] = defaultdict(int)
    items = []
    for o in w.orders.values():
        if o["paid"] is None or not start <= o["paid"] <= end:
            continue
        if not converted and o["currency"] != cur:
            continue
        provider, pay = w.invoices.get(o["invoice"], ("", o["pay"]))
        count[(provider, pay)] += 1
        items.append(((provider, pay), o["paid"], o["currency"], o["total"]))
    revenue = grouped_money(w, items, target, converted)
    paid = sum(count.values())
    crypto = sum(n for (_, pay), n in count.items() if pay == "USDT")
    share = round(Fraction(crypto * 10_000, paid)) if paid else 0
    return {k: (n, revenue[k]) for k, n in count.items()}, share


def expected_support(w: World, start: date, end: date, grain: str) -> dict[str, tuple]:
    out: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for c in w.conversations.values():
        if c["started"] is None or not start <= c["started"] <= end:
            continue
        f = out[bucket(c["started"], start, grain).isoformat()]
        f[0] += 1
        f[1] += c["answered"]
        f[2] += c["ms"] if c["answered"] else 0
        f[3] += c["handed"]
        f[4] += c["closed"]
        f[5] += c["resolved"]
    return {k: (n, a, ms // a if a else 0, h, cl, r) for k, (n, a, ms, h, cl, r) in out.items()}


async def compare(
    analytics: analytics_pb2_grpc.AnalyticsServiceStub,
    w: World,
    start: date,
    end: date,
    grain: str,
    cur: str,
) -> None:
    q = pb.AnalyticsQuery(
        start_date=start.isoformat(), end_date=end.isoformat(), granularity=grain, currency=cur
    )
    sales = await analytics.GetSales(q)
    assert actual_sales(sales) == expected_sales(w, start, end, grain, cur)
    assert sales.money.currency == (cur or REPORTING)

    customers = await analytics.GetCustomers(q)
    periods, cohorts = expected_customers(w, start, end, grain)
    got = {
        p.start_date: (p.new_accounts, p.new_customers, p.returning_customers)
        for p in customers.periods
        if (p.new_accounts, p.new_customers, p.returning_customers) != (0, 0, 0)
    }
    assert got == {k: v for k, v in periods.items() if v != (0, 0, 0)}
    assert {c.month: list(c.active) for c in customers.cohorts} == cohorts

    funnel = await analytics.GetFunnel(q)
    got_funnel = {
        p.start_date: (p.orders_placed, p.orders_invoiced, p.orders_paid)
        for p in funnel.periods
        if p.orders_placed
    }
    assert got_funnel == expected_funnel(w, start, end, grain, cur)
    assert list(funnel.untracked_stages) == ["carts", "checkouts_started"]

    top = await analytics.GetTopProducts(pb.TopProductsQuery(range=q, limit=100))
    assert [(p.product_id, p.units, p.orders, p.revenue_minor) for p in top.products] == (
        expected_products(w, start, end, cur)
    )

    methods = await analytics.GetPaymentMethods(q)
    expected, share = expected_methods(w, start, end, cur)
    assert {
        (m.provider, m.pay_currency): (m.orders, m.revenue_minor) for m in methods.methods
    } == expected
    assert methods.crypto_share_bp == share

    support = await analytics.GetSupportStats(q)
    got_support = {
        p.start_date: (
            p.conversations,
            p.answered,
            p.mean_time_to_first_answer_ms,
            p.handed_over,
            p.closed,
            p.resolved_by_assistant,
        )
        for p in support.periods
        if p.conversations
    }
    assert got_support == expected_support(w, start, end, grain)


async def test_every_figure_equals_a_brute_force_recomputation_from_the_streams(
    world: World, analytics: analytics_pb2_grpc.AnalyticsServiceStub
) -> None:
    first, last = days(world)
    span = (last - first).days
    loop = asyncio.get_running_loop()
    checked: list[tuple] = []

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        offset=st.integers(0, span),
        length=st.integers(0, span),
        grain=st.sampled_from(["day", "week", "month"]),
        cur=st.sampled_from(["", "", "EUR", "USD", "JPY"]),
    )
    def check(offset: int, length: int, grain: str, cur: str) -> None:
        start = first + timedelta(days=offset)
        end = min(start + timedelta(days=length), last)
        asyncio.run_coroutine_threadsafe(
            compare(analytics, world, start, end, grain, cur), loop
        ).result()
        checked.append((start, end, grain, cur))

    await asyncio.to_thread(check)
    # The whole range, converted: every order counts, so the test cannot pass on empty data.
    await compare(analytics, world, first, last, "month", "")
    whole = await analytics.GetSales(
        pb.AnalyticsQuery(
            start_date=first.isoformat(), end_date=last.isoformat(), granularity="month"
        )
    )
    assert whole.total.orders_paid > 0
    assert whole.total.revenue_minor > 0
    assert whole.money.unconverted_currencies == []
    assert len(checked) >= min(EXAMPLES, 5)


async def test_stock_alerts_list_the_variants_at_or_below_the_threshold(
    world: World, analytics: analytics_pb2_grpc.AnalyticsServiceStub, admin_engine: AsyncEngine
) -> None:
    report = await analytics.GetStockAlerts(pb.StockAlertsQuery(low_stock_threshold=20, limit=1000))
    async with admin_engine.connect() as conn:
        rows = await analytics_store.dump(conn, ANALYTICS_TABLES[7])  # analytics_stock
    expected = sorted(r[0] for r in rows if r[3] - r[4] <= 20)
    assert sorted(a.variant_id for a in report.alerts) == expected
    assert report.low + report.out == len(expected)
    for alert in report.alerts:
        assert alert.level == (pb.STOCK_LEVEL_OUT if alert.available <= 0 else pb.STOCK_LEVEL_LOW)


async def test_a_rebuild_replays_every_stream_and_reproduces_every_table(
    world: World, js: JetStreamContext, admin_engine: AsyncEngine
) -> None:
    async def tables() -> dict[str, list]:
        async with admin_engine.connect() as conn:
            return await analytics_store.dump_models(conn, ANALYTICS_TABLES)

    before = await tables()
    assert before["analytics_orders"]
    assert before["analytics_daily_sales"]
    sessions = session_factory(admin_engine)
    await rebuild_analytics(sessions, js)
    emptied = await tables()
    assert emptied["analytics_orders"] == []
    await drain(analytics_consumers(js, sessions))
    assert await tables() == before


@pytest.mark.parametrize(
    ("start", "end", "granularity", "currency", "field"),
    [
        ("2026-03-02", "2026-03-01", "", "", "end_date"),
        ("2020-01-01", "2026-01-01", "day", "", "end_date"),
        ("2026-01-01", "2026-01-31", "hour", "", "granularity"),
        ("2026-01-01", "2026-01-31", "day", "XXX", "currency"),
        ("2026-02-30", "2026-03-01", "day", "", "start_date"),
    ],
)
async def test_a_bad_query_is_invalid_argument_naming_the_field(
    analytics: analytics_pb2_grpc.AnalyticsServiceStub,
    start: str,
    end: str,
    granularity: str,
    currency: str,
    field: str,
) -> None:
    q = pb.AnalyticsQuery(
        start_date=start, end_date=end, granularity=granularity, currency=currency
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await analytics.GetSales(q)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (raised.value.details() or "")


async def test_a_caller_without_the_analytics_permission_is_refused(
    analytics: analytics_pb2_grpc.AnalyticsServiceStub,
) -> None:
    q = pb.AnalyticsQuery(start_date="2026-01-01", end_date="2026-01-31")
    token = mint_token(permissions=["admin:read"])
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await analytics.GetSales(q, metadata=with_token(token))
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    allowed = mint_token(permissions=["admin:analytics:read"])
    assert (await analytics.GetSales(q, metadata=with_token(allowed))).money.currency == "EUR"

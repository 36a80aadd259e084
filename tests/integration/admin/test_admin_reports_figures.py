"""Reports over real gRPC against the admin service, fed by the seeded profile's events (and
chain events) on a NATS of this module's own: the CSV's sums equal the analytics' figures of the
same period, the PDF's text holds the totals, a closed period's report never changes after late
events, an open one is provisional, crypto reconciliation comes from chain events, bad requests
are refused naming the field."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import nats
import pytest
import sqlalchemy as sa
from analytics_events import plan_events, publish, seeded_plan
from nats.js import JetStreamContext
from pypdf import PdfReader
from security_support import (
    SecurityFiles,
    authorization_interceptor,
    authorized_channel,
    bearer,
    with_token,
)
from security_support import mint_token as mint
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import analytics_pb2 as apb
from agora._proto.agora.admin.v1 import reports_pb2 as pb
from agora._proto.agora.admin.v1.analytics_pb2_grpc import AnalyticsServiceStub
from agora._proto.agora.admin.v1.reports_pb2_grpc import ReportsServiceStub
from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_ev
from agora._proto.agora.chain.v1 import chain_pb2 as chain_pb
from agora._proto.agora.chain.v1 import events_pb2 as chain_ev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_ev
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.admin.analytics_consumers import analytics_consumers, rebuild_analytics
from agora.admin.bootstrap import compose
from agora.admin.reports_consumers import rebuild_reports, reports_consumers
from agora.admin.reports_tables import (
    report_snapshots,
    reports_chain_runs,
    reports_chain_transfers,
    reports_refunds,
)
from agora.admin.settings import AdminSettings
from agora.bench.admin_reports import bench_report_export, markdown
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode, new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import session_factory
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.net import free_port, wait_for_port
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.interceptors import REQUEST_ID_HEADER
from agora.platform.rpc.server import GrpcServer
from agora.platform.rpc.timestamps import datetime_of, timestamp
from agora.platform.runtime import Backends
from agora.platform.settings import PlatformSettings

SCALE = 0.002
# Now, to the reports: June 2026 is open, every month before it closed.
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
CLOSED = ("2025-11-01", "2025-11-30")
LATE = ("2025-10-01", "2025-10-31")
OPEN = ("2026-06-01", "2026-06-30")
CHAIN_ID = 31337
RUN_ID = str(uuid.uuid4())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def private_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server of this module's own: the synthetic events reach no other test's service."""
    server = EmbeddedNats(tmp_path_factory.mktemp("reports-nats"), free_port())
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


def chain_event(subject: str, event: object, aggregate: str, occurred: datetime) -> EventEnvelope:
    return new_envelope(
        producer="chain",
        subject=subject,
        event=event,  # type: ignore[arg-type]
        aggregate_id=aggregate,
        occurred_at=occurred,
    )


def transfer(n: int, status: int, block_time: str) -> chain_pb.Transfer:
    tx = "0x" + f"{n:064x}"
    return chain_pb.Transfer(
        chain_id=CHAIN_ID,
        tx_hash=tx,
        log_index=0,
        block_time=timestamp(at(block_time)),
        amount=CryptoAmount(base_units=str(1_000_000 * n), asset="USDT", decimals=6),
        invoice_id=str(uuid.uuid4()),
        status=status,  # type: ignore[arg-type]
        reference=f"{CHAIN_ID}:{tx}:0",
    )


def chain_events() -> list[EventEnvelope]:
    """Transfers in November 2025 (three confirmed, one reorged, one in December) and a
    reconciliation run of November."""
    made = []
    for n, when in enumerate(
        ["2025-11-03T10:00:00", "2025-11-10T10:00:00", "2025-11-20T10:00:00"], start=1
    ):
        detected = transfer(n, chain_pb.TRANSFER_STATUS_DETECTED, when)
        confirmed = transfer(n, chain_pb.TRANSFER_STATUS_CONFIRMED, when)
        made.append(
            chain_event(
                "chain.transfer.detected",
                chain_ev.TransferDetected(transfer=detected),
                detected.reference,
                at(when),
            )
        )
        made.append(
            chain_event(
                "chain.transfer.confirmed",
                chain_ev.TransferConfirmed(transfer=confirmed),
                confirmed.reference,
                at(when) + timedelta(minutes=2),
            )
        )
    reorged = transfer(4, chain_pb.TRANSFER_STATUS_REORGED, "2025-11-12T08:00:00")
    made.append(
        chain_event(
            "chain.transfer.reorged",
            chain_ev.TransferReorged(transfer=reorged),
            reorged.reference,
            at("2025-11-12T08:05:00"),
        )
    )
    later = transfer(5, chain_pb.TRANSFER_STATUS_CONFIRMED, "2025-12-02T08:00:00")
    made.append(
        chain_event(
            "chain.transfer.confirmed",
            chain_ev.TransferConfirmed(transfer=later),
            later.reference,
            at("2025-12-02T08:05:00"),
        )
    )
    run = chain_pb.ReconciliationRun(
        id=RUN_ID,
        chain_id=CHAIN_ID,
        since=timestamp(at("2025-11-01T00:00:00")),
        until=timestamp(at("2025-12-01T00:00:00")),
        status=chain_pb.RECONCILIATION_STATUS_COMPLETED,
        counts=chain_pb.ReconciliationCounts(matched=2, not_credited=1, sweeps=1),
        has_mismatches=True,
        completed_at=timestamp(at("2025-11-30T23:00:00")),
    )
    made.append(
        chain_event(
            "chain.reconciliation.completed",
            chain_ev.ReconciliationCompleted(run=run),
            RUN_ID,
            at("2025-11-30T23:00:00"),
        )
    )
    return made


async def drain(consumers: list[EventConsumer]) -> None:
    for consumer in consumers:
        while await consumer.consume_once(timeout_s=0.5):
            pass


@dataclass
class World:
    events: list[EventEnvelope]
    priced_variant: str
    price_minor: int


@pytest.fixture(scope="module")
async def world(js: JetStreamContext, admin_engine: AsyncEngine) -> World:
    events = plan_events(seeded_plan(SCALE))
    stock = next(e for e in events if e.subject == "catalog.stock.changed")
    variant = decode(stock, catalog_ev.StockChanged).variant_id
    price = catalog_ev.PricesChanged(
        variant_id=variant, prices=[catalog_pb.Money(amount_minor=1999, currency="EUR")]
    )
    events.append(
        new_envelope(
            producer="catalog",
            subject="catalog.product.prices_changed",
            event=price,
            aggregate_id=variant,
            occurred_at=datetime_of(stock.occurred_at) + timedelta(seconds=1),
        )
    )
    await ensure_stream(js, producer_stream("chain"))
    await publish(js, events + chain_events())
    sessions = session_factory(admin_engine)
    await rebuild_analytics(sessions, js)
    await rebuild_reports(sessions, js)
    await drain(analytics_consumers(js, sessions) + reports_consumers(js, sessions))
    return World(events, variant, 1999)


@pytest.fixture(scope="module")
async def server(
    world: World,
    js: JetStreamContext,
    admin_engine: AsyncEngine,
    database_url: str,
    security_files: SecurityFiles,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The admin service's servicers as `compose` builds them, its clock at NOW."""
    platform = PlatformSettings(database_url=database_url, discovery=False)
    channels = ServiceChannels(Resolver(static={}))
    settings = AdminSettings(media_dir=Path(tmp_path_factory.mktemp("reports-media")))
    parts = compose(Backends(platform, admin_engine, js, channels), settings, clock=lambda: NOW)
    grpc_server = GrpcServer(
        "admin", "127.0.0.1", free_port(), authorization=authorization_interceptor(security_files)
    )
    for servicer in parts.servicers:
        grpc_server.add(servicer.add_to_server, servicer.implementation)
    await grpc_server.start()
    yield grpc_server.address
    await grpc_server.stop(0)
    await channels.close()


@pytest.fixture(scope="module")
async def stubs(server: str) -> AsyncIterator[tuple[ReportsServiceStub, AnalyticsServiceStub]]:
    channel = authorized_channel(server)
    yield ReportsServiceStub(channel), AnalyticsServiceStub(channel)
    await channel.close()


async def export(
    reports: ReportsServiceStub,
    kind: str,
    period: tuple[str, str],
    currency: str = "",
    fmt: str = "",
) -> tuple[dict[str, str], bytes, list[str]]:
    """(initial metadata, body, content types) of an export, asked as the gateway asks: with a
    request id (the headers go out with the first message after the service chose them)."""
    call = reports.ExportReport(
        pb.ExportReportRequest(
            kind=kind, start_date=period[0], end_date=period[1], currency=currency, format=fmt
        ),
        metadata=((REQUEST_ID_HEADER, uuid.uuid4().hex),),
    )
    body, types = [], []
    async for part in call:
        body.append(part.data)
        types.append(part.content_type)
    metadata = {k: str(v) for k, v in (await call.initial_metadata())}
    return metadata, b"".join(body), types


def table(body: bytes) -> tuple[list[dict[str, str]], dict[str, str]]:
    """(rows, totals row) of a CSV export."""
    *rows, totals = list(csv.DictReader(io.StringIO(body.decode())))
    assert next(iter(totals.values())) == "Total"
    return rows, totals


def minor(text: str, exponent: int = 2) -> int:
    return int(Decimal(text).scaleb(exponent))


def query(
    period: tuple[str, str], currency: str = "", granularity: str = "month"
) -> apb.AnalyticsQuery:
    return apb.AnalyticsQuery(
        start_date=period[0], end_date=period[1], currency=currency, granularity=granularity
    )


async def test_sales_by_day_csv_sums_to_the_analytics_sales_of_the_month(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    reports, analytics = stubs
    metadata, body, types = await export(reports, "sales-by-day", CLOSED)
    assert set(types) == {"text/csv; charset=utf-8"}
    assert metadata["content-disposition"] == (
        'attachment; filename="sales-by-day_2025-11-01_2025-11-30.csv"'
    )
    assert metadata["x-agora-report-status"] == "final"
    rows, totals = table(body)
    assert len(rows) == 30
    sales = (await analytics.GetSales(query(CLOSED))).total
    assert sales.orders_paid > 10
    assert sum(int(r["orders_paid"]) for r in rows) == sales.orders_paid
    assert sum(minor(r["revenue_eur"]) for r in rows) == sales.revenue_minor
    assert sum(int(r["units"]) for r in rows) == sales.units
    assert sum(minor(r["refunded_eur"]) for r in rows) == sales.refunded_minor
    assert minor(totals["revenue_eur"]) == sales.revenue_minor
    assert int(totals["orders_placed"]) == sales.orders_placed


async def test_country_tax_payment_and_customer_reports_add_up_to_the_analytics(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    """In one currency, unconverted: every grouping of the same orders sums exactly."""
    reports, analytics = stubs
    sales = (await analytics.GetSales(query(CLOSED, "EUR"))).total
    assert sales.orders_paid > 0

    rows, _ = table((await export(reports, "sales-by-country", CLOSED, "EUR"))[1])
    assert sum(minor(r["revenue_eur"]) for r in rows) == sales.revenue_minor
    assert sum(int(r["orders_paid"]) for r in rows) == sales.orders_paid

    rows, totals = table((await export(reports, "tax", CLOSED, "EUR"))[1])
    assert sum(minor(r["gross_eur"]) for r in rows) == sales.revenue_minor
    for r in rows:
        assert minor(r["net_eur"]) + minor(r["tax_eur"]) == minor(r["gross_eur"])
    assert minor(totals["tax_eur"]) == sum(minor(r["tax_eur"]) for r in rows)

    rows, _ = table((await export(reports, "payments-refunds", CLOSED, "EUR"))[1])
    methods = await analytics.GetPaymentMethods(query(CLOSED, "EUR"))
    assert {
        (r["provider"], r["pay_currency"]): (int(r["payments"]), minor(r["paid_eur"]))
        for r in rows
        if int(r["payments"])
    } == {(m.provider, m.pay_currency): (m.orders, m.revenue_minor) for m in methods.methods}
    assert sum(int(r["refunds"]) for r in rows) == sales.refunds
    assert sum(minor(r["refunded_eur"]) for r in rows) == sales.refunded_minor

    rows, _ = table((await export(reports, "customers", CLOSED, ""))[1])
    customers = (await analytics.GetCustomers(query(CLOSED))).periods[0]
    all_sales = (await analytics.GetSales(query(CLOSED))).total
    assert sum(int(r["new"]) for r in rows) == customers.new_customers
    assert len(rows) == customers.new_customers + customers.returning_customers
    assert sum(int(r["orders_paid"]) for r in rows) == all_sales.orders_paid


async def test_product_rows_equal_the_analytics_top_products(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    reports, analytics = stubs
    rows, _ = table((await export(reports, "sales-by-product", CLOSED))[1])
    top = await analytics.GetTopProducts(apb.TopProductsQuery(range=query(CLOSED), limit=100))
    assert len(top.products) < 100
    assert {
        r["product_id"]: (int(r["units"]), int(r["orders"]), minor(r["revenue_eur"])) for r in rows
    } == {p.product_id: (p.units, p.orders, p.revenue_minor) for p in top.products}
    categories, _ = table((await export(reports, "sales-by-category", CLOSED, "EUR"))[1])
    by_product, _ = table((await export(reports, "sales-by-product", CLOSED, "EUR"))[1])
    assert sum(int(c["units"]) for c in categories) == sum(int(p["units"]) for p in by_product)
    assert sum(minor(c["revenue_eur"]) for c in categories) == sum(
        minor(p["revenue_eur"]) for p in by_product
    )


async def test_inventory_is_valued_at_the_selling_price_of_the_currency(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub], world: World
) -> None:
    reports, _ = stubs
    report = await reports.GetReport(
        pb.GetReportRequest(
            kind="inventory-valuation", start_date=OPEN[0], end_date=OPEN[1], limit=1000
        )
    )
    keys = [c.key for c in report.columns]
    rows = {r.cells[0]: dict(zip(keys, r.cells, strict=True)) for r in report.rows}
    priced = rows[world.priced_variant]
    assert int(priced["unit_price"]) == world.price_minor
    assert int(priced["value"]) == int(priced["on_hand"]) * world.price_minor > 0
    assert int(report.totals.cells[keys.index("value")]) == sum(
        int(r["value"]) for r in rows.values()
    )
    assert report.row_count == len(rows) > 1


async def test_crypto_reconciliation_rows_come_from_the_chain_events(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    reports, _ = stubs
    rows, totals = table((await export(reports, "crypto-reconciliation", CLOSED))[1])
    assert [(r["run_id"], r["chain_id"], r["completed_date"]) for r in rows] == [
        (RUN_ID, str(CHAIN_ID), "2025-11-30")
    ]
    (run,) = rows
    assert (run["matched"], run["not_credited"], run["sweeps"]) == ("2", "1", "1")
    assert (run["transfers_confirmed"], run["transfers_reorged"]) == ("3", "1")
    assert run["status"] == "completed"
    assert totals["matched"] == "2"


async def test_the_pdf_opens_and_its_text_holds_the_totals(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    reports, analytics = stubs
    metadata, body, types = await export(reports, "sales-by-day", CLOSED, fmt="pdf")
    assert set(types) == {"application/pdf"}
    assert metadata["content-disposition"].endswith('sales-by-day_2025-11-01_2025-11-30.pdf"')
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    sales = (await analytics.GetSales(query(CLOSED))).total
    revenue = str(Decimal(sales.revenue_minor).scaleb(-2).quantize(Decimal("0.01")))
    assert revenue in text
    for part in ("Sales by day", "2025-11-01", "EUR"):
        assert part in text
    assert "Provisional" not in text
    assert "Page 1" in text
    whole = ("2025-06-01", "2026-05-31")
    _, many, _ = await export(reports, "customers", whole, fmt="pdf")
    assert len(PdfReader(io.BytesIO(many)).pages) > 1


async def test_an_open_period_is_provisional_everywhere(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    reports, _ = stubs
    report = await reports.GetReport(
        pb.GetReportRequest(kind="sales-by-day", start_date=OPEN[0], end_date=OPEN[1])
    )
    assert report.provisional
    metadata, _, _ = await export(reports, "sales-by-day", OPEN)
    assert metadata["x-agora-report-status"] == "provisional"
    assert metadata["content-disposition"].endswith(
        'sales-by-day_2026-06-01_2026-06-30-provisional.csv"'
    )
    _, pdf, _ = await export(reports, "sales-by-day", OPEN, fmt="pdf")
    assert "Provisional" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    closed = await reports.GetReport(
        pb.GetReportRequest(kind="sales-by-day", start_date=CLOSED[0], end_date=CLOSED[1])
    )
    assert not closed.provisional


async def test_a_closed_period_is_the_same_after_late_events(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
    world: World,
    js: JetStreamContext,
    admin_engine: AsyncEngine,
) -> None:
    reports, analytics = stubs
    request = pb.GetReportRequest(kind="sales-by-day", start_date=LATE[0], end_date=LATE[1])
    first = await reports.GetReport(request)
    _, first_csv, _ = await export(reports, "sales-by-day", LATE)
    before = (await analytics.GetSales(query(LATE))).total

    placed = next(
        e
        for e in world.events
        if e.subject == "orders.order.placed" and datetime_of(e.occurred_at).month == 10
    )
    late = decode(placed, order_ev.OrderPlaced)
    late.order_id = str(uuid.uuid4())
    when = at("2025-10-20T12:00:00")
    await publish(
        js,
        [
            new_envelope(
                producer="orders",
                subject="orders.order.placed",
                event=late,
                aggregate_id=late.order_id,
                aggregate_version=1,
                occurred_at=when,
            ),
            new_envelope(
                producer="orders",
                subject="orders.order.paid",
                event=order_ev.OrderPaid(order_id=late.order_id),
                aggregate_id=late.order_id,
                aggregate_version=2,
                occurred_at=when + timedelta(minutes=5),
            ),
        ],
    )
    sessions = session_factory(admin_engine)
    await drain(analytics_consumers(js, sessions) + reports_consumers(js, sessions))
    after = (await analytics.GetSales(query(LATE))).total
    assert after.orders_paid == before.orders_paid + 1

    again = await reports.GetReport(request)
    _, again_csv, _ = await export(reports, "sales-by-day", LATE)
    assert again_csv == first_csv
    assert again.checksum == first.checksum
    assert list(again.totals.cells) == list(first.totals.cells)
    assert again.generated_at == first.generated_at


@pytest.mark.parametrize(
    ("kind", "start", "end", "currency", "fmt", "field"),
    [
        ("sales-by-day", "2026-03-02", "2026-03-01", "", "", "end_date"),
        ("sales-by-day", "2020-01-01", "2026-01-01", "", "", "end_date"),
        ("sales-by-day", "2026-01-01", "2026-01-31", "XXX", "", "currency"),
        ("sales-by-week", "2026-01-01", "2026-01-31", "", "", "kind"),
        ("tax", "2026-02-30", "2026-03-01", "", "", "start_date"),
        ("tax", "2026-01-01", "2026-01-31", "", "xlsx", "format"),
    ],
)
async def test_a_bad_request_is_invalid_argument_before_any_byte(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
    kind: str,
    start: str,
    end: str,
    currency: str,
    fmt: str,
    field: str,
) -> None:
    reports, _ = stubs
    call = reports.ExportReport(
        pb.ExportReportRequest(
            kind=kind, start_date=start, end_date=end, currency=currency, format=fmt
        )
    )
    parts = []
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        parts = [part async for part in call]
    assert parts == []
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (raised.value.details() or "")
    assert "content-disposition" not in dict(raised.value.initial_metadata() or ())
    if fmt:
        return
    with pytest.raises(grpc.aio.AioRpcError) as preview:
        await reports.GetReport(
            pb.GetReportRequest(kind=kind, start_date=start, end_date=end, currency=currency)
        )
    assert preview.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (preview.value.details() or "")


async def test_reports_need_the_reports_permission(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub],
) -> None:
    reports, _ = stubs
    request = pb.GetReportRequest(kind="tax", start_date=CLOSED[0], end_date=CLOSED[1])
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await reports.GetReport(
            request, metadata=with_token(mint(permissions=["admin:analytics:read"]))
        )
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    allowed = with_token(mint(permissions=["admin:reports:read"]))
    assert (await reports.GetReport(request, metadata=allowed)).kind == "tax"
    assert date.fromisoformat((await reports.GetReport(request, metadata=allowed)).end_date)


async def test_the_export_bench_counts_every_data_row(
    server: str, stubs: tuple[ReportsServiceStub, AnalyticsServiceStub]
) -> None:
    reports, _ = stubs
    whole = ("2025-06-01", "2026-05-31")
    rows, _ = table((await export(reports, "customers", whole))[1])
    runs = await bench_report_export(
        server,
        lambda: bearer(mint(permissions=["admin:reports:read"])),
        kind="customers",
        start_date=whole[0],
        end_date=whole[1],
        rounds=2,
    )
    assert [(r.rows, r.status) for r in runs] == [(len(rows), "final")] * 2
    assert all(r.bytes > 0 for r in runs)
    assert "| customers | final |" in markdown(runs, "customers")


async def test_concurrent_first_reports_of_a_closed_period_freeze_it_once(
    stubs: tuple[ReportsServiceStub, AnalyticsServiceStub], admin_engine: AsyncEngine
) -> None:
    reports, _ = stubs
    request = pb.GetReportRequest(kind="tax", start_date="2025-09-01", end_date="2025-09-30")
    answers = await asyncio.gather(*(reports.GetReport(request) for _ in range(6)))
    assert len({(a.checksum, a.generated_at.seconds, a.row_count) for a in answers}) == 1
    assert answers[0].row_count > 0
    async with admin_engine.connect() as conn:
        frozen = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(report_snapshots)
            .where(
                report_snapshots.c.kind == "tax", report_snapshots.c.start_date == date(2025, 9, 1)
            )
        )
    assert frozen == 1


async def test_a_rebuild_replays_the_reports_facts_identically(
    world: World, js: JetStreamContext, admin_engine: AsyncEngine
) -> None:
    facts = (reports_chain_transfers, reports_chain_runs, reports_refunds)

    async def dump() -> dict[str, list[tuple[object, ...]]]:
        async with admin_engine.connect() as conn:
            return {
                t.name: sorted(tuple(r) for r in await conn.execute(sa.select(t))) for t in facts
            }

    before = await dump()
    assert all(before.values())
    sessions = session_factory(admin_engine)
    await rebuild_reports(sessions, js)
    assert not any((await dump()).values())
    await drain(reports_consumers(js, sessions))
    assert await dump() == before

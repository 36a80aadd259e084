"""`agora bench admin`: the analytics rebuilt from a full-profile-sized event history, and the
dashboard's queries over it.

Everything runs on a private PostgreSQL and NATS (embedded, under a directory of the bench's
own): the seeded full profile's events (`admin_history`) are published on the streams, then
(a) every analytics model is rebuilt from them (`rebuild_analytics`, the consumers in this
process) and timed until every consumer has caught up; (b) each dashboard query is called
through real gRPC (an admin `AnalyticsService` behind the token check) for a one-year range by
day, converted to the reporting currency; (c) CSV export rows/s: the year's customers report
(one row per customer) streamed by the admin `ReportsService` from the same server
(`admin_reports`), live first, then frozen (the range ends before today in the bench's clock).

The private NATS writes its streams to disk every second rather than at every message: only
publishing the history is slower with `always` (about 40 times), the rebuild is not.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import analytics_pb2 as pb
from agora._proto.agora.admin.v1 import analytics_pb2_grpc, reports_pb2_grpc
from agora.admin.analytics_consumers import (
    analytics_consumers,
    analytics_projections,
    caught_up,
    rebuild_analytics,
)
from agora.admin.analytics_service import AnalyticsService
from agora.admin.analytics_signals import AnalyticsSignals
from agora.admin.reports_files import ReportMaker
from agora.admin.reports_service import ReportsService
from agora.admin.users_clients import StaffCalls
from agora.bench.admin_history import plan_events, publish_fast, seeded_plan
from agora.bench.admin_reports import ExportRun, bench_report_export
from agora.platform.db import create_engine, session_factory
from agora.platform.embedded.infra import embedded_infra
from agora.platform.migrations import migrate
from agora.platform.net import free_port, free_ports
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.server import GrpcServer
from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.service_identity import ServiceIdentity
from agora.platform.security.tokens import TokenVerifier
from agora.platform.settings import to_asyncpg_url

SERVICE = "admin"
REPORTING = "EUR"
Progress = Callable[[str], None]
CSV_KIND = "customers"


@dataclass(frozen=True)
class QueryTiming:
    name: str
    calls: int
    p50_ms: float
    p99_ms: float


@dataclass
class AdminBenchReport:
    scale: float
    events: int
    orders: int
    publish_s: float
    rebuild_s: float
    start: date
    end: date
    queries: list[QueryTiming] = field(default_factory=list)
    # The one-year figures the queries returned (what a smoke run checks, not timing).
    orders_paid: int = 0
    revenue_minor: int = 0
    days: int = 0
    csv: list[ExportRun] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.events / self.rebuild_s if self.rebuild_s else 0.0


async def run_admin_bench(
    data_dir: Path,
    *,
    scale: float = 1.0,
    rounds: int = 200,
    progress: Progress = lambda _: None,
    csv_rounds: int = 3,
) -> AdminBenchReport:
    """Generate, publish, rebuild, query; `rounds` calls of each dashboard query."""
    progress(f"generating the full profile at scale {scale}")
    plan = seeded_plan(scale)
    envelopes = plan_events(plan)
    end = max(o.placed_at for o in plan.orders).date()
    start = end - timedelta(days=364)
    with embedded_infra(data_dir, *free_ports(2), nats_sync_interval="1s") as infra:
        database_url = to_asyncpg_url(infra.database_url)
        await migrate(SERVICE, database_url)
        engine = create_engine(database_url, SERVICE, pool_size=10)
        try:
            progress(f"publishing {len(envelopes):,} events")
            began = time.monotonic()
            await publish_fast(infra.nats_url, envelopes)
            published = time.monotonic() - began
            count = len(envelopes)
            del envelopes  # a million protobuf messages: the rebuild needs the memory more
            report = AdminBenchReport(
                scale=scale,
                events=count,
                orders=len(plan.orders),
                publish_s=published,
                rebuild_s=await _rebuild(engine, infra.nats_url, progress),
                start=start,
                end=end,
            )
            progress("querying the dashboard")
            await _query(engine, report, rounds, csv_rounds, progress)
        finally:
            await engine.dispose()
    return report


async def _rebuild(engine: AsyncEngine, nats_url: str, progress: Progress) -> float:
    """Seconds from the rebuild's start until every analytics consumer has caught up."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        sessions = session_factory(engine)
        consumers = analytics_consumers(js, sessions)
        progress("rebuilding every analytics model")
        began = time.monotonic()
        await rebuild_analytics(sessions, js)
        tasks = [asyncio.create_task(c.run()) for c in consumers]
        try:
            await _wait_caught_up(js, progress)
            took = time.monotonic() - began
        finally:
            for consumer in consumers:
                await consumer.stop()
            await asyncio.gather(*tasks)
        return took
    finally:
        await connection.close()


async def _wait_caught_up(js: JetStreamContext, progress: Progress) -> None:
    last = time.monotonic()
    while True:
        left = await caught_up(js, analytics_projections())
        if left == 0:
            return
        if time.monotonic() - last > 10:
            progress(f"{left:,} events left")
            last = time.monotonic()
        await asyncio.sleep(0.05)


async def _query(
    engine: AsyncEngine,
    report: AdminBenchReport,
    rounds: int,
    csv_rounds: int,
    progress: Progress,
) -> None:
    identity = ServiceIdentity("bench", Ed25519PrivateKey.generate())  # a key of its own
    server = GrpcServer(
        SERVICE,
        "127.0.0.1",
        free_port(),
        authorization=AuthorizationInterceptor(TokenVerifier(None, identity.verification_keys())),
    )
    servicer = AnalyticsService(engine, AnalyticsSignals(engine), REPORTING)
    server.add(analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server, servicer)
    server.add(reports_pb2_grpc.add_ReportsServiceServicer_to_server, _reports(engine, report.end))
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = analytics_pb2_grpc.AnalyticsServiceStub(channel)  # type: ignore[no-untyped-call]
            metadata = (("authorization", identity.authorization()),)
            year = pb.AnalyticsQuery(
                start_date=report.start.isoformat(),
                end_date=report.end.isoformat(),
                granularity="day",
            )
            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "GetSales": lambda: stub.GetSales(year, metadata=metadata),
                "GetCustomers": lambda: stub.GetCustomers(year, metadata=metadata),
                "GetFunnel": lambda: stub.GetFunnel(year, metadata=metadata),
                "GetTopProducts": lambda: stub.GetTopProducts(
                    pb.TopProductsQuery(range=year, limit=10), metadata=metadata
                ),
                "GetPaymentMethods": lambda: stub.GetPaymentMethods(year, metadata=metadata),
                "GetSupportStats": lambda: stub.GetSupportStats(year, metadata=metadata),
                "GetStockAlerts": lambda: stub.GetStockAlerts(
                    pb.StockAlertsQuery(limit=50), metadata=metadata
                ),
            }
            for name, call in calls.items():
                report.queries.append(await _timed(name, call, rounds))
            sales = await stub.GetSales(year, metadata=metadata)
            report.orders_paid = sales.total.orders_paid
            report.revenue_minor = sales.total.revenue_minor
            report.days = len(sales.periods)
        if csv_rounds:
            progress(f"exporting the {CSV_KIND} report as CSV")
            report.csv = await bench_report_export(
                server.address,
                identity.authorization,
                kind=CSV_KIND,
                start_date=report.start.isoformat(),
                end_date=report.end.isoformat(),
                rounds=csv_rounds,
            )
    finally:
        await server.stop(0)


def _reports(engine: AsyncEngine, end: date) -> ReportsService:
    """The reports served as of the day after the range (so its period is closed: the first
    export computes and freezes it, the next ones read the frozen rows)."""
    now = datetime.combine(end + timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    maker = ReportMaker(engine, reporting=REPORTING, grace=timedelta(days=1), clock=lambda: now)
    # Exports make no staff calls (only schedules do): the channels resolve nothing.
    calls = StaffCalls(ServiceChannels(_NoAddresses()), timeout_s=1.0)
    return ReportsService(engine, maker, calls, clock=lambda: now)


class _NoAddresses:
    def addresses(self, service: str) -> list[str]:
        return []


async def _timed(name: str, call: Callable[[], Awaitable[object]], rounds: int) -> QueryTiming:
    for _ in range(min(rounds, 5)):  # warm-up: connections, prepared statements
        await call()
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        await call()
        took.append((time.perf_counter() - began) * 1000)
    took.sort()
    p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
    return QueryTiming(name, rounds, statistics.median(took), p99)


def markdown(report: AdminBenchReport) -> str:
    """The report as Markdown (for docs/benchmarks.md)."""
    lines = [
        f"Full profile at scale {report.scale}: {report.orders:,} orders, "
        f"{report.events:,} events (published in {report.publish_s:.1f} s).",
        "",
        f"Rebuild of every analytics model from the streams: **{report.rebuild_s:.1f} s** "
        f"({report.events_per_s:,.0f} events/s).",
        "",
        f"Dashboard queries, {report.start} to {report.end} by day, converted to {REPORTING} "
        f"(through gRPC, one call at a time): {report.orders_paid:,} paid orders, "
        f"{report.days} days.",
        "",
        "| query | calls | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for q in report.queries:
        lines.append(f"| {q.name} | {q.calls} | {q.p50_ms:.1f} | {q.p99_ms:.1f} |")
    if report.csv:
        lines += [
            "",
            f"CSV export of the year's {CSV_KIND} report through gRPC:",
            "",
            "| round | rows | MiB | seconds | rows/s | first chunk s | status |",
            "|---:|---:|---:|---:|---:|---:|---|",
        ]
        for n, run in enumerate(report.csv, 1):
            lines.append(
                f"| {n} | {run.rows:,} | {run.bytes / 2**20:.1f} | {run.seconds:.2f} | "
                f"{run.rows_per_s:,.0f} | {run.first_chunk_s:.2f} | {run.status} |"
            )
    return "\n".join(lines)

"""`agora bench admin` at a tiny scale: it generates, publishes and rebuilds the history on
private servers, queries every dashboard figure through gRPC and reports what it measured (the
figures are checked here, never the timings)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from cli_support import isolate_agora
from typer.testing import CliRunner

from agora import cli
from agora.bench.admin import markdown, run_admin_bench
from agora.bench.admin_history import plan_events, seeded_plan
from agora.platform.rpc.timestamps import datetime_of

SCALE = 0.0005
QUERIES = {
    "GetSales",
    "GetCustomers",
    "GetFunnel",
    "GetTopProducts",
    "GetPaymentMethods",
    "GetSupportStats",
    "GetStockAlerts",
}


def paid_between(start: date, end: date) -> int:
    """Orders of the plan paid in the range, counted from its events."""
    events = plan_events(seeded_plan(SCALE))
    return sum(
        1
        for e in events
        if e.subject == "orders.order.paid" and start <= datetime_of(e.occurred_at).date() <= end
    )


async def test_the_admin_bench_reports_the_rebuilt_figures_and_every_query(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    report = await run_admin_bench(tmp_path, scale=SCALE, rounds=3, progress=seen.append)

    assert report.events == len(plan_events(seeded_plan(SCALE)))
    assert report.orders == len(seeded_plan(SCALE).orders)
    assert (report.end - report.start).days == 364
    assert report.days == 365
    assert report.orders_paid == paid_between(report.start, report.end)
    assert report.orders_paid > 0
    assert report.revenue_minor > 0
    assert {q.name for q in report.queries} == QUERIES
    assert all(q.calls == 3 for q in report.queries)
    assert report.rebuild_s > 0
    # Every round exports one row per customer of the year (a closed period: frozen after the
    # first round, the same rows served again).
    assert len(report.csv) == 3
    assert report.csv[0].rows > 0
    assert {run.rows for run in report.csv} == {report.csv[0].rows}
    assert {run.status for run in report.csv} == {"final"}
    text = markdown(report)
    assert f"{report.events:,} events" in text
    assert all(f"| {name} | 3 |" in text for name in QUERIES)
    assert any("rebuilding" in line for line in seen)


def test_agora_bench_admin_prints_the_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    isolate_agora(monkeypatch, tmp_path)

    result = CliRunner().invoke(
        cli.app,
        ["bench", "admin", "--scale", str(SCALE), "--rounds", "2", "--data-dir", str(tmp_path)],
    )

    assert result.exit_code == 0, result.output
    assert "Rebuild of every analytics model from the streams" in result.output
    assert "| GetSales | 2 |" in result.output

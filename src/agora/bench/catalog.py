"""`agora bench catalog`: storefront reads through the gateway against a running stack.

Scenarios: list 20 products with prices, and product by slug, at 16 and 64 connections; plus the
stack's idle resident memory and the start-up time `agora up` recorded in its status file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from agora.bench.load import LoadResult, run_load

LIST_PATH = "/v1/products?pageSize=20&currency=EUR"


@dataclass(frozen=True)
class Scenario:
    name: str
    paths: list[str]


@dataclass(frozen=True)
class CatalogBenchReport:
    results: list[tuple[str, LoadResult]]
    idle_rss_mib: float | None
    startup_s: float | None


def product_slugs(base_url: str, limit: int = 50) -> list[str]:
    """Slugs of published products, read through the public API."""
    response = httpx.get(f"{base_url}/v1/products", params={"pageSize": limit}, timeout=10)
    response.raise_for_status()
    return [product["slug"] for product in response.json()["products"]]


def stack_rss_mib(status_file: Path) -> float | None:
    """Resident memory of the supervisor and every process below it (PostgreSQL, NATS, services)."""
    if not status_file.exists():
        return None
    pid = json.loads(status_file.read_text())["supervisor_pid"]
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / (1024 * 1024)


def startup_seconds(status_file: Path) -> float | None:
    if not status_file.exists():
        return None
    value = json.loads(status_file.read_text()).get("healthy_after_s")
    return float(value) if value is not None else None


def run_catalog_bench(
    base_url: str,
    *,
    status_file: Path,
    connections: Sequence[int] = (16, 64),
    duration_s: float = 10.0,
) -> CatalogBenchReport:
    """Measure memory first (idle), then run every scenario at every connection count."""
    idle_rss = stack_rss_mib(status_file)
    slugs = product_slugs(base_url)
    scenarios = [
        Scenario("list 20 products with prices", [LIST_PATH]),
        Scenario("product by slug", [f"/v1/products/{slug}" for slug in slugs]),
    ]
    results = []
    for scenario in scenarios:
        run_load(base_url, scenario.paths, connections=connections[0], duration_s=2)  # warm-up
        for count in connections:
            result = run_load(base_url, scenario.paths, connections=count, duration_s=duration_s)
            results.append((scenario.name, result))
    return CatalogBenchReport(
        results=results, idle_rss_mib=idle_rss, startup_s=startup_seconds(status_file)
    )


def markdown(report: CatalogBenchReport) -> str:
    """The report as a Markdown table (for docs/benchmarks.md)."""
    lines = [
        "| scenario | connections | req/s | p50 ms | p99 ms | errors | tool |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in report.results:
        lines.append(
            f"| {name} | {r.connections} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.errors} | {r.tool} |"
        )
    if report.startup_s is not None:
        lines.append(f"\n`agora up` to all healthy: {report.startup_s:.1f} s")
    if report.idle_rss_mib is not None:
        lines.append(f"\nIdle resident memory of the whole stack: {report.idle_rss_mib:,.0f} MiB")
    return "\n".join(lines)

"""`agora bench web`: the storefront's pages in a real browser (Debian Chromium through
Playwright): Largest Contentful Paint and the JavaScript each page transfers, with a cold cache
(a fresh browser profile per load) and a warm one (the same profile, loaded again).

LCP is read in the page with `PerformanceObserver('largest-contentful-paint', buffered)`; the
JavaScript from the Resource Timing API (`transferSize`: bytes over the wire, compressed, 0 from
the cache; `encodedBodySize`: the compressed body, cached or not). Playwright is a development
dependency: the benchmark runs from a checkout with `make install`.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

CHROMIUM = os.environ.get("AGORA_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
# Reads the page's LCP (ms since navigation start) and its scripts' bytes.
MEASURE_JS = """async () => {
  const lcp = await new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const entries = list.getEntries();
      resolve(entries[entries.length - 1].startTime);
    }).observe({type: "largest-contentful-paint", buffered: true});
    setTimeout(() => resolve(null), 3000);
  });
  const scripts = performance.getEntriesByType("resource").filter(
    (e) => e.initiatorType === "script" || new URL(e.name).pathname.endsWith(".js"));
  return {
    lcp,
    transfer: scripts.reduce((sum, e) => sum + e.transferSize, 0),
    encoded: scripts.reduce((sum, e) => sum + e.encodedBodySize, 0),
    scripts: scripts.length,
  };
}"""


class WebBenchError(Exception):
    """The shop or the browser is not there."""


@dataclass
class PageStats:
    name: str
    path: str
    cold_lcp_ms: list[float] = field(default_factory=list)
    warm_lcp_ms: list[float] = field(default_factory=list)
    js_transfer_bytes: list[int] = field(default_factory=list)
    js_encoded_bytes: list[int] = field(default_factory=list)
    warm_js_transfer_bytes: list[int] = field(default_factory=list)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def bench_pages(base_url: str) -> list[tuple[str, str]]:
    """Home, a category listing and a product page of the running shop, found through its API."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        products = client.get("/v1/products", params={"pageSize": 1}).raise_for_status().json()
        categories = client.get("/v1/categories").raise_for_status().json()
    listed = products.get("products") or []
    if not listed:
        raise WebBenchError(f"the shop at {base_url} has no published product; seed it first")
    pages = [("home", "/")]
    tops = [c for c in categories.get("categories", []) if not c.get("parentId")]
    pages.append(("listing", f"/c/{tops[0]['slug']}" if tops else "/search"))
    pages.append(("product", f"/p/{listed[0]['slug']}"))
    return pages


def run_web_bench(
    base_url: str,
    *,
    runs: int,
    chromium: str = CHROMIUM,
    progress: Callable[[str], None] = lambda _: None,
) -> list[PageStats]:
    """Each page loaded `runs` times cold (fresh profile) and warm (same profile, again)."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        pages = bench_pages(base_url)
    except httpx.HTTPError as error:
        raise WebBenchError(f"no shop at {base_url} ({error})") from None
    stats = [PageStats(name, path) for name, path in pages]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=LAUNCH_ARGS
            )
            try:
                for stat in stats:
                    progress(f"{stat.name}: {stat.path}")
                    for _ in range(runs):
                        context = browser.new_context(
                            base_url=base_url, viewport={"width": 1440, "height": 900}
                        )
                        try:
                            cold = _load(context, stat.path)
                            warm = _load(context, stat.path)
                        finally:
                            context.close()
                        stat.cold_lcp_ms.append(cold["lcp"])
                        stat.js_transfer_bytes.append(cold["transfer"])
                        stat.js_encoded_bytes.append(cold["encoded"])
                        stat.warm_lcp_ms.append(warm["lcp"])
                        stat.warm_js_transfer_bytes.append(warm["transfer"])
            finally:
                browser.close()
    except PlaywrightError as error:
        raise WebBenchError(f"the browser failed: {error.message.splitlines()[0]}") from None
    return stats


def _load(context: Any, path: str) -> dict[str, Any]:
    page = context.new_page()
    try:
        answer = page.goto(path, wait_until="load")
        if answer is None or answer.status != 200:
            status = answer.status if answer is not None else "no answer"
            raise WebBenchError(f"{path}: {status}")
        measured: dict[str, Any] = page.evaluate(MEASURE_JS)
    finally:
        page.close()
    if measured["lcp"] is None:
        raise WebBenchError(f"{path}: the browser reported no largest contentful paint")
    return measured


def markdown(stats: list[PageStats], runs: int) -> str:
    """The results as a Markdown table (for docs/benchmarks.md)."""
    lines = [
        "| page | path | LCP cold p50 / p95 ms | LCP warm p50 / p95 ms | JS transferred cold, KB "
        "(compressed) | JS transferred warm, KB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in stats:
        lines.append(
            f"| {s.name} | `{s.path}` | {percentile(s.cold_lcp_ms, 0.5):.0f} / "
            f"{percentile(s.cold_lcp_ms, 0.95):.0f} | {percentile(s.warm_lcp_ms, 0.5):.0f} / "
            f"{percentile(s.warm_lcp_ms, 0.95):.0f} | "
            f"{statistics.median(s.js_transfer_bytes) / 1024:.1f} | "
            f"{statistics.median(s.warm_js_transfer_bytes) / 1024:.1f} |"
        )
    lines.append(f"\n{runs} loads per page and cache state; Debian Chromium, headless, 1440 x 900.")
    return "\n".join(lines)

"""`agora bench checkout`: completed checkouts per second through the gateway.

Each client loops: create cart → add a line → shipping address → shipping method → place order →
invoice attached (`orders.order.awaiting_payment` seen on NATS) → pay with the dev provider →
`orders.order.paid` seen on NATS. Latencies are
recorded per step. Afterwards the zero-oversell property is checked: for every variant used, the
stock that left the shelf equals the quantity of paid orders, and nothing is negative.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import nats
from nats.aio.msg import Msg

from agora._proto.agora.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1.events_pb2 import OrderAwaitingPayment

STEPS = ("cart", "add_line", "address", "shipping", "place", "invoice", "pay", "paid")
BENCH_STOCK = 1_000_000
INVOICE_TIMEOUT_S = 10.0
AWAITING_PAYMENT = "orders.order.awaiting_payment"
PAID = "orders.order.paid"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postalCode": "10115",
    "country": "DE",
    "email": "ada@example.com",
}


@dataclass
class CheckoutRun:
    clients: int
    duration_s: float
    completed: int = 0
    failed: int = 0
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    paid_quantity: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def per_second(self) -> float:
        return self.completed / self.duration_s

    def percentile(self, step: str, q: float) -> float:
        values = sorted(self.latencies_ms.get(step, []))
        return values[min(len(values) - 1, int(len(values) * q))] if values else 0.0


@dataclass(frozen=True)
class StockCheck:
    variants: int
    oversold: int  # variants whose shelf stock dropped by more than was paid for
    uncommitted: int  # variants with paid orders whose stock has not left the shelf
    negative: int


class OrderEvents:
    """Futures resolved by the saga's events on NATS, keyed by order id: the invoice attached
    (`orders.order.awaiting_payment`, carrying the invoice id) and the order paid."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], asyncio.Future[str]] = {}
        self._seen: dict[tuple[str, str], str] = {}

    def expect(self, subject: str, order_id: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        seen = self._seen.pop((subject, order_id), None)
        if seen is not None:
            future.set_result(seen)
        else:
            self._waiting[(subject, order_id)] = future
        return future

    async def on_message(self, message: Msg) -> None:
        envelope = EventEnvelope.FromString(message.data)
        value = envelope.aggregate_id
        if message.subject == AWAITING_PAYMENT:
            value = OrderAwaitingPayment.FromString(envelope.payload).invoice_id
        key = (message.subject, envelope.aggregate_id)
        future = self._waiting.pop(key, None)
        if future is None:
            self._seen[key] = value
        elif not future.done():
            future.set_result(value)


async def _timed(run: CheckoutRun, step: str, call: Awaitable[httpx.Response]) -> dict[str, Any]:
    started = time.perf_counter()
    response = await call
    run.latencies_ms[step].append((time.perf_counter() - started) * 1000)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


async def _checkout(
    http: httpx.AsyncClient, run: CheckoutRun, events: OrderEvents, variant: dict[str, Any]
) -> None:
    def key() -> str:
        return str(uuid.uuid4())

    cart = await _timed(
        run, "cart", http.post("/v1/carts", json={"currency": "EUR", "idempotencyKey": key()})
    )
    token = cart["token"]
    await _timed(
        run,
        "add_line",
        http.post(
            f"/v1/carts/{token}/lines",
            json={
                "productId": variant["productId"],
                "variantId": variant["id"],
                "quantity": 1,
                "idempotencyKey": key(),
            },
        ),
    )
    await _timed(
        run,
        "address",
        http.put(
            f"/v1/carts/{token}/shipping-address", params={"idempotencyKey": key()}, json=ADDRESS
        ),
    )
    await _timed(
        run,
        "shipping",
        http.put(
            f"/v1/carts/{token}/shipping-method",
            json={"code": "de-standard", "idempotencyKey": key()},
        ),
    )
    order = await _timed(
        run, "place", http.post("/v1/orders", json={"cartToken": token, "idempotencyKey": key()})
    )
    order_id = order["id"]
    started = time.perf_counter()
    invoice_id = order.get("invoiceId") or await asyncio.wait_for(
        events.expect(AWAITING_PAYMENT, order_id), INVOICE_TIMEOUT_S
    )
    run.latencies_ms["invoice"].append((time.perf_counter() - started) * 1000)
    seen_paid = events.expect(PAID, order_id)
    await _timed(
        run,
        "pay",
        http.post(
            f"/v1/invoices/{invoice_id}/dev:pay",
            json={"action": "DEV_PAY_ACTION_PAY_FULL", "idempotencyKey": key()},
        ),
    )
    started = time.perf_counter()
    await asyncio.wait_for(seen_paid, 30)
    run.latencies_ms["paid"].append((time.perf_counter() - started) * 1000)
    run.paid_quantity[variant["id"]] += 1


async def _client(
    base_url: str,
    run: CheckoutRun,
    events: OrderEvents,
    variants: list[dict[str, Any]],
    deadline: float,
) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while time.perf_counter() < deadline:
            try:
                await _checkout(http, run, events, random.choice(variants))
                run.completed += 1
            except (httpx.HTTPError, TimeoutError):
                run.failed += 1


class StockDesk:
    """Stock top-ups and reads, straight to the catalog over gRPC as `service:bench`: service
    tokens belong between services, and the public edge refuses them."""

    def __init__(self, catalog_address: str, authorization: Callable[[], str]) -> None:
        self._channel = grpc.aio.insecure_channel(catalog_address)
        self._catalog = catalog_pb2_grpc.CatalogServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._authorization = authorization

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", self._authorization()),)  # re-minted as it ages

    async def top_up(self, variant_id: str) -> None:
        request = catalog_pb2.SetStockRequest(
            idempotency_key=str(uuid.uuid4()), variant_id=variant_id, on_hand=BENCH_STOCK
        )
        await self._catalog.SetStock(request, metadata=self._metadata(), timeout=10)

    async def levels(self, variants: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
        levels = {}
        for variant in variants:
            request = catalog_pb2.GetStockRequest(variant_id=variant["id"])
            stock = await self._catalog.GetStock(request, metadata=self._metadata(), timeout=10)
            levels[variant["id"]] = {"onHand": stock.on_hand, "reserved": stock.reserved}
        return levels

    async def close(self) -> None:
        await self._channel.close()


async def prepare_variants(
    http: httpx.AsyncClient, desk: StockDesk, count: int = 20
) -> list[dict[str, Any]]:
    """Published variants priced in EUR, their stock topped up for the run."""
    listing = await http.get("/v1/products", params={"pageSize": 50, "currency": "EUR"})
    listing.raise_for_status()
    variants = [
        {**v, "productId": p["id"]}
        for p in listing.json()["products"]
        for v in p["variants"]
        if any(price["currency"] == "EUR" for price in v["prices"])
    ][:count]
    for variant in variants:
        await desk.top_up(variant["id"])
    return variants


async def run_checkout_bench(
    base_url: str,
    nats_url: str,
    *,
    catalog_address: str,
    clients: list[int],
    duration_s: float,
    staff_authorization: Callable[[], str],
) -> tuple[list[CheckoutRun], StockCheck]:
    """One run per client count; then the zero-oversell check over all runs. Customers check
    out as guests through the gateway; stock is topped up and read at the catalog with
    `staff_authorization()` (a bearer value of the bench's service token)."""
    events = OrderEvents()
    connection = await nats.connect(nats_url)
    for subject in (AWAITING_PAYMENT, PAID):
        await connection.subscribe(subject, cb=events.on_message)
    desk = StockDesk(catalog_address, staff_authorization)
    runs = []
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            variants = await prepare_variants(http, desk)
            before = await desk.levels(variants)
            for count in clients:
                run = CheckoutRun(clients=count, duration_s=duration_s)
                deadline = time.perf_counter() + duration_s
                await asyncio.gather(
                    *(_client(base_url, run, events, variants, deadline) for _ in range(count))
                )
                runs.append(run)
            await asyncio.sleep(2)  # let the last commits of the reservations land
            after = await desk.levels(variants)
    finally:
        await desk.close()
        await connection.close()
    return runs, _check_stock(runs, before, after)


def _check_stock(
    runs: list[CheckoutRun], before: dict[str, Any], after: dict[str, Any]
) -> StockCheck:
    oversold = uncommitted = negative = 0
    for variant_id, start in before.items():
        end = after[variant_id]
        sold = sum(run.paid_quantity.get(variant_id, 0) for run in runs)
        left_shelf = int(start.get("onHand", 0)) - int(end.get("onHand", 0))
        if left_shelf > sold:
            oversold += 1
        elif left_shelf < sold:
            uncommitted += 1
        if int(end.get("onHand", 0)) < 0 or int(end.get("reserved", 0)) < 0:
            negative += 1
    return StockCheck(
        variants=len(before), oversold=oversold, uncommitted=uncommitted, negative=negative
    )


def markdown(runs: list[CheckoutRun], check: StockCheck) -> str:
    lines = [
        "| clients | completed checkouts/s | completed | failed | "
        + " | ".join(f"{s} p50/p99 ms" for s in STEPS)
        + " |",
        "|---:|---:|---:|---:|" + "---:|" * len(STEPS),
    ]
    for run in runs:
        cells = " | ".join(
            f"{run.percentile(s, 0.5):.1f} / {run.percentile(s, 0.99):.1f}" for s in STEPS
        )
        lines.append(
            f"| {run.clients} | {run.per_second:.1f} | {run.completed} | {run.failed} | {cells} |"
        )
    lines.append(
        f"\nZero oversell over {check.variants} variants: "
        f"{'held' if check.oversold == 0 and check.negative == 0 else 'VIOLATED'} "
        f"(oversold {check.oversold}, negative {check.negative}; "
        f"paid but not yet committed {check.uncommitted})"
    )
    return "\n".join(lines)

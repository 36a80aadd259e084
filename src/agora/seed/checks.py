"""`agora seed`'s own verification: does the data in the database keep the invariants the
services' APIs keep? It reads every service's schema (catalog, orders, payments) with raw SQL,
which only this tool may do.

- Orders: every order's `order_details` is the fold of its events (`order_pb` of the replayed
  history, as `store.load` and the projection make it) and its `order_list` row is `list_row` of
  it. Folding runs in Python over batched queries; `sample` limits it to that many orders.
- Stock: `reserved` is the sum of the live (active) reservation lines of the variant, and
  nothing is negative. With the plan: each seeded variant has the plan's `on_hand` (initial
  minus what seeded orders committed), each seeded order's reservation has the status its
  outcome implies and the order's lines, so the units committed per variant are the plan's.
- Payments: every paid, fulfilled, shipped, delivered or refunded order has a settled invoice
  referencing it for its total, paid at least its accepted minimum, refunded at most what was
  paid; every order awaiting payment has an open invoice.
- Open orders (placed, awaiting payment) hold a live reservation: active, not expired at the
  plan's clock (the database's clock without a plan).

With a plan, the checks of orders and invoices cover the plan's orders only (orders placed
through the API meanwhile may be mid-checkout); without one, every order. The stock check
always covers every variant: the catalog keeps it for every reservation.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from google.protobuf.message import DecodeError

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora.orders.aggregate import Order
from agora.orders.projections import list_row
from agora.orders.translation import event_from_pb, order_pb, parse_event
from agora.platform.seeding import SeedOrder, SeedPlan
from agora.platform.settings import to_libpq_url

FOLD_BATCH = 2_000
# Problems reported per check; the rest are counted.
MAX_REPORTED = 50
_PAID_STATUSES = ("PAID", "FULFILLED", "SHIPPED", "DELIVERED", "REFUNDED")
_COMMITTED_OUTCOMES = frozenset({"paid", "fulfilled", "shipped", "delivered", "refunded"})
_OPEN_OUTCOMES = frozenset({"placed", "awaiting_payment"})
_LIST_COLUMNS = (
    "order_id",
    "customer_id",
    "status",
    "currency",
    "total_minor",
    "item_count",
    "customer_name",
    "email",
    "country",
    "search_text",
    "placed_at",
    "updated_at",
)


async def check_consistency(
    database_url: str, plan: SeedPlan | None = None, *, sample: int | None = None
) -> list[str]:
    """Every inconsistency found (empty: consistent). `sample` folds only that many orders
    (chosen at random, the same ones each time) instead of all of them."""
    conn = await asyncpg.connect(to_libpq_url(database_url))
    try:
        problems: list[str] = []
        problems += await _check_order_views(conn, plan, sample)
        problems += await _check_stock(conn)
        if plan is not None:
            problems += await _check_seeded_stock(conn, plan)
        scope = [order.id for order in plan.orders] if plan is not None else None
        problems += await _check_invoices(conn, scope)
        problems += await _check_open_orders(conn, plan.now if plan else None, scope)
        return problems
    finally:
        await conn.close()


def _capped(check: str, found: Sequence[str]) -> list[str]:
    if len(found) <= MAX_REPORTED:
        return list(found)
    return [*found[:MAX_REPORTED], f"{check}: {len(found) - MAX_REPORTED} more problems"]


# --- orders: views against the fold of the events ----------------------------------------


async def _order_ids(conn: asyncpg.Connection, plan: SeedPlan | None) -> list[str]:
    if plan is not None:
        return [order.id for order in plan.orders]
    rows = await conn.fetch(
        "SELECT order_id::text FROM orders.order_events WHERE version = 1"
        " UNION SELECT order_id::text FROM orders.order_details ORDER BY 1"
    )
    return [row[0] for row in rows]


async def _check_order_views(
    conn: asyncpg.Connection, plan: SeedPlan | None, sample: int | None
) -> list[str]:
    ids = await _order_ids(conn, plan)
    if sample is not None and sample < len(ids):
        ids = sorted(random.Random(0).sample(ids, sample))
    found: list[str] = []
    for start in range(0, len(ids), FOLD_BATCH):
        found += await _check_view_batch(conn, ids[start : start + FOLD_BATCH])
    return _capped("order views", found)


async def _check_view_batch(conn: asyncpg.Connection, ids: list[str]) -> list[str]:
    events: dict[str, list[Any]] = defaultdict(list)
    for row in await conn.fetch(
        "SELECT order_id::text, version, type, payload, occurred_at FROM orders.order_events"
        " WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, version",
        ids,
    ):
        events[row[0]].append(row)
    details = {
        row[0]: row
        for row in await conn.fetch(
            "SELECT order_id::text, version, detail FROM orders.order_details"
            " WHERE order_id = ANY($1::uuid[])",
            ids,
        )
    }
    listed = {
        row["order_id"]: row
        for row in await conn.fetch(
            f"SELECT order_id::text AS order_id, {', '.join(_LIST_COLUMNS[1:])}"
            " FROM orders.order_list WHERE order_id = ANY($1::uuid[])",
            ids,
        )
    }
    found: list[str] = []
    for order_id in ids:
        found += _view_problems(order_id, events.get(order_id, []), details, listed)
    return found


def _view_problems(
    order_id: str, events: list[Any], details: dict[str, Any], listed: dict[str, Any]
) -> list[str]:
    if not events:
        return [f"order {order_id}: no events" + (" but a view" if order_id in details else "")]
    versions = [row["version"] for row in events]
    if versions != list(range(1, len(versions) + 1)):
        return [f"order {order_id}: event versions {versions} are not 1..{len(versions)}"]
    try:
        folded = Order.replay(event_from_pb(parse_event(r["type"], r["payload"])) for r in events)
    except (ValueError, KeyError) as error:
        return [f"order {order_id}: its events do not fold: {error}"]
    expected = order_pb(
        folded, placed_at=events[0]["occurred_at"], updated_at=events[-1]["occurred_at"]
    )
    found: list[str] = []
    detail = details.get(order_id)
    if detail is None:
        found.append(f"order {order_id}: no order_details row")
    else:
        try:
            view = pb.Order.FromString(detail["detail"])
        except DecodeError:
            view = pb.Order()
        differing = _differing_fields(view, expected)
        if differing:
            found.append(
                f"order {order_id}: order_details differs from the fold of its events in "
                + ", ".join(differing)
            )
        if detail["version"] != expected.version:
            found.append(
                f"order {order_id}: order_details version {detail['version']}, "
                f"events {expected.version}"
            )
    row = listed.get(order_id)
    if row is None:
        found.append(f"order {order_id}: no order_list row")
    else:
        wanted = list_row(expected)
        differing = [c for c in _LIST_COLUMNS[1:] if row[c] != wanted[c]]
        if differing:
            found.append(f"order {order_id}: order_list differs in " + ", ".join(differing))
    return found


def _differing_fields(view: pb.Order, expected: pb.Order) -> list[str]:
    if view == expected:
        return []
    return [
        field.name
        for field in pb.Order.DESCRIPTOR.fields
        if getattr(view, field.name) != getattr(expected, field.name)
    ]


# --- stock and reservations ----------------------------------------------------------------


async def _check_stock(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT s.variant_id::text, s.on_hand, s.reserved, coalesce(l.live, 0) AS live
        FROM catalog.stock s
        LEFT JOIN (
            SELECT l.variant_id, sum(l.quantity) AS live
            FROM catalog.reservation_lines l
            JOIN catalog.reservations r ON r.id = l.reservation_id AND r.status = 'active'
            GROUP BY l.variant_id
        ) l ON l.variant_id = s.variant_id
        WHERE s.reserved <> coalesce(l.live, 0) OR s.on_hand < 0 OR s.reserved < 0
            OR s.reserved > s.on_hand
        ORDER BY s.variant_id
        """
    )
    found = [
        f"variant {row[0]}: on hand {row['on_hand']}, reserved {row['reserved']}, "
        f"live reservation lines {row['live']}"
        for row in rows
    ]
    return _capped("stock", found)


def _expected_reservation_statuses(order: SeedOrder) -> tuple[str, ...]:
    if order.outcome in _OPEN_OUTCOMES:
        return ("active",)
    if order.outcome in _COMMITTED_OUTCOMES:
        return ("committed",)
    if order.outcome == "cancelled":
        return ("released",)
    return ("released", "expired")


async def _check_seeded_stock(conn: asyncpg.Connection, plan: SeedPlan) -> list[str]:
    found: list[str] = []
    variants = {v.id: v for product in plan.products for v in product.variants}
    stock = {
        row[0]: row[1]
        for row in await conn.fetch(
            "SELECT variant_id::text, on_hand FROM catalog.stock"
            " WHERE variant_id = ANY($1::uuid[])",
            list(variants),
        )
    }
    for variant_id, variant in variants.items():
        if stock.get(variant_id) != variant.on_hand:
            found.append(
                f"variant {variant_id}: on hand {stock.get(variant_id)}, the plan says "
                f"{variant.on_hand} (initial minus committed)"
            )
    reservations: dict[str, tuple[str, str, dict[str, int]]] = {}
    for row in await conn.fetch(
        """
        SELECT r.id::text, r.reference, r.status,
            array_agg(l.variant_id::text) AS variants, array_agg(l.quantity) AS quantities
        FROM catalog.reservations r JOIN catalog.reservation_lines l ON l.reservation_id = r.id
        WHERE r.id = ANY($1::uuid[]) GROUP BY r.id
        """,
        [order.reservation_id for order in plan.orders],
    ):
        lines = dict(zip(row["variants"], row["quantities"], strict=True))
        reservations[row[0]] = (row["reference"], row["status"], lines)
    committed_plan: dict[str, int] = defaultdict(int)
    committed_db: dict[str, int] = defaultdict(int)
    for order in plan.orders:
        if order.outcome in _COMMITTED_OUTCOMES:
            for line in order.lines:
                committed_plan[line.variant_id] += line.quantity
        found += _reservation_problems(order, reservations.get(order.reservation_id))
        held = reservations.get(order.reservation_id)
        if held is not None and held[1] == "committed":
            for variant_id, quantity in held[2].items():
                committed_db[variant_id] += quantity
    for variant_id in sorted(set(committed_plan) | set(committed_db)):
        if committed_plan[variant_id] != committed_db[variant_id]:
            found.append(
                f"variant {variant_id}: seeded orders committed {committed_plan[variant_id]} "
                f"units, the catalog's reservations {committed_db[variant_id]}"
            )
    return _capped("seeded stock", found)


def _reservation_problems(
    order: SeedOrder, held: tuple[str, str, dict[str, int]] | None
) -> list[str]:
    if held is None:
        return [f"order {order.id}: no reservation {order.reservation_id}"]
    reference, status, lines = held
    wanted: dict[str, int] = defaultdict(int)
    for line in order.lines:
        wanted[line.variant_id] += line.quantity
    found = []
    if reference != order.id:
        found.append(f"order {order.id}: its reservation references {reference!r}")
    if status not in _expected_reservation_statuses(order):
        found.append(f"order {order.id} ({order.outcome}): its reservation is {status}")
    if lines != wanted:
        found.append(f"order {order.id}: its reservation holds {lines}, the order {dict(wanted)}")
    return found


# --- payments --------------------------------------------------------------------------------


async def _check_invoices(conn: asyncpg.Connection, scope: list[str] | None) -> list[str]:
    paid = [f"ORDER_STATUS_{status}" for status in _PAID_STATUSES]
    unsettled = await conn.fetch(
        """
        SELECT o.order_id::text, o.status, o.total_minor, o.currency FROM orders.order_list o
        WHERE o.status = ANY($1::text[]) AND ($2::uuid[] IS NULL OR o.order_id = ANY($2))
        AND NOT EXISTS (
            SELECT 1 FROM payments.invoices i
            WHERE i.reference = o.order_id::text AND i.status = 'settled'
                AND i.price_amount = o.total_minor AND i.price_currency = o.currency
        )
        ORDER BY o.order_id
        """,
        paid,
        scope,
    )
    found = [
        f"order {row[0]} ({row['status']}): no settled invoice for {row['total_minor']} "
        f"{row['currency']}"
        for row in unsettled
    ]
    unpaid = await conn.fetch(
        """
        SELECT i.id::text, i.due, coalesce(p.paid, 0) AS paid, coalesce(r.refunded, 0) AS refunded
        FROM payments.invoices i
        LEFT JOIN (SELECT invoice_id, sum(amount) AS paid FROM payments.invoice_payments
                   GROUP BY invoice_id) p ON p.invoice_id = i.id
        LEFT JOIN (SELECT invoice_id, sum(amount) AS refunded FROM payments.invoice_refunds
                   GROUP BY invoice_id) r ON r.invoice_id = i.id
        WHERE ((i.status = 'settled'
                AND coalesce(p.paid, 0) < ceil(i.due * (10000 - i.tolerance_bp) / 10000))
               OR coalesce(r.refunded, 0) > coalesce(p.paid, 0))
            AND ($1::text[] IS NULL OR i.reference = ANY($1))
        ORDER BY i.id
        """,
        scope,
    )
    found += [
        f"invoice {row[0]}: due {row['due']}, paid {row['paid']}, refunded {row['refunded']}"
        for row in unpaid
    ]
    waiting = await conn.fetch(
        """
        SELECT o.order_id::text FROM orders.order_list o
        WHERE o.status = 'ORDER_STATUS_AWAITING_PAYMENT'
        AND ($1::uuid[] IS NULL OR o.order_id = ANY($1))
        AND NOT EXISTS (
            SELECT 1 FROM payments.invoices i
            WHERE i.reference = o.order_id::text AND i.status IN ('new', 'processing')
        )
        ORDER BY o.order_id
        """,
        scope,
    )
    found += [f"order {row[0]} awaits payment without an open invoice" for row in waiting]
    return _capped("invoices", found)


async def _check_open_orders(
    conn: asyncpg.Connection, now: datetime | None, scope: list[str] | None
) -> list[str]:
    rows = await conn.fetch(
        """
        SELECT o.order_id::text, o.status FROM orders.order_list o
        WHERE o.status IN ('ORDER_STATUS_PLACED', 'ORDER_STATUS_AWAITING_PAYMENT')
        AND ($2::uuid[] IS NULL OR o.order_id = ANY($2))
        AND NOT EXISTS (
            SELECT 1 FROM catalog.reservations r
            WHERE r.reference = o.order_id::text AND r.status = 'active'
                AND r.expires_at > coalesce($1::timestamptz, now())
        )
        ORDER BY o.order_id
        """,
        now,
        scope,
    )
    return _capped(
        "open orders",
        [f"order {row[0]} ({row['status']}) holds no live reservation" for row in rows],
    )

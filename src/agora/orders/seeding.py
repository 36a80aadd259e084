"""The orders part of `agora seed`: each planned order replayed through the `Order` aggregate's
commands, its events written to the event store and its read models to `order_details` and
`order_list`, exactly as `store.append` and the `OrderViews` projection would write them.

An order is what PlaceOrder would have made: its totals come from the orders domain (`totals`
at the destination's tax rate, the shipping method's price for the parcel, the configured
`ShopRules`), and each later step is the aggregate's command at the time the plan says.

The events are history, written straight to the event store with the read models folded from
them in the same transaction, so the views are consistent by construction. Each event also goes
to the outbox, as `store.append` records it (same subject, payload and version; `occurred_at`
the step's time), marked `seeded`: the relay publishes it for the read models of other services
(the admin's analytics), while every handler with effects (the checkout saga, stock release,
rewards) skips it (`agora.platform.bus.consumer.live_only`). So the saga never acts on a seeded
order's past (an order seeded `placed` stays placed until someone acts on it; the plan keeps
such orders few and recent), and `agora events rebuild orders-order-views` keeps them because
the projection's reset refolds every order of the event store.

How a `SeedOrder`'s `steps` are read (a mismatch is a ValueError naming the order):
placed: none; awaiting_payment: (awaiting,); paid: (awaiting, paid), then one more step for
each of fulfilled, shipped, delivered; cancelled or expired: (closed,) straight from placed,
or (awaiting, closed) once invoiced; refunded: (awaiting, paid, [fulfilled, [shipped,
[delivered]]], refunded). `refunded_minor` 0 refunds the whole total.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import Any

import asyncpg

from agora.orders.aggregate import Order, OrderEvent, OrderPlaced
from agora.orders.domain import (
    Address,
    CartLine,
    ShippingOption,
    ShopRules,
    Totals,
    parcel_weight,
    shipping_options,
    totals,
    validate_address,
)
from agora.orders.events import PRODUCER, order_subject
from agora.orders.projections import list_row
from agora.orders.settings import OrdersSettings
from agora.orders.store import LIST_COLUMNS
from agora.orders.tables import order_details, order_events, order_list
from agora.orders.translation import EVENT_TYPES, event_pb, order_pb
from agora.platform.seeding import (
    HistoricalEvent,
    OutboxRow,
    Progress,
    SeedAddress,
    SeedOrder,
    SeedPlan,
    built_ahead,
    clean_outbox,
    outbox_rows,
    paused_collector,
    seed_id,
    write_outbox,
)

SERVICE = "orders"
# Orders written per COPY round: bounds memory, and the progress bar moves in these steps.
BATCH = 5_000
CUSTOMER_CANCELLED = "cancelled by the customer"
INVOICE_EXPIRED = "the invoice expired unpaid"  # the saga's reason
NOT_PAID_IN_TIME = "not paid in time"
CARRIER_BY_ZONE = {"domestic": "DHL", "eu": "DPD", "europe": "UPS", "world": "UPS"}
# The fulfilment steps a paid order may take before it ends (or is refunded).
_AFTER_PAID = ("fulfilled", "shipped", "delivered")

_EVENT_COLUMNS = tuple(order_events.c.keys())
_DETAIL_COLUMNS = tuple(order_details.c.keys())


def shop_rules() -> ShopRules:
    """The rules the orders service runs with (`AGORA_ORDERS_*`)."""
    return OrdersSettings().shop_rules()


# --- placing -------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def _address(seeded: SeedAddress) -> Address:
    """The address as SetShippingAddress keeps it (validated and normalized)."""
    return validate_address(
        Address(
            name=seeded.name,
            line1=seeded.line1,
            line2=seeded.line2,
            city=seeded.city,
            region=seeded.region,
            postal_code=seeded.postal_code,
            country=seeded.country,
            email=seeded.email,
            phone=seeded.phone,
        )
    )


def _shipping(
    order: SeedOrder, address: Address, lines: Sequence[CartLine], rules: ShopRules
) -> ShippingOption:
    options = shipping_options(
        rules.shipping, address.country, order.currency, parcel_weight(lines, rules)
    )
    chosen = next((o for o in options if o.method.code == order.shipping_method), None)
    if chosen is None:
        raise ValueError(
            f"order {order.id}: shipping method {order.shipping_method!r} is not offered to "
            f"{address.country} in {order.currency} for this parcel"
        )
    return chosen


def _placement(
    order: SeedOrder, rules: ShopRules
) -> tuple[tuple[CartLine, ...], Totals, Address, ShippingOption]:
    lines = tuple(
        CartLine(x.variant_id, x.product_id, x.sku, x.title, x.quantity, x.unit_price_minor)
        for x in order.lines
    )
    if not lines:
        raise ValueError(f"order {order.id} has no lines")
    address = _address(order.address)
    shipping = _shipping(order, address, lines, rules)
    found = totals(
        lines,
        currency=order.currency,
        shipping_minor=shipping.price_minor,
        tax_rate_bp=rules.tax_rate_bp(address.country),
        prices_include_tax=rules.prices_include_tax,
    )
    return lines, found, address, shipping


def order_total(order: SeedOrder, rules: ShopRules | None = None) -> int:
    """What the customer pays for `order`: its total as PlaceOrder computes it."""
    return _placement(order, rules or shop_rules())[1].total


def with_totals(plan: SeedPlan, rules: ShopRules | None = None) -> SeedPlan:
    """`plan` with every order's `total_minor` filled in (in place; returns the plan)."""
    rules = rules or shop_rules()
    plan.orders = [
        order if order.total_minor else _replace_total(order, order_total(order, rules))
        for order in plan.orders
    ]
    return plan


def _replace_total(order: SeedOrder, total: int) -> SeedOrder:
    return replace(order, total_minor=total)


def placed_event(order: SeedOrder, rules: ShopRules) -> OrderPlaced:
    """The OrderPlaced PlaceOrder would have appended for this order (no cart: seeded)."""
    lines, found, address, shipping = _placement(order, rules)
    if order.total_minor and order.total_minor != found.total:
        raise ValueError(
            f"order {order.id}: the plan's total {order.total_minor} is not the domain's "
            f"{found.total}"
        )
    return OrderPlaced(
        order_id=order.id,
        cart_id="",
        customer_id=order.customer_id,
        currency=order.currency,
        lines=lines,
        totals=found,
        shipping_address=address,
        shipping_method=shipping.method.code,
        shipping_method_name=shipping.method.name,
        reservation_id=order.reservation_id,
    )


# --- the order's life ----------------------------------------------------------------------


def _tracking_number(order: SeedOrder, carrier: str) -> str:
    digest = hashlib.blake2b(order.id.encode(), digest_size=6).digest()
    return f"{carrier}{int.from_bytes(digest, 'big'):015d}"


def _carrier(order: SeedOrder, rules: ShopRules) -> str:
    method = next(m for m in rules.shipping.methods if m.code == order.shipping_method)
    return CARRIER_BY_ZONE.get(method.zone, "DHL")


def _expect_steps(order: SeedOrder, allowed: Sequence[int]) -> None:
    if len(order.steps) not in allowed:
        raise ValueError(
            f"order {order.id} ({order.outcome}) has {len(order.steps)} steps; "
            f"expected {' or '.join(map(str, allowed))}"
        )


def history(
    order: SeedOrder, profile: str, rules: ShopRules
) -> tuple[list[tuple[OrderEvent, datetime, Order | None]], Order]:
    """The order's events, each with when it happened and the state before it, made by the
    aggregate's commands in the order the outcome implies; and the state after them."""
    placed = placed_event(order, rules)
    state = Order(placed=placed)
    made: list[tuple[OrderEvent, datetime, Order | None]] = [(placed, order.placed_at, None)]

    def step(event: OrderEvent, at: datetime) -> None:
        nonlocal state
        made.append((event, at, state))
        state = state.apply(event)

    steps = order.steps
    outcome = order.outcome
    if outcome == "placed":
        _expect_steps(order, (0,))
    elif outcome in ("cancelled", "expired"):
        _expect_steps(order, (1, 2))
        if len(steps) == 2:
            step(state.await_payment(order.invoice_id), steps[0])
        if outcome == "cancelled":
            step(state.cancel(CUSTOMER_CANCELLED), steps[-1])
        else:
            step(state.expire(INVOICE_EXPIRED if len(steps) == 2 else NOT_PAID_IN_TIME), steps[-1])
    else:
        if outcome == "refunded":
            _expect_steps(order, (3, 4, 5, 6))
            fulfilment = len(steps) - 3
        else:
            progress = ("awaiting_payment", "paid", *_AFTER_PAID).index(outcome)
            _expect_steps(order, (progress + 1,))
            fulfilment = max(progress - 1, 0)
        step(state.await_payment(order.invoice_id), steps[0])
        if len(steps) > 1:
            step(state.mark_paid(order.invoice_id), steps[1])
        for done, at in zip(_AFTER_PAID[:fulfilment], steps[2:], strict=False):
            if done == "fulfilled":
                step(state.fulfil(), at)
            elif done == "shipped":
                carrier = _carrier(order, rules)
                step(state.ship(carrier, _tracking_number(order, carrier)), at)
            else:
                step(state.deliver(), at)
        if outcome == "refunded":
            amount = order.refunded_minor or state.total_minor
            step(state.refund(amount, refund_id=refund_id(profile, order)), steps[-1])
    return made, state


def refund_id(profile: str, order: SeedOrder) -> str:
    """The id of a seeded order's refund (payments' writer derives the same one)."""
    return seed_id(profile, "refund", order.id)


def order_rows(
    order: SeedOrder, profile: str, rules: ShopRules
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...], tuple[Any, ...], list[HistoricalEvent]]:
    """The order's event store rows, its `order_details` row and its `order_list` row, as
    `store.append` and the `OrderViews` projection write them; and its events as `store.append`
    records them in the outbox."""
    events, final = history(order, profile, rules)
    event_rows = []
    announced = []
    for version, (event, at, before) in enumerate(events, start=1):
        event_type = EVENT_TYPES[type(event)]
        message = event_pb(event, before)
        event_rows.append((order.id, version, event_type, message.SerializeToString(), at))
        announced.append(HistoricalEvent(order_subject(event_type), message, order.id, at, version))
    updated_at = events[-1][1]
    view = order_pb(final, placed_at=order.placed_at, updated_at=updated_at)
    row = list_row(view)
    return (
        event_rows,
        (order.id, view.version, view.SerializeToString()),
        tuple(row[column] for column in LIST_COLUMNS),
        announced,
    )


def _batches(orders: Sequence[SeedOrder], size: int) -> Iterator[Sequence[SeedOrder]]:
    for start in range(0, len(orders), size):
        yield orders[start : start + size]


Rows = list[tuple[Any, ...]]


def build_batch(
    orders: Sequence[SeedOrder], context: tuple[str, ShopRules]
) -> tuple[Rows, Rows, Rows, list[OutboxRow]]:
    """The `order_events`, `order_details`, `order_list` and `outbox` rows of `orders`
    (`context`: the plan's profile and the shop's rules)."""
    profile, rules = context
    events: Rows = []
    details: Rows = []
    listed: Rows = []
    announced: list[HistoricalEvent] = []
    for order in orders:
        event_rows, detail, row, announcements = order_rows(order, profile, rules)
        events.extend(event_rows)
        details.append(detail)
        listed.append(row)
        announced.extend(announcements)
    return events, details, listed, outbox_rows(PRODUCER, announced, profile)


# --- the writer ----------------------------------------------------------------------------

_SEEDED_TABLES = (order_events.name, order_details.name, order_list.name)


class OrdersSeeder:
    """Writes a plan's orders: event store and read models, by COPY, in batches."""

    service = SERVICE

    def __init__(self, rules: ShopRules | None = None, *, batch_size: int = BATCH) -> None:
        self._rules = rules
        self._batch_size = batch_size

    async def write(
        self, conn: asyncpg.Connection, plan: SeedPlan, progress: Progress
    ) -> dict[str, int]:
        """Write the plan's orders; rows of an earlier run of the same plan are replaced.

        Batches are built in worker processes while the previous one is copied."""
        rules = self._rules or shop_rules()
        await self.clean(conn, plan)
        written = {"orders": 0, "order_events": 0, "events": 0}
        batches = list(_batches(plan.orders, self._batch_size))
        with paused_collector():
            built = aclosing(built_ahead(build_batch, batches, (plan.profile, rules)))
            async with built as batches_built:
                async for events, details, listed, outbox in batches_built:
                    await conn.copy_records_to_table(
                        order_events.name, records=events, columns=_EVENT_COLUMNS
                    )
                    await conn.copy_records_to_table(
                        order_details.name, records=details, columns=_DETAIL_COLUMNS
                    )
                    await conn.copy_records_to_table(
                        order_list.name, records=listed, columns=LIST_COLUMNS
                    )
                    written["orders"] += len(details)
                    written["order_events"] += len(events)
                    written["events"] += await write_outbox(conn, outbox)
                    progress("orders", len(details))
        return written

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        """Delete the event store rows and views of the plan's orders and their unpublished
        events, and nothing else."""
        ids = [order.id for order in plan.orders]
        deleted: dict[str, int] = {"events": await clean_outbox(conn, plan.profile)}
        for table in _SEEDED_TABLES:
            status = await conn.execute(
                f"DELETE FROM {table} WHERE order_id = ANY($1::uuid[])", ids
            )
            deleted[table] = int(status.split()[-1])
        return deleted


SEEDER = OrdersSeeder()

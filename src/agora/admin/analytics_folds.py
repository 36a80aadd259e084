"""Folds a batch of events, in stream order and in memory, into what it changes in each
analytics model: the consumers then write those changes with a few set-based statements
(`analytics_store`'s batch writes) instead of a few statements per event.

A fold gives exactly what applying its events one at a time gives: an event for an order not
placed (in the table or earlier in the batch) changes nothing, a second payment of an order
counts once, a refund adds to what was refunded, an invoice keeps its newest version (the
first one seen among equal versions), the daily rollup's counters add up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from agora._proto.agora.auth.v1 import events_pb2 as auth_events
from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_events
from agora._proto.agora.payments.v1 import events_pb2 as payment_events
from agora._proto.agora.payments.v1 import payments_pb2 as payments_pb
from agora._proto.agora.support.v1 import events_pb2 as support_events
from agora.admin.analytics import day_of
from agora.admin.analytics_store import DAILY_COUNTERS
from agora.platform.bus.envelope import decode
from agora.platform.rpc.timestamps import datetime_of

Row = dict[str, Any]
ProductLine = tuple[str, int, int]


def _at(envelope: EventEnvelope) -> datetime:
    return datetime_of(envelope.occurred_at)


# --- ORDERS -------------------------------------------------------------------------------------

_ORDER_EVENTS: Mapping[str, Any] = {
    "orders.order.placed": order_events.OrderPlaced,
    "orders.order.awaiting_payment": order_events.OrderAwaitingPayment,
    "orders.order.paid": order_events.OrderPaid,
    "orders.order.refunded": order_events.OrderRefunded,
    "orders.return.requested": order_events.ReturnRequested,
}
# Events that only move an order's status (the last part of the subject), by aggregate id.
_ORDER_STATUSES = frozenset(
    f"orders.order.{status}"
    for status in ("cancelled", "expired", "fulfilled", "shipped", "delivered")
)


@dataclass(frozen=True)
class OrderEvent:
    subject: str
    order_id: str
    at: datetime
    event: Any  # the decoded message (None for a status change)


def order_events_of(envelopes: Iterable[EventEnvelope]) -> list[OrderEvent]:
    """The batch's events that change an order fact, decoded (the others change nothing)."""
    found = []
    for envelope in envelopes:
        subject = envelope.subject
        event_type = _ORDER_EVENTS.get(subject)
        if event_type is not None:
            event = decode(envelope, event_type)
            found.append(OrderEvent(subject, event.order_id, _at(envelope), event))
        elif subject in _ORDER_STATUSES:
            found.append(OrderEvent(subject, envelope.aggregate_id, _at(envelope), None))
    return found


@dataclass
class OrderChanges:
    """What a batch changes: orders placed (their final state), known orders changed, lines of
    the new orders, and what to add to each (day, currency) of the daily rollup and of the
    funnel (placed, invoiced, paid; by the day the order was placed), and to each (day paid,
    currency, product) of the product rollup (units, orders, amount)."""

    added: dict[str, Row] = field(default_factory=dict)
    changed: dict[str, Row] = field(default_factory=dict)
    lines: list[Row] = field(default_factory=list)
    days: dict[tuple[date, str], list[int]] = field(default_factory=dict)
    funnel: dict[tuple[date, str], list[int]] = field(default_factory=dict)
    products: dict[tuple[date, str, str], list[int]] = field(default_factory=dict)
    # (order id, customer id, day paid) of each order the batch pays.
    paid: list[tuple[str, str, date]] = field(default_factory=list)
    # (product id, quantity, amount) of each order's lines: the new orders' and the known
    # orders' the batch pays.
    order_lines: dict[str, list[ProductLine]] = field(default_factory=dict)

    def add_to_products(self, fact: Row) -> None:
        found: dict[str, list[int]] = {}
        for product_id, quantity, amount in self.order_lines.get(fact["order_id"], ()):
            sums = found.setdefault(product_id, [0, 0])
            sums[0] += quantity
            sums[1] += amount
        for product_id, (units, amount) in found.items():
            key = (fact["paid_day"], fact["currency"], product_id)
            counters = self.products.setdefault(key, [0, 0, 0])
            counters[0] += units
            counters[1] += 1
            counters[2] += amount

    def add_to_funnel(self, fact: Row, stage: int) -> None:
        counts = self.funnel.setdefault((fact["placed_day"], fact["currency"]), [0, 0, 0])
        counts[stage] += 1

    def add_to_day(self, day: date, currency: str, **counts: int) -> None:
        counters = self.days.setdefault((day, currency), [0] * len(DAILY_COUNTERS))
        for name, count in counts.items():
            counters[DAILY_COUNTERS.index(name)] += count


def fold_orders(
    events: Sequence[OrderEvent],
    known: Mapping[str, Row],
    known_lines: Mapping[str, list[ProductLine]],
) -> OrderChanges:
    """Apply `events` in order to the order facts `known` (those of the table the events name,
    copied, not changed) and to the orders they place; `known_lines`: (product id, quantity,
    amount) of the lines of those known orders the batch pays."""
    changes = OrderChanges(order_lines=dict(known_lines))
    for e in events:
        fact = changes.added.get(e.order_id) or changes.changed.get(e.order_id)
        if fact is None and e.order_id in known:
            fact = changes.changed[e.order_id] = dict(known[e.order_id])
        if e.subject == "orders.order.placed":
            if fact is None:
                _place(changes, e)
        elif fact is not None:
            _change(changes, fact, e)
    return changes


def _place(changes: OrderChanges, e: OrderEvent) -> None:
    placed = e.event
    changes.added[placed.order_id] = {
        "order_id": placed.order_id,
        "customer_id": placed.customer_id,
        "cart_id": placed.cart_id,
        "currency": placed.currency,
        "pay_currency": placed.pay_currency or placed.currency,
        "total_minor": placed.totals.total.amount_minor,
        "units": sum(line.quantity for line in placed.lines),
        "country": placed.shipping_address.country,
        "status": "placed",
        "invoice_id": "",
        "placed_at": e.at,
        "placed_day": day_of(e.at),
        "invoiced_at": None,
        "paid_at": None,
        "paid_day": None,
        "refunded_minor": 0,
        "subtotal_minor": placed.totals.subtotal.amount_minor,
        "shipping_minor": placed.totals.shipping.amount_minor,
        "tax_minor": placed.totals.tax.amount_minor,
        "tax_rate_bp": placed.totals.tax_rate_bp,
        "prices_include_tax": placed.totals.prices_include_tax,
    }
    changes.lines.extend(
        {
            "order_id": placed.order_id,
            "line_no": n,
            "variant_id": line.variant_id,
            "product_id": line.product_id,
            "title": line.title,
            "quantity": line.quantity,
            "amount_minor": line.amount.amount_minor,
        }
        for n, line in enumerate(placed.lines)
    )
    changes.order_lines[placed.order_id] = [
        (line.product_id, line.quantity, line.amount.amount_minor) for line in placed.lines
    ]
    changes.add_to_day(day_of(e.at), placed.currency, orders_placed=1)
    changes.add_to_funnel(changes.added[placed.order_id], 0)


def _change(changes: OrderChanges, fact: Row, e: OrderEvent) -> None:
    match e.subject:
        case "orders.order.awaiting_payment":
            if fact["invoiced_at"] is None:
                changes.add_to_funnel(fact, 1)
            fact.update(invoice_id=e.event.invoice_id, invoiced_at=e.at, status="awaiting_payment")
        case "orders.order.paid":
            if fact["paid_at"] is not None:
                return
            day = day_of(e.at)
            fact.update(
                invoice_id=e.event.invoice_id or fact["invoice_id"],
                paid_at=e.at,
                paid_day=day,
                status="paid",
            )
            changes.add_to_funnel(fact, 2)
            changes.add_to_products(fact)
            changes.paid.append((fact["order_id"], fact["customer_id"], day))
            changes.add_to_day(
                day,
                fact["currency"],
                orders_paid=1,
                revenue_minor=fact["total_minor"],
                units=fact["units"],
            )
        case "orders.order.refunded":
            amount = e.event.amount.amount_minor
            fact["refunded_minor"] += amount
            if e.event.full:
                fact["status"] = "refunded"
            changes.add_to_day(day_of(e.at), fact["currency"], refunds=1, refunded_minor=amount)
        case "orders.return.requested":
            changes.add_to_day(day_of(e.at), fact["currency"], returns_requested=1)
        case _:
            fact["status"] = e.subject.rsplit(".", 1)[1]


@dataclass
class CustomerChanges:
    """What a batch's payments change in the customer rollups: first paid days (new or
    earlier), and what to add to each day's (customers, new customers) and to each (first paid
    day, month) cohort."""

    first_days: dict[str, date] = field(default_factory=dict)
    days: dict[date, list[int]] = field(default_factory=dict)
    cohorts: dict[tuple[date, date], int] = field(default_factory=dict)

    def add_to_day(self, day: date, customers: int, new: int) -> None:
        counts = self.days.setdefault(day, [0, 0])
        counts[0] += customers
        counts[1] += new

    def add_to_cohort(self, first_day: date, month: date, customers: int) -> None:
        self.cohorts[(first_day, month)] = self.cohorts.get((first_day, month), 0) + customers


def _month(day: date) -> date:
    return day.replace(day=1)


def fold_customers(
    paid: Iterable[tuple[str, str, date]],
    first_days: Mapping[str, date | None],
    earlier: Mapping[str, set[date]],
) -> CustomerChanges:
    """Count the batch's paid orders (order, customer, day; guests have no customer) against
    each customer's first paid day (None: none yet) and the days they paid before the batch:
    a customer counts once a day and once a month; a first paid day moving earlier moves the
    customer from one day's new customers and one cohort to the other."""
    batch_days: dict[str, set[date]] = defaultdict(set)
    for _, customer, day in paid:
        if customer:
            batch_days[customer].add(day)
    changes = CustomerChanges()
    for customer, days in sorted(batch_days.items()):
        before = earlier.get(customer, set())
        old_first = first_days.get(customer)
        first = min(days) if old_first is None else min(old_first, *days)
        for day in days - before:
            changes.add_to_day(day, 1, 0)
        old_months = {_month(d) for d in before}
        months = old_months | {_month(d) for d in days}
        if first == old_first:
            for month in months - old_months:
                changes.add_to_cohort(first, month, 1)
            continue
        changes.first_days[customer] = first
        changes.add_to_day(first, 0, 1)
        if old_first is not None:
            changes.add_to_day(old_first, 0, -1)
            for month in old_months:
                changes.add_to_cohort(old_first, month, -1)
        for month in months:
            changes.add_to_cohort(first, month, 1)
    return changes


# --- Payment methods (where ORDERS and PAYMENTS meet) ------------------------------------------

# A paid order as the method rollup counts it: (day paid, currency, total, pay currency placed
# with, invoice id); None while unpaid.
MethodState = tuple[date, str, int, str, str]
Method = tuple[str, str]  # (provider, pay currency) of an invoice
MethodKey = tuple[date, str, str, str]  # (day, currency, provider, pay currency)


def method_state(fact: Row) -> MethodState | None:
    if fact["paid_day"] is None:
        return None
    return (
        fact["paid_day"],
        fact["currency"],
        fact["total_minor"],
        fact["pay_currency"],
        fact["invoice_id"],
    )


class MethodChanges(dict[MethodKey, list[int]]):
    """What to add to each (day, currency, provider, pay currency): (orders, amount)."""

    def count(self, state: MethodState, method: Method | None, sign: int) -> None:
        day, currency, total, pay_currency, _ = state
        provider, pay = method if method is not None else ("", pay_currency)
        sums = self.setdefault((day, currency, provider, pay), [0, 0])
        sums[0] += sign
        sums[1] += sign * total


def order_method_changes(
    before: Mapping[str, MethodState | None],
    after: Mapping[str, MethodState | None],
    methods: Mapping[str, Method],
) -> MethodChanges:
    """Orders paid, or paid orders moved to another invoice: each order's count moves from
    where it was to where it is, by the invoices known now (`methods`, by invoice id)."""
    changes = MethodChanges()
    for order_id, state in after.items():
        old = before.get(order_id)
        if old == state:
            continue
        if old is not None:
            changes.count(old, methods.get(old[4]), -1)
        if state is not None:
            changes.count(state, methods.get(state[4]), 1)
    return changes


def invoice_method_changes(
    before: Mapping[str, Method],
    after: Mapping[str, Method],
    paid: Iterable[tuple[str, MethodState]],
) -> MethodChanges:
    """Invoices announced or changed: each paid order of theirs (invoice id, its state) moves
    from the method it was counted under (the invoice's before, else none) to the new one."""
    changes = MethodChanges()
    for invoice_id, state in paid:
        old, new = before.get(invoice_id), after[invoice_id]
        if old != new:
            changes.count(state, old, -1)
            changes.count(state, new, 1)
    return changes


# --- PAYMENTS -----------------------------------------------------------------------------------

_INVOICE_EVENTS: Mapping[str, Any] = {
    "payments.invoice.created": payment_events.InvoiceCreated,
    "payments.invoice.processing": payment_events.InvoiceProcessing,
    "payments.invoice.settled": payment_events.InvoiceSettled,
    "payments.invoice.expired": payment_events.InvoiceExpired,
    "payments.invoice.invalid": payment_events.InvoiceInvalid,
    "payments.invoice.refunded": payment_events.InvoiceRefunded,
}


@dataclass
class PaymentChanges:
    """Each invoice's newest state in the batch, and the rates announced (first one per key)."""

    invoices: dict[str, Row] = field(default_factory=dict)
    rates: dict[tuple[str, str, datetime], str] = field(default_factory=dict)


def fold_payments(envelopes: Iterable[EventEnvelope]) -> PaymentChanges:
    changes = PaymentChanges()
    for envelope in envelopes:
        if envelope.subject == "payments.rate.changed":
            changed = decode(envelope, payment_events.ExchangeRateChanged)
            quotes = {
                (r.base, r.quote, datetime_of(r.as_of)): r.rate for r in changed.rates if r.rate
            }
            for key, rate in quotes.items():
                changes.rates.setdefault(key, rate)
            continue
        event_type = _INVOICE_EVENTS.get(envelope.subject)
        if event_type is None:
            continue
        invoice: payments_pb.Invoice = decode(envelope, event_type).invoice
        newest = changes.invoices.get(invoice.id)
        if newest is None or newest["version"] < invoice.version:
            changes.invoices[invoice.id] = {
                "invoice_id": invoice.id,
                "order_id": invoice.reference,
                "provider": invoice.provider,
                "pay_currency": invoice.pay_currency,
                "price_currency": invoice.price.currency,
                "price_minor": invoice.price.amount_minor,
                "rate": invoice.rate.rate,
                "status": payments_pb.InvoiceStatus.Name(invoice.status),
                "version": invoice.version,
            }
    return changes


# --- CATALOG ------------------------------------------------------------------------------------

_SNAPSHOTS: Mapping[str, Any] = {
    "catalog.product.created": catalog_events.ProductCreated,
    "catalog.product.updated": catalog_events.ProductUpdated,
    "catalog.product.published": catalog_events.ProductPublished,
}
# Reservation events: (on hand, reserved) change per unit of each line.
_RESERVATIONS: Mapping[str, tuple[Any, int, int]] = {
    "catalog.stock.reserved": (catalog_events.StockReserved, 0, 1),
    "catalog.stock.reservation_committed": (catalog_events.ReservationCommitted, -1, -1),
    "catalog.stock.reservation_released": (catalog_events.ReservationReleased, 0, -1),
    "catalog.stock.reservation_expired": (catalog_events.ReservationExpired, 0, -1),
    "catalog.stock.reservation_restocked": (catalog_events.ReservationRestocked, 1, 0),
}


@dataclass
class StockChange:
    """A variant's names as last announced (None: unchanged), its counts as last set (None:
    unchanged) and what reservations added since."""

    product_id: str | None = None
    title: str | None = None
    on_hand: int | None = None
    reserved: int | None = None
    on_hand_added: int = 0
    reserved_added: int = 0

    def name(self, product_id: str, title: str) -> None:
        self.product_id, self.title = product_id, title

    def count(self, on_hand: int, reserved: int) -> None:
        self.on_hand, self.reserved = on_hand, reserved
        self.on_hand_added = self.reserved_added = 0


@dataclass
class CatalogChanges:
    categories: dict[str, str] = field(default_factory=dict)
    products: dict[str, tuple[str, str]] = field(default_factory=dict)
    stock: dict[str, StockChange] = field(default_factory=lambda: defaultdict(StockChange))
    prices: dict[str, dict[str, int]] = field(default_factory=dict)

    def set_prices(self, variant_id: str, money: Iterable[Any]) -> None:
        self.prices[variant_id] = {m.currency: m.amount_minor for m in money if m.currency}


def fold_catalog(envelopes: Iterable[EventEnvelope]) -> CatalogChanges:
    changes = CatalogChanges()
    for envelope in envelopes:
        subject = envelope.subject
        if subject == "catalog.category.created":
            category = decode(envelope, catalog_events.CategoryCreated).category
            changes.categories[category.id] = category.name
        elif subject in _SNAPSHOTS:
            product: catalog_pb.Product = decode(envelope, _SNAPSHOTS[subject]).product
            changes.products[product.id] = (product.title, product.category_id)
            for variant in product.variants:
                title = f"{product.title} — {variant.title}" if variant.title else product.title
                changes.stock[variant.id].name(product.id, title)
                changes.set_prices(variant.id, variant.prices)
        elif subject == "catalog.product.variant_added":
            added = decode(envelope, catalog_events.VariantAdded)
            changes.stock[added.variant.id].name(added.product_id, added.variant.title)
            changes.set_prices(added.variant.id, added.variant.prices)
        elif subject == "catalog.product.prices_changed":
            priced = decode(envelope, catalog_events.PricesChanged)
            changes.set_prices(priced.variant_id, priced.prices)
        elif subject == "catalog.stock.changed":
            counted = decode(envelope, catalog_events.StockChanged)
            changes.stock[counted.variant_id].count(counted.on_hand, counted.reserved)
        elif subject in _RESERVATIONS:
            event_type, on_hand, reserved = _RESERVATIONS[subject]
            for line in decode(envelope, event_type).lines:
                change = changes.stock[line.variant_id]
                change.on_hand_added += on_hand * line.quantity
                change.reserved_added += reserved * line.quantity
    return changes


# --- AUTH ---------------------------------------------------------------------------------------


def fold_accounts(envelopes: Iterable[EventEnvelope]) -> dict[str, date]:
    """Each account registered in the batch and its day (the first announcement wins)."""
    accounts: dict[str, date] = {}
    for envelope in envelopes:
        if envelope.subject != "auth.user.registered":
            continue
        registered = decode(envelope, auth_events.UserRegistered)
        at = datetime_of(registered.registered_at) if registered.HasField("registered_at") else None
        accounts.setdefault(registered.user_id, day_of(at or _at(envelope)))
    return accounts


# --- SUPPORT ------------------------------------------------------------------------------------


def fold_conversations(envelopes: Iterable[EventEnvelope]) -> dict[str, Row]:
    """Per conversation, the columns the batch sets (the last value of each)."""
    changes: dict[str, Row] = defaultdict(dict)
    for envelope in envelopes:
        subject = envelope.subject
        conversation = envelope.aggregate_id
        if subject == "support.conversation.started":
            started = decode(envelope, support_events.ConversationStarted)
            changes[started.conversation_id or conversation].update(
                started_day=day_of(_at(envelope)), customer_id=started.customer_id
            )
        elif subject == "support.conversation.answered":
            answered = decode(envelope, support_events.ConversationAnswered)
            changes[answered.conversation_id or conversation].update(
                answered=True,
                time_to_first_answer_ms=answered.time_to_first_answer.ToMilliseconds(),
            )
        elif subject == "support.conversation.handed_over":
            handed = decode(envelope, support_events.ConversationHandedOver)
            changes[handed.conversation_id or conversation]["handed_over"] = True
        elif subject == "support.conversation.closed":
            closed = decode(envelope, support_events.ConversationClosed)
            changes[closed.conversation_id or conversation].update(
                closed=True, resolved_by_assistant=closed.resolved_by_assistant
            )
    return dict(changes)

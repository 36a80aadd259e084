"""The seeded full profile's events (`agora.bench.admin_history`), and a brute-force
recomputation of every analytics figure from the streams' raw events, independent of
`agora.admin.analytics`' aggregation code."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from agora._proto.agora.auth.v1 import events_pb2 as auth_ev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_ev
from agora._proto.agora.payments.v1 import events_pb2 as pay_ev
from agora._proto.agora.support.v1 import events_pb2 as support_ev
from agora.bench.admin_history import PRODUCERS, plan_events, publish, seeded_plan
from agora.platform.bus.envelope import decode
from agora.platform.kernel.money import CURRENCIES
from agora.platform.rpc.timestamps import datetime_of

__all__ = ["World", "bucket", "fold", "grouped_money", "plan_events", "publish", "read_streams"]
__all__ += ["seeded_plan"]


async def read_streams(js: JetStreamContext) -> list[EventEnvelope]:
    """Every event on the analytics' streams, in each stream's order."""
    found: list[EventEnvelope] = []
    for producer in PRODUCERS:
        stream = producer.upper()
        info = await js.stream_info(stream)
        if info.state.messages == 0:
            continue
        sub = await js.pull_subscribe(
            f"{producer}.>",
            stream=stream,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=30
            ),
        )
        left = info.state.messages
        while left > 0:
            for msg in await sub.fetch(min(left, 1000), timeout=5):
                envelope = EventEnvelope()
                envelope.ParseFromString(msg.data)
                found.append(envelope)
                left -= 1
        await sub.unsubscribe()
    return found


# --- Brute force --------------------------------------------------------------------------------


@dataclass
class World:
    """Every fact the raw events tell, folded naively."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: list[tuple[date, str, int]] = field(default_factory=list)
    returns: list[tuple[date, str]] = field(default_factory=list)
    invoices: dict[str, tuple[str, str]] = field(default_factory=dict)
    rates: list[tuple[str, str, datetime, Fraction]] = field(default_factory=list)
    registered: list[date] = field(default_factory=list)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)


def fold(envelopes: list[EventEnvelope]) -> World:
    w = World()
    for e in envelopes:
        at = datetime_of(e.occurred_at)
        s = e.subject
        if s == "orders.order.placed":
            p = decode(e, order_ev.OrderPlaced)
            w.orders.setdefault(
                p.order_id,
                {
                    "customer": p.customer_id,
                    "currency": p.currency,
                    "pay": p.pay_currency or p.currency,
                    "total": p.totals.total.amount_minor,
                    "lines": [
                        (ln.product_id, ln.quantity, ln.amount.amount_minor) for ln in p.lines
                    ],
                    "placed": at.date(),
                    "invoiced": False,
                    "paid": None,
                    "invoice": "",
                },
            )
        elif s == "orders.order.awaiting_payment" and e.aggregate_id in w.orders:
            w.orders[e.aggregate_id]["invoiced"] = True
            w.orders[e.aggregate_id]["invoice"] = decode(
                e, order_ev.OrderAwaitingPayment
            ).invoice_id
        elif s == "orders.order.paid" and e.aggregate_id in w.orders:
            if w.orders[e.aggregate_id]["paid"] is None:
                w.orders[e.aggregate_id]["paid"] = at.date()
        elif s == "orders.order.refunded" and e.aggregate_id in w.orders:
            amount = decode(e, order_ev.OrderRefunded).amount.amount_minor
            w.refunds.append((at.date(), w.orders[e.aggregate_id]["currency"], amount))
        elif s == "orders.return.requested":
            oid = decode(e, order_ev.ReturnRequested).order_id
            if oid in w.orders:
                w.returns.append((at.date(), w.orders[oid]["currency"]))
        elif s.startswith("payments.invoice."):
            inv = decode(e, pay_ev.InvoiceCreated).invoice if s.endswith("created") else None
            if inv is not None:
                w.invoices[inv.id] = (inv.provider, inv.pay_currency)
        elif s == "payments.rate.changed":
            for r in decode(e, pay_ev.ExchangeRateChanged).rates:
                w.rates.append((r.base, r.quote, datetime_of(r.as_of), Fraction(r.rate)))
        elif s == "auth.user.registered":
            w.registered.append(datetime_of(decode(e, auth_ev.UserRegistered).registered_at).date())
        elif s.startswith("support.conversation."):
            c = w.conversations.setdefault(
                e.aggregate_id,
                {
                    "started": None,
                    "answered": False,
                    "ms": 0,
                    "handed": False,
                    "closed": False,
                    "resolved": False,
                },
            )
            if s.endswith("started"):
                c["started"] = at.date()
            elif s.endswith("answered"):
                c["answered"] = True
                c["ms"] = decode(
                    e, support_ev.ConversationAnswered
                ).time_to_first_answer.ToMilliseconds()
            elif s.endswith("handed_over"):
                c["handed"] = True
            elif s.endswith("closed"):
                c["closed"] = True
                c["resolved"] = decode(e, support_ev.ConversationClosed).resolved_by_assistant
    return w


def bucket(day: date, start: date, grain: str) -> date:
    if grain == "week":
        b = day - timedelta(days=day.weekday())
    elif grain == "month":
        b = day.replace(day=1)
    else:
        b = day
    return max(b, start)


def rate(w: World, currency: str, target: str, day: date) -> Fraction | None:
    if currency == target:
        return Fraction(1)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    direct = [(t, r) for b, q, t, r in w.rates if b == currency and q == target and t < end]
    if direct:
        return max(direct)[1]
    inverse = [(t, 1 / r) for b, q, t, r in w.rates if b == target and q == currency and t < end]
    return max(inverse)[1] if inverse else None


def money(w: World, amount: int, currency: str, day: date, target: str, converted: bool) -> int:
    """One (day, currency) group's amount in the report's currency (0 when it cannot be)."""
    if not converted:
        return amount if currency == target else 0
    r = rate(w, currency, target, day)
    if r is None:
        return 0
    shift = CURRENCIES[target].exponent - CURRENCIES[currency].exponent
    return round(amount * r * Fraction(10) ** shift)


def grouped_money(
    w: World, items: list[tuple[Any, date, str, int]], target: str, converted: bool
) -> dict[Any, int]:
    """Sum per (key, day, currency), convert each group, then sum per key."""
    groups: dict[tuple[Any, date, str], int] = defaultdict(int)
    for key, day, currency, amount in items:
        groups[(key, day, currency)] += amount
    out: dict[Any, int] = defaultdict(int)
    for (key, day, currency), amount in groups.items():
        out[key] += money(w, amount, currency, day, target, converted)
    return out

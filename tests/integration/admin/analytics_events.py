"""The seeded full profile as the events its services would have published (the seeder itself
writes history straight into their tables: no event reaches a stream), published on the real
streams; and a brute-force recomputation of every analytics figure from the streams' raw
events, independent of `agora.admin.analytics`' aggregation code."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from agora._proto.agora.auth.v1 import events_pb2 as auth_ev
from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_ev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_ev
from agora._proto.agora.payments.v1 import events_pb2 as pay_ev
from agora._proto.agora.payments.v1 import payments_pb2 as pay_pb
from agora._proto.agora.support.v1 import events_pb2 as support_ev
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.orders.events import order_subject
from agora.orders.seeding import history, shop_rules
from agora.orders.translation import EVENT_TYPES, event_pb
from agora.platform.bus.envelope import decode, new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.kernel.money import CURRENCIES
from agora.platform.rpc.timestamps import datetime_of, timestamp
from agora.platform.seeding import SeedPlan
from agora.seed.generate import PER_EUR_CENT, build_plan

NAMESPACE = uuid.UUID("0b6f8f7e-6a55-4c1e-9f0e-5e1d7d0a1a12")
PRODUCERS = ("auth", "catalog", "payments", "orders", "support")
CRYPTO_SHARE = 5  # one in five orders pays in USDT


def seeded_plan(scale: float) -> SeedPlan:
    return build_plan("full", seed=12, scale=scale, now=datetime(2026, 6, 30, 12, tzinfo=UTC))


def _envelope(
    producer: str, subject: str, event: Message, aggregate: str, at: datetime, n: int = 0
) -> EventEnvelope:
    event_id = str(uuid.uuid5(NAMESPACE, f"{subject}:{aggregate}:{n}"))
    return new_envelope(
        producer=producer,
        subject=subject,
        event=event,
        aggregate_id=aggregate,
        aggregate_version=n,
        occurred_at=at,
        event_id=event_id,
    )


def plan_events(plan: SeedPlan) -> list[EventEnvelope]:
    """What the plan's services would have announced, in time order."""
    start = min(o.placed_at for o in plan.orders) - timedelta(days=1)
    made: list[EventEnvelope] = []
    for c in plan.categories:
        category = catalog_pb.Category(id=c.id, slug=c.slug, name=c.name)
        made.append(
            _envelope(
                "catalog",
                "catalog.category.created",
                catalog_ev.CategoryCreated(category=category),
                c.id,
                start,
            )
        )
    for p in plan.products:
        product = catalog_pb.Product(id=p.id, slug=p.slug, title=p.title, category_id=p.category_id)
        for v in p.variants:
            product.variants.add(id=v.id, product_id=p.id, sku=v.sku, title=v.title)
        made.append(
            _envelope(
                "catalog",
                "catalog.product.created",
                catalog_ev.ProductCreated(product=product),
                p.id,
                start,
            )
        )
        for v in p.variants:
            made.append(
                _envelope(
                    "catalog",
                    "catalog.stock.changed",
                    catalog_ev.StockChanged(variant_id=v.id, on_hand=v.on_hand, reserved=0),
                    v.id,
                    start,
                )
            )
    for u in plan.users:
        made.append(
            _envelope(
                "auth",
                "auth.user.registered",
                auth_ev.UserRegistered(
                    user_id=u.id,
                    email=u.email,
                    registered_at=timestamp(u.created_at),
                    source="password",
                ),
                u.id,
                u.created_at,
            )
        )
    rates = pay_ev.ExchangeRateChanged()
    for code, per_eur in PER_EUR_CENT.items():
        if code != "EUR":
            rate = Fraction(per_eur).limit_denominator(1000)
            if code == "JPY":
                rate *= 100  # PER_EUR_CENT is per cent of a euro; a yen has no minor unit
            rates.rates.add(
                base="EUR",
                quote=code,
                rate=f"{rate.numerator}/{rate.denominator}",
                source="staff",
                as_of=timestamp(start),
            )
    made.append(_envelope("payments", "payments.rate.changed", rates, "rates", start))
    rules = shop_rules()
    for i, order in enumerate(plan.orders):
        events, _ = history(order, plan.profile, rules)
        for version, (event, at, before) in enumerate(events, start=1):
            subject = order_subject(EVENT_TYPES[type(event)])
            made.append(
                _envelope("orders", subject, event_pb(event, before), order.id, at, version)
            )
            if subject == "orders.order.awaiting_payment":
                pay = "USDT" if i % CRYPTO_SHARE == 0 else order.currency
                invoice = pay_pb.Invoice(
                    id=order.invoice_id,
                    reference=order.id,
                    provider="dev" if pay != "USDT" else "evm",
                    pay_currency=pay,
                    price=Money(amount_minor=order.total_minor, currency=order.currency),
                    version=1,
                )
                made.append(
                    _envelope(
                        "payments",
                        "payments.invoice.created",
                        pay_ev.InvoiceCreated(invoice=invoice),
                        order.invoice_id,
                        at,
                        1,
                    )
                )
    made.extend(_conversations(plan, random.Random(12)))
    return sorted(made, key=lambda e: (datetime_of(e.occurred_at), e.aggregate_version))


def _conversations(plan: SeedPlan, rng: random.Random) -> list[EventEnvelope]:
    made = []
    for n, order in enumerate(plan.orders[: len(plan.orders) // 10]):
        cid = str(uuid.uuid5(NAMESPACE, f"conversation:{n}"))
        at = order.placed_at + timedelta(hours=1)
        made.append(
            _envelope(
                "support",
                "support.conversation.started",
                support_ev.ConversationStarted(conversation_id=cid, customer_id=order.customer_id),
                cid,
                at,
                1,
            )
        )
        if rng.random() < 0.9:
            made.append(
                _envelope(
                    "support",
                    "support.conversation.answered",
                    support_ev.ConversationAnswered(
                        conversation_id=cid,
                        time_to_first_answer=Duration(
                            nanos=rng.randrange(1, 999) * 10**6, seconds=rng.randrange(0, 5)
                        ),
                    ),
                    cid,
                    at,
                    2,
                )
            )
        handed = rng.random() < 0.3
        if handed:
            made.append(
                _envelope(
                    "support",
                    "support.conversation.handed_over",
                    support_ev.ConversationHandedOver(conversation_id=cid),
                    cid,
                    at,
                    3,
                )
            )
        if rng.random() < 0.8:
            made.append(
                _envelope(
                    "support",
                    "support.conversation.closed",
                    support_ev.ConversationClosed(
                        conversation_id=cid, resolved_by_assistant=not handed, handed_over=handed
                    ),
                    cid,
                    at,
                    4,
                )
            )
    return made


async def publish(js: JetStreamContext, envelopes: list[EventEnvelope]) -> None:
    for producer in PRODUCERS:
        await ensure_stream(js, producer_stream(producer))
    for e in envelopes:
        await js.publish(e.subject, e.SerializeToString(), headers={"Nats-Msg-Id": e.event_id})


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

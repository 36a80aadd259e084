"""The seeded full profile as the events its services would have published (the seeder itself
writes history straight into their tables: no event reaches a stream): what `agora bench admin`
rebuilds the analytics from, and what the analytics tests check them against.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import nats
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from nats.js import JetStreamContext

from agora._proto.agora.auth.v1 import events_pb2 as auth_ev
from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_ev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import events_pb2 as pay_ev
from agora._proto.agora.payments.v1 import payments_pb2 as pay_pb
from agora._proto.agora.support.v1 import events_pb2 as support_ev
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.orders.events import order_subject
from agora.orders.seeding import history, shop_rules
from agora.orders.translation import EVENT_TYPES, event_pb
from agora.platform.bus.envelope import new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.rpc.timestamps import datetime_of, timestamp
from agora.platform.seeding import SeedOrder, SeedPlan
from agora.seed.generate import PER_EUR_CENT, build_plan

NAMESPACE = uuid.UUID("0b6f8f7e-6a55-4c1e-9f0e-5e1d7d0a1a12")
PRODUCERS = ("auth", "catalog", "payments", "orders", "support")
CRYPTO_SHARE = 5  # one in five orders pays in USDT


def seeded_plan(scale: float, seed: int = 12) -> SeedPlan:
    """The full profile at `scale` (1.0: the full profile itself), on a fixed clock."""
    return build_plan("full", seed=seed, scale=scale, now=datetime(2026, 6, 30, 12, tzinfo=UTC))


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
                made.append(_invoice(order, i, at, pay_pb.INVOICE_STATUS_NEW))
            elif subject == "orders.order.paid" and order.invoice_id:
                made.append(_invoice(order, i, at, pay_pb.INVOICE_STATUS_SETTLED))
    made.extend(_conversations(plan, random.Random(12)))
    return sorted(made, key=lambda e: (datetime_of(e.occurred_at), e.aggregate_version))


def _invoice(order: SeedOrder, n: int, at: datetime, status: pay_pb.InvoiceStatus) -> EventEnvelope:
    """The order's invoice as created (version 1) or settled (version 2)."""
    pay = "USDT" if n % CRYPTO_SHARE == 0 else order.currency
    settled = status == pay_pb.INVOICE_STATUS_SETTLED
    invoice = pay_pb.Invoice(
        id=order.invoice_id,
        reference=order.id,
        provider="dev" if pay != "USDT" else "evm",
        pay_currency=pay,
        price=Money(amount_minor=order.total_minor, currency=order.currency),
        status=status,
        version=2 if settled else 1,
    )
    if settled:
        event: Message = pay_ev.InvoiceSettled(invoice=invoice)
        return _envelope("payments", "payments.invoice.settled", event, invoice.id, at, 2)
    event = pay_ev.InvoiceCreated(invoice=invoice)
    return _envelope("payments", "payments.invoice.created", event, invoice.id, at, 1)


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


async def publish_fast(nats_url: str, envelopes: Sequence[EventEnvelope]) -> None:
    """Publish without waiting for each acknowledgement (a million events take seconds, not
    minutes), then check that every stream holds what was sent to it."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        for producer in PRODUCERS:
            await ensure_stream(js, producer_stream(producer))
        before = {p: (await js.stream_info(p.upper())).state.messages for p in PRODUCERS}
        sent = dict.fromkeys(PRODUCERS, 0)
        for n, e in enumerate(envelopes, start=1):
            await connection.publish(e.subject, e.SerializeToString())
            sent[e.producer] += 1
            if n % 20_000 == 0:
                await connection.flush(timeout=60)
        await connection.flush(timeout=60)
        for producer in PRODUCERS:
            expected = before[producer] + sent[producer]
            for _ in range(600):
                held = (await js.stream_info(producer.upper())).state.messages
                if held >= expected:
                    break
                await asyncio.sleep(0.1)
            if held != expected:
                raise RuntimeError(f"stream {producer.upper()} holds {held} of {expected} events")
    finally:
        await connection.close()

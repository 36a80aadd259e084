"""The events each service's seeder puts in its outbox for the test profile's history: the live
code's subjects, payloads and versions, at the historical time, marked seeded; and `live_only`
handlers, which skip them."""

from __future__ import annotations

import asyncio
from collections import Counter
from functools import lru_cache
from typing import Any

from agora._proto.agora.catalog.v1 import events_pb2 as catalog_ev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_ev
from agora._proto.agora.payments.v1 import events_pb2 as pay_ev
from agora.auth.seeding import _account_events
from agora.catalog.seeding import _catalog_history, reservation_outbox_rows
from agora.orders.seeding import build_batch, shop_rules, with_totals
from agora.payments.seeding import build_batch as invoice_batch
from agora.payments.seeding import invoiced
from agora.payments.settings import PaymentsSettings
from agora.platform.bus.consumer import live_only
from agora.platform.bus.envelope import decode, new_envelope
from agora.platform.rpc.timestamps import datetime_of
from agora.platform.seeding import SEEDED_HEADER, SeedPlan
from agora.seed.generate import build_plan


@lru_cache(maxsize=1)
def plan() -> SeedPlan:
    """The test profile's plan (made once: hashing its customers' password takes a while)."""
    return with_totals(build_plan("test", seed=3, scale=1.0))


def envelopes(rows: list[tuple[Any, ...]]) -> list[EventEnvelope]:
    return [EventEnvelope.FromString(payload) for _, _, payload, _ in rows]


def test_each_order_event_is_announced_as_appended_at_its_time_and_marked_seeded() -> None:
    seeded = plan()
    events, _, _, outbox = build_batch(seeded.orders, (seeded.profile, shop_rules()))
    announced = envelopes(outbox)

    assert len(announced) == len(events)
    for (order_id, version, event_type, payload, at), envelope in zip(
        events, announced, strict=True
    ):
        assert (envelope.aggregate_id, envelope.aggregate_version) == (order_id, version)
        assert envelope.subject.startswith("orders.")
        assert envelope.subject.endswith(event_type)
        assert (envelope.payload, datetime_of(envelope.occurred_at)) == (payload, at)
        assert (envelope.producer, envelope.seeded) == ("orders", True)
    assert {row[3] for row in outbox} == {f'{{"{SEEDED_HEADER}": "test"}}'}
    paid = [e for e in announced if e.subject == "orders.order.paid"]
    assert decode(paid[0], order_ev.OrderPaid).invoice_id


def test_a_refunded_orders_invoice_is_announced_created_paid_settled_and_refunded() -> None:
    seeded = plan()
    order = next(o for o in seeded.orders if o.outcome == "refunded")
    *_, outbox = invoice_batch([order], (seeded.profile, PaymentsSettings().invoice_policy()))
    announced = envelopes(outbox)

    assert [e.subject for e in announced] == [
        "payments.invoice.created",
        "payments.payment.received",
        "payments.invoice.settled",
        "payments.invoice.refunded",
    ]
    versions = [e.aggregate_version for e in announced]
    assert versions == sorted(versions)
    assert versions[0] == 1
    created = decode(announced[0], pay_ev.InvoiceCreated).invoice
    refunded = decode(announced[-1], pay_ev.InvoiceRefunded)
    assert (created.reference, created.provider, created.pay_currency) == (
        order.id,
        "dev",
        order.currency,
    )
    assert created.price.amount_minor == order.total_minor
    assert created.rate.rate
    assert refunded.refund.amount.base_units
    assert datetime_of(announced[0].occurred_at) == order.steps[0]
    assert datetime_of(announced[-1].occurred_at) == order.steps[-1]
    assert all(e.seeded for e in announced)
    assert invoiced(order)


def test_stock_is_announced_at_its_initial_count_then_every_reservation_moves_it() -> None:
    seeded = plan()
    history = _catalog_history(seeded)
    counted = {
        e.aggregate_id: e.event.on_hand for e in history if e.subject == "catalog.stock.changed"
    }
    moved: Counter[str] = Counter()
    for envelope in envelopes(reservation_outbox_rows(seeded.orders, seeded.profile)):
        assert envelope.seeded
        if envelope.subject == "catalog.stock.reservation_committed":
            for line in decode(envelope, catalog_ev.ReservationCommitted).lines:
                moved[line.variant_id] += line.quantity

    variants = [v for p in seeded.products for v in p.variants]
    assert {v.id: counted[v.id] - moved[v.id] for v in variants} == {
        v.id: v.on_hand for v in variants
    }
    subjects = Counter(e.subject for e in history)
    assert subjects["catalog.category.created"] == len(seeded.categories)
    assert subjects["catalog.product.created"] == len(seeded.products)


def test_a_live_only_handler_skips_seeded_events_and_runs_for_live_ones() -> None:
    handled: list[str] = []

    async def handler(session: Any, envelope: EventEnvelope) -> None:
        handled.append(envelope.event_id)

    def event(seeded: bool) -> EventEnvelope:
        return new_envelope(
            producer="orders",
            subject="orders.order.paid",
            event=order_ev.OrderPaid(order_id="o"),
            aggregate_id="o",
            seeded=seeded,
        )

    live, history = event(False), event(True)
    for envelope in (history, live):
        asyncio.run(live_only(handler)(None, envelope))  # type: ignore[arg-type]

    assert handled == [live.event_id]


def test_each_account_is_announced_registered_then_verified_when_it_was_created() -> None:
    seeded = plan()
    user = seeded.users[0]

    registered, verified = _account_events(user)

    assert (registered.subject, verified.subject) == (
        "auth.user.registered",
        "auth.user.email_verified",
    )
    assert registered.event.user_id == verified.event.user_id == user.id
    assert registered.event.email == user.email.lower()
    assert registered.event.source == "seed"
    assert datetime_of(registered.event.registered_at) == user.created_at
    assert registered.occurred_at == verified.occurred_at == user.created_at

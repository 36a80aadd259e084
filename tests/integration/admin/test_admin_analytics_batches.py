"""Folding the analytics a batch at a time (random batch sizes) gives exactly the tables that
handling the same stream one event at a time gives, with redelivered duplicates, events for
orders never placed, payments and invoice versions out of order, refunds after payment,
reservations (committed, released, restocked), repricing and support conversations; each event
counts once (the inbox)."""

from __future__ import annotations

import asyncio
import random
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import nats
import pytest
from alembic import command
from analytics_events import plan_events, seeded_plan
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as catalog_pb
from agora._proto.agora.catalog.v1 import events_pb2 as catalog_ev
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as order_ev
from agora._proto.agora.support.v1 import events_pb2 as support_ev
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.admin import analytics_store
from agora.admin.analytics_consumers import analytics_projections, rebuild_analytics
from agora.admin.analytics_tables import ANALYTICS_TABLES
from agora.bench.admin_history import PRODUCERS
from agora.platform.bus.consumer import EventConsumer
from agora.platform.bus.envelope import decode, new_envelope
from agora.platform.bus.streams import ensure_stream, producer_stream
from agora.platform.db import create_engine, session_factory
from agora.platform.embedded.nats import EmbeddedNats
from agora.platform.migrations import alembic_config, migrate
from agora.platform.net import free_port, wait_for_port
from agora.platform.rpc.timestamps import datetime_of

BASE = plan_events(seeded_plan(0.0005))


@pytest.fixture
def private_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedNats(tmp_path_factory.mktemp("batches-nats"), free_port())
    with (server.data_dir / "nats.log").open("ab") as log:
        process = subprocess.Popen(server.command(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(server.port)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def js(private_nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(private_nats_url)
    yield nc.jetstream()
    await nc.close()


async def fresh_engine(database_url: str) -> AsyncEngine:
    head, _, _ = database_url.rpartition("/")
    url = f"{head}/agora_batches_{uuid.uuid4().hex[:8]}"
    await migrate("admin", url)
    return create_engine(url, "admin", pool_size=2)


def _again(envelope: EventEnvelope, subject: str, event: object, shift: timedelta) -> EventEnvelope:
    return new_envelope(
        producer=envelope.producer,
        subject=subject,
        event=event,  # type: ignore[arg-type]
        aggregate_id=envelope.aggregate_id,
        occurred_at=datetime_of(envelope.occurred_at) + shift,
    )


def perturbed(rng: random.Random) -> list[EventEnvelope]:
    """The plan's events with the disorder a real stream can hold."""
    events = list(BASE)
    placed = [e for e in events if e.subject == "orders.order.placed"]
    extra: list[EventEnvelope] = []
    for e in rng.sample(placed, 5):  # payments and refunds of orders never placed
        order = decode(e, order_ev.OrderPlaced)
        ghost = str(uuid.uuid4())
        paid = order_ev.OrderPaid(order_id=ghost, invoice_id="inv-" + ghost)
        extra.append(_again(e, "orders.order.paid", paid, timedelta(hours=1)))
        refund = order_ev.OrderRefunded(order_id=ghost, amount=order.totals.total, full=True)
        extra.append(_again(e, "orders.order.refunded", refund, timedelta(hours=2)))
    for e in rng.sample(placed, 8):  # refunds after payment, partial then full
        order = decode(e, order_ev.OrderPlaced)
        half = Money(amount_minor=order.totals.total.amount_minor // 2, currency=order.currency)
        for n, full in enumerate((False, True), start=1):
            refund = order_ev.OrderRefunded(order_id=order.order_id, amount=half, full=full)
            extra.append(_again(e, "orders.order.refunded", refund, timedelta(days=40 + n)))
        returned = order_ev.ReturnRequested(order_id=order.order_id)
        extra.append(_again(e, "orders.return.requested", returned, timedelta(days=39)))
    stock = [e for e in events if e.subject == "catalog.stock.changed"]
    for e in rng.sample(stock, 6):  # reservations and repricing after the count
        variant = decode(e, catalog_ev.StockChanged).variant_id
        line = catalog_pb.ReservationLine(variant_id=variant, quantity=rng.randint(1, 4))
        for subject, event in [
            ("catalog.stock.reserved", catalog_ev.StockReserved(lines=[line])),
            ("catalog.stock.reservation_committed", catalog_ev.ReservationCommitted(lines=[line])),
            ("catalog.stock.reserved", catalog_ev.StockReserved(lines=[line])),
            ("catalog.stock.reservation_released", catalog_ev.ReservationReleased(lines=[line])),
            ("catalog.stock.reserved", catalog_ev.StockReserved(lines=[line])),
            ("catalog.stock.reservation_committed", catalog_ev.ReservationCommitted(lines=[line])),
            ("catalog.stock.reservation_restocked", catalog_ev.ReservationRestocked(lines=[line])),
            ("catalog.stock.reserved", catalog_ev.StockReserved(lines=[line])),
        ]:
            extra.append(_again(e, subject, event, timedelta(hours=1)))
        priced = catalog_ev.PricesChanged(variant_id=variant)
        priced.prices.add(amount_minor=rng.randint(100, 9999), currency="EUR")
        extra.append(_again(e, "catalog.product.prices_changed", priced, timedelta(hours=2)))
    conversations = [e for e in events if e.subject == "support.conversation.started"]
    for e in rng.sample(conversations, 2):  # a conversation handed over after it closed
        handed = support_ev.ConversationHandedOver(conversation_id=e.aggregate_id)
        extra.append(_again(e, "support.conversation.handed_over", handed, timedelta(days=1)))
    events += extra
    events.sort(key=lambda e: (datetime_of(e.occurred_at), e.aggregate_version))
    for subject in ("orders.order.paid", "payments.invoice.settled"):  # some before their start
        for e in rng.sample([e for e in events if e.subject == subject], 10):
            events.remove(e)
            events.insert(rng.randrange(len(events)), e)
    for e in rng.sample(events, len(events) // 10):  # redeliveries (the same event id)
        events.insert(rng.randrange(events.index(e), len(events) + 1), e)
    return events


async def publish_raw(js: JetStreamContext, events: list[EventEnvelope]) -> None:
    """Published without a message id, so the stream keeps every duplicate."""
    for producer in PRODUCERS:
        await ensure_stream(js, producer_stream(producer))
    for e in events:
        await js.publish(e.subject, e.SerializeToString())


async def fold_all(
    js: JetStreamContext, engine: AsyncEngine, *, batch: int | None, streams: str = "in turn"
) -> None:
    """Rebuild from the streams: each fetched batch folded at once (`batch` events at most), or
    every event handled alone (`None`); the streams one after the other ("in turn", ORDERS
    first), PAYMENTS first ("payments first"), a batch of each in turn ("alternating"), or all
    at once ("together")."""
    sessions = session_factory(engine)
    await rebuild_analytics(sessions, js)
    projections = analytics_projections()
    if streams == "payments first":
        projections.sort(key=lambda p: p.stream != "PAYMENTS")

    consumers = [
        EventConsumer(
            js,
            sessions,
            stream=p.stream,
            durable=p.name,
            filter_subjects=p.filter_subjects,
            handler=p.handle,
            batch_handler=p.handle_batch if batch else None,
            batch=batch or 64,
        )
        for p in projections
    ]

    async def drain(consumer: EventConsumer) -> None:
        while await consumer.consume_once(timeout_s=0.5):
            pass

    if streams == "together":
        await asyncio.gather(*(drain(c) for c in consumers))
    elif streams == "alternating":  # a batch of each stream in turn
        while any([await c.consume_once(timeout_s=0.5) for c in consumers]):
            pass
    else:
        for consumer in consumers:
            await drain(consumer)


async def tables(engine: AsyncEngine) -> dict[str, list]:
    async with engine.connect() as conn:
        return {t.name: await analytics_store.dump(conn, t) for t in ANALYTICS_TABLES}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_folding_random_batches_equals_handling_each_event_alone(
    seed: int, js: JetStreamContext, database_url: str
) -> None:
    rng = random.Random(seed)
    events = perturbed(rng)
    await publish_raw(js, events)
    one_by_one, batched = await fresh_engine(database_url), await fresh_engine(database_url)
    try:
        await fold_all(js, one_by_one, batch=None)
        expected = await tables(one_by_one)
        await fold_all(js, batched, batch=rng.randint(2, 300))
        got = await tables(batched)
    finally:
        await one_by_one.dispose()
        await batched.dispose()

    assert got == expected
    # The disorder reached the tables: refunds beyond the plan's, reservations, ghosts ignored.
    facts = {row[0]: row for row in expected["analytics_orders"]}
    placed = {
        decode(e, order_ev.OrderPlaced).order_id for e in BASE if e.subject.endswith("placed")
    }
    assert set(facts) == placed
    assert sum(row[6] for row in expected["analytics_daily_sales"]) > 0  # refunds
    assert any(row[4] for row in expected["analytics_stock"])  # reserved units


def recounted_rollups(facts: dict[str, list]) -> dict[str, list]:
    """The product and customer rollups recomputed from the order facts and lines alone."""
    names = {t.name: [c.name for c in t.columns] for t in ANALYTICS_TABLES}
    orders = [
        dict(zip(names["analytics_orders"], r, strict=True)) for r in facts["analytics_orders"]
    ]
    paid = {o["order_id"]: o for o in orders if o["paid_day"] is not None}
    products: dict[tuple, list[int]] = {}
    for row in facts["analytics_order_lines"]:
        line = dict(zip(names["analytics_order_lines"], row, strict=True))
        order = paid.get(line["order_id"])
        if order is None:
            continue
        sums = products.setdefault(
            (order["paid_day"], order["currency"], line["product_id"]), [0, set(), 0]
        )
        sums[0] += line["quantity"]
        sums[1].add(order["order_id"])
        sums[2] += line["amount_minor"]
    first: dict[str, object] = {}
    for o in paid.values():
        if o["customer_id"]:
            first[o["customer_id"]] = min(first.get(o["customer_id"], o["paid_day"]), o["paid_day"])
    day_customers: dict[object, set] = {}
    cohorts: dict[tuple, set] = {}
    for o in paid.values():
        c = o["customer_id"]
        if c:
            day_customers.setdefault(o["paid_day"], set()).add(c)
            cohorts.setdefault((first[c], o["paid_day"].replace(day=1)), set()).add(c)
    invoices = {
        row[0]: (row[2], row[3]) for row in facts["analytics_invoices"]
    }  # invoice id: (provider, pay currency)
    methods: dict[tuple, list[int]] = {}
    for o in paid.values():
        provider, pay = invoices.get(o["invoice_id"], ("", o["pay_currency"]))
        sums = methods.setdefault((o["paid_day"], o["currency"], provider, pay), [0, 0])
        sums[0] += 1
        sums[1] += o["total_minor"]
    return {
        "analytics_method_daily": sorted((*k, *v) for k, v in methods.items()),
        "analytics_product_daily": sorted(
            (*k, units, len(ids), amount) for k, (units, ids, amount) in products.items()
        ),
        "analytics_customer_first_paid": sorted(first.items()),
        "analytics_customer_daily": sorted(
            (d, len(cs), sum(first[c] == d for c in cs)) for d, cs in day_customers.items()
        ),
        "analytics_cohort_daily": sorted((*k, len(cs)) for k, cs in cohorts.items()),
    }


@pytest.mark.parametrize(
    ("seed", "streams"),
    [(4, "in turn"), (5, "payments first"), (6, "alternating"), (7, "together")],
)
async def test_the_rollups_equal_a_recount_of_the_facts_whatever_the_payments_order(
    seed: int, streams: str, js: JetStreamContext, database_url: str
) -> None:
    """Payments out of day order move customers' first paid days earlier; ORDERS and PAYMENTS
    consumed one before the other or at once meet in the payment method rollup: the rollups
    kept by the folds still equal a recount of the order facts and invoices."""
    rng = random.Random(seed)
    events = perturbed(rng)
    paid = [e for e in events if e.subject == "orders.order.paid"]
    for e in rng.sample(paid, len(paid) // 3):  # later payments first: first paid days move
        events.remove(e)
        events.append(e)
    await publish_raw(js, events)
    engine = await fresh_engine(database_url)
    try:
        await fold_all(js, engine, batch=rng.randint(2, 300), streams=streams)
        async with engine.connect() as conn:
            got = await analytics_store.dump_models(conn, ANALYTICS_TABLES)
    finally:
        await engine.dispose()
    recounted = recounted_rollups(got)
    assert recounted["analytics_product_daily"]
    assert recounted["analytics_cohort_daily"]
    assert any(provider for _, _, provider, *_ in recounted["analytics_method_daily"])
    for name, rows in recounted.items():
        assert got[name] == rows, name


async def test_migration_0008_fills_the_rollups_the_folds_keep(
    js: JetStreamContext, database_url: str
) -> None:
    """Rollups dropped (downgrade to 0007) and filled again from the facts (upgrade to 0008)
    equal the ones the folds kept."""
    rng = random.Random(8)
    await publish_raw(js, perturbed(rng))
    head, _, _ = database_url.rpartition("/")
    url = f"{head}/agora_batches_{uuid.uuid4().hex[:8]}"
    await migrate("admin", url)
    engine = create_engine(url, "admin", pool_size=2)
    rollups = [
        "analytics_product_daily",
        "analytics_customer_first_paid",
        "analytics_customer_daily",
        "analytics_cohort_daily",
        "analytics_method_daily",
    ]
    try:
        await fold_all(js, engine, batch=rng.randint(2, 300), streams="alternating")
        async with engine.connect() as conn:
            folded = await analytics_store.dump_models(conn, ANALYTICS_TABLES)
        await asyncio.to_thread(command.downgrade, alembic_config("admin", url), "0007")
        await migrate("admin", url)
        async with engine.connect() as conn:
            filled = await analytics_store.dump_models(conn, ANALYTICS_TABLES)
    finally:
        await engine.dispose()
    assert all(folded[name] for name in rollups)
    assert {name: filled[name] for name in rollups} == {name: folded[name] for name in rollups}

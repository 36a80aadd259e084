"""The purchase consumer on the real ORDERS stream and the support schema: a paid order is
counted once in the sales and co-purchases, whatever order its events come in; an order that
ends unpaid never is; a redelivered event changes nothing (the inbox)."""

from __future__ import annotations

import sqlalchemy as sa
from nats.js import JetStreamContext
from recs_support import (
    bought,
    drain,
    new_id,
    order_cancelled,
    order_paid,
    order_placed,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.platform.bus.consumer import EventConsumer
from agora.support.consumers import PURCHASE_COUNTS
from agora.support.tables import co_purchases, product_sales, purchase_totals, purchases


async def sales(engine: AsyncEngine, product_ids: list[str]) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(product_sales.c.product_id, product_sales.c.orders).where(
                product_sales.c.product_id.in_(product_ids)
            )
        )
        return {r.product_id: r.orders for r in rows}


async def together(engine: AsyncEngine, a: str, b: str) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            sa.select(co_purchases.c.together).where(
                co_purchases.c.product_id == a, co_purchases.c.other_id == b
            )
        )
        return int(found or 0)


async def state(engine: AsyncEngine, order_id: str) -> str | None:
    async with engine.connect() as conn:
        return await conn.scalar(
            sa.select(purchases.c.state).where(purchases.c.order_id == order_id)
        )


async def total(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(purchase_totals.c.orders)) or 0)


async def test_a_placed_then_paid_order_counts_its_products_and_pairs_once(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    consumer = support_consumers[PURCHASE_COUNTS]
    await drain(consumer)
    before = await total(support_engine)
    a, b, c = new_id(), new_id(), new_id()

    order_id = await bought(support_js, [a, b, c, a], customer_id=new_id())
    await drain(consumer)

    assert await sales(support_engine, [a, b, c]) == {a: 1, b: 1, c: 1}
    assert [await together(support_engine, x, y) for x, y in ((a, b), (b, a), (a, c), (c, b))] == [
        1,
        1,
        1,
        1,
    ]
    assert await together(support_engine, a, a) == 0
    assert await state(support_engine, order_id) == "counted"
    assert await total(support_engine) == before + 1


async def test_a_paid_event_before_its_placed_event_still_counts_the_order_once(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    consumer = support_consumers[PURCHASE_COUNTS]
    a, b = new_id(), new_id()
    order_id = new_id()

    await order_paid(support_js, order_id)
    await drain(consumer)
    assert await state(support_engine, order_id) == "paid"
    assert await sales(support_engine, [a, b]) == {}

    await order_placed(support_js, order_id, new_id(), [a, b])
    await drain(consumer)
    assert await state(support_engine, order_id) == "counted"
    assert await sales(support_engine, [a, b]) == {a: 1, b: 1}
    assert await together(support_engine, a, b) == 1


async def test_an_order_cancelled_before_payment_is_never_counted(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    consumer = support_consumers[PURCHASE_COUNTS]
    a, b = new_id(), new_id()
    order_id = new_id()

    await order_placed(support_js, order_id, "", [a, b])
    await order_cancelled(support_js, order_id)
    await order_paid(support_js, order_id)  # cannot happen in orders; changes nothing here
    await drain(consumer)

    assert await state(support_engine, order_id) == "ended"
    assert await sales(support_engine, [a, b]) == {}


async def test_a_redelivered_paid_event_is_not_counted_twice(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    consumer = support_consumers[PURCHASE_COUNTS]
    a, b = new_id(), new_id()
    order_id = new_id()
    await order_placed(support_js, order_id, "", [a, b])
    paid = await order_paid(support_js, order_id)
    await drain(consumer)

    # The same event again, past JetStream's duplicate window (another message id): only the
    # inbox stands between it and a second count.
    await support_js.publish(paid.subject, paid.SerializeToString())
    assert await drain(consumer) == 1

    assert await sales(support_engine, [a, b]) == {a: 1, b: 1}
    assert await together(support_engine, a, b) == 1


async def test_every_paid_order_adds_to_the_counts(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    consumer = support_consumers[PURCHASE_COUNTS]
    a, b, c = new_id(), new_id(), new_id()
    for products in ([a, b], [a, b], [a, c]):
        await bought(support_js, products)
    await drain(consumer)

    assert await sales(support_engine, [a, b, c]) == {a: 3, b: 2, c: 1}
    assert await together(support_engine, a, b) == 2
    assert await together(support_engine, b, c) == 0

"""The catalog consumer on the real CATALOG stream: published products are kept with the
embedding of their name and description (the real WordLlama model, in pgvector), redone when
the text changes; older announcements change nothing; archived products leave."""

from __future__ import annotations

import sqlalchemy as sa
from nats.js import JetStreamContext
from recs_support import drain, new_id, product_archived, product_published, product_updated
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.platform.bus.consumer import EventConsumer
from agora.support.consumers import PRODUCT_TEXTS
from agora.support.tables import EMBEDDING_DIMENSIONS, products


async def stored(engine: AsyncEngine, product_id: str) -> sa.Row[tuple[object, ...]] | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(sa.select(products).where(products.c.product_id == product_id))
        ).first()


async def test_a_published_product_is_stored_with_a_unit_length_embedding_of_its_text(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    product_id = new_id()
    await product_published(support_js, product_id, "Oak desk", "A solid oak writing desk.")
    await drain(support_consumers[PRODUCT_TEXTS])

    row = await stored(support_engine, product_id)
    assert row is not None
    assert (row.title, row.published, row.version) == ("Oak desk", True, 2)
    assert len(row.embedding) == EMBEDDING_DIMENSIONS
    assert abs(sum(x * x for x in row.embedding) - 1.0) < 1e-3


async def test_a_changed_text_gets_a_new_embedding_and_an_older_announcement_is_ignored(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    product_id = new_id()
    await product_published(support_js, product_id, "Oak desk", "A solid oak desk.", version=2)
    await drain(support_consumers[PRODUCT_TEXTS])
    first = await stored(support_engine, product_id)

    await product_updated(support_js, product_id, "Rose seeds", "Seeds for roses.", version=3)
    await product_updated(support_js, product_id, "Stale title", "Late news.", version=1)
    await drain(support_consumers[PRODUCT_TEXTS])

    now = await stored(support_engine, product_id)
    assert first is not None
    assert now is not None
    assert (now.title, now.version) == ("Rose seeds", 3)
    assert list(now.embedding) != list(first.embedding)


async def test_an_archived_product_is_no_longer_published_and_keeps_its_text(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    product_id = new_id()
    await product_published(support_js, product_id, "Tea pot", "A teapot.", version=2)
    await product_archived(support_js, product_id, version=3)
    await drain(support_consumers[PRODUCT_TEXTS])

    row = await stored(support_engine, product_id)
    assert row is not None
    assert (row.published, row.version, row.title) == (False, 3, "Tea pot")
    assert row.embedding is not None


async def test_archiving_a_product_never_announced_here_stores_nothing(
    support_js: JetStreamContext,
    support_consumers: dict[str, EventConsumer],
    support_engine: AsyncEngine,
) -> None:
    product_id = new_id()
    await product_archived(support_js, product_id, version=5)
    assert await drain(support_consumers[PRODUCT_TEXTS]) == 1
    assert await stored(support_engine, product_id) is None

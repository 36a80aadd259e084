"""Loads and saves the recommendation models (SQLAlchemy Core over asyncpg, statements built
from `tables.py`).

Decides nothing: `recommending` has made every decision before a record reaches here. Writes
take the session of the caller's transaction (a consumer's, with its inbox row); reads take
an autocommit connection. Only published products are ever read back as recommendations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.support.recommending import (
    CatalogProduct,
    CoPurchase,
    Neighbour,
    PurchaseRecord,
    PurchaseState,
    Sales,
    co_purchase_pairs,
)
from agora.support.tables import co_purchases, product_sales, products, purchase_totals, purchases

Db = AsyncConnection | AsyncSession


# --- products ---------------------------------------------------------------------------------


async def catalog_product(db: Db, product_id: str) -> CatalogProduct | None:
    row = (
        await db.execute(
            sa.select(
                products.c.product_id,
                products.c.title,
                products.c.description,
                products.c.published,
                products.c.version,
            )
            .where(products.c.product_id == product_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    return CatalogProduct(row.product_id, row.title, row.description, row.published, row.version)


async def save_product(
    session: AsyncSession,
    product: CatalogProduct,
    *,
    embedding: Sequence[float] | None,
    keep_embedding: bool,
    now: datetime,
) -> None:
    """Insert or replace the product; its embedding is replaced unless `keep_embedding`."""
    values: dict[str, Any] = {
        "product_id": product.product_id,
        "title": product.title,
        "description": product.description,
        "published": product.published,
        "version": product.version,
        "embedding": None if embedding is None else list(embedding),
        "updated_at": now,
    }
    statement = insert(products).values(**values)
    changed = {k: statement.excluded[k] for k in values if k != "product_id"}
    if keep_embedding:
        del changed["embedding"]
    await session.execute(
        statement.on_conflict_do_update(index_elements=[products.c.product_id], set_=changed)
    )


async def save_products(
    session: AsyncSession,
    rows: Sequence[tuple[CatalogProduct, Sequence[float] | None]],
    *,
    now: datetime,
) -> None:
    """Insert many new products with their embeddings (the seeder)."""
    if not rows:
        return
    await session.execute(
        sa.insert(products),
        [
            {
                "product_id": p.product_id,
                "title": p.title,
                "description": p.description,
                "published": p.published,
                "version": p.version,
                "embedding": None if e is None else list(e),
                "updated_at": now,
            }
            for p, e in rows
        ],
    )


# --- purchases --------------------------------------------------------------------------------


async def purchase(session: AsyncSession, order_id: str) -> PurchaseRecord | None:
    """The order's record, locked until the transaction ends."""
    row = (
        await session.execute(
            sa.select(purchases).where(purchases.c.order_id == order_id).with_for_update()
        )
    ).first()
    if row is None:
        return None
    return PurchaseRecord(
        order_id=row.order_id,
        state=PurchaseState(row.state),
        customer_id=row.customer_id or "",
        placed_at=row.placed_at,
        product_ids=tuple(row.product_ids or ()),
    )


async def save_purchase(session: AsyncSession, record: PurchaseRecord) -> None:
    values = {
        "order_id": record.order_id,
        "state": record.state.value,
        "customer_id": record.customer_id or None,
        "placed_at": record.placed_at,
        "product_ids": list(record.product_ids) or None,
    }
    statement = insert(purchases).values(**values)
    changed = {k: statement.excluded[k] for k in values if k != "order_id"}
    await session.execute(
        statement.on_conflict_do_update(index_elements=[purchases.c.order_id], set_=changed)
    )


async def count_purchase(session: AsyncSession, product_ids: Sequence[str]) -> None:
    """Add one paid order holding `product_ids` to the sales, co-purchases and the total."""
    distinct = sorted(set(product_ids))
    if distinct:
        sales = insert(product_sales).values([{"product_id": p, "orders": 1} for p in distinct])
        await session.execute(
            sales.on_conflict_do_update(
                index_elements=[product_sales.c.product_id],
                set_={"orders": product_sales.c.orders + 1},
            )
        )
    pairs = co_purchase_pairs(distinct)
    if pairs:
        together = insert(co_purchases).values(
            [{"product_id": a, "other_id": b, "together": 1} for a, b in pairs]
        )
        await session.execute(
            together.on_conflict_do_update(
                index_elements=[co_purchases.c.product_id, co_purchases.c.other_id],
                set_={"together": co_purchases.c.together + 1},
            )
        )
    await session.execute(
        sa.update(purchase_totals)
        .where(purchase_totals.c.id == 1)
        .values(orders=purchase_totals.c.orders + 1)
    )


# --- reads ------------------------------------------------------------------------------------


def _is_published(column: Any) -> Any:
    return sa.exists().where(products.c.product_id == column, products.c.published)


async def total_orders(db: Db) -> int:
    found = await db.scalar(sa.select(purchase_totals.c.orders).where(purchase_totals.c.id == 1))
    return int(found or 0)


async def popular_sales(db: Db, limit: int) -> list[Sales]:
    """The most bought published products, most first."""
    rows = await db.execute(
        sa.select(product_sales.c.product_id, product_sales.c.orders)
        .where(_is_published(product_sales.c.product_id))
        .order_by(product_sales.c.orders.desc(), product_sales.c.product_id)
        .limit(limit)
    )
    return [Sales(r.product_id, r.orders) for r in rows]


async def sales_of(db: Db, product_ids: Sequence[str]) -> dict[str, int]:
    """Paid orders holding each product (products never sold are left out)."""
    if not product_ids:
        return {}
    rows = await db.execute(
        sa.select(product_sales.c.product_id, product_sales.c.orders).where(
            product_sales.c.product_id.in_(list(product_ids))
        )
    )
    return {r.product_id: r.orders for r in rows}


async def co_purchased(
    db: Db, product_ids: Sequence[str], limit: int
) -> dict[str, list[CoPurchase]]:
    """Each product's `limit` most co-purchased published products, most first."""
    if not product_ids:
        return {}
    rank = (
        sa.func.row_number()
        .over(
            partition_by=co_purchases.c.product_id,
            order_by=(co_purchases.c.together.desc(), co_purchases.c.other_id),
        )
        .label("rank")
    )
    ranked = (
        sa.select(
            co_purchases.c.product_id,
            co_purchases.c.other_id,
            co_purchases.c.together,
            product_sales.c.orders,
            rank,
        )
        .join(product_sales, product_sales.c.product_id == co_purchases.c.other_id)
        .where(co_purchases.c.product_id.in_(list(product_ids)))
        .where(_is_published(co_purchases.c.other_id))
        .subquery()
    )
    rows = await db.execute(
        sa.select(ranked).where(ranked.c.rank <= limit).order_by(ranked.c.product_id, ranked.c.rank)
    )
    found: dict[str, list[CoPurchase]] = {p: [] for p in product_ids}
    for r in rows:
        found[r.product_id].append(CoPurchase(r.other_id, r.together, r.orders))
    return found


async def similar_products(db: Db, product_id: str, limit: int) -> list[Neighbour]:
    """The published products nearest to the product by cosine similarity of their embeddings
    (none when the product has no embedding). An exact scan: a shop's catalog of tens of
    thousands of 256-dimension vectors is scanned in milliseconds, and filters stay exact."""
    asked = products.alias("asked")
    distance = products.c.embedding.cosine_distance(asked.c.embedding)
    rows = await db.execute(
        sa.select(products.c.product_id, (1 - distance).label("similarity"))
        .select_from(products.join(asked, asked.c.product_id == product_id))
        .where(
            asked.c.embedding.is_not(None),
            products.c.embedding.is_not(None),
            products.c.published,
            products.c.product_id != product_id,
        )
        .order_by(distance, products.c.product_id)
        .limit(limit)
    )
    return [Neighbour(r.product_id, float(r.similarity)) for r in rows]


async def recent_purchases(db: Db, customer_id: str, orders: int) -> list[str]:
    """The products of the customer's `orders` most recent counted purchases, newest first."""
    rows = await db.execute(
        sa.select(purchases.c.product_ids)
        .where(
            purchases.c.customer_id == customer_id,
            purchases.c.state == PurchaseState.COUNTED.value,
        )
        .order_by(purchases.c.placed_at.desc(), purchases.c.order_id)
        .limit(orders)
    )
    return [p for (ids,) in rows for p in ids or ()]

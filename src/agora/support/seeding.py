"""The support service's part of a seed plan: the recommendation models as its consumers would
have built them, had the plan's products and orders gone through events (seeded rows publish
none). Written with COPY; the counts are added to whatever real orders counted already.

- `products`: every product of the plan with the embedding of its text (the service's model).
- `purchases`: paid orders counted, open ones placed (their payment, a real event, counts them
  later), cancelled and expired ones ended.
- `product_sales`, `co_purchases`, `purchase_totals`: what the counted orders add.

`clean` takes back exactly what the plan's counted orders added (including an open seeded order
paid since), then deletes its purchases and products.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from pgvector.asyncpg import register_vector

from agora.platform.seeding import OrderOutcome, Progress, SeedPlan
from agora.support import tables
from agora.support.embeddings import TextEmbedder
from agora.support.recommending import PurchaseState, co_purchase_pairs, product_text

BATCH = 20_000
PURCHASE_STATE: dict[OrderOutcome, PurchaseState] = {
    "placed": PurchaseState.PLACED,
    "awaiting_payment": PurchaseState.PLACED,
    "paid": PurchaseState.COUNTED,
    "fulfilled": PurchaseState.COUNTED,
    "shipped": PurchaseState.COUNTED,
    "delivered": PurchaseState.COUNTED,
    "refunded": PurchaseState.COUNTED,
    "cancelled": PurchaseState.ENDED,
    "expired": PurchaseState.ENDED,
}
# The catalog seeds published products at version 2 (created 1, published 2), drafts at 1.
PUBLISHED_VERSION, DRAFT_VERSION = 2, 1

# Bulk merges of the counts through temporary tables: one statement each instead of one per
# row (hundreds of thousands of pairs in the full profile).
_STAGE = """
    CREATE TEMP TABLE seed_sales (product_id uuid PRIMARY KEY, orders bigint);
    CREATE TEMP TABLE seed_pairs (product_id uuid, other_id uuid, together bigint,
                                  PRIMARY KEY (product_id, other_id));
"""
_ADD = """
    INSERT INTO product_sales (product_id, orders) SELECT product_id, orders FROM seed_sales
    ON CONFLICT (product_id) DO UPDATE SET orders = product_sales.orders + excluded.orders;
    INSERT INTO co_purchases (product_id, other_id, together)
    SELECT product_id, other_id, together FROM seed_pairs
    ON CONFLICT (product_id, other_id)
    DO UPDATE SET together = co_purchases.together + excluded.together;
"""
_TAKE_BACK = """
    UPDATE product_sales s SET orders = s.orders - t.orders FROM seed_sales t
    WHERE s.product_id = t.product_id;
    DELETE FROM product_sales WHERE orders <= 0;
    UPDATE co_purchases c SET together = c.together - t.together FROM seed_pairs t
    WHERE c.product_id = t.product_id AND c.other_id = t.other_id;
    DELETE FROM co_purchases WHERE together <= 0;
"""
_ADD_TO_TOTAL = "UPDATE purchase_totals SET orders = orders + $1 WHERE id = 1"


class SupportSeeder:
    """Writes and removes the support service's rows of a plan (search_path = support)."""

    service = "support"

    def __init__(self, embedder: TextEmbedder | None = None) -> None:
        self._embedder = embedder

    async def write(
        self, conn: asyncpg.Connection, plan: SeedPlan, progress: Progress
    ) -> dict[str, int]:
        await register_vector(conn)
        embedder = self._embedder or TextEmbedder()
        texts = [product_text(p.title, p.description) for p in plan.products]
        vectors = await embedder.embed_async(texts) if texts else []
        product_rows = (
            (
                p.id,
                p.title,
                p.description,
                p.published,
                PUBLISHED_VERSION if p.published else DRAFT_VERSION,
                vector,
                plan.now,
            )
            for p, vector in zip(plan.products, vectors, strict=True)
        )
        counts = {
            "product_texts": await _copy(
                conn, tables.products, product_rows, progress, "product_texts"
            )
        }
        purchase_rows = [
            (
                o.id,
                PURCHASE_STATE[o.outcome].value,
                o.customer_id or None,
                o.placed_at,
                list(dict.fromkeys(line.product_id for line in o.lines)),
            )
            for o in plan.orders
        ]
        counts["purchases"] = await _copy(
            conn, tables.purchases, purchase_rows, progress, "purchases"
        )
        counted = [ids for _, state, _, _, ids in purchase_rows if state == "counted"]
        counts.update(await _merge(conn, counted, _ADD, progress))
        await conn.execute(_ADD_TO_TOTAL, len(counted))
        return counts

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        order_ids = [o.id for o in plan.orders]
        counted = [
            [str(p) for p in r["product_ids"] or ()]
            for r in await conn.fetch(_COUNTED, order_ids, PurchaseState.COUNTED.value)
        ]
        merged = await _merge(conn, counted, _TAKE_BACK, lambda _entity, _rows: None)
        await conn.execute(_ADD_TO_TOTAL, -len(counted))
        purchases = await conn.execute(
            "DELETE FROM purchases WHERE order_id = ANY($1::uuid[])", order_ids
        )
        products = await conn.execute(
            "DELETE FROM products WHERE product_id = ANY($1::uuid[])", [p.id for p in plan.products]
        )
        return {
            "purchases": int(purchases.split()[-1]),
            "product_texts": int(products.split()[-1]),
            **merged,
        }


_COUNTED = "SELECT product_ids FROM purchases WHERE order_id = ANY($1::uuid[]) AND state = $2"


async def _merge(
    conn: asyncpg.Connection, baskets: Sequence[Sequence[str]], merge: str, progress: Progress
) -> dict[str, int]:
    """Stage what `baskets` add to the sales and co-purchases, then run `merge` with them."""
    sales: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for basket in baskets:
        sales.update(set(basket))
        pairs.update(co_purchase_pairs(basket))
    await conn.execute(_STAGE)
    await conn.copy_records_to_table("seed_sales", records=list(sales.items()))
    await conn.copy_records_to_table(
        "seed_pairs", records=[(a, b, n) for (a, b), n in pairs.items()]
    )
    await conn.execute(merge)
    await conn.execute("DROP TABLE seed_sales, seed_pairs")
    progress("product_sales", len(sales))
    progress("co_purchases", len(pairs))
    return {"product_sales": len(sales), "co_purchases": len(pairs)}


async def _copy(
    conn: asyncpg.Connection,
    table: Any,
    rows: Iterable[tuple[Any, ...]],
    progress: Progress,
    entity: str,
) -> int:
    """COPY `rows` (columns in declared order) into `table`, in batches; how many."""
    columns = [column.name for column in table.columns]
    written = 0
    batch: list[tuple[Any, ...]] = []

    async def flush() -> None:
        nonlocal written
        await conn.copy_records_to_table(
            table.name, schema_name=table.schema, records=batch, columns=columns
        )
        written += len(batch)
        progress(entity, len(batch))

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            await flush()
            batch = []
    if batch:
        await flush()
    return written


SEEDER = SupportSeeder()

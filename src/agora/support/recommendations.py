"""Answering a recommendation request: load what the rules need from the models (store.py),
let `recommending` decide. One autocommit connection per answer; no writes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from agora.support import store
from agora.support.recommending import (
    HISTORY,
    NEIGHBOURS,
    POPULAR_CANDIDATES,
    Method,
    ProductQuestion,
    Recommended,
    also_bought,
    for_you,
    popular,
    similar,
)


async def for_product(conn: AsyncConnection, question: ProductQuestion) -> Recommended:
    """GetRecommendations' answer."""
    popular_sales = await store.popular_sales(conn, POPULAR_CANDIDATES)
    match question.kind:
        case Method.ALSO_BOUGHT:
            product_id = question.product_id
            neighbours = (await store.co_purchased(conn, [product_id], NEIGHBOURS))[product_id]
            orders = (await store.sales_of(conn, [product_id])).get(product_id, 0)
            total = await store.total_orders(conn)
            return also_bought(
                product_id, orders, neighbours, popular_sales, total, limit=question.limit
            )
        case Method.SIMILAR:
            nearest = await store.similar_products(conn, question.product_id, question.limit)
            return similar(question.product_id, nearest, popular_sales, limit=question.limit)
        case _:
            return popular(popular_sales, limit=question.limit, exclude=question.product_id)


async def for_customer(conn: AsyncConnection, customer_id: str, limit: int) -> Recommended:
    """GetMyRecommendations' answer: from the customer's own purchases only."""
    popular_sales = await store.popular_sales(conn, POPULAR_CANDIDATES)
    history = list(dict.fromkeys(await store.recent_purchases(conn, customer_id, HISTORY)))
    history = history[:HISTORY]
    neighbours = await store.co_purchased(conn, history, NEIGHBOURS)
    orders = await store.sales_of(conn, history)
    total = await store.total_orders(conn)
    return for_you(history, orders, neighbours, popular_sales, total, limit=limit)

"""The support service's part of `agora seed`: the recommendation models hold the plan's paid
orders and products as if their events had been consumed, add to what real orders counted,
and `clean` takes back exactly what the plan added."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from rich.console import Console
from sqlalchemy import make_url

from agora.platform.db import ensure_database
from agora.platform.migrations import migrate
from agora.platform.settings import to_libpq_url
from agora.seed.generate import build_plan
from agora.seed.runner import SERVICES, clean_database, seed_database
from agora.support.recommending import PurchaseState

QUIET = Console(quiet=True)
PAID = {"paid", "fulfilled", "shipped", "delivered", "refunded"}


@pytest.fixture
async def fresh_url(database_url: str) -> str:
    """A new database on the session's server, every service migrated (as `agora migrate`)."""
    url = make_url(database_url).set(database=f"recs_{uuid.uuid4().hex[:12]}")
    rendered = url.render_as_string(hide_password=False)
    await ensure_database(rendered)
    for service in SERVICES:
        await migrate(service, rendered)
    return rendered


async def fetch(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(to_libpq_url(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_seeding_writes_the_models_its_consumers_would_have_built(fresh_url: str) -> None:
    real_product = "00000000-0000-4000-8000-000000000001"
    # Real orders counted before seeding: the plan's counts add to theirs.
    conn = await asyncpg.connect(to_libpq_url(fresh_url))
    try:
        await conn.execute("INSERT INTO support.product_sales VALUES ($1, 5)", real_product)
        await conn.execute("UPDATE support.purchase_totals SET orders = 5")
    finally:
        await conn.close()

    await seed_database(fresh_url, "test", seed=3, scale=1.0, console=QUIET)
    plan = build_plan("test", seed=3, scale=1.0)

    paid = [o for o in plan.orders if o.outcome in PAID]
    totals = await fetch(fresh_url, "SELECT orders FROM support.purchase_totals")
    assert totals[0]["orders"] == 5 + len(paid)
    products = await fetch(
        fresh_url, "SELECT count(*) AS n FROM support.products WHERE embedding IS NOT NULL"
    )
    assert products[0]["n"] == len(plan.products)
    expected_sales: dict[str, int] = {}
    for order in paid:
        for product_id in {line.product_id for line in order.lines}:
            expected_sales[product_id] = expected_sales.get(product_id, 0) + 1
    sales = await fetch(
        fresh_url, "SELECT product_id::text AS p, orders FROM support.product_sales"
    )
    assert {r["p"]: r["orders"] for r in sales} == {**expected_sales, real_product: 5}
    states = await fetch(fresh_url, "SELECT state, count(*) AS n FROM support.purchases GROUP BY 1")
    assert {r["state"] for r in states} <= {s.value for s in PurchaseState}
    assert {r["state"]: r["n"] for r in states}["counted"] == len(paid)

    await clean_database(fresh_url, None, console=QUIET)

    assert (await fetch(fresh_url, "SELECT orders FROM support.purchase_totals"))[0]["orders"] == 5
    left = await fetch(fresh_url, "SELECT product_id::text AS p, orders FROM support.product_sales")
    assert [(r["p"], r["orders"]) for r in left] == [(real_product, 5)]
    for table in ("co_purchases", "purchases", "products"):
        rows = await fetch(fresh_url, f"SELECT count(*) AS n FROM support.{table}")
        assert rows[0]["n"] == 0, table

"""The orders migrations build exactly the tables `agora.orders.tables` declares."""

from __future__ import annotations

from agora.orders import tables
from agora.platform.db import create_engine
from agora.platform.migrations import migrate, schema_drift


async def test_the_migrations_build_exactly_the_declared_tables(database_url: str) -> None:
    await migrate(tables.SCHEMA, database_url)
    # Connected outside the schema: alembic compares a default schema under another name.
    engine = create_engine(database_url, "public", pool_size=1)
    try:
        assert await schema_drift(engine, tables.metadata) == []
    finally:
        await engine.dispose()

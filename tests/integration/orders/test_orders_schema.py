"""The orders migrations build exactly the tables `agora.orders.tables` declares."""

from __future__ import annotations

from agora.orders import tables
from agora.platform.db import create_engine
from agora.platform.migrations import migrate, schema_drift


async def test_the_migrations_build_exactly_the_declared_tables(database_url: str) -> None:
    await migrate(tables.SCHEMA, database_url)
    engine = create_engine(database_url, tables.SCHEMA, pool_size=1)
    try:
        drift = await schema_drift(engine, tables.metadata)
        assert drift == [], "\n".join(drift)
    finally:
        await engine.dispose()

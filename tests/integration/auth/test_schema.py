"""The hand-written migrations build exactly the tables `agora.auth.tables` declares."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agora.auth.tables import metadata
from agora.platform.migrations import schema_drift


async def test_migrations_build_exactly_the_declared_tables(
    auth_engine: AsyncEngine, database_url: str
) -> None:
    # Compared from outside the schema: under auth's own search_path alembic would take `auth`
    # for the default schema and find none of the declared tables (migrated by `auth_engine`).
    engine = create_async_engine(database_url)
    try:
        assert await schema_drift(engine, metadata) == []
    finally:
        await engine.dispose()

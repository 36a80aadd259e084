"""The hand-written migrations build exactly the tables `agora.auth.tables` declares."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agora.auth.tables import metadata
from agora.platform.migrations import schema_drift


async def test_migrations_build_exactly_the_declared_tables(
    auth_engine: AsyncEngine, database_url: str
) -> None:
    # `auth_engine` has migrated the schema. The comparison goes through an engine outside it:
    # an engine whose first connection had `auth` on its search_path keeps `auth` as its
    # dialect's default schema, and alembic then finds none of the declared tables (the
    # SET LOCAL in schema_drift comes after that first connection).
    engine = create_async_engine(database_url)
    try:
        assert await schema_drift(engine, metadata) == []
    finally:
        await engine.dispose()

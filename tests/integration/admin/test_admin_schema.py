"""The hand-written migrations produce exactly the tables `tables.py` declares."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agora.admin.tables import metadata
from agora.platform.migrations import schema_drift


async def test_the_migrated_schema_is_exactly_tables_py(
    admin_engine: AsyncEngine, database_url: str
) -> None:
    # A plain engine: on the service's own (search_path admin) the schema is the default
    # one, which schema_drift's schema filter does not recognise.
    engine = create_async_engine(database_url)
    try:
        assert await schema_drift(engine, metadata) == []
    finally:
        await engine.dispose()

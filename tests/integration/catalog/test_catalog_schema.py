"""The catalog's hand-written migrations produce exactly the tables declared in `tables.py`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.catalog.tables import metadata
from agora.platform.db import create_engine
from agora.platform.migrations import schema_drift


async def test_the_migrated_schema_is_the_declared_one(
    catalog_engine: AsyncEngine, database_url: str
) -> None:
    # Not the catalog's own search_path: reflected foreign keys then name their schema.
    engine = create_engine(database_url, "schema-check")
    try:
        assert await schema_drift(engine, metadata) == []
    finally:
        await engine.dispose()

"""The catalog's hand-written migrations produce exactly the tables declared in `tables.py`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.catalog.tables import metadata
from agora.platform.migrations import schema_drift


async def test_the_migrated_schema_is_the_declared_one(catalog_engine: AsyncEngine) -> None:
    drift = await schema_drift(catalog_engine, metadata)
    assert drift == [], "\n".join(drift)

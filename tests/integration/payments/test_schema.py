"""The hand-written migrations build exactly the tables `payments/tables.py` declares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.payments.tables import metadata
from agora.platform.db import create_engine
from agora.platform.migrations import schema_drift


@pytest.fixture
async def outside_engine(
    payments_engine: AsyncEngine, database_url: str
) -> AsyncIterator[AsyncEngine]:
    """An engine whose default schema is not payments' (alembic compares the default schema as
    unnamed, so the declared `payments.` tables would all look missing from it)."""
    engine = create_engine(database_url, "public", pool_size=1)
    yield engine
    await engine.dispose()


async def test_the_migrated_schema_is_the_declared_one(outside_engine: AsyncEngine) -> None:
    drift = await schema_drift(outside_engine, metadata)
    assert drift == [], "\n".join(drift)

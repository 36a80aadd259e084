"""The hand-written migrations build exactly the tables `payments/tables.py` declares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.payments.tables import metadata
from agora.platform.db import create_engine
from agora.platform.migrations import schema_drift


@pytest.fixture
async def public_engine(
    payments_engine: AsyncEngine, database_url: str
) -> AsyncIterator[AsyncEngine]:
    """An engine on the migrated database whose default schema is `public`: alembic reflects
    an engine's default schema (cached at its first connection) as unnamed, so through
    payments' own engine every `payments.` table would look missing."""
    engine = create_engine(database_url, "public", pool_size=1)
    yield engine
    await engine.dispose()


async def test_the_migrated_schema_is_the_declared_one(public_engine: AsyncEngine) -> None:
    drift = await schema_drift(public_engine, metadata)
    assert drift == [], "\n".join(drift)

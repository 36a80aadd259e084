"""The hand-written migrations build exactly the tables `payments/tables.py` declares."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.payments.tables import metadata
from agora.platform.migrations import schema_drift


async def test_the_migrated_schema_is_the_declared_one(payments_engine: AsyncEngine) -> None:
    drift = await schema_drift(payments_engine, metadata)
    assert drift == [], "\n".join(drift)

"""The hand-written migrations build exactly the tables `agora.auth.tables` declares."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from agora.auth.tables import metadata
from agora.platform.migrations import schema_drift


async def test_migrations_build_exactly_the_declared_tables(auth_engine: AsyncEngine) -> None:
    drift = await schema_drift(auth_engine, metadata)
    assert drift == [], "\n".join(drift)

"""Raw asyncpg statements on a session's driver connection belong to the session's transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.platform.db import (
    create_engine,
    driver_connection,
    ensure_database,
    session_factory,
    transaction,
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await ensure_database(database_url)
    schema = f"raw_{uuid.uuid4().hex[:8]}"
    created = create_engine(database_url, schema, pool_size=2)
    async with created.begin() as conn:
        await conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        await conn.execute(sa.text(f"CREATE TABLE {schema}.notes (body text)"))
    yield created
    await created.dispose()


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT count(*) FROM notes"))).scalar_one())


async def test_a_raw_statement_first_in_a_transaction_is_rolled_back_with_it(
    engine: AsyncEngine,
) -> None:
    async def failing_change() -> None:
        async with transaction(session_factory(engine)) as session:
            raw = await driver_connection(session)
            assert raw.is_in_transaction()
            await raw.execute("INSERT INTO notes VALUES ($1)", "lost")
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        await failing_change()
    assert await count(engine) == 0


async def test_raw_and_orm_statements_commit_together(engine: AsyncEngine) -> None:
    async with transaction(session_factory(engine)) as session:
        raw = await driver_connection(session)
        await raw.execute("INSERT INTO notes VALUES ($1)", "raw")
        await session.execute(sa.text("INSERT INTO notes VALUES ('orm')"))
        assert await driver_connection(session) is raw
    assert await count(engine) == 2

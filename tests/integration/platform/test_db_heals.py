"""After PostgreSQL restarts, pooled connections heal themselves, whatever path a statement takes.

These tests run a PostgreSQL of their own (the session's shared one must stay up for the others)
and restart it under an engine that has connections pooled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from postgres_support import RestartablePostgres, restartable_postgres
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.platform.db import create_engine, driver_connection, session_factory, transaction
from agora.platform.outages import is_outage

HEALED_WITHIN_S = 2.0


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[RestartablePostgres]:
    yield from restartable_postgres(tmp_path)


@pytest.fixture
async def engine(postgres: RestartablePostgres) -> AsyncIterator[AsyncEngine]:
    created = create_engine(postgres.database_url, "public", pool_size=3)
    async with created.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE notes (body text)"))
    yield created
    await created.dispose()


async def note_raw(engine: AsyncEngine, body: str) -> None:
    """The hot path: raw asyncpg statements on the session's connection."""
    async with transaction(session_factory(engine)) as session:
        raw = await driver_connection(session)
        await raw.execute("INSERT INTO notes VALUES ($1)", body)


async def note_orm(engine: AsyncEngine, body: str) -> None:
    async with transaction(session_factory(engine)) as session:
        await session.execute(sa.text("INSERT INTO notes VALUES (:body)"), {"body": body})


async def fill_pool(engine: AsyncEngine) -> None:
    """Three connections pooled at once, each having served the raw path."""
    await asyncio.gather(*(note_raw(engine, f"before {n}") for n in range(3)))
    assert engine.pool.checkedin() == 3  # type: ignore[attr-defined]


async def test_the_raw_driver_path_serves_again_within_two_seconds_after_postgresql_restarts(
    postgres: RestartablePostgres, engine: AsyncEngine
) -> None:
    await fill_pool(engine)

    await asyncio.to_thread(postgres.restart)
    back_at = time.monotonic()

    failures: list[BaseException] = []
    successes_in_a_row = 0
    # Healed means: the hot path succeeds, over and over, on every pooled connection. (Only the
    # raw path: an ORM statement failing on a dead connection would heal the pool by itself.)
    while successes_in_a_row < 30:
        assert time.monotonic() - back_at < HEALED_WITHIN_S, f"not healed: {failures!r}"
        try:
            await asyncio.gather(*(note_raw(engine, "after") for _ in range(3)))
            successes_in_a_row += 1
        except Exception as error:
            failures.append(error)
            successes_in_a_row = 0
            await asyncio.sleep(0.05)

    assert all(is_outage(failure) for failure in failures), failures
    await note_orm(engine, "after")


async def test_a_connection_lost_mid_transaction_is_an_outage_and_never_pooled_again(
    postgres: RestartablePostgres, engine: AsyncEngine
) -> None:
    await fill_pool(engine)
    lost: list[BaseException] = []

    async def write_across_the_restart() -> None:
        try:
            async with transaction(session_factory(engine)) as session:
                raw = await driver_connection(session)
                await raw.execute("INSERT INTO notes VALUES ('started')")
                await asyncio.to_thread(postgres.stop)
                await raw.execute("INSERT INTO notes VALUES ('lost')")
        except Exception as error:
            lost.append(error)

    await write_across_the_restart()
    await asyncio.to_thread(postgres.start)

    assert len(lost) == 1
    assert is_outage(lost[0]), lost
    # The first attempt after PostgreSQL returns already succeeds: no dead connection is reused.
    await asyncio.gather(*(note_raw(engine, "after") for _ in range(3)))
    async with engine.connect() as conn:
        bodies = (await conn.execute(sa.text("SELECT body FROM notes"))).scalars().all()
    assert "lost" not in bodies
    assert "started" not in bodies
    assert bodies.count("after") == 3

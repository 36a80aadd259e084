"""`run_idempotent` against real PostgreSQL: one effect per key, under retries and races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from google.protobuf.wrappers_pb2 import Int64Value, StringValue
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora.platform.db import create_engine, ensure_database, session_factory, transaction
from agora.platform.errors import Conflict, IdempotencyKeyReused
from agora.platform.idempotency import (
    create_idempotency_table,
    purge_idempotency_keys,
    run_idempotent,
)

Sessions = async_sessionmaker[AsyncSession]


def _create_table(connection: Connection) -> None:
    with Operations.context(MigrationContext.configure(connection)):
        create_idempotency_table()


@pytest.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    await ensure_database(database_url)
    schema = f"idem_{uuid4().hex[:10]}"
    engine = create_engine(database_url, schema, pool_size=4)
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    async with engine.begin() as connection:
        await connection.run_sync(_create_table)
    yield session_factory(engine)
    async with engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


class Counter:
    """An action that counts its runs and answers with the run number."""

    def __init__(self, *, delay_s: float = 0.0, fail: bool = False) -> None:
        self.runs = 0
        self.delay_s = delay_s
        self.fail = fail

    async def __call__(self) -> Int64Value:
        self.runs += 1
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise Conflict("refused on purpose")
        return Int64Value(value=self.runs)


async def call(
    sessions: Sessions, key: str, action: Counter, request: str = "order-1"
) -> Int64Value:
    async with transaction(sessions) as session:
        return await run_idempotent(
            session,
            operation="test.Charge",
            key=key,
            request=StringValue(value=request),
            response_type=Int64Value,
            action=action,
        )


async def test_a_repeated_request_gets_the_first_answer_without_running_again(
    sessions: Sessions,
) -> None:
    action, key = Counter(), uuid4().hex
    assert (await call(sessions, key, action)).value == 1
    assert (await call(sessions, key, action)).value == 1
    assert action.runs == 1


async def test_the_same_key_with_another_request_is_refused(sessions: Sessions) -> None:
    key = uuid4().hex
    await call(sessions, key, Counter())
    with pytest.raises(IdempotencyKeyReused):
        await call(sessions, key, Counter(), request="order-2")


async def test_a_failed_call_is_not_remembered_so_a_retry_runs(sessions: Sessions) -> None:
    key = uuid4().hex
    with pytest.raises(Conflict):
        await call(sessions, key, Counter(fail=True))
    retry = Counter()
    assert (await call(sessions, key, retry)).value == 1
    assert retry.runs == 1


async def test_a_concurrent_duplicate_waits_for_the_first_and_gets_its_answer(
    sessions: Sessions,
) -> None:
    action, key = Counter(delay_s=0.3), uuid4().hex
    answers = await asyncio.gather(*(call(sessions, key, action) for _ in range(3)))
    assert [a.value for a in answers] == [1, 1, 1]
    assert action.runs == 1


async def test_a_duplicate_waiting_on_a_failing_first_call_runs_itself(
    sessions: Sessions,
) -> None:
    key = uuid4().hex
    first = asyncio.create_task(call(sessions, key, Counter(delay_s=0.3, fail=True)))
    await asyncio.sleep(0.1)
    second = Counter()
    assert (await call(sessions, key, second)).value == 1
    with pytest.raises(Conflict):
        await first
    assert second.runs == 1


async def test_keys_are_per_operation(sessions: Sessions) -> None:
    key, action = uuid4().hex, Counter()
    await call(sessions, key, action)
    async with transaction(sessions) as session:
        other = await run_idempotent(
            session,
            operation="test.Refund",
            key=key,
            request=StringValue(value="order-1"),
            response_type=Int64Value,
            action=action,
        )
    assert (other.value, action.runs) == (2, 2)


async def test_keys_older_than_a_day_are_purged(sessions: Sessions) -> None:
    old, fresh = uuid4().hex, uuid4().hex
    await call(sessions, old, Counter())
    await call(sessions, fresh, Counter())
    async with transaction(sessions) as session:
        await session.execute(
            text("UPDATE idempotency_keys SET created_at = now() - interval '25 h' WHERE key = :k"),
            {"k": old},
        )
    async with transaction(sessions) as session:
        assert await purge_idempotency_keys(session) >= 1
    rerun = Counter()
    assert (await call(sessions, old, rerun)).value == 1
    assert rerun.runs == 1
    kept = Counter()
    await call(sessions, fresh, kept)
    assert kept.runs == 0

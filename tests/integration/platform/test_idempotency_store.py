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
from agora.platform.errors import (
    Conflict,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    IdempotentAnswerWithheld,
    NotFound,
)
from agora.platform.idempotency import (
    AuthorizeReplay,
    Capability,
    KeyScope,
    create_idempotency_table,
    key_scope,
    purge_idempotency_keys,
    run_idempotent,
)
from agora.platform.security.principal import ANONYMOUS, Principal

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


ADA = key_scope(Principal(subject="user-ada", kind="user"), guest_capability=None)
BOB = key_scope(Principal(subject="user-bob", kind="user"), guest_capability=None)


async def call(
    sessions: Sessions,
    key: str,
    action: Counter,
    request: str = "order-1",
    *,
    scope: KeyScope = ADA,
    authorize_replay: AuthorizeReplay | None = None,
    secret_answer: str | None = None,
) -> Int64Value:
    async with transaction(sessions) as session:
        return await run_idempotent(
            session,
            operation="test.Charge",
            scope=scope,
            key=key,
            request=StringValue(value=request),
            response_type=Int64Value,
            action=action,
            authorize_replay=authorize_replay,
            secret_answer=secret_answer,
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


async def test_a_duplicate_of_a_request_in_flight_is_told_so_at_once(sessions: Sessions) -> None:
    action, key = Counter(delay_s=0.5), uuid4().hex
    first = asyncio.create_task(call(sessions, key, action))
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(IdempotencyKeyInFlight) as in_flight:
        await call(sessions, key, action)
    assert asyncio.get_running_loop().time() - started < 0.3  # not blocked behind the first
    assert in_flight.value.retry_after_s > 0
    assert (await first).value == 1
    assert (await call(sessions, key, action)).value == 1
    assert action.runs == 1


async def test_a_retry_after_a_failed_first_call_runs_itself(sessions: Sessions) -> None:
    key = uuid4().hex
    first = asyncio.create_task(call(sessions, key, Counter(delay_s=0.3, fail=True)))
    await asyncio.sleep(0.1)
    with pytest.raises(IdempotencyKeyInFlight):
        await call(sessions, key, Counter())
    with pytest.raises(Conflict):
        await first
    second = Counter()
    assert (await call(sessions, key, second)).value == 1
    assert second.runs == 1


async def test_another_caller_with_the_same_key_runs_as_its_own_request(
    sessions: Sessions,
) -> None:
    key, ada, bob = uuid4().hex, Counter(), Counter()
    assert (await call(sessions, key, ada, scope=ADA)).value == 1
    # Bob neither gets Ada's answer nor is refused for reusing "her" key with his request.
    assert (await call(sessions, key, bob, "order-2", scope=BOB)).value == 1
    assert (ada.runs, bob.runs) == (1, 1)


async def test_a_key_squatted_by_another_guest_does_not_block_the_cart_owner(
    sessions: Sessions,
) -> None:
    key = uuid4().hex
    squatter = key_scope(ANONYMOUS, guest_capability=Capability("cart", "tok-mallory"))
    owner = key_scope(ANONYMOUS, guest_capability=Capability("cart", "tok-ada"))
    await call(sessions, key, Counter(), "junk", scope=squatter)
    victim = Counter()
    assert (await call(sessions, key, victim, "order-1", scope=owner)).value == 1
    assert victim.runs == 1


async def test_a_replay_runs_the_authorization_check_again(sessions: Sessions) -> None:
    key, action = uuid4().hex, Counter()
    checks: list[str] = []

    async def still_allowed(session: AsyncSession) -> None:
        checks.append("allowed")

    async def no_longer_allowed(session: AsyncSession) -> None:
        raise NotFound("order", "order-1")

    await call(sessions, key, action, authorize_replay=still_allowed)
    assert checks == []  # the first call's own checks are in `action`
    assert (await call(sessions, key, action, authorize_replay=still_allowed)).value == 1
    assert checks == ["allowed"]
    with pytest.raises(NotFound):
        await call(sessions, key, action, authorize_replay=no_longer_allowed)
    assert action.runs == 1


async def test_an_answer_with_secrets_is_not_stored_and_a_replay_says_why(
    sessions: Sessions,
) -> None:
    key, action = uuid4().hex, Counter()
    answer = await call(sessions, key, action, secret_answer="codes are shown once")
    assert answer.value == 1
    async with transaction(sessions) as session:
        stored = (
            await session.execute(
                text("SELECT response, status FROM idempotency_keys WHERE key = :k"), {"k": key}
            )
        ).one()
    assert (stored.response, stored.status) == (None, "withheld")
    with pytest.raises(IdempotentAnswerWithheld) as withheld:
        await call(sessions, key, action, secret_answer="codes are shown once")
    assert withheld.value.message == "codes are shown once"
    assert action.runs == 1


async def test_keys_are_per_operation(sessions: Sessions) -> None:
    key, action = uuid4().hex, Counter()
    await call(sessions, key, action)
    async with transaction(sessions) as session:
        other = await run_idempotent(
            session,
            operation="test.Refund",
            scope=ADA,
            key=key,
            request=StringValue(value="order-1"),
            response_type=Int64Value,
            action=action,
            authorize_replay=None,
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

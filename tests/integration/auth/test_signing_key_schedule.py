"""A deployment's first signing key: rotating keys before any login leaves a key that signs,
and a login then finds it instead of failing on a second open-ended key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agora.auth import keys
from agora.auth.tables import signing_keys
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.migrations import migrate
from agora.platform.security.envelope import SecretBox

NOW = datetime.now(UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on an auth schema migrated in a database of its own: no signing key yet."""
    head, _, _ = database_url.rpartition("/")
    url = f"{head}/agora_keys_{uuid.uuid4().hex[:8]}"
    await migrate("auth", url)
    engine = create_engine(url, "auth", pool_size=2)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def rotate(sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> keys.Rotation:
    async with transaction(sessions) as session:
        return await keys.rotate_keys(
            session, box, now=NOW, access_ttl_s=900, activation_delay_s=30
        )


async def current_key(sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> str:
    async with transaction(sessions) as session:
        return await keys.ensure_current_key(session, NOW, box)


async def test_rotating_before_the_first_login_leaves_a_key_that_signs(
    sessions: async_sessionmaker[AsyncSession], auth_secrets: SecretBox
) -> None:
    first = await rotate(sessions, auth_secrets)
    second = await rotate(sessions, auth_secrets)

    assert first.activates_at == NOW
    assert second.previous_kid == first.new_kid
    assert second.activates_at == NOW + timedelta(seconds=30)
    assert await current_key(sessions, auth_secrets) == first.new_kid


async def test_a_key_only_scheduled_starts_signing_instead_of_a_second_one(
    sessions: async_sessionmaker[AsyncSession], auth_secrets: SecretBox
) -> None:
    scheduled = await rotate(sessions, auth_secrets)
    async with transaction(sessions) as session:
        # As older versions left it: the only key still waiting to sign.
        await session.execute(
            sa.update(signing_keys).values(activates_at=NOW + timedelta(minutes=5))
        )

    signing = await current_key(sessions, auth_secrets)

    async with transaction(sessions) as session:
        count = (
            await session.execute(sa.select(sa.func.count()).select_from(signing_keys))
        ).scalar()
    assert signing == scheduled.new_kid
    assert count == 1

"""A deployment's first signing key: rotating keys before any login leaves a key that signs,
and a login then finds it instead of failing on a second open-ended key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from agora.auth import keys
from agora.auth.tables import signing_keys
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.migrations import migrate
from agora.platform.security.envelope import SecretBox


def fresh_database(database_url: str) -> str:
    head, _, _ = database_url.rpartition("/")
    return f"{head}/agora_keys_{uuid.uuid4().hex[:8]}"


async def test_rotating_before_the_first_login_leaves_a_key_that_signs(
    database_url: str, auth_secrets: SecretBox
) -> None:
    url = fresh_database(database_url)
    await migrate("auth", url)
    engine = create_engine(url, "auth", pool_size=2)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    try:
        async with transaction(sessions) as session:
            first = await keys.rotate_keys(
                session, auth_secrets, now=now, access_ttl_s=900, activation_delay_s=30
            )
        async with transaction(sessions) as session:
            second = await keys.rotate_keys(
                session, auth_secrets, now=now, access_ttl_s=900, activation_delay_s=30
            )
        async with transaction(sessions) as session:
            signing = await keys.ensure_current_key(
                session, now + timedelta(seconds=1), auth_secrets
            )
    finally:
        await engine.dispose()

    assert first.activates_at == now
    assert second.previous_kid == first.new_kid
    assert second.activates_at == now + timedelta(seconds=30)
    assert signing == first.new_kid


async def test_a_key_only_scheduled_starts_signing_instead_of_a_second_one(
    database_url: str, auth_secrets: SecretBox
) -> None:
    url = fresh_database(database_url)
    await migrate("auth", url)
    engine = create_engine(url, "auth", pool_size=2)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    try:
        async with transaction(sessions) as session:
            scheduled = await keys.rotate_keys(
                session, auth_secrets, now=now, access_ttl_s=900, activation_delay_s=30
            )
            # As older versions left it: the only key still waiting to sign.
            await session.execute(
                sa.update(signing_keys).values(activates_at=now + timedelta(minutes=5))
            )
        async with transaction(sessions) as session:
            signing = await keys.ensure_current_key(session, now, auth_secrets)
        async with engine.connect() as conn:
            count = (
                await conn.execute(sa.select(sa.func.count()).select_from(signing_keys))
            ).scalar()
    finally:
        await engine.dispose()

    assert signing == scheduled.new_kid
    assert count == 1

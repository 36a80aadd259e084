"""Auth's periodic jobs: expired credentials are forgotten a week after they expire, and revoked
sessions are published again while their tokens may live."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from auth_support import unique_email
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.auth import store
from agora.auth.domain import TokenPurpose
from agora.auth.jobs import KEEP_SPENT, RevocationRepublisher, purge_expired
from agora.auth.settings import AuthSettings
from agora.auth.tables import one_time_tokens
from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.security.origin import Origin


class Published:
    """Stands in for the revocation publisher: what it was asked to publish."""

    def __init__(self) -> None:
        self.session_ids: list[str] = []

    async def publish(self, session_ids: Iterable[str]) -> None:
        self.session_ids.extend(session_ids)


async def new_user_id(engine: AsyncEngine) -> str:
    async with transaction(session_factory(engine)) as session:
        user = await store.create_user(
            session,
            email=unique_email("jobs"),
            name="",
            password_hash=None,
            verified_at=None,
            roles=[],
        )
    assert user is not None
    return user.id


async def test_credentials_expired_over_a_week_ago_are_purged_and_fresher_ones_kept(
    auth_engine: AsyncEngine,
) -> None:
    user_id = await new_user_id(auth_engine)
    now = utcnow()
    long_ago = now - KEEP_SPENT - timedelta(days=1)
    key = f"account:{unique_email('purged')}"
    async with transaction(session_factory(auth_engine)) as session:
        for issued in (long_ago, now - timedelta(days=1)):
            await store.issue_one_time_token(
                session, user_id, TokenPurpose.RESET_PASSWORD, now=issued, ttl_s=60
            )
        await store.count_failure(session, [key], long_ago)

    async with transaction(session_factory(auth_engine)) as session:
        removed = await purge_expired(session, now)

    assert removed >= 2
    async with auth_engine.connect() as conn:
        left = await conn.execute(
            sa.select(one_time_tokens.c.expires_at).where(
                one_time_tokens.c.user_id == uuid.UUID(user_id)
            )
        )
        assert [row.expires_at > now - KEEP_SPENT for row in left] == [True]
        assert await store.failure_counts(conn, [key]) == {}


async def test_sessions_revoked_while_their_tokens_live_are_published_again(
    auth_engine: AsyncEngine,
) -> None:
    user_id = await new_user_id(auth_engine)
    origin = Origin("203.0.113.7", "pytest")
    async with transaction(session_factory(auth_engine)) as session:
        session_id = await store.create_session(
            session, user_id, amr=["pwd"], origin=origin, now=utcnow()
        )
        await store.revoke_session(session, session_id, reason="test", now=utcnow())
    published = Published()
    republisher = RevocationRepublisher(auth_engine, published, AuthSettings())  # type: ignore[arg-type]

    assert await republisher.republish() >= 1
    assert session_id in published.session_ids

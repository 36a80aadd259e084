"""Periodic work of the auth service: forgetting expired credentials and keys, and publishing
again the sessions revoked while their access tokens may still be alive."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.auth import store
from agora.auth.keys import purge_expired_keys
from agora.auth.settings import AuthSettings
from agora.auth.tables import (
    login_failures,
    mfa_challenges,
    oidc_logins,
    one_time_tokens,
    refresh_tokens,
)
from agora.platform.db import session_factory, transaction
from agora.platform.jobs import run_every
from agora.platform.kernel.clock import utcnow
from agora.platform.security.revocation import RevocationPublisher

log = structlog.get_logger("agora.auth")

HOUSEKEEPING_INTERVAL_S = 3600.0
REPUBLISH_INTERVAL_S = 60.0
# Spent or expired secrets are kept a while for investigations, then deleted.
KEEP_SPENT = timedelta(days=7)

# Used refresh tokens stay until they expire: presenting one again must still revoke its family.
_EXPIRING = (
    one_time_tokens.c.expires_at,
    mfa_challenges.c.expires_at,
    oidc_logins.c.expires_at,
    refresh_tokens.c.expires_at,
    login_failures.c.last_failure_at,
)


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete credentials that expired over a week ago, and keys nothing can need."""
    before = now - KEEP_SPENT
    removed = 0
    for expiry in _EXPIRING:
        result = await session.execute(sa.delete(expiry.table).where(expiry < before))
        removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed + await purge_expired_keys(session, now)


class Housekeeping:
    """Runs `purge_expired` every hour."""

    def __init__(self, engine: AsyncEngine, interval_s: float = HOUSEKEEPING_INTERVAL_S) -> None:
        self._sessions = session_factory(engine)
        self._interval_s = interval_s

    async def purge(self) -> int:
        async with transaction(self._sessions) as session:
            removed = await purge_expired(session, utcnow())
        if removed:
            log.info("auth_purged", rows=removed)
        return removed

    async def run(self) -> None:
        await run_every(self._interval_s, self.purge, name="auth_housekeeping")


class RevocationRepublisher:
    """Writes again, every minute, each session revoked while its access tokens may still be
    alive, so a revocation whose first publication failed (NATS away) still reaches every
    verifier."""

    def __init__(
        self, engine: AsyncEngine, publisher: RevocationPublisher, settings: AuthSettings
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._window = timedelta(seconds=settings.access_token_ttl_s + REPUBLISH_INTERVAL_S)

    async def republish(self) -> int:
        async with self._engine.connect() as conn:
            revoked = await store.sessions_revoked_since(conn, utcnow() - self._window)
        await self._publisher.publish(revoked)
        return len(revoked)

    async def run(self) -> None:
        await run_every(REPUBLISH_INTERVAL_S, self.republish, name="revocations")

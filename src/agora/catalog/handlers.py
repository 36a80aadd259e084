"""Background work of the catalog: releasing stale reservations, forgetting old idempotency keys.

Several replicas may run this at once: expired reservations are claimed with
`FOR UPDATE SKIP LOCKED`, so each is released (and its ReservationExpired recorded) once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.catalog import store
from agora.catalog.events import record_reservation_event
from agora.platform.db import session_factory, transaction
from agora.platform.idempotency import purge_idempotency_keys

log = structlog.get_logger("agora.catalog.expiry")


class ReservationExpiry:
    """Releases reservations nobody committed in time, emitting ReservationExpired for each."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval_s: float = 1.0,
        batch_size: int = 100,
        purge_interval_s: float = 3600.0,
    ) -> None:
        self._sessions = session_factory(engine)
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._purge_interval_s = purge_interval_s

    async def expire_due(self, now: datetime | None = None) -> int:
        """Expire one batch of reservations due at `now`; returns how many."""
        async with transaction(self._sessions) as session:
            expired = await store.expire_reservations(
                session, now=now or datetime.now(UTC), limit=self._batch_size
            )
            for reservation in expired:
                await record_reservation_event(session, reservation)
        if expired:
            log.info("reservations_expired", count=len(expired))
        return len(expired)

    async def purge_idempotency_keys(self) -> int:
        async with transaction(self._sessions) as session:
            return await purge_idempotency_keys(session)

    async def run(self) -> None:
        """Expire reservations every interval (sooner while a backlog remains) until cancelled."""
        last_purge = float("-inf")
        while True:
            try:
                expired = await self.expire_due()
                if time.monotonic() - last_purge > self._purge_interval_s:
                    await self.purge_idempotency_keys()
                    last_purge = time.monotonic()
            except Exception as error:  # the loop must survive a database restart
                log.warning("reservation_expiry_failed", error=repr(error))
                expired = 0
            if expired < self._batch_size:
                await asyncio.sleep(self._interval_s)

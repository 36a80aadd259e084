"""The catalog's periodic work: releasing the stock of reservations nobody committed in time.

(Old idempotency keys are purged by the platform's service host, for every service alike.)
Several replicas may run this at once: due reservations are claimed with `FOR UPDATE SKIP
LOCKED`, so each is expired (and its ReservationExpired recorded) once.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.catalog import store
from agora.catalog.domain import ReservationAction, end_reservation, stock_movements
from agora.catalog.events import record_reservation_event
from agora.platform.db import session_factory, transaction
from agora.platform.jobs import run_every
from agora.platform.kernel.clock import utcnow

log = structlog.get_logger("agora.catalog.expiry")


class ReservationExpiry:
    """Expires reservations past their expiry, giving their stock back and emitting
    ReservationExpired for each."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval_s: float = 1.0,
        batch_size: int = 100,
    ) -> None:
        self._sessions = session_factory(engine)
        self._interval_s = interval_s
        self._batch_size = batch_size

    async def expire_due(self, now: datetime | None = None) -> int:
        """Expire one batch of reservations due at `now`; returns how many."""
        now = now or utcnow()
        async with transaction(self._sessions) as session:
            due = await store.due_reservations(session, now=now, limit=self._batch_size)
            if not due:
                return 0
            expired = [end_reservation(r, ReservationAction.EXPIRE, now=now) for r in due]
            await store.move_stock(session, stock_movements(expired))
            await store.save_reservation_statuses(session, expired, now=now)
            for reservation in expired:
                await record_reservation_event(session, reservation)
        log.info("reservations_expired", count=len(expired))
        return len(expired)

    async def run(self) -> None:
        """Expire reservations every interval (at once while a backlog remains) until cancelled."""
        await run_every(
            self._interval_s, self.expire_due, name="catalog_expiry", batch_size=self._batch_size
        )

"""The catalog's periodic work: releasing the stock of reservations nobody committed in time.

(Old idempotency keys are purged by the platform's service host, for every service alike.)
Several replicas may run this at once: due reservations are claimed with `FOR UPDATE SKIP
LOCKED`, so each is expired (and its ReservationExpired recorded) once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agora.catalog import store
from agora.catalog.domain import ReservationAction, end_reservation, stock_movements
from agora.catalog.events import record_reservation_event
from agora.platform.jobs import BatchJob


class ReservationExpiry(BatchJob):
    """Expires reservations past their expiry, giving their stock back and emitting
    ReservationExpired for each."""

    name = "catalog_expiry"

    async def batch(self, session: AsyncSession, now: datetime) -> int:
        due = await store.due_reservations(session, now=now, limit=self.batch_size)
        expired = [end_reservation(r, ReservationAction.EXPIRE, now=now) for r in due]
        if expired:
            await store.move_stock(session, stock_movements(expired))
            await store.save_reservation_statuses(session, expired, now=now)
        for reservation in expired:
            await record_reservation_event(session, reservation)
        return len(expired)

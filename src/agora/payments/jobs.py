"""Payments' periodic work: expiring invoices nobody paid in time.

Several replicas may run this at once: past-due invoices are claimed with
`FOR UPDATE SKIP LOCKED`, so each expires (and its InvoiceExpired is recorded) once.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.payments import store
from agora.payments.domain import expire
from agora.payments.events import record_statuses_entered
from agora.payments.translation import invoice_pb
from agora.platform.db import session_factory, transaction
from agora.platform.jobs import run_every
from agora.platform.kernel.clock import utcnow

log = structlog.get_logger("agora.payments.expiry")


class InvoiceExpiry:
    """Expires open invoices past their expiry, emitting InvoiceExpired for each."""

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
        """Expire one batch of invoices due at `now`; returns how many."""
        now = now or utcnow()
        async with transaction(self._sessions) as session:
            due = await store.expiry_candidates(session, now=now, limit=self._batch_size)
            for current in due:
                change = expire(current.invoice, now)
                await store.save_invoice(session, current.invoice, change.invoice)
                message = invoice_pb(current, change.invoice)
                await record_statuses_entered(session, change.entered, message)
        if due:
            log.info("invoices_expired", count=len(due))
        return len(due)

    async def run(self) -> None:
        """Expire invoices every interval (at once while a backlog remains) until cancelled."""
        await run_every(
            self._interval_s, self.expire_due, name="payments_expiry", batch_size=self._batch_size
        )

"""Payments' periodic work: expiring invoices nobody paid in time.

Several replicas may run this at once: past-due invoices are claimed with
`FOR UPDATE SKIP LOCKED`, so each expires (and its InvoiceExpired is recorded) once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agora.payments import store
from agora.payments.domain import expire
from agora.payments.events import record_statuses_entered
from agora.payments.translation import invoice_pb
from agora.platform.jobs import BatchJob


class InvoiceExpiry(BatchJob):
    """Expires open invoices past their expiry, emitting InvoiceExpired for each."""

    name = "payments_expiry"

    async def batch(self, session: AsyncSession, now: datetime) -> int:
        due = await store.expiry_candidates(session, now=now, limit=self.batch_size)
        for current in due:
            change = expire(current.invoice, now)
            await store.save_invoice(session, current.invoice, change.invoice)
            await record_statuses_entered(
                session, change.entered, invoice_pb(current, change.invoice)
            )
        return len(due)

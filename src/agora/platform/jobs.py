"""Periodic background work of a service (expiring reservations, invoices, old keys)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.platform.db import session_factory, transaction
from agora.platform.kernel.clock import utcnow
from agora.platform.outages import is_outage

log = structlog.get_logger("agora.jobs")


async def run_every(
    interval_s: float,
    batch: Callable[[], Awaitable[int]],
    *,
    name: str,
    batch_size: int | None = None,
) -> None:
    """Run `batch` every `interval_s` until cancelled; again at once while it returns a full
    `batch_size` (a backlog remains). A failure is logged and retried next interval, so the loop
    survives a database restart; an outage is logged as such, not as the job's fault."""
    while True:
        try:
            done = await batch()
        except Exception as error:
            event = "job_outage" if is_outage(error) else "job_failed"
            log.warning(event, job=name, error=repr(error))
            done = 0
        if batch_size is None or done < batch_size:
            await asyncio.sleep(interval_s)


class BatchJob(ABC):
    """Periodic work through a backlog: each batch of at most `batch_size` items is one
    transaction (`batch`, written by the service), run every `interval_s` and at once again
    while a full batch says more is waiting. Safe with several replicas when `batch` claims
    its rows with `FOR UPDATE SKIP LOCKED`."""

    name = "job"

    def __init__(
        self, engine: AsyncEngine, *, interval_s: float = 1.0, batch_size: int = 100
    ) -> None:
        self._sessions = session_factory(engine)
        self._interval_s = interval_s
        self.batch_size = batch_size

    @abstractmethod
    async def batch(self, session: AsyncSession, now: datetime) -> int:
        """Do one batch of the work due at `now` in `session`'s transaction; return how many."""

    async def run_batch(self, now: datetime | None = None) -> int:
        """One batch, committed; returns how many items it handled."""
        async with transaction(self._sessions) as session:
            done = await self.batch(session, now or utcnow())
        if done:
            log.info("job_batch_done", job=self.name, count=done)
        return done

    async def run(self) -> None:
        """Run batches until cancelled."""
        await run_every(
            self._interval_s, self.run_batch, name=self.name, batch_size=self.batch_size
        )

"""Periodic background work of a service (expiring reservations, invoices, old keys)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

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

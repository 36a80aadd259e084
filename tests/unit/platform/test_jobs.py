"""Periodic jobs: drain a backlog at once, wait when idle, survive failures."""

from __future__ import annotations

import asyncio
import contextlib

from agora.platform.jobs import run_every


async def _run_for(seconds: float, job: asyncio.Task[None]) -> None:
    await asyncio.sleep(seconds)
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job


async def test_a_backlog_is_drained_without_waiting_for_the_interval() -> None:
    backlog = [10, 10, 10, 3]  # full batches of 10, then a short one
    calls = 0

    async def batch() -> int:
        nonlocal calls
        calls += 1
        return backlog.pop(0) if backlog else 0

    await _run_for(0.2, asyncio.create_task(run_every(60, batch, name="t", batch_size=10)))

    assert calls == 4  # the three full batches ran back to back; then it waits 60 s


async def test_a_failing_batch_is_retried_next_interval() -> None:
    outcomes: list[str] = []

    async def batch() -> int:
        if not outcomes:
            outcomes.append("failed")
            raise ConnectionError("database restarting")
        outcomes.append("ran")
        return 0

    await _run_for(0.25, asyncio.create_task(run_every(0.1, batch, name="t")))

    assert outcomes[:2] == ["failed", "ran"]

"""`agora events replay admin`: rebuild every analytics and reports read model from the streams,
against the configured database and NATS, and follow the consumers until they have caught up.

Registered under the `agora.replays` entry points (the platform's command imports no service).
By default the running admin service's consumers do the work and this only watches them; with
`consume` the consumers run here instead (for when the admin service is stopped: two processes
consuming the ORDERS stream at once could see an order's payment before its placement).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import nats

from agora.admin.analytics_consumers import (
    Durable,
    analytics_consumers,
    analytics_projections,
    caught_up,
    rebuild_analytics,
)
from agora.admin.reports_consumers import rebuild_reports, reports_consumers, reports_projections
from agora.platform.db import create_engine, session_factory
from agora.platform.errors import Unavailable
from agora.platform.settings import PlatformSettings

SERVICE = "admin"
PROGRESS_EVERY_S = 2.0


async def replay_admin(
    settings: PlatformSettings,
    progress: Callable[[str], None],
    *,
    consume: bool = False,
    timeout_s: float = 600.0,
) -> int:
    """Rebuild, then wait until no analytics or reports event is left to handle; the events
    replayed.

    Unavailable when the consumers make no progress for `timeout_s`."""
    connection = await nats.connect(
        settings.resolved_nats_url, connect_timeout=5, max_reconnect_attempts=1
    )
    engine = create_engine(settings.resolved_database_url, SERVICE, pool_size=2)
    try:
        js = connection.jetstream()
        sessions = session_factory(engine)
        consumers = (
            [*analytics_consumers(js, sessions), *reports_consumers(js, sessions)]
            if consume
            else []
        )
        await rebuild_analytics(sessions, js)
        await rebuild_reports(sessions, js)
        replayed = await caught_up(js, _projections())
        progress(f"rebuilding the analytics and reports from {replayed:,} events")
        tasks = [asyncio.create_task(c.run()) for c in consumers]
        try:
            await _follow(js, progress, timeout_s)
        finally:
            for consumer in consumers:
                await consumer.stop()
            await asyncio.gather(*tasks)
        return replayed
    finally:
        await engine.dispose()
        with contextlib.suppress(Exception):
            await connection.close()


async def _follow(
    js: nats.js.JetStreamContext, progress: Callable[[str], None], timeout_s: float
) -> None:
    left = await caught_up(js, _projections())
    moved_at = told_at = time.monotonic()
    while left:
        await asyncio.sleep(0.2)
        now_left = await caught_up(js, _projections())
        now = time.monotonic()
        if now_left != left:
            moved_at = now
        elif now - moved_at > timeout_s:
            raise Unavailable(
                f"{now_left:,} events left and none handled for {timeout_s:.0f} s: "
                "is the admin service running? (`--consume` rebuilds in this process)"
            )
        if now - told_at >= PROGRESS_EVERY_S:
            progress(f"{now_left:,} events left")
            told_at = now
        left = now_left


def _projections() -> list[Durable]:
    return [*analytics_projections(), *reports_projections()]

"""Tells the dashboard streams of every replica that the analytics changed.

A consumer's transaction sends PostgreSQL `NOTIFY` (delivered at commit, never for a rollback);
each process keeps one `LISTEN` connection (`run`, a service part) and wakes its streams, which
then read the figures from the tables. The signal carries no data, so NOTIFY's size limit and
ordering do not matter, and this process's own changes arrive the same way as others'.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.platform.settings import to_libpq_url

log = structlog.get_logger(__name__)

CHANNEL = "admin_analytics"
RECONNECT_S = 1.0


class AnalyticsSignals:
    """The wake-ups of this process's dashboard streams."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._streams: set[asyncio.Event] = set()
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Event]:
        """An event set whenever the analytics changed, for as long as the block runs (the
        stream clears it before reading, so changes during a read are not lost)."""
        changed = asyncio.Event()
        self._streams.add(changed)
        try:
            yield changed
        finally:
            self._streams.discard(changed)

    @property
    def subscribed(self) -> int:
        return len(self._streams)

    @staticmethod
    async def record(session: AsyncSession) -> None:
        """Signal every process at the commit of `session`'s transaction."""
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

    def deliver(self) -> None:
        for changed in self._streams:
            changed.set()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after a loss (and waking every stream then:
        a change may have gone unheard meanwhile)."""
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._libpq_url(), timeout=5)
                lost = asyncio.Event()
                connection.add_termination_listener(_setter(lost))
                await connection.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                self.deliver()
                await lost.wait()
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                log.warning("admin_analytics_listen_failed", error=repr(error))
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(RECONNECT_S)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.deliver()

    def _libpq_url(self) -> str:
        return to_libpq_url(self._engine.url.render_as_string(hide_password=False))


def _setter(event: asyncio.Event) -> Callable[..., None]:
    return lambda *_: event.set()

"""The outbox relay: publishes committed outbox rows to JetStream, then deletes them.

Each batch runs in one transaction: lock the oldest rows (`FOR UPDATE SKIP LOCKED`, so several
replicas of a service share the work without publishing a row twice), publish them all with
`Nats-Msg-Id` = event id, wait for every PubAck, delete them, commit. A crash after the acks but
before the commit leaves the rows in place; the next run publishes them again and JetStream
drops the copies (PubAck.duplicate) within the stream's duplicate window. Beyond that window,
consumers' inboxes still handle each event id once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from nats.js import JetStreamContext
from nats.js.api import PubAck
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agora.platform.bus.outbox import outbox_channel
from agora.platform.bus.schema import OUTBOX
from agora.platform.bus.streams import StreamSpec, ensure_stream
from agora.platform.db import driver_connection, session_factory, transaction
from agora.platform.outages import is_outage
from agora.platform.settings import to_libpq_url

log = structlog.get_logger(__name__)

MSG_ID = "Nats-Msg-Id"


@dataclass(frozen=True)
class PendingEvent:
    """An outbox row on its way to JetStream."""

    seq: int
    event_id: str
    subject: str
    payload: bytes
    headers: dict[str, str]

    def nats_headers(self) -> dict[str, str]:
        return {**self.headers, MSG_ID: self.event_id}


@dataclass
class RelayStats:
    """What a relay has done since it started (for logs, tests and benchmarks)."""

    published: int = 0
    duplicates: int = 0
    batches: int = 0


class OutboxRelay:
    """Moves the outbox of one service schema to JetStream; run one or more per service."""

    def __init__(
        self,
        engine_or_sessionmaker: AsyncEngine | async_sessionmaker[AsyncSession],
        js: JetStreamContext,
        *,
        schema: str,
        batch_size: int = 100,
        poll_interval_s: float = 1.0,
        ack_timeout_s: float = 10.0,
        stream: StreamSpec | None = None,
        extra_streams: Sequence[StreamSpec] = (),
    ) -> None:
        """`stream` and `extra_streams` (the `AUDIT` stream a service also writes to) are
        created or updated before `run()` publishes anything."""
        if isinstance(engine_or_sessionmaker, AsyncEngine):
            self._sessions = session_factory(engine_or_sessionmaker)
        else:
            self._sessions = engine_or_sessionmaker
        self._js = js
        self._schema = schema
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._ack_timeout_s = ack_timeout_s
        self._streams = [spec for spec in (stream, *extra_streams) if spec is not None]
        outbox = f'"{schema}".{OUTBOX}'
        self._lock_sql = (
            f"SELECT seq, event_id, subject, payload, headers FROM {outbox}"
            " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
        )
        self._delete_sql = f"DELETE FROM {outbox} WHERE seq = ANY($1::bigint[])"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopped.set()
        self._listener: asyncpg.Connection | None = None
        self.stats = RelayStats()

    async def run(self) -> None:
        """Publish until `stop()`: on every NOTIFY from a commit, and every poll interval."""
        self._stopping.clear()
        self._stopped.clear()
        stream_ready = not self._streams
        try:
            while not self._stopping.is_set():
                stream_ready = stream_ready or await self._ensure_stream()
                await self._keep_listening()
                self._wake.clear()
                published = await self._publish_pending_safely()
                if published < self._batch_size and not self._stopping.is_set():
                    await self._sleep_until_woken()
        finally:
            await self._close_listener()
            self._stopped.set()

    async def stop(self) -> None:
        """Stop `run()` after the batch in flight, and wait for it to return."""
        self._stopping.set()
        self._wake.set()
        await self._stopped.wait()

    async def publish_pending_once(self) -> int:
        """Publish one batch of the oldest unpublished events; return how many."""
        # `transaction`: a connection lost mid-batch is invalidated, not pooled again.
        async with transaction(self._sessions) as session:
            events = await self._lock_batch(session)
            if not events:
                return 0
            acks = await self._publish(events)
            raw = await driver_connection(session)
            await raw.execute(self._delete_sql, [e.seq for e in events])
        self._count(acks)
        return len(events)

    async def publish_all_pending(self) -> int:
        """Publish batches until the outbox is empty; return how many events."""
        total = 0
        while published := await self.publish_pending_once():
            total += published
        return total

    async def _lock_batch(self, session: AsyncSession) -> list[PendingEvent]:
        raw = await driver_connection(session)
        rows = await raw.fetch(self._lock_sql, self._batch_size)
        return [
            PendingEvent(
                seq=row["seq"],
                event_id=str(row["event_id"]),
                subject=row["subject"],
                payload=bytes(row["payload"]),
                headers=dict(row["headers"] or {}),  # decoded by the engine's jsonb codec
            )
            for row in rows
        ]

    async def _publish(self, events: Sequence[PendingEvent]) -> list[PubAck]:
        """Publish all events back to back (kept in order on the connection), then await acks."""
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for event in events:
                futures.append(
                    await self._js.publish_async(
                        event.subject, event.payload, headers=event.nats_headers()
                    )
                )
            return await asyncio.wait_for(asyncio.gather(*futures), self._ack_timeout_s)
        finally:
            # Settle what never got an ack, which also frees nats-py's in-flight slots.
            for future in futures:
                future.cancel()

    def _count(self, acks: Sequence[PubAck]) -> None:
        duplicates = sum(1 for ack in acks if ack.duplicate)
        self.stats.batches += 1
        self.stats.published += len(acks) - duplicates
        self.stats.duplicates += duplicates
        if duplicates:
            log.info("outbox_republished", schema=self._schema, duplicates=duplicates)

    async def _publish_pending_safely(self) -> int:
        try:
            return await self.publish_pending_once()
        except Exception as error:  # the relay must outlive a NATS or database outage
            event = "outbox_relay_outage" if is_outage(error) else "outbox_relay_failed"
            log.warning(event, schema=self._schema, error=repr(error))
            return 0

    async def _ensure_stream(self) -> bool:
        for spec in self._streams:
            try:
                await ensure_stream(self._js, spec)
            except Exception as error:  # NATS not up yet: publishing fails too, and retries
                log.warning("outbox_stream_unavailable", stream=spec.name, error=repr(error))
                return False
        return True

    async def _sleep_until_woken(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)

    async def _keep_listening(self) -> None:
        """LISTEN on the schema's channel; on failure, polling alone still publishes."""
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(self._libpq_url(), timeout=5)
            await self._listener.add_listener(outbox_channel(self._schema), self._on_notify)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            log.warning("outbox_listen_failed", schema=self._schema, error=repr(error))
            await self._close_listener()

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)

    def _libpq_url(self) -> str:
        engine = self._sessions.kw["bind"]
        url = engine.url.render_as_string(hide_password=False)
        return to_libpq_url(url)

"""What happened in a conversation, told to every stream on it, in every replica.

A change (a message stored, a hand-over) is signalled twice: to this process's streams right
after its commit, and to other processes through PostgreSQL `NOTIFY`, sent in the change's own
transaction (so PostgreSQL delivers it at commit, never for a rollback). Each process keeps one
`LISTEN` connection (`run`, a service part) and hands what others signalled to its local streams.
A signal names ids only; a stream reads the text from the table, so no message text travels
through NOTIFY (nor its 8 kB limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.platform.settings import to_libpq_url

log = structlog.get_logger(__name__)

CHANNEL = "support_chat"
RECONNECT_S = 1.0
EVERYWHERE = "*"  # the origin of a signal every process delivers, its sender's too


class SignalKind:
    MESSAGE = "message"  # `ref` is the stored message's id
    HANDOVER = "handover"  # the conversation's hand-over state changed


@dataclass(frozen=True)
class Signal:
    conversation_id: str
    kind: str
    ref: str = ""


class ConversationSignals:
    """The signals of this process's streams, by conversation."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._origin = uuid.uuid4().hex[:16]
        self._streams: dict[str, set[asyncio.Queue[Signal]]] = {}
        self.listening = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(self, conversation_id: str) -> Iterator[asyncio.Queue[Signal]]:
        """A queue of the conversation's signals, for as long as the block runs."""
        queue: asyncio.Queue[Signal] = asyncio.Queue()
        self._streams.setdefault(conversation_id, set()).add(queue)
        try:
            yield queue
        finally:
            queues = self._streams.get(conversation_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._streams[conversation_id]

    @property
    def subscribed(self) -> int:
        """Streams subscribed in this process (what an abandoned stream must not leave)."""
        return sum(len(queues) for queues in self._streams.values())

    async def record(
        self, session: AsyncSession, signal: Signal, *, everywhere: bool = False
    ) -> None:
        """Signal other processes at the commit of `session`'s transaction; `everywhere`: this
        process's streams too (for a change made outside any stream, by a job)."""
        origin = EVERYWHERE if everywhere else self._origin
        payload = f"{origin} {signal.conversation_id} {signal.kind} {signal.ref}"
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
        )

    def deliver(self, signal: Signal) -> None:
        """Hand `signal` to this process's streams on its conversation (after the commit)."""
        for queue in self._streams.get(signal.conversation_id, ()):
            queue.put_nowait(signal)

    async def run(self) -> None:
        """Listen for other processes' signals until cancelled, reconnecting after a loss."""
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._libpq_url(), timeout=5)
                lost = asyncio.Event()
                connection.add_termination_listener(_setter(lost))
                await connection.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError, TimeoutError) as error:
                log.warning("support_chat_listen_failed", error=repr(error))
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)
            await asyncio.sleep(RECONNECT_S)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        parts = payload.split(" ")
        if len(parts) != 4 or parts[0] == self._origin:
            return  # this process's own, delivered at its commit already
        self.deliver(Signal(parts[1], parts[2], parts[3]))

    def _libpq_url(self) -> str:
        return to_libpq_url(self._engine.url.render_as_string(hide_password=False))


def _setter(event: asyncio.Event) -> Callable[..., None]:
    return lambda *_: event.set()

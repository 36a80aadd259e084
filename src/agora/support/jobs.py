"""The support service's periodic work: closing conversations nobody speaks in any more, and
deleting closed ones past their retention (`AGORA_SUPPORT_CONVERSATION_RETENTION_DAYS`).

Several replicas may run it at once: the rows are claimed with `FOR UPDATE SKIP LOCKED`, so
each conversation is closed (and its ConversationClosed recorded) once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.platform.jobs import BatchJob
from agora.support import chat_store, events
from agora.support.chat_signals import ConversationSignals, Signal, SignalKind
from agora.support.domain import close

log = structlog.get_logger(__name__)


class ConversationRetention(BatchJob):
    """Closes conversations idle for `idle_close` (telling streams still open on them, in any
    replica, through `signals`), deletes those closed `retention` ago."""

    name = "support_conversation_retention"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        retention: timedelta,
        idle_close: timedelta,
        interval_s: float = 300.0,
        batch_size: int = 100,
        signals: ConversationSignals | None = None,
    ) -> None:
        super().__init__(engine, interval_s=interval_s, batch_size=batch_size)
        self.retention = retention
        self.idle_close = idle_close
        self.signals = signals

    async def batch(self, session: AsyncSession, now: datetime) -> int:
        idle = await chat_store.idle_conversations(session, now - self.idle_close, self.batch_size)
        for conversation in idle:
            closed = close(conversation, now)
            await chat_store.save_conversation(session, closed)
            count = await chat_store.message_count(session, closed.id)
            await events.record_closed(session, closed, count)
            if self.signals is not None:  # a stream still open on it sees the close
                signal = Signal(closed.id, SignalKind.HANDOVER)
                await self.signals.record(session, signal, everywhere=True)
        room = self.batch_size - len(idle)
        deleted = await chat_store.delete_closed(session, now - self.retention, room) if room else 0
        if deleted:
            log.info("support_conversations_deleted", count=deleted)
        return len(idle) + deleted

"""Content management's periodic work: announcing the schedule boundaries that pass.

The storefront reads evaluate schedules themselves (a publication shows from its `publish_at`
whether or not this job ran); the job exists for caches: its `admin.content.schedule_reached`
event drops the gateway's cached reads when a publication starts or ends with no one acting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora.admin import content_store as store
from agora.admin.content import Clock
from agora.admin.content_events import record_schedule_reached
from agora.admin.content_translation import entry_pb
from agora.platform.jobs import BatchJob
from agora.platform.kernel.clock import utcnow


class ContentSchedule(BatchJob):
    """Every `interval_s`: publications whose start or end has passed since the last batch."""

    name = "content_schedule"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval_s: float = 5.0,
        batch_size: int = 100,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(engine, interval_s=interval_s, batch_size=batch_size)
        self._clock = clock

    async def run_batch(self, now: datetime | None = None) -> int:
        return await super().run_batch(now or self._clock())

    async def batch(self, session: AsyncSession, now: datetime) -> int:
        claimed = await store.claim_schedule_boundaries(session, now, self.batch_size)
        for entry_id, _ in claimed:
            entry = await store.entry_by_id(session, entry_id)
            html = await store.body_html_of(session, entry_id)
            await record_schedule_reached(session, entry_pb(entry, html, now))
        return len(claimed)

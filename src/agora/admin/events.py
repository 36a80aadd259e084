"""The admin service's events: their subjects, and recording them in the outbox of the
caller's transaction (the relay publishes them to the ADMIN stream after commit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.admin.v1 import events_pb2 as events
from agora.admin.domain import Page
from agora.admin.translation import page_pb
from agora.platform.bus.outbox import record_event

PRODUCER = "admin"

PAGE_CREATED = "admin.page.created"


async def record_page_created(session: AsyncSession, page: Page) -> None:
    """Announce a new page, in the transaction that stores it."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=PAGE_CREATED,
        event=events.PageCreated(page=page_pb(page)),
        aggregate_id=page.id,
        aggregate_version=page.version,
    )

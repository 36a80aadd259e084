"""The support service's events: their subjects, and recording them in the outbox of the
caller's transaction (the relay publishes them to the SUPPORT stream after commit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.support.v1 import events_pb2 as events
from agora.platform.bus.outbox import record_event
from agora.support.domain import Support
from agora.support.translation import support_pb

PRODUCER = "support"

SUPPORT_CREATED = "support.support.created"


async def record_support_created(session: AsyncSession, support: Support) -> None:
    """Announce a new support, in the transaction that stores it."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=SUPPORT_CREATED,
        event=events.SupportCreated(support=support_pb(support)),
        aggregate_id=support.id,
        aggregate_version=support.version,
    )

"""Content management's events (`admin.content.*`) and audit entries, recorded in the outbox
of the change's transaction: the relay publishes them after commit, and the gateway drops its
cached storefront reads on any `admin.content.` subject."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora._proto.agora.admin.v1 import events_pb2 as events
from agora.platform.audit import record_audit
from agora.platform.bus.outbox import record_event

PRODUCER = "admin"
SERVICE = "admin"

CONTENT_CREATED = "admin.content.created"
CONTENT_UPDATED = "admin.content.updated"
CONTENT_ROLLED_BACK = "admin.content.rolled_back"
CONTENT_PUBLISHED = "admin.content.published"
CONTENT_UNPUBLISHED = "admin.content.unpublished"
CONTENT_SCHEDULE_REACHED = "admin.content.schedule_reached"
MEDIA_UPLOADED = "admin.content.media.uploaded"


async def record_content_change(
    session: AsyncSession,
    subject: str,
    entry: pb.ContentEntry,
    *,
    before: pb.ContentEntry | None = None,
) -> None:
    """Announce a change of `entry` and audit it (`content_<what>`), in its transaction."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=subject,
        event=events.ContentChanged(entry=entry),
        aggregate_id=entry.id,
        aggregate_version=entry.version,
    )
    await record_audit(
        session,
        service=SERVICE,
        action="content_" + subject.rsplit(".", 1)[1],
        target_type="content",
        target_id=entry.id,
        before=before,
        after=entry,
    )


async def record_schedule_reached(session: AsyncSession, entry: pb.ContentEntry) -> None:
    """Announce that a publication started or ended by its schedule (no one acted: no audit)."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=CONTENT_SCHEDULE_REACHED,
        event=events.ContentChanged(entry=entry),
        aggregate_id=entry.id,
        aggregate_version=entry.version,
    )


async def record_media_uploaded(session: AsyncSession, media: pb.Media) -> None:
    """Announce and audit a stored image."""
    await record_event(
        session,
        producer=PRODUCER,
        subject=MEDIA_UPLOADED,
        event=events.MediaUploaded(media=media),
        aggregate_id=media.sha256,
    )
    await record_audit(
        session,
        service=SERVICE,
        action="media_uploaded",
        target_type="media",
        target_id=media.sha256,
        after=media,
    )

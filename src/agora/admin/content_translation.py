"""Protobuf <-> domain mapping of content management, and nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora.admin.content import (
    ContentEntry,
    ContentFields,
    ContentKind,
    ContentStatus,
    ContentVersion,
    MenuItem,
)
from agora.admin.content_media import media_url
from agora.platform.errors import InvalidArgument
from agora.platform.rpc.timestamps import datetime_of, timestamp

KINDS = {
    ContentKind.PAGE: pb.CONTENT_KIND_PAGE,
    ContentKind.BANNER: pb.CONTENT_KIND_BANNER,
    ContentKind.MENU: pb.CONTENT_KIND_MENU,
    ContentKind.POST: pb.CONTENT_KIND_POST,
}
_KINDS_BACK: dict[int, ContentKind] = {int(value): kind for kind, value in KINDS.items()}
STATUSES = {
    ContentStatus.DRAFT: pb.CONTENT_STATUS_DRAFT,
    ContentStatus.SCHEDULED: pb.CONTENT_STATUS_SCHEDULED,
    ContentStatus.PUBLISHED: pb.CONTENT_STATUS_PUBLISHED,
    ContentStatus.EXPIRED: pb.CONTENT_STATUS_EXPIRED,
}


def kind_of(value: int, path: str = "kind") -> ContentKind:
    """The kind a request names; INVALID_ARGUMENT for none or an unknown one."""
    kind = optional_kind(value, path)
    if kind is None:
        raise InvalidArgument.for_field(path, "one of PAGE, BANNER, MENU, POST")
    return kind


def optional_kind(value: int, path: str = "kind") -> ContentKind | None:
    """The kind a filter names (None: any); INVALID_ARGUMENT for an unknown one."""
    if not value:
        return None
    kind = _KINDS_BACK.get(value)
    if kind is None:
        raise InvalidArgument.for_field(path, "one of PAGE, BANNER, MENU, POST")
    return kind


def fields_of(message: pb.ContentFields) -> ContentFields:
    return ContentFields(
        slug=message.slug,
        title=message.title,
        body_markdown=message.body_markdown,
        placement=message.placement,
        link_url=message.link_url,
        image_sha256=message.image_sha256,
        menu_items=tuple(MenuItem(item.label, item.url) for item in message.menu_items),
    )


def fields_pb(fields: ContentFields) -> pb.ContentFields:
    return pb.ContentFields(
        slug=fields.slug,
        title=fields.title,
        body_markdown=fields.body_markdown,
        placement=fields.placement,
        link_url=fields.link_url,
        image_sha256=fields.image_sha256,
        menu_items=[pb.MenuItem(label=i.label, url=i.url) for i in fields.menu_items],
    )


def optional_datetime(message: Any, name: str) -> datetime | None:
    return datetime_of(getattr(message, name)) if message.HasField(name) else None


def entry_pb(entry: ContentEntry, body_html: str, now: datetime) -> pb.ContentEntry:
    message = pb.ContentEntry(
        id=entry.id,
        kind=KINDS[entry.kind],
        locale=entry.locale,
        fields=fields_pb(entry.fields),
        body_html=body_html,
        version=entry.version,
        status=STATUSES[entry.status(now)],
        published_version=entry.published_version,
        created_at=timestamp(entry.created_at),
        updated_at=timestamp(entry.updated_at),
    )
    if entry.schedule.publish_at is not None:
        message.publish_at.CopyFrom(timestamp(entry.schedule.publish_at))
    if entry.schedule.unpublish_at is not None:
        message.unpublish_at.CopyFrom(timestamp(entry.schedule.unpublish_at))
    return message


def version_pb(version: ContentVersion) -> pb.ContentVersion:
    return pb.ContentVersion(
        version=version.version,
        fields=fields_pb(version.fields),
        author=version.author,
        change=version.change.value,
        created_at=timestamp(version.created_at),
    )


def published_pb(kind: ContentKind, fields: ContentFields, row: Any) -> pb.PublishedContent:
    """A published row (content_store.published_*) as the storefront sees it."""
    return pb.PublishedContent(
        kind=KINDS[kind],
        locale=row.locale,
        slug=fields.slug,
        title=fields.title,
        body_html=row.body_html,
        placement=fields.placement,
        link_url=fields.link_url,
        image_sha256=fields.image_sha256,
        menu_items=[pb.MenuItem(label=i.label, url=i.url) for i in fields.menu_items],
        published_at=timestamp(row.publish_at),
        version=row.version,
    )


def media_pb(row: Any) -> pb.Media:
    """A row of `media` as its message, each variant with its public URL."""
    return pb.Media(
        sha256=row.sha256,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        variants=[
            pb.MediaVariant(**variant, url=media_url(row.sha256, variant["name"]))
            for variant in row.variants
        ],
        created_at=timestamp(row.created_at),
    )

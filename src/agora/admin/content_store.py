"""Loads and saves content entries, their versions, their published copies and media
(SQLAlchemy Core over asyncpg, statements built from content_tables.py).

Decides nothing: the domain (content.py) has made every decision before a record reaches here;
a slug the database finds taken is reported as ALREADY_EXISTS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.admin.content import (
    Change,
    ContentEntry,
    ContentFields,
    ContentKind,
    ContentVersion,
    MenuItem,
    Schedule,
)
from agora.admin.content_media import StoredVariant
from agora.admin.content_tables import content_entries, content_published, content_versions, media
from agora.platform.errors import AlreadyExists, NotFound

Db = AsyncConnection | AsyncSession


def fields_json(fields: ContentFields) -> dict[str, Any]:
    return asdict(fields)


def fields_of(document: dict[str, Any]) -> ContentFields:
    items = tuple(MenuItem(**item) for item in document.get("menu_items", ()))
    return ContentFields(**{**document, "menu_items": items})


def _entry(row: Any) -> ContentEntry:
    return ContentEntry(
        id=row.id,
        kind=ContentKind(row.kind),
        locale=row.locale,
        fields=fields_of(row.fields),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_version=row.published_version,
        schedule=Schedule(row.publish_at, row.unpublish_at),
    )


def _slug_taken(entry: ContentEntry) -> AlreadyExists:
    return AlreadyExists(
        f"a {entry.kind.value} with slug {entry.fields.slug!r} exists in locale {entry.locale}",
        metadata={"slug": entry.fields.slug, "locale": entry.locale, "kind": entry.kind.value},
    )


async def _unique(session: AsyncSession, statement: Any, entry: ContentEntry) -> None:
    """Run `statement` in a savepoint: a taken slug (the unique constraint) is ALREADY_EXISTS
    and leaves the transaction usable."""
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except sa.exc.IntegrityError as error:
        if "slug_key" in str(error.orig):
            raise _slug_taken(entry) from None
        raise


def _entry_values(entry: ContentEntry, body_html: str) -> dict[str, Any]:
    return {
        "slug": entry.fields.slug,
        "fields": fields_json(entry.fields),
        "body_html": body_html,
        "version": entry.version,
        "published_version": entry.published_version,
        "publish_at": entry.schedule.publish_at,
        "unpublish_at": entry.schedule.unpublish_at,
        "updated_at": entry.updated_at,
    }


async def add_entry(session: AsyncSession, entry: ContentEntry, body_html: str) -> None:
    values = _entry_values(entry, body_html)
    statement = sa.insert(content_entries).values(
        id=entry.id,
        kind=entry.kind.value,
        locale=entry.locale,
        created_at=entry.created_at,
        **values,
    )
    await _unique(session, statement, entry)


async def save_entry(session: AsyncSession, entry: ContentEntry, body_html: str) -> None:
    statement = (
        sa.update(content_entries)
        .where(content_entries.c.id == entry.id)
        .values(**_entry_values(entry, body_html))
    )
    await _unique(session, statement, entry)


async def entry_by_id(db: Db, entry_id: str, *, for_update: bool = False) -> ContentEntry:
    statement = sa.select(content_entries).where(content_entries.c.id == entry_id)
    if for_update:
        statement = statement.with_for_update()
    row = (await db.execute(statement)).first()
    if row is None:
        raise NotFound("content", entry_id)
    return _entry(row)


async def body_html_of(db: Db, entry_id: str) -> str:
    html = await db.scalar(
        sa.select(content_entries.c.body_html).where(content_entries.c.id == entry_id)
    )
    return str(html or "")


async def list_entries(
    db: Db,
    *,
    kind: ContentKind | None,
    locale: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[ContentEntry, str]]:
    """Entries (with their HTML), most recently changed first, after the keyset `after`."""
    table = content_entries
    statement = sa.select(table).order_by(table.c.updated_at.desc(), table.c.id.desc())
    if kind is not None:
        statement = statement.where(table.c.kind == kind.value)
    if locale:
        statement = statement.where(table.c.locale == locale)
    if after is not None:
        statement = statement.where(sa.tuple_(table.c.updated_at, table.c.id) < after)
    rows = (await db.execute(statement.limit(limit))).all()
    return [(_entry(row), row.body_html) for row in rows]


async def add_version(session: AsyncSession, version: ContentVersion) -> None:
    await session.execute(
        sa.insert(content_versions).values(
            entry_id=version.entry_id,
            version=version.version,
            fields=fields_json(version.fields),
            author=version.author,
            change=version.change.value,
            created_at=version.created_at,
        )
    )


async def versions_of(db: Db, entry_id: str, numbers: Sequence[int] = ()) -> list[ContentVersion]:
    """The entry's versions, newest first (only `numbers`, when given)."""
    table = content_versions
    statement = sa.select(table).where(table.c.entry_id == entry_id)
    if numbers:
        statement = statement.where(table.c.version.in_(list(numbers)))
    rows = (await db.execute(statement.order_by(table.c.version.desc()))).all()
    return [
        ContentVersion(
            row.entry_id,
            row.version,
            fields_of(row.fields),
            row.author,
            Change(row.change),
            row.created_at,
        )
        for row in rows
    ]


async def put_published(
    session: AsyncSession, entry: ContentEntry, body_html: str, *, started: bool
) -> None:
    """Show the entry's current version on the storefront, replacing what it showed
    (`started`: its start needs no announcement, the publication's own event said it)."""
    values = {
        "kind": entry.kind.value,
        "locale": entry.locale,
        "slug": entry.fields.slug,
        "placement": entry.fields.placement,
        "fields": fields_json(entry.fields),
        "body_html": body_html,
        "version": entry.version,
        "publish_at": entry.schedule.publish_at,
        "unpublish_at": entry.schedule.unpublish_at,
        "start_announced": started,
        "end_announced": False,
    }
    statement = (
        insert(content_published)
        .values(entry_id=entry.id, **values)
        .on_conflict_do_update(index_elements=[content_published.c.entry_id], set_=values)
    )
    await _unique(session, statement, entry)


async def remove_published(session: AsyncSession, entry_id: str) -> None:
    await session.execute(
        sa.delete(content_published).where(content_published.c.entry_id == entry_id)
    )


def _showing(now: datetime) -> Any:
    table = content_published
    return sa.and_(
        table.c.publish_at <= now,
        sa.or_(table.c.unpublish_at.is_(None), table.c.unpublish_at > now),
    )


async def published_one(
    db: Db, kind: ContentKind, locale: str, slug: str, now: datetime
) -> Any | None:
    """The published row shown at `now` (or None)."""
    table = content_published
    statement = sa.select(table).where(
        table.c.kind == kind.value, table.c.locale == locale, table.c.slug == slug, _showing(now)
    )
    return (await db.execute(statement)).first()


async def published_many(
    db: Db,
    kind: ContentKind,
    locale: str,
    now: datetime,
    *,
    placement: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[Any]:
    """Published rows shown at `now`, newest publication first."""
    table = content_published
    statement = sa.select(table).where(
        table.c.kind == kind.value, table.c.locale == locale, _showing(now)
    )
    if placement is not None:
        statement = statement.where(table.c.placement == placement)
    if after is not None:
        statement = statement.where(sa.tuple_(table.c.publish_at, table.c.slug) < after)
    statement = statement.order_by(table.c.publish_at.desc(), table.c.slug.desc()).limit(limit)
    return list((await db.execute(statement)).all())


async def claim_schedule_boundaries(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[str, str]]:
    """Mark publications whose start or end has passed as announced; (entry id, which) of
    each, `which` being `start` or `end`. Rows are claimed with SKIP LOCKED (replicas)."""
    table = content_published
    due = (
        sa.select(table.c.entry_id, table.c.publish_at, table.c.unpublish_at)
        .where(
            sa.or_(
                sa.and_(~table.c.start_announced, table.c.publish_at <= now),
                sa.and_(~table.c.end_announced, table.c.unpublish_at <= now),
            )
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed: list[tuple[str, str]] = []
    for row in (await session.execute(due)).all():
        ended = row.unpublish_at is not None and row.unpublish_at <= now
        await session.execute(
            sa.update(table)
            .where(table.c.entry_id == row.entry_id)
            .values(start_announced=True, end_announced=ended)
        )
        claimed.append((row.entry_id, "end" if ended else "start"))
    return claimed


async def add_media(
    session: AsyncSession,
    *,
    sha256: str,
    content_type: str,
    size_bytes: int,
    width: int,
    height: int,
    variants: Sequence[StoredVariant],
    now: datetime,
) -> None:
    """Record an image (nothing to do when the same bytes were uploaded before)."""
    await session.execute(
        insert(media)
        .values(
            sha256=sha256,
            content_type=content_type,
            size_bytes=size_bytes,
            width=width,
            height=height,
            variants=[asdict(variant) for variant in variants],
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[media.c.sha256])
    )


async def media_by_hash(db: Db, sha256: str) -> Any:
    row = (await db.execute(sa.select(media).where(media.c.sha256 == sha256))).first()
    if row is None:
        raise NotFound("media", sha256)
    return row

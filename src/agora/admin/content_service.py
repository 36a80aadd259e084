"""Content management's gRPC servicer: proto -> domain (content_translation.py), one unit of
work per change (the idempotency record, the change, its versions, its event and audit entry),
domain -> proto. The storefront reads evaluate schedules at the time of the read (`clock`),
so a publication shows from its `publish_at` to the second, whatever the schedule job does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import grpc
import structlog
from google.api import httpbody_pb2
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora._proto.agora.admin.v1 import content_pb2_grpc
from agora.admin import content_store as store
from agora.admin.content import (
    Change,
    Clock,
    ContentEntry,
    ContentKind,
    ContentStatus,
    create_entry,
    diff,
    ensure_version,
    find_version,
    publish,
    revise,
    unpublish,
    validate_locale,
    version_of,
)
from agora.admin.content_events import (
    CONTENT_CREATED,
    CONTENT_PUBLISHED,
    CONTENT_ROLLED_BACK,
    CONTENT_UNPUBLISHED,
    CONTENT_UPDATED,
    record_content_change,
    record_media_uploaded,
)
from agora.admin.content_media import (
    MEDIA_CACHE_CONTROL,
    MediaStore,
    sniff_image,
    store_image,
    variant_named,
)
from agora.admin.content_rendering import render_markdown
from agora.admin.content_translation import (
    entry_pb,
    fields_of,
    kind_of,
    media_pb,
    optional_datetime,
    optional_kind,
    published_pb,
    version_pb,
)
from agora.platform.db import session_factory
from agora.platform.errors import NotFound
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.interceptors import send_response_headers
from agora.platform.security.principal import current_principal

ResponseT = TypeVar("ResponseT", bound=Message)
log = structlog.get_logger("agora.admin")


class ContentService(content_pb2_grpc.ContentServiceServicer):
    """Pages, banners, menus and posts over the admin schema reached through `engine`; media
    bytes in `media`; `locales` the configured ones; `clock` what "now" is (tests move it)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        media: MediaStore,
        locales: list[str],
        media_max_bytes: int,
        clock: Clock,
    ) -> None:
        self._sessions = session_factory(engine)
        # Reads need no transaction: autocommit saves the BEGIN/ROLLBACK round trips.
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._media = media
        self._locales = locales
        self._media_max_bytes = media_max_bytes
        self._clock = clock

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Callable[[AsyncSession], Awaitable[ResponseT]],
    ) -> ResponseT:
        """One transaction: the idempotency key, the change, its event and audit entry. Every
        change needs `admin:content:write`, checked by the interceptor on replays too."""
        return await idempotent_mutation(
            self._sessions,
            operation=f"admin.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    # --- staff: drafts, versions, publication ---------------------------------------------

    async def CreateContent(
        self, request: pb.CreateContentRequest, context: object
    ) -> pb.ContentEntry:
        async def change(session: AsyncSession) -> pb.ContentEntry:
            kind = kind_of(request.kind)
            locale = validate_locale(request.locale, self._locales)
            now = self._clock()
            entry = create_entry(
                kind, locale, fields_of(request.fields), entry_id=str(uuid.uuid4()), now=now
            )
            html = render_markdown(entry.fields.body_markdown)
            await store.add_entry(session, entry, html)
            await store.add_version(
                session, version_of(entry, author=_author(), change=Change.CREATED)
            )
            created = entry_pb(entry, html, now)
            await record_content_change(session, CONTENT_CREATED, created)
            return created

        return await self._mutate("CreateContent", request, pb.ContentEntry, change)

    async def UpdateContent(
        self, request: pb.UpdateContentRequest, context: object
    ) -> pb.ContentEntry:
        async def change(session: AsyncSession) -> pb.ContentEntry:
            current, before = await self._for_change(session, request.id, request.expected_version)
            revised = revise(current, fields_of(request.fields), now=self._clock())
            return await self._save_version(
                session, revised, before, Change.UPDATED, CONTENT_UPDATED
            )

        return await self._mutate("UpdateContent", request, pb.ContentEntry, change)

    async def RollbackContent(
        self, request: pb.RollbackContentRequest, context: object
    ) -> pb.ContentEntry:
        async def change(session: AsyncSession) -> pb.ContentEntry:
            current, before = await self._for_change(session, request.id, request.expected_version)
            old = find_version(
                await store.versions_of(session, current.id, [request.to_version]),
                request.to_version,
            )
            revised = revise(current, old.fields, now=self._clock())
            return await self._save_version(
                session, revised, before, Change.ROLLED_BACK, CONTENT_ROLLED_BACK
            )

        return await self._mutate("RollbackContent", request, pb.ContentEntry, change)

    async def PublishContent(
        self, request: pb.PublishContentRequest, context: object
    ) -> pb.ContentEntry:
        async def change(session: AsyncSession) -> pb.ContentEntry:
            current, before = await self._for_change(session, request.id, request.expected_version)
            now = self._clock()
            published = publish(
                current,
                publish_at=optional_datetime(request, "publish_at"),
                unpublish_at=optional_datetime(request, "unpublish_at"),
                now=now,
            )
            html = await store.body_html_of(session, current.id)
            started = published.status(now) is not ContentStatus.SCHEDULED
            await store.put_published(session, published, html, started=started)
            await store.save_entry(session, published, html)
            after = entry_pb(published, html, now)
            await record_content_change(session, CONTENT_PUBLISHED, after, before=before)
            return after

        return await self._mutate("PublishContent", request, pb.ContentEntry, change)

    async def UnpublishContent(
        self, request: pb.UnpublishContentRequest, context: object
    ) -> pb.ContentEntry:
        async def change(session: AsyncSession) -> pb.ContentEntry:
            current, before = await self._for_change(session, request.id, request.expected_version)
            now = self._clock()
            draft = unpublish(current, now=now)
            html = await store.body_html_of(session, current.id)
            await store.remove_published(session, current.id)
            await store.save_entry(session, draft, html)
            after = entry_pb(draft, html, now)
            await record_content_change(session, CONTENT_UNPUBLISHED, after, before=before)
            return after

        return await self._mutate("UnpublishContent", request, pb.ContentEntry, change)

    async def _for_change(
        self, session: AsyncSession, entry_id: str, expected_version: int
    ) -> tuple[ContentEntry, pb.ContentEntry]:
        """The entry, locked, when the caller saw its current version (else 409 CONFLICT with
        the current version), and its message as it was (the audit's `before`)."""
        current = await store.entry_by_id(session, require_id(entry_id, "id"), for_update=True)
        ensure_version(current, expected_version)
        html = await store.body_html_of(session, current.id)
        return current, entry_pb(current, html, self._clock())

    async def _save_version(
        self,
        session: AsyncSession,
        revised: ContentEntry,
        before: pb.ContentEntry,
        change: Change,
        subject: str,
    ) -> pb.ContentEntry:
        html = render_markdown(revised.fields.body_markdown)
        await store.save_entry(session, revised, html)
        await store.add_version(session, version_of(revised, author=_author(), change=change))
        after = entry_pb(revised, html, self._clock())
        await record_content_change(session, subject, after, before=before)
        return after

    async def GetContent(self, request: pb.GetContentRequest, context: object) -> pb.ContentEntry:
        entry_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            entry = await store.entry_by_id(conn, entry_id)
            return entry_pb(entry, await store.body_html_of(conn, entry_id), self._clock())

    async def ListContent(
        self, request: pb.ListContentRequest, context: object
    ) -> pb.ListContentResponse:
        kind = optional_kind(request.kind)
        if request.locale:
            validate_locale(request.locale, self._locales)
        size = page_size(request.page_size)
        query = f"content:{kind.value if kind else ''}:{request.locale}"
        position = decode_page_token(request.page_token, query)
        after = None
        if position is not None:
            after = (datetime.fromisoformat(str(position[0])), str(position[1]))
        async with self._reads.connect() as conn:
            rows = await store.list_entries(
                conn, kind=kind, locale=request.locale, after=after, limit=size + 1
            )
        now = self._clock()
        answer = pb.ListContentResponse(
            entries=[entry_pb(entry, html, now) for entry, html in rows[:size]]
        )
        if len(rows) > size:
            last = rows[size - 1][0]
            answer.next_page_token = encode_page_token(
                [last.updated_at.isoformat(), last.id], query
            )
        return answer

    async def ListContentVersions(
        self, request: pb.ListContentVersionsRequest, context: object
    ) -> pb.ListContentVersionsResponse:
        entry_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            await store.entry_by_id(conn, entry_id)
            versions = await store.versions_of(conn, entry_id)
        return pb.ListContentVersionsResponse(versions=[version_pb(v) for v in versions])

    async def DiffContentVersions(
        self, request: pb.DiffContentVersionsRequest, context: object
    ) -> pb.ContentDiff:
        entry_id = require_id(request.id, "id")
        numbers = [request.from_version, request.to_version]
        async with self._reads.connect() as conn:
            await store.entry_by_id(conn, entry_id)
            versions = await store.versions_of(conn, entry_id, numbers)
        older = find_version(versions, request.from_version)
        newer = find_version(versions, request.to_version)
        return pb.ContentDiff(
            from_version=older.version, to_version=newer.version, unified_diff=diff(older, newer)
        )

    # --- media ----------------------------------------------------------------------------

    async def UploadMedia(self, request: pb.UploadMediaRequest, context: object) -> pb.Media:
        # Sniffed and stored before the transaction: the bytes are named by their hash, so a
        # retry or a failed commit leaves at most files that the next upload of them reuses.
        image = await asyncio.to_thread(
            sniff_image, request.data, request.content_type, max_bytes=self._media_max_bytes
        )
        variants = await store_image(self._media, image)

        async def change(session: AsyncSession) -> pb.Media:
            await store.add_media(
                session,
                sha256=image.sha256,
                content_type=image.content_type,
                size_bytes=len(image.data),
                width=image.width,
                height=image.height,
                variants=variants,
                now=self._clock(),
            )
            media = media_pb(await store.media_by_hash(session, image.sha256))
            await record_media_uploaded(session, media)
            return media

        return await self._mutate("UploadMedia", request, pb.Media, change)

    async def GetMedia(self, request: pb.GetMediaRequest, context: object) -> pb.Media:
        async with self._reads.connect() as conn:
            return media_pb(await store.media_by_hash(conn, request.sha256))

    async def GetMediaFile(
        self, request: pb.GetMediaFileRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> httpbody_pb2.HttpBody:
        async with self._reads.connect() as conn:
            row = await store.media_by_hash(conn, request.sha256)
        variant = variant_named(row.variants, request.variant)
        if variant is None:
            raise NotFound("media variant", f"{request.sha256}/{request.variant}")
        try:
            data = await self._media.get(variant["key"])
        except FileNotFoundError as error:
            # Recorded but not in the store (a store replaced without its files).
            log.warning("media_bytes_missing", key=variant["key"])
            raise NotFound("media", request.sha256) from error
        # Named by its hash, the file never changes: its ETag is the hash.
        headers = (("etag", f'"{row.sha256}"'), ("cache-control", MEDIA_CACHE_CONTROL))
        await send_response_headers(context, headers)
        return httpbody_pb2.HttpBody(content_type=variant["content_type"], data=data)

    # --- storefront: published and within their schedule ---------------------------------

    async def GetPublishedPage(
        self, request: pb.GetPublishedRequest, context: object
    ) -> pb.PublishedContent:
        return await self._published_one(ContentKind.PAGE, request)

    async def GetPublishedPost(
        self, request: pb.GetPublishedRequest, context: object
    ) -> pb.PublishedContent:
        return await self._published_one(ContentKind.POST, request)

    async def GetPublishedMenu(
        self, request: pb.GetPublishedRequest, context: object
    ) -> pb.PublishedContent:
        return await self._published_one(ContentKind.MENU, request)

    async def _published_one(
        self, kind: ContentKind, request: pb.GetPublishedRequest
    ) -> pb.PublishedContent:
        locale = validate_locale(request.locale, self._locales)
        async with self._reads.connect() as conn:
            row = await store.published_one(conn, kind, locale, request.slug, self._clock())
        if row is None:
            # Drafts, scheduled and expired entries are indistinguishable from missing ones.
            raise NotFound(kind.value, f"{locale}/{request.slug}")
        return published_pb(kind, store.fields_of(row.fields), row)

    async def ListPublishedPosts(
        self, request: pb.ListPublishedPostsRequest, context: object
    ) -> pb.ListPublishedResponse:
        locale = validate_locale(request.locale, self._locales)
        size = page_size(request.page_size)
        query = f"posts:{locale}"
        position = decode_page_token(request.page_token, query)
        after = None
        if position is not None:
            after = (datetime.fromisoformat(str(position[0])), str(position[1]))
        async with self._reads.connect() as conn:
            rows = await store.published_many(
                conn, ContentKind.POST, locale, self._clock(), after=after, limit=size + 1
            )
        answer = pb.ListPublishedResponse(
            entries=[
                published_pb(ContentKind.POST, store.fields_of(r.fields), r) for r in rows[:size]
            ]
        )
        if len(rows) > size:
            last = rows[size - 1]
            answer.next_page_token = encode_page_token(
                [last.publish_at.isoformat(), last.slug], query
            )
        return answer

    async def ListPublishedBanners(
        self, request: pb.ListPublishedBannersRequest, context: object
    ) -> pb.ListPublishedResponse:
        locale = validate_locale(request.locale, self._locales)
        async with self._reads.connect() as conn:
            rows = await store.published_many(
                conn, ContentKind.BANNER, locale, self._clock(), placement=request.placement
            )
        return pb.ListPublishedResponse(
            entries=[published_pb(ContentKind.BANNER, store.fields_of(r.fields), r) for r in rows]
        )


def _author() -> str:
    return current_principal().subject

"""Content management over gRPC with the real database: drafts stay off the storefront,
schedules are reached with the service's clock (no sleeping), versions, diff and rollback,
optimistic concurrency, unique slugs, sanitized HTML, events and audit entries, permissions."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from admin_content_support import ShiftedClock
from security_support import mint_token, with_token
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.admin.v1 import content_pb2 as pb
from agora._proto.agora.admin.v1 import events_pb2
from agora._proto.agora.admin.v1.content_pb2_grpc import ContentServiceStub
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.admin.content_events import CONTENT_PUBLISHED, CONTENT_SCHEDULE_REACHED
from agora.admin.content_jobs import ContentSchedule
from agora.platform.rpc.status import error_info_from_rpc_error
from agora.platform.rpc.timestamps import timestamp

TIMEOUT_S = 10
HOUR = timedelta(hours=1)


def _key() -> str:
    return str(uuid.uuid4())


def _slug() -> str:
    return f"page-{uuid.uuid4().hex[:10]}"


async def _create(
    content: ContentServiceStub,
    *,
    kind: Any = pb.CONTENT_KIND_PAGE,
    locale: str = "en",
    **fields: Any,
) -> pb.ContentEntry:
    values: dict[str, Any] = {"slug": _slug(), "title": "About us", **fields}
    request = pb.CreateContentRequest(
        idempotency_key=_key(), kind=kind, locale=locale, fields=pb.ContentFields(**values)
    )
    answer: pb.ContentEntry = await content.CreateContent(request, timeout=TIMEOUT_S)
    return answer


async def _update(
    content: ContentServiceStub, entry: pb.ContentEntry, expected: int, **fields: Any
) -> pb.ContentEntry:
    merged = pb.ContentFields()
    merged.CopyFrom(entry.fields)
    for name, value in fields.items():
        setattr(merged, name, value)
    request = pb.UpdateContentRequest(
        idempotency_key=_key(), id=entry.id, expected_version=expected, fields=merged
    )
    answer: pb.ContentEntry = await content.UpdateContent(request, timeout=TIMEOUT_S)
    return answer


async def _publish(
    content: ContentServiceStub, entry: pb.ContentEntry, **schedule: Any
) -> pb.ContentEntry:
    request = pb.PublishContentRequest(
        idempotency_key=_key(), id=entry.id, expected_version=entry.version
    )
    for name, moment in schedule.items():
        getattr(request, name).CopyFrom(timestamp(moment))
    answer: pb.ContentEntry = await content.PublishContent(request, timeout=TIMEOUT_S)
    return answer


async def _public_page(content: ContentServiceStub, entry: pb.ContentEntry) -> pb.PublishedContent:
    request = pb.GetPublishedRequest(locale=entry.locale, slug=entry.fields.slug)
    answer: pb.PublishedContent = await content.GetPublishedPage(request, timeout=TIMEOUT_S)
    return answer


async def _refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    return refused.value


async def test_a_draft_is_invisible_to_the_storefront_until_published(
    content: ContentServiceStub,
) -> None:
    draft = await _create(content, body_markdown="# Hello\n\nOur **lamps**.")
    hidden = await _refused(_public_page(content, draft))
    published = await _publish(content, draft)
    shown = await _public_page(content, draft)

    assert hidden.code() == grpc.StatusCode.NOT_FOUND
    assert draft.status == pb.CONTENT_STATUS_DRAFT
    assert published.status == pb.CONTENT_STATUS_PUBLISHED
    assert (shown.title, shown.version) == ("About us", 1)
    assert "<strong>lamps</strong>" in shown.body_html


async def test_a_new_draft_of_a_published_page_stays_off_the_storefront_until_republished(
    content: ContentServiceStub,
) -> None:
    first = await _publish(content, await _create(content, body_markdown="Version one."))
    second = await _update(content, first, 1, body_markdown="Version two.")
    still = await _public_page(content, second)
    await _publish(content, second)
    now = await _public_page(content, second)

    assert (second.version, second.published_version) == (2, 1)
    assert "Version one." in still.body_html
    assert "Version two." in now.body_html


async def test_a_scheduled_publication_shows_at_its_time_and_ends_at_its_end(
    content: ContentServiceStub, content_clock: ShiftedClock
) -> None:
    start = content_clock() + 2 * HOUR
    entry = await _publish(
        content, await _create(content), publish_at=start, unpublish_at=start + HOUR
    )
    before = await _refused(_public_page(content, entry))
    content_clock.advance(2 * HOUR)
    during = await _public_page(content, entry)
    content_clock.advance(HOUR)
    after = await _refused(_public_page(content, entry))
    status = await content.GetContent(pb.GetContentRequest(id=entry.id), timeout=TIMEOUT_S)

    assert entry.status == pb.CONTENT_STATUS_SCHEDULED
    assert before.code() == grpc.StatusCode.NOT_FOUND
    assert during.slug == entry.fields.slug
    assert after.code() == grpc.StatusCode.NOT_FOUND
    assert status.status == pb.CONTENT_STATUS_EXPIRED


async def test_the_schedule_job_announces_a_start_once_it_has_passed(
    content: ContentServiceStub, content_clock: ShiftedClock, admin_engine: AsyncEngine
) -> None:
    entry = await _publish(content, await _create(content), publish_at=content_clock() + 5 * HOUR)
    job = ContentSchedule(admin_engine, clock=content_clock)
    await job.run_batch()
    early = await _announcements(admin_engine, entry.id)
    content_clock.advance(5 * HOUR)
    await job.run_batch()
    await job.run_batch()

    assert early == []
    assert await _announcements(admin_engine, entry.id) == [entry.id]


async def _outbox(engine: AsyncEngine, *aggregate_ids: str) -> list[tuple[str, EventEnvelope]]:
    """(subject, envelope) of the outbox's events about `aggregate_ids`, in order."""
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT subject, payload FROM admin.outbox ORDER BY seq"))
        found = [(row.subject, EventEnvelope.FromString(row.payload)) for row in rows]
    return [(subject, e) for subject, e in found if e.aggregate_id in aggregate_ids]


async def _announcements(engine: AsyncEngine, entry_id: str) -> list[str]:
    return [
        e.aggregate_id
        for subject, e in await _outbox(engine, entry_id)
        if subject == CONTENT_SCHEDULE_REACHED
    ]


async def test_history_diff_and_rollback_to_an_older_version(
    content: ContentServiceStub,
) -> None:
    first = await _create(content, body_markdown="Lamps.\nRugs.")
    second = await _update(content, first, 1, body_markdown="Lamps.\nChairs.")
    diff = await content.DiffContentVersions(
        pb.DiffContentVersionsRequest(id=first.id, from_version=1, to_version=2),
        timeout=TIMEOUT_S,
    )
    rolled = await content.RollbackContent(
        pb.RollbackContentRequest(
            idempotency_key=_key(), id=first.id, expected_version=2, to_version=1
        ),
        timeout=TIMEOUT_S,
    )
    history = await content.ListContentVersions(
        pb.ListContentVersionsRequest(id=first.id), timeout=TIMEOUT_S
    )

    assert second.version == 2
    assert "-Rugs.\n+Chairs.\n" in diff.unified_diff
    assert (rolled.version, rolled.fields) == (3, first.fields)
    assert [(v.version, v.change) for v in history.versions] == [
        (3, "rolled_back"),
        (2, "updated"),
        (1, "created"),
    ]
    assert history.versions[0].fields == history.versions[2].fields


async def test_a_save_against_a_stale_version_is_aborted_with_the_current_version(
    content: ContentServiceStub,
) -> None:
    entry = await _create(content)
    await _update(content, entry, 1, title="Edited by Ada")
    stale = await _refused(_update(content, entry, 1, title="Edited by Bob"))
    info = error_info_from_rpc_error(stale)
    kept = await content.GetContent(pb.GetContentRequest(id=entry.id), timeout=TIMEOUT_S)

    assert stale.code() == grpc.StatusCode.ABORTED
    assert info.metadata["currentVersion"] == "2"
    assert kept.fields.title == "Edited by Ada"


async def test_a_slug_is_unique_per_kind_and_locale(content: ContentServiceStub) -> None:
    slug = _slug()
    await _create(content, slug=slug)
    taken = await _refused(_create(content, slug=slug))
    other_locale = await _create(content, slug=slug, locale="de")
    as_post = await _create(content, slug=slug, kind=pb.CONTENT_KIND_POST)
    renamed = await _create(content)
    taken_by_rename = await _refused(_update(content, renamed, 1, slug=slug))

    assert taken.code() == grpc.StatusCode.ALREADY_EXISTS
    assert taken_by_rename.code() == grpc.StatusCode.ALREADY_EXISTS
    assert (other_locale.locale, as_post.kind) == ("de", pb.CONTENT_KIND_POST)


async def test_script_injection_in_markdown_is_stored_and_served_inert(
    content: ContentServiceStub,
) -> None:
    markdown = (
        "Hi <script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[x](javascript:alert(3)) <iframe src=https://evil.example></iframe>"
    )
    entry = await _publish(content, await _create(content, body_markdown=markdown))
    shown = await _public_page(content, entry)

    for html in (entry.body_html, shown.body_html):
        assert "<script" not in html
        assert "onerror" not in html
        assert "<iframe" not in html
        assert 'href="javascript' not in html


async def test_unknown_locales_kinds_and_bad_fields_are_invalid(
    content: ContentServiceStub,
) -> None:
    fr = await _refused(_create(content, locale="fr"))
    no_kind = await _refused(_create(content, kind=pb.CONTENT_KIND_UNSPECIFIED))
    bad_link = await _refused(
        _create(content, kind=pb.CONTENT_KIND_BANNER, placement="hero", link_url="javascript:x")
    )
    public_fr = await _refused(
        content.GetPublishedPage(pb.GetPublishedRequest(locale="fr", slug="x"), timeout=TIMEOUT_S)
    )

    assert {e.code() for e in (fr, no_kind, bad_link, public_fr)} == {
        grpc.StatusCode.INVALID_ARGUMENT
    }
    assert "en, de" in fr.details()


async def test_a_retried_create_answers_the_first_entry(content: ContentServiceStub) -> None:
    request = pb.CreateContentRequest(
        idempotency_key=_key(),
        kind=pb.CONTENT_KIND_PAGE,
        locale="en",
        fields=pb.ContentFields(slug=_slug(), title="Once"),
    )
    first = await content.CreateContent(request, timeout=TIMEOUT_S)
    again = await content.CreateContent(request, timeout=TIMEOUT_S)
    assert again.id == first.id


async def test_banners_by_placement_menus_by_handle_and_posts_newest_first(
    content: ContentServiceStub, content_clock: ShiftedClock
) -> None:
    placement = f"hero-{uuid.uuid4().hex[:6]}"
    banner = await _create(
        content, kind=pb.CONTENT_KIND_BANNER, placement=placement, link_url="/c/lamps"
    )
    await _create(content, kind=pb.CONTENT_KIND_BANNER, placement=placement)  # a draft
    await _publish(content, banner)
    items = [pb.MenuItem(label="Lamps", url="/c/lamps"), pb.MenuItem(label="Blog", url="/blog")]
    menu = await _publish(
        content, await _create(content, kind=pb.CONTENT_KIND_MENU, menu_items=items)
    )
    locale = "de"
    older = await _publish(
        content, await _create(content, kind=pb.CONTENT_KIND_POST, locale=locale),
        publish_at=content_clock() - 2 * HOUR,
    )  # fmt: skip
    newer = await _publish(
        content, await _create(content, kind=pb.CONTENT_KIND_POST, locale=locale),
        publish_at=content_clock() - HOUR,
    )  # fmt: skip

    banners = await content.ListPublishedBanners(
        pb.ListPublishedBannersRequest(locale="en", placement=placement), timeout=TIMEOUT_S
    )
    found_menu = await content.GetPublishedMenu(
        pb.GetPublishedRequest(locale="en", slug=menu.fields.slug), timeout=TIMEOUT_S
    )
    posts = await content.ListPublishedPosts(
        pb.ListPublishedPostsRequest(locale=locale, page_size=100), timeout=TIMEOUT_S
    )
    slugs = [post.slug for post in posts.entries]

    assert [b.slug for b in banners.entries] == [banner.fields.slug]
    assert list(found_menu.menu_items) == items
    assert slugs.index(newer.fields.slug) < slugs.index(older.fields.slug)


async def test_each_change_is_announced_and_audited_in_its_transaction(
    content: ContentServiceStub, admin_engine: AsyncEngine
) -> None:
    entry = await _publish(content, await _create(content))
    rows = await _outbox(admin_engine, entry.id, f"content:{entry.id}")
    subjects = [subject for subject, _ in rows]
    published = next(e for subject, e in rows if subject == CONTENT_PUBLISHED)
    event = events_pb2.ContentChanged.FromString(published.payload)

    assert subjects == [
        "admin.content.created",
        "audit.admin.content_created",
        "admin.content.published",
        "audit.admin.content_published",
    ]
    assert event.entry.published_version == 1


async def test_writing_needs_the_write_permission_and_drafts_the_read_one(
    content: ContentServiceStub,
) -> None:
    reader = with_token(mint_token(permissions=["admin:content:read"]))
    nobody = with_token(mint_token(permissions=[]))
    entry = await _create(content)
    read = await content.GetContent(
        pb.GetContentRequest(id=entry.id), metadata=reader, timeout=TIMEOUT_S
    )
    write = await _refused(
        content.UnpublishContent(
            pb.UnpublishContentRequest(idempotency_key=_key(), id=entry.id, expected_version=1),
            metadata=reader,
            timeout=TIMEOUT_S,
        )
    )
    draft = await _refused(
        content.GetContent(pb.GetContentRequest(id=entry.id), metadata=nobody, timeout=TIMEOUT_S)
    )

    assert read.id == entry.id
    assert write.code() == grpc.StatusCode.PERMISSION_DENIED
    assert draft.code() == grpc.StatusCode.PERMISSION_DENIED

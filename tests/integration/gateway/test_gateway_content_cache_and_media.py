"""The storefront's content through the real gateway and the real admin service: published pages
are served from the gateway's cache until an `admin.content.*` event drops them (a publication
shows long before the 60 s TTL), and uploaded images are served by their public URL with
immutable caching and 304 revalidation, no token needed."""

from __future__ import annotations

import asyncio
import base64
import io
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa
from edge_stack import EdgeStack
from nats.aio.msg import Msg
from PIL import Image
from security_support import RenewedToken

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora.platform.db import create_engine

CLIENT_IP = "198.18.121.1"
WAIT_S = 10.0  # well under the routes' cache TTL (60 s): a bound, not a timing assertion
TRIES = 3
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def as_admin(admin_bearer: RenewedToken) -> dict[str, str]:
    return {"Authorization": admin_bearer()}


class ContentEvents:
    """The `admin.content.*` events as they reach NATS subscribers (the gateway is one)."""

    def __init__(self) -> None:
        self.seen: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def on_message(self, message: Msg) -> None:
        envelope = EventEnvelope.FromString(message.data)
        await self.seen.put((message.subject, envelope.aggregate_id))

    async def announced(self, subject: str, entry_id: str) -> None:
        """Wait until `subject` was announced for `entry_id`."""

        async def matching() -> None:
            while await self.seen.get() != (subject, entry_id):
                pass

        await asyncio.wait_for(matching(), WAIT_S)


@pytest.fixture
async def content_events(nats_url: str) -> AsyncIterator[ContentEvents]:
    events = ContentEvents()
    client = await nats.connect(nats_url)
    await client.subscribe("admin.content.>", cb=events.on_message)
    await client.flush()
    yield events
    await client.close()


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _publish(
    http: httpx.AsyncClient, as_admin: dict[str, str], entry: dict[str, Any]
) -> dict[str, Any]:
    body = {"idempotencyKey": str(uuid.uuid4()), "expectedVersion": entry["version"]}
    return await _ok(
        await http.post(f"/v1/admin/content/{entry['id']}:publish", headers=as_admin, json=body)
    )


async def _tamper_without_an_event(database_url: str, entry_id: str, html: str) -> None:
    """Change the published copy behind the service's back: no event, so no invalidation."""
    engine = create_engine(database_url, "admin", pool_size=1)
    try:
        async with engine.begin() as conn:
            changed = await conn.execute(
                sa.text(
                    "UPDATE admin.content_published SET body_html = :html WHERE entry_id = :id"
                ),
                {"html": html, "id": entry_id},
            )
            assert changed.rowcount == 1
    finally:
        await engine.dispose()


async def test_a_cached_page_shows_a_new_publication_before_its_ttl_passes(
    edge: EdgeStack, as_admin: dict[str, str], content_events: ContentEvents
) -> None:
    slug = f"cached-{uuid.uuid4().hex[:10]}"
    page = f"/v1/content/pages/en/{slug}"
    async with edge.client(CLIENT_IP) as http:
        entry = await _ok(
            await http.post(
                "/v1/admin/content",
                headers=as_admin,
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "kind": "CONTENT_KIND_PAGE",
                    "locale": "en",
                    "fields": {"slug": slug, "title": "Hours", "bodyMarkdown": "Open at nine."},
                },
            )
        )
        await _publish(http, as_admin, entry)
        await content_events.announced("admin.content.published", entry["id"])

        # Any content event drops every cached page (the publication's own may reach the
        # gateway only now, another test's scheduled page may go live): a few tries, each
        # with a new change, show the copy kept when no event came between.
        original = await http.get(page)
        first = original
        for attempt in range(TRIES):
            first = first if attempt == 0 else await http.get(page)
            await _tamper_without_an_event(edge.database_url, entry["id"], f"<p>T{attempt}</p>")
            cached = await http.get(page)
            if cached.json()["bodyHtml"] == first.json()["bodyHtml"]:
                break

        revised = await _ok(
            await http.put(
                f"/v1/admin/content/{entry['id']}",
                headers=as_admin,
                json={
                    "idempotencyKey": str(uuid.uuid4()),
                    "expectedVersion": entry["version"],
                    "fields": {**entry["fields"], "bodyMarkdown": "Open at ten."},
                },
            )
        )
        await _publish(http, as_admin, revised)
        deadline = time.monotonic() + WAIT_S
        shown = await http.get(page)
        while "ten" not in shown.json()["bodyHtml"] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            shown = await http.get(page)

    assert "Open at nine." in (await _ok(original))["bodyHtml"]
    assert original.headers["cache-control"] == "public, no-cache"
    # Served from the gateway's copy: the change that sent no event does not show.
    assert (await _ok(cached))["bodyHtml"] == first.json()["bodyHtml"]
    assert cached.headers["etag"] == first.headers["etag"]
    # The publication's event dropped the copy, well within the 60 s TTL.
    assert "Open at ten." in (await _ok(shown))["bodyHtml"]
    assert shown.json()["version"] == "2"
    assert shown.headers["etag"] != first.headers["etag"]


def _png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (uuid.uuid4().int % 256, 10, 200)).save(out, format="PNG")
    return out.getvalue()


async def test_an_uploaded_image_is_served_by_its_public_url_cached_for_a_year(
    edge: EdgeStack, as_admin: dict[str, str]
) -> None:
    data = _png(400)
    upload = {
        "idempotencyKey": str(uuid.uuid4()),
        "contentType": "image/png",
        "data": base64.b64encode(data).decode(),
    }
    async with edge.client(CLIENT_IP) as http:
        media = await _ok(await http.post("/v1/admin/media", headers=as_admin, json=upload))
        urls = {v["name"]: v["url"] for v in media["variants"]}
        original = await http.get(urls["original"])
        small = await http.get(urls["w320"])
        wide = await http.get(f"/v1/content/media/{media['sha256']}/w960")
        revalidated = await http.get(
            urls["original"], headers={"If-None-Match": original.headers.get("etag", "")}
        )

    assert urls["original"] == f"/v1/content/media/{media['sha256']}/original"
    assert original.status_code == 200
    assert original.content == data
    assert original.headers["content-type"] == "image/png"
    assert original.headers["etag"] == f'"{media["sha256"]}"'
    assert original.headers["cache-control"] == IMMUTABLE
    assert original.headers["x-content-type-options"] == "nosniff"
    assert small.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(small.content)) as image:
        assert image.size == (320, 320)
    # Narrower than the variant: its original.
    assert wide.content == data
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["cache-control"] == IMMUTABLE


async def test_unknown_and_malformed_media_names_are_problems(edge: EdgeStack) -> None:
    unknown = uuid.uuid4().hex * 2
    async with edge.client(CLIENT_IP) as http:
        missing = await http.get(f"/v1/content/media/{unknown}/original")
        upper = await http.get(f"/v1/content/media/{unknown.upper()}/original")
        traversal = await http.get(f"/v1/content/media/{unknown}/..%2F..%2Fetc%2Fpasswd")
        no_variant = await http.get(f"/v1/content/media/{unknown}/w100")

    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "NOT_FOUND"
    assert upper.status_code == 400
    assert upper.json()["errors"][0]["field"] == "sha256"
    assert traversal.status_code == 400
    assert no_variant.status_code == 400
    assert no_variant.json()["errors"][0]["field"] == "variant"

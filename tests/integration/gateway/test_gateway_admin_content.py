"""Content management through the real gateway: drafts off the public routes, and the HTTP
statuses of refused saves and uploads (409 with the current version, 409 for a taken slug, 400
for an upload lying about its type, 413 over the service's upload limit)."""

from __future__ import annotations

import base64
import io
import os
import uuid
from typing import Any

import httpx
import pytest
from edge_stack import ADMIN_MEDIA_MAX_BYTES, EdgeStack
from PIL import Image
from security_support import RenewedToken

CLIENT_IP = "198.18.120.1"


def _key() -> str:
    return str(uuid.uuid4())


async def _json(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def _page(http: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "idempotencyKey": _key(),
        "kind": "CONTENT_KIND_PAGE",
        "locale": "en",
        "fields": {"slug": f"edge-{uuid.uuid4().hex[:10]}", "title": "About", **fields},
    }
    return await _json(await http.post("/v1/admin/content", headers=headers, json=body))


async def _publish(
    http: httpx.AsyncClient, headers: dict[str, str], entry: dict[str, Any]
) -> dict[str, Any]:
    body = {"idempotencyKey": _key(), "expectedVersion": entry["version"]}
    path = f"/v1/admin/content/{entry['id']}:publish"
    return await _json(await http.post(path, headers=headers, json=body))


async def _save(
    http: httpx.AsyncClient, headers: dict[str, str], entry: dict[str, Any], expected: Any,
    **fields: Any,
) -> httpx.Response:  # fmt: skip
    body = {
        "idempotencyKey": _key(),
        "expectedVersion": str(expected),
        "fields": {**entry["fields"], **fields},
    }
    return await http.put(f"/v1/admin/content/{entry['id']}", headers=headers, json=body)


@pytest.fixture
def as_admin(admin_bearer: RenewedToken) -> dict[str, str]:
    return {"Authorization": admin_bearer()}


async def test_a_draft_is_not_found_on_the_storefront_until_published(
    edge: EdgeStack, as_admin: dict[str, str]
) -> None:
    async with edge.client(CLIENT_IP) as http:
        entry = await _page(http, as_admin, bodyMarkdown="First <script>x()</script>words.")
        public = f"/v1/content/pages/en/{entry['fields']['slug']}"
        draft = await http.get(public)
        await _publish(http, as_admin, entry)
        shown = await _json(await http.get(public))

    assert draft.status_code == 404
    assert shown["title"] == "About"
    assert "<script" not in shown["bodyHtml"]


async def test_a_stale_save_is_409_naming_the_current_version(
    edge: EdgeStack, as_admin: dict[str, str]
) -> None:
    async with edge.client(CLIENT_IP) as http:
        entry = await _page(http, as_admin)
        await _json(await _save(http, as_admin, entry, 1, title="Ada's"))
        stale = await _save(http, as_admin, entry, 1, title="Bob's")

    problem = stale.json()
    assert stale.status_code == 409
    assert problem["reason"] == "CONFLICT"
    assert problem["preconditions"] == [
        {
            "type": "VERSION_CHANGED",
            "subject": entry["id"],
            "description": "the current version is 2",
        }
    ]


async def test_a_taken_slug_is_409(edge: EdgeStack, as_admin: dict[str, str]) -> None:
    async with edge.client(CLIENT_IP) as http:
        entry = await _page(http, as_admin)
        again = await http.post(
            "/v1/admin/content",
            headers=as_admin,
            json={
                "idempotencyKey": _key(),
                "kind": "CONTENT_KIND_PAGE",
                "locale": "en",
                "fields": {"slug": entry["fields"]["slug"], "title": "Twin"},
            },
        )
    assert again.status_code == 409
    assert again.json()["reason"] == "ALREADY_EXISTS"


def _png(noise_bytes: int = 0) -> bytes:
    side = 32 if not noise_bytes else int((noise_bytes / 3) ** 0.5) + 1
    pixels = os.urandom(side * side * 3) if noise_bytes else bytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, format="PNG")
    return out.getvalue()


def _upload(data: bytes, content_type: str) -> dict[str, str]:
    encoded = base64.b64encode(data).decode()
    return {"idempotencyKey": _key(), "contentType": content_type, "data": encoded}


async def test_uploads_are_checked_at_the_edge_of_the_api(
    edge: EdgeStack, as_admin: dict[str, str]
) -> None:
    async with edge.client(CLIENT_IP) as http:
        stored = await _json(
            await http.post("/v1/admin/media", headers=as_admin, json=_upload(_png(), "image/png"))
        )
        lying = await http.post(
            "/v1/admin/media", headers=as_admin, json=_upload(_png(), "image/gif")
        )
        over_limit = await http.post(
            "/v1/admin/media",
            headers=as_admin,
            json=_upload(_png(2 * ADMIN_MEDIA_MAX_BYTES), "image/png"),
        )

    assert stored["contentType"] == "image/png"
    assert (lying.status_code, lying.json()["reason"]) == (400, "INVALID_ARGUMENT")
    assert (over_limit.status_code, over_limit.json()["reason"]) == (413, "PAYLOAD_TOO_LARGE")

"""Browsing tests' tools: products, categories and content of their own, made through the API
(so a test never depends on, or changes, what other tests see)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def key() -> str:
    return str(uuid.uuid4())


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def new_category(http: httpx.Client, name: str) -> dict[str, Any]:
    slug = f"browse-{uuid.uuid4().hex[:10]}"
    return ok(
        http.post("/v1/categories", json={"idempotencyKey": key(), "slug": slug, "name": name})
    )


def new_product(
    http: httpx.Client,
    title: str,
    variants: list[tuple[str, dict[str, int], int]],
    *,
    category_id: str = "",
    description: str = "",
) -> dict[str, Any]:
    """A published product; `variants` are (title, {currency: minor}, on hand)."""
    slug = f"browse-{uuid.uuid4().hex[:10]}"
    body: dict[str, Any] = {
        "idempotencyKey": key(),
        "title": title,
        "slug": slug,
        "description": description,
        "variants": [
            {
                "sku": f"{slug}-{n}".upper(),
                "title": name,
                "prices": [{"amountMinor": str(a), "currency": c} for c, a in prices.items()],
            }
            for n, (name, prices, _) in enumerate(variants)
        ],
    }
    if category_id:
        body["categoryId"] = category_id
    product = ok(http.post("/v1/products", json=body))
    for made, (_, _, on_hand) in zip(product["variants"], variants, strict=True):
        ok(
            http.put(
                f"/v1/variants/{made['id']}/stock",
                json={"idempotencyKey": key(), "onHand": str(on_hand)},
            )
        )
    ok(http.post(f"/v1/products/{product['id']}:publish", json={"idempotencyKey": key()}))
    return product


def published_content(http: httpx.Client, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A content entry (`CONTENT_KIND_PAGE`, `…_BANNER`, `…_MENU`) in English, published now."""
    entry = ok(
        http.post(
            "/v1/admin/content",
            json={"idempotencyKey": key(), "kind": kind, "locale": "en", "fields": fields},
        )
    )
    return ok(
        http.post(
            f"/v1/admin/content/{entry['id']}:publish",
            json={"idempotencyKey": key(), "expectedVersion": entry["version"]},
        )
    )

"""Every kind of `google.api.http` binding, transcoded to a real gRPC backend."""

from __future__ import annotations

import httpx
import pytest
from testshop_backend import RunningShop


@pytest.fixture(autouse=True)
def stocked(shop: RunningShop) -> None:
    shop.backend.items.clear()
    shop.backend.item("tea", "Green tea", 450)
    shop.backend.item("cup", "Cup", 1200)


async def test_get_binds_the_path_variable_and_answers_proto3_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/items/tea")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    item = response.json()
    assert item["slug"] == "tea"
    assert item["title"] == "Green tea"
    # int64 is a string in proto3 JSON; names are lowerCamelCase; defaults are printed.
    assert item["price"] == {"amountMinor": "450", "currency": "EUR"}
    assert item["inStock"] is False
    assert item["kind"] == "KIND_UNSPECIFIED"


async def test_percent_encoded_path_values_are_decoded(
    client: httpx.AsyncClient, shop: RunningShop
) -> None:
    shop.backend.item("tea pot/1", "Pot")

    response = await client.get("/v1/items/tea%20pot%2F1")

    assert response.status_code == 200
    assert response.json()["slug"] == "tea pot/1"


async def test_query_parameters_bind_scalars_repeated_enums_nested_and_timestamps(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/items?pageSize=20&tags=green&tags=loose&kind=KIND_BOOK&in_stock=true"
        "&price.minMinor=100&price.max_minor=900&createdAfter=2024-01-02T03:04:05Z"
    )

    assert response.status_code == 200
    seen = response.json()["seen"]
    assert seen["pageSize"] == 20
    assert seen["tags"] == ["green", "loose"]
    assert seen["kind"] == "KIND_BOOK"
    assert seen["inStock"] is True
    assert seen["price"] == {"minMinor": "100", "maxMinor": "900"}
    assert seen["createdAfter"] == "2024-01-02T03:04:05Z"


async def test_post_with_whole_body_creates(client: httpx.AsyncClient, shop: RunningShop) -> None:
    response = await client.post(
        "/v1/items",
        json={
            "item": {"slug": "mug", "title": "Mug", "price": {"amountMinor": 900}, "tags": ["a"]},
            "idempotencyKey": "k1",
        },
    )

    assert response.status_code == 200
    created = response.json()
    assert created["createdAt"] == "2023-11-14T22:13:20Z"
    assert created["price"]["amountMinor"] == "900"
    assert shop.backend.items["mug"].tags == ["a"]


async def test_patch_binds_the_body_to_its_field_and_the_path_wins(
    client: httpx.AsyncClient, shop: RunningShop
) -> None:
    response = await client.patch(
        "/v1/items/tea", json={"slug": "ignored", "title": "Sencha", "attributes": {"origin": "jp"}}
    )

    assert response.status_code == 200
    assert response.json()["slug"] == "tea"
    assert shop.backend.items["tea"].title == "Sencha"
    assert dict(shop.backend.items["tea"].attributes) == {"origin": "jp"}


async def test_patch_takes_other_fields_from_the_query(
    client: httpx.AsyncClient, shop: RunningShop
) -> None:
    response = await client.patch("/v1/items/tea?idempotencyKey=abc", json={"title": "Oolong"})

    assert response.status_code == 200
    assert shop.backend.items["tea"].title == "Oolong"


async def test_delete_answers_an_empty_object(client: httpx.AsyncClient, shop: RunningShop) -> None:
    response = await client.delete("/v1/items/cup")

    assert response.status_code == 200
    assert response.json() == {}
    assert "cup" not in shop.backend.items


async def test_custom_verb_routes_to_its_own_method(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/items/tea:reserve", json={"quantity": 2})

    assert response.status_code == 200
    assert response.json() == {"slug": "tea", "quantity": 2}


async def test_response_body_answers_only_that_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/items/cup/price")

    assert response.status_code == 200
    assert response.json() == {"amountMinor": "1200", "currency": "EUR"}


async def test_resource_name_templates_and_additional_bindings(client: httpx.AsyncClient) -> None:
    direct = await client.get("/v1/shelves/top")
    under_store = await client.get("/v1/stores/paris/shelves/top")

    assert direct.json() == {"name": "shelves/top", "store": ""}
    assert under_store.json() == {"name": "shelves/top", "store": "paris"}


async def test_request_id_is_passed_through_to_the_backend_and_echoed(
    client: httpx.AsyncClient, shop: RunningShop
) -> None:
    response = await client.get("/v1/items/tea", headers={"X-Request-Id": "req-42"})

    assert response.headers["x-request-id"] == "req-42"
    assert shop.backend.metadata[-1]["x-request-id"] == "req-42"


async def test_a_request_id_is_generated_when_missing_or_unsafe(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/items/tea", headers={"X-Request-Id": "bad id\nwith junk"})

    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    assert generated != "bad id\nwith junk"


async def test_every_response_carries_security_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/v1/items/tea"), await client.get("/v1/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_a_web_page_keeps_the_edge_headers_with_its_own_csp_and_referrer_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    csp = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in csp
    assert "unsafe-inline" not in csp
    assert response.headers.get_list("referrer-policy") == ["same-origin"]

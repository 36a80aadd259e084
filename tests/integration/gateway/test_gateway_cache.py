"""Cacheable GETs: served from memory, dropped by events on real NATS, revalidated by ETag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import nats
import pytest
from google.protobuf import descriptor_pb2
from testshop_backend import RunningShop, build_app

from agora.gateway.bootstrap import CacheInvalidation
from agora.gateway.cache import ResponseCache
from agora.gateway.settings import GatewaySettings


@pytest.fixture
async def cache(nats_url: str) -> AsyncIterator[ResponseCache]:
    cache = ResponseCache()
    feed = CacheInvalidation(cache, nats_url, ["testshop.item."])
    feed.start()
    deadline = time.monotonic() + 10
    while not cache.active:
        assert time.monotonic() < deadline, "the cache never subscribed to NATS"
        await asyncio.sleep(0.02)
    yield cache
    await feed.stop()


@pytest.fixture
async def cached_client(
    shop: RunningShop,
    testshop_descriptors: descriptor_pb2.FileDescriptorSet,
    gateway_settings: GatewaySettings,
    cache: ResponseCache,
) -> AsyncIterator[httpx.AsyncClient]:
    shop.backend.items.clear()
    shop.backend.item("tea", "Green tea", 450)
    app = build_app(testshop_descriptors, shop.channel, gateway_settings, cache)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


async def test_a_cacheable_get_is_served_from_the_cache(
    cached_client: httpx.AsyncClient, shop: RunningShop
) -> None:
    calls_before = shop.backend.calls.get("GetItem", 0)

    first = await cached_client.get("/v1/items/tea")
    second = await cached_client.get("/v1/items/tea")

    assert first.json() == second.json()
    assert shop.backend.calls["GetItem"] == calls_before + 1
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"


async def test_query_order_does_not_split_the_cache(
    cached_client: httpx.AsyncClient, shop: RunningShop
) -> None:
    await cached_client.get("/v1/items/tea?currency=EUR&currency=USD")
    calls = shop.backend.calls["GetItem"]

    await cached_client.get("/v1/items/tea?currency=EUR&currency=USD")

    assert shop.backend.calls["GetItem"] == calls


async def test_an_event_invalidates_the_cached_answer_within_a_second(
    cached_client: httpx.AsyncClient, shop: RunningShop, nats_url: str
) -> None:
    assert (await cached_client.get("/v1/items/tea")).json()["title"] == "Green tea"
    shop.backend.item("tea", "Black tea", 450)
    assert (await cached_client.get("/v1/items/tea")).json()["title"] == "Green tea"

    publisher = await nats.connect(nats_url)
    await publisher.publish("testshop.item.updated", b"tea")
    await publisher.flush()
    await publisher.close()

    deadline = time.monotonic() + 1.0
    title = ""
    while time.monotonic() < deadline:
        title = (await cached_client.get("/v1/items/tea")).json()["title"]
        if title == "Black tea":
            break
        await asyncio.sleep(0.02)
    assert title == "Black tea"


async def test_unrelated_events_keep_the_cache(
    cached_client: httpx.AsyncClient, shop: RunningShop, cache: ResponseCache
) -> None:
    await cached_client.get("/v1/items/tea")

    dropped = cache.invalidate_prefix("testshop.order.placed")

    assert dropped == 0
    assert len(cache) == 1


async def test_if_none_match_with_the_current_etag_is_304(cached_client: httpx.AsyncClient) -> None:
    first = await cached_client.get("/v1/items/tea")

    revalidated = await cached_client.get(
        "/v1/items/tea", headers={"If-None-Match": first.headers["etag"]}
    )
    changed = await cached_client.get("/v1/items/tea", headers={"If-None-Match": '"other"'})

    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == first.headers["etag"]
    assert changed.status_code == 200


async def test_a_suspended_cache_is_bypassed(
    cached_client: httpx.AsyncClient, shop: RunningShop, cache: ResponseCache
) -> None:
    await cached_client.get("/v1/items/tea")
    cache.suspend()
    shop.backend.item("tea", "White tea", 450)

    response = await cached_client.get("/v1/items/tea")

    assert response.json()["title"] == "White tea"
    assert "etag" in response.headers


async def test_non_cacheable_methods_are_never_cached(
    cached_client: httpx.AsyncClient, cache: ResponseCache
) -> None:
    await cached_client.get("/v1/items")
    response = await cached_client.get("/v1/items/tea/price")

    assert len(cache) == 0
    assert response.headers["cache-control"] == "no-store"

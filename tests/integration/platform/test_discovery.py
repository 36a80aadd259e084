"""Service discovery against a real NATS JetStream: registration, heartbeat, expiry, balancing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from rpc_echo import echo_pb2, echo_stub, start_echo_server

from agora.platform.rpc import (
    Instance,
    Registration,
    Resolver,
    ServiceChannels,
    instance_bucket,
)

TTL_S = 2.0


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
def js(nats_client: NATS) -> JetStreamContext:
    return nats_client.jetstream()


@pytest.fixture
async def bucket(js: JetStreamContext) -> AsyncIterator[str]:
    """A bucket of this test's own, with a short TTL."""
    name = f"agora_instances_{uuid.uuid4().hex[:8]}"
    await instance_bucket(js, name, ttl_s=TTL_S)
    yield name
    await js.delete_key_value(name)


@pytest.fixture
async def resolver(js: JetStreamContext, bucket: str) -> AsyncIterator[Resolver]:
    started = Resolver(js, bucket=bucket, ttl_s=TTL_S)
    await started.start()
    yield started
    await started.stop()


def registration(js: JetStreamContext, bucket: str, address: str) -> Registration:
    return Registration(js, "echo", address, bucket=bucket, ttl_s=TTL_S)


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> float:
    """Wait until `condition()` holds; return how long it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_registered_instances_are_resolved(
    js: JetStreamContext, bucket: str, resolver: Resolver
) -> None:
    first = registration(js, bucket, "127.0.0.1:7001")
    second = registration(js, bucket, "127.0.0.1:7002")
    await first.start()
    await second.start()
    try:
        await eventually(lambda: len(resolver.addresses("echo")) == 2)
        assert resolver.addresses("echo") == ["127.0.0.1:7001", "127.0.0.1:7002"]
        assert {i.instance_id for i in resolver.instances("echo")} == {
            first.instance.instance_id,
            second.instance.instance_id,
        }
        assert resolver.addresses("catalog") == []
    finally:
        await first.stop()
        await second.stop()


async def test_a_resolver_started_later_knows_the_instances_at_once(
    js: JetStreamContext, bucket: str
) -> None:
    running = registration(js, bucket, "127.0.0.1:7003")
    await running.start()
    late = Resolver(js, bucket=bucket, ttl_s=TTL_S)
    try:
        await late.start()
        assert late.addresses("echo") == ["127.0.0.1:7003"]
    finally:
        await late.stop()
        await running.stop()


async def test_a_stopped_instance_disappears_at_once(
    js: JetStreamContext, bucket: str, resolver: Resolver
) -> None:
    staying = registration(js, bucket, "127.0.0.1:7004")
    leaving = registration(js, bucket, "127.0.0.1:7005")
    await staying.start()
    await leaving.start()
    await eventually(lambda: len(resolver.addresses("echo")) == 2)
    await leaving.stop()
    took = await eventually(lambda: resolver.addresses("echo") == ["127.0.0.1:7004"])
    await staying.stop()
    assert took < TTL_S / 2


async def test_heartbeats_keep_an_instance_beyond_the_ttl(
    js: JetStreamContext, bucket: str, resolver: Resolver
) -> None:
    alive = registration(js, bucket, "127.0.0.1:7006")
    await alive.start()
    try:
        await asyncio.sleep(TTL_S * 1.6)
        assert resolver.addresses("echo") == ["127.0.0.1:7006"]
    finally:
        await alive.stop()


async def test_an_instance_that_stopped_beating_expires_after_the_ttl(
    js: JetStreamContext, bucket: str, resolver: Resolver
) -> None:
    crashed = Instance("echo", "127.0.0.1:7007", "crashed-1", pid=1, started_at="2026-01-01")
    kv = await instance_bucket(js, bucket)
    await kv.put(crashed.key, crashed.to_json())
    await eventually(lambda: resolver.addresses("echo") == ["127.0.0.1:7007"])
    took = await eventually(lambda: resolver.addresses("echo") == [], timeout_s=TTL_S * 3)
    assert took > TTL_S / 2
    assert await stored_value(kv, crashed.key) is None


async def stored_value(kv: KeyValue, key: str) -> bytes | None:
    """The value under `key`; an expiry marker (an entry without value) counts as none."""
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None
    return entry.value or None


async def test_an_unhealthy_instance_is_not_resolved(
    js: JetStreamContext, bucket: str, resolver: Resolver
) -> None:
    sick = registration(js, bucket, "127.0.0.1:7008")
    await sick.start()
    await eventually(lambda: resolver.addresses("echo") == ["127.0.0.1:7008"])
    await sick.set_healthy(False)
    await eventually(lambda: resolver.addresses("echo") == [])
    await sick.stop()


async def test_static_addresses_win_over_discovery_and_fallback(
    js: JetStreamContext, bucket: str
) -> None:
    registered = registration(js, bucket, "127.0.0.1:7009")
    await registered.start()
    resolver = Resolver(
        js,
        static={"echo": "10.1.1.1:8711, 10.1.1.2:8711"},
        fallback=lambda service: f"{service}:8711",
        bucket=bucket,
        ttl_s=TTL_S,
    )
    try:
        await resolver.start()
        assert resolver.addresses("echo") == ["10.1.1.1:8711", "10.1.1.2:8711"]
        assert resolver.addresses("orders") == ["orders:8711"]
    finally:
        await resolver.stop()
        await registered.stop()


async def test_without_nats_only_static_and_fallback_answer() -> None:
    resolver = Resolver(static={"catalog": "127.0.0.1:8711"}, fallback=lambda _: None)
    await resolver.start()
    assert resolver.addresses("catalog") == ["127.0.0.1:8711"]
    assert resolver.addresses("orders") == []
    await resolver.stop()


async def test_calls_are_balanced_over_every_live_instance_and_follow_changes(
    js: JetStreamContext, bucket: str, resolver: Resolver
) -> None:
    servers = [await start_echo_server(name) for name in ("a", "b")]
    registrations = [registration(js, bucket, server.address) for server, _ in servers]
    for each in registrations:
        await each.start()
    channels = ServiceChannels(resolver, timeout_s=5, close_grace_s=0.2)
    try:
        await eventually(lambda: len(resolver.addresses("echo")) == 2)
        seen = await answered_by(channels, 20)
        assert seen == {"a", "b"}
        assert all(servicer.calls["Echo"] >= 5 for _, servicer in servers)

        await registrations[1].stop()
        await eventually(lambda: len(resolver.addresses("echo")) == 1)
        assert await answered_by(channels, 10) == {"a"}
    finally:
        await channels.close()
        await registrations[0].stop()
        for server, _ in servers:
            await server.stop(0)


async def answered_by(channels: ServiceChannels, calls: int) -> set[str]:
    replies: list[Any] = [
        await channels.stub("echo", echo_stub).Echo(echo_pb2.EchoRequest(text="x"))
        for _ in range(calls)
    ]
    return {reply.instance for reply in replies}

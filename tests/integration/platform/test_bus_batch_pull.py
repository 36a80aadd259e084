"""`BatchPull`: batches of a durable consumer over the JetStream pull protocol. What is there now
comes at once, a wait ends with the first message, a full batch has the next one asked for in
advance, and what a stopped puller held is redelivered at once."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig

from agora.platform.bus.pull import BatchPull


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    connection = await nats.connect(nats_url)
    yield connection
    await connection.close()


@pytest.fixture
async def stream(nc: Client) -> AsyncIterator[str]:
    name = f"PULL{uuid.uuid4().hex[:8].upper()}"
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    await js.add_consumer(
        name, ConsumerConfig(durable_name="puller", ack_policy=AckPolicy.EXPLICIT, ack_wait=30)
    )
    yield name
    await js.delete_stream(name)


async def _publish(nc: Client, stream: str, count: int, start: int = 0) -> None:
    js = nc.jetstream()
    for n in range(start, start + count):
        await js.publish(f"{stream.lower()}.e", str(n).encode())


async def _puller(nc: Client, stream: str) -> BatchPull:
    pull = BatchPull(nc, "$JS.API", stream, "puller")
    await pull.start()
    return pull


async def test_what_is_there_comes_at_once_in_batches_in_stream_order(
    nc: Client, stream: str
) -> None:
    await _publish(nc, stream, 25)
    pull = await _puller(nc, stream)

    began = time.monotonic()
    first = await pull.fetch(10, timeout_s=5)
    second = await pull.fetch(10, timeout_s=5)
    third = await pull.fetch(10, timeout_s=5)  # 5 left: no waiting for the other 5

    assert time.monotonic() - began < 2
    got = [int(m.data) for m in first + second + third]
    assert got == list(range(25))
    assert [len(first), len(second), len(third)] == [10, 10, 5]
    for message in first + second + third:
        await message.ack()
    await pull.stop()


async def test_an_empty_stream_gives_nothing_after_the_timeout(nc: Client, stream: str) -> None:
    pull = await _puller(nc, stream)

    began = time.monotonic()
    assert await pull.fetch(10, timeout_s=0.5) == []

    assert 0.4 < time.monotonic() - began < 3
    await pull.stop()


async def test_a_waiting_fetch_returns_with_the_first_messages_published(
    nc: Client, stream: str
) -> None:
    pull = await _puller(nc, stream)
    waiting = asyncio.ensure_future(pull.fetch(100, timeout_s=10))
    await asyncio.sleep(0.3)
    began = time.monotonic()
    await _publish(nc, stream, 3)
    got = await waiting

    assert time.monotonic() - began < 3  # not the 10 s timeout
    assert [int(m.data) for m in got] == [0, 1, 2]
    for message in got:
        await message.ack()
    await pull.stop()


async def test_messages_a_stopped_puller_held_are_redelivered_at_once(
    nc: Client, stream: str
) -> None:
    await _publish(nc, stream, 20)
    first = await _puller(nc, stream)
    taken = await first.fetch(10, timeout_s=5)  # a full batch: the next 10 are asked for
    for message in taken:
        await message.ack()
    await first.fetch(5, timeout_s=5)  # 5 handed out, never acked, the rest held
    await asyncio.sleep(0.3)  # every message asked for in advance has arrived
    await first.stop()

    second = await _puller(nc, stream)
    began = time.monotonic()
    again = await second.fetch(10, timeout_s=5)

    assert time.monotonic() - began < 3  # not the 30 s ack wait
    assert sorted(int(m.data) for m in again) == list(range(15, 20))
    await second.stop()

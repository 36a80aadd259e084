"""Revoked sessions reach every verifier through NATS (agora.platform.security.revocation):
loaded before a process serves, then watched."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from agora.platform.security.revocation import RevocationPublisher, RevokedSessionSet


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client = await nats.connect(nats_url)
    yield client.jetstream()
    await client.close()


async def test_a_process_starting_later_knows_the_sessions_revoked_before(
    js: JetStreamContext,
) -> None:
    earlier = str(uuid.uuid4())
    await RevocationPublisher(js).publish([earlier])
    revoked = RevokedSessionSet(js)

    await revoked.start()
    try:
        assert revoked.is_revoked(earlier)
        assert not revoked.is_revoked(str(uuid.uuid4()))
    finally:
        await revoked.stop()


async def test_a_running_process_learns_a_revocation_within_a_second(
    js: JetStreamContext,
) -> None:
    revoked = RevokedSessionSet(js)
    await revoked.start()
    session = str(uuid.uuid4())
    try:
        await RevocationPublisher(js).publish([session])
        published_at = time.monotonic()
        for _ in range(500):
            if revoked.is_revoked(session):
                break
            await asyncio.sleep(0.01)

        assert revoked.is_revoked(session)
        assert time.monotonic() - published_at < 1.0
    finally:
        await revoked.stop()

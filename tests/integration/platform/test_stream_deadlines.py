"""A service's channels put their default deadline (`rpc_timeout_s`) on answers only: a
streaming call (the support chat, a live feed) lives past it, a unary call does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from agora.platform.rpc.client import ServiceChannels
from agora.platform.runtime import streaming_methods_without_deadline
from agora.platform.security.permissions import streaming_methods

SERVICE = "agora.support.v1.SupportService"
PAUSE_S = 0.6
TIMEOUT_S = 0.2


class _Static:
    def __init__(self, address: str) -> None:
        self.address = address

    def addresses(self, service: str) -> list[str]:
        return [self.address]


async def _chat(requests: AsyncIterator[bytes], context: object) -> AsyncIterator[bytes]:
    async for request in requests:
        await asyncio.sleep(PAUSE_S)
        yield request


async def _slow(request: bytes, context: object) -> bytes:
    await asyncio.sleep(PAUSE_S)
    return request


def test_the_chat_and_live_feeds_are_the_streaming_methods() -> None:
    methods = streaming_methods()
    assert f"{SERVICE}/Chat" in methods
    assert f"{SERVICE}/ListConversations" not in methods
    assert all(v is None for v in streaming_methods_without_deadline().values())


async def test_a_stream_outlives_the_default_deadline_and_an_answer_does_not() -> None:
    handler = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Chat": grpc.stream_stream_rpc_method_handler(_chat),
            "GetConversation": grpc.unary_unary_rpc_method_handler(_slow),
        },
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channels = ServiceChannels(
        _Static(f"127.0.0.1:{port}"),
        timeout_s=TIMEOUT_S,
        timeouts=streaming_methods_without_deadline(),
    )
    try:
        channel = channels.channel("support")
        call = channel.stream_stream(f"/{SERVICE}/Chat")()
        await call.write(b"hello")
        assert await call.read() == b"hello"  # after PAUSE_S, three times the default
        await call.done_writing()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await channel.unary_unary(f"/{SERVICE}/GetConversation")(b"x")
        assert refused.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        await channels.close()
        await server.stop(None)

"""Client channels over real loopback sockets: retries, deadlines, request ids, re-resolution."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from rpc_echo import echo_pb2, echo_stub, start_echo_server

from agora.platform.errors import NotFound, Unavailable
from agora.platform.logging import bind_request_id
from agora.platform.net import free_port
from agora.platform.rpc import GrpcServer, Resolver, ServiceChannels, raise_for_rpc_error


class Addresses:
    """An address source the test changes at will."""

    def __init__(self, *addresses: str) -> None:
        self.current = list(addresses)

    def addresses(self, service: str) -> list[str]:
        return list(self.current)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[GrpcServer, Any]]:
    server, servicer = await start_echo_server()
    yield server, servicer
    await server.stop(0)


@pytest.fixture
async def channels(echo: tuple[GrpcServer, Any]) -> AsyncIterator[ServiceChannels]:
    server, _ = echo
    service_channels = ServiceChannels(Resolver(static={"echo": server.address}), timeout_s=5)
    yield service_channels
    await service_channels.close()


async def test_a_call_failing_with_unavailable_is_retried_until_it_succeeds(
    echo: tuple[GrpcServer, Any], channels: ServiceChannels
) -> None:
    _, servicer = echo
    reply = await channels.stub("echo", echo_stub).Flaky(
        echo_pb2.FlakyRequest(key="k-1", failures=2)
    )
    assert reply.text == "k-1"
    assert servicer.calls["Flaky"] == 3


async def test_retries_stop_after_four_attempts(
    echo: tuple[GrpcServer, Any], channels: ServiceChannels
) -> None:
    _, servicer = echo
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await channels.stub("echo", echo_stub).Flaky(echo_pb2.FlakyRequest(key="k-2", failures=9))
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert servicer.calls["Flaky"] == 4


async def test_other_failures_are_not_retried(
    echo: tuple[GrpcServer, Any], channels: ServiceChannels
) -> None:
    _, servicer = echo
    with pytest.raises(grpc.aio.AioRpcError):
        await channels.stub("echo", echo_stub).Fail(echo_pb2.FailRequest(error="not_found"))
    assert servicer.calls["Fail"] == 1


async def test_a_failed_call_is_raised_again_as_the_domain_error(
    channels: ServiceChannels,
) -> None:
    stub = channels.stub("echo", echo_stub)

    async def fail_as_a_service_would() -> None:
        try:
            await stub.Fail(echo_pb2.FailRequest(error="not_found"))
        except grpc.aio.AioRpcError as failure:
            raise_for_rpc_error(failure)

    with pytest.raises(NotFound) as raised:
        await fail_as_a_service_would()
    assert (raised.value.resource_type, raised.value.resource_name) == ("product", "blue-shoe")


async def test_a_dead_backend_fails_fast() -> None:
    channels = ServiceChannels(Addresses(f"127.0.0.1:{free_port()}"), timeout_s=2)
    started = time.monotonic()
    try:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channels.stub("echo", echo_stub).Echo(echo_pb2.EchoRequest(text="hi"))
    finally:
        await channels.close()
    assert raised.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert time.monotonic() - started < 2.5


@pytest.fixture
def silent_listener() -> Iterator[str]:
    """A port that accepts TCP connections and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


async def test_a_backend_that_never_answers_hits_the_default_timeout(
    silent_listener: str,
) -> None:
    channels = ServiceChannels(Addresses(silent_listener), timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channels.stub("echo", echo_stub).Echo(echo_pb2.EchoRequest(text="hi"))
    finally:
        await channels.close()
    assert raised.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert time.monotonic() - started < 1.5


async def test_a_slow_handler_is_cut_by_the_default_timeout(echo: tuple[GrpcServer, Any]) -> None:
    server, _ = echo
    channels = ServiceChannels(Addresses(server.address), timeout_s=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await channels.stub("echo", echo_stub).Echo(
                echo_pb2.EchoRequest(text="slow", delay_s=3)
            )
    finally:
        await channels.close()
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.5


async def test_streams_carry_the_request_id_too(channels: ServiceChannels) -> None:
    bind_request_id("req-stream")
    call = channels.stub("echo", echo_stub).Repeat(echo_pb2.RepeatRequest(text="a", count=2))
    assert [reply.request_id async for reply in call] == ["req-stream", "req-stream"]


async def test_a_changed_address_set_moves_calls_to_a_new_channel() -> None:
    first, first_servicer = await start_echo_server("first")
    second, second_servicer = await start_echo_server("second")
    addresses = Addresses(first.address)
    channels = ServiceChannels(addresses, timeout_s=5, close_grace_s=0.2)
    try:
        old_channel = channels.channel("echo")
        before = await channels.stub("echo", echo_stub).Echo(echo_pb2.EchoRequest(text="x"))
        addresses.current = [second.address]
        after = await channels.stub("echo", echo_stub).Echo(echo_pb2.EchoRequest(text="x"))
        assert channels.channel("echo") is not old_channel
        await asyncio.sleep(0.4)
        with pytest.raises(grpc.aio.UsageError, match="closed"):
            await echo_stub(old_channel).Echo(echo_pb2.EchoRequest(text="x"))
    finally:
        await channels.close()
        await first.stop(0)
        await second.stop(0)
    assert (before.instance, after.instance) == ("first", "second")
    assert (first_servicer.calls["Echo"], second_servicer.calls["Echo"]) == (1, 1)


async def test_the_same_addresses_keep_the_same_channel_and_stub(
    channels: ServiceChannels,
) -> None:
    assert channels.channel("echo") is channels.channel("echo")
    assert channels.stub("echo", echo_stub) is channels.stub("echo", echo_stub)


async def test_a_service_without_any_address_is_unavailable() -> None:
    channels = ServiceChannels(Addresses())
    with pytest.raises(Unavailable, match="echo"):
        channels.channel("echo")
    await channels.close()


async def test_a_caller_stub_carries_only_the_callers_credentials_never_the_services_own(
    echo: tuple[GrpcServer, Any],
) -> None:
    server, servicer = echo
    channels = ServiceChannels(
        Resolver(static={"echo": server.address}),
        timeout_s=5,
        authorization=lambda: "Bearer service-token",
    )
    request = echo_pb2.EchoRequest(text="x")
    try:
        await channels.stub("echo", echo_stub).Echo(request)
        await channels.caller_stub("echo", echo_stub).Echo(request)
        await channels.caller_stub("echo", echo_stub).Echo(
            request, metadata=(("authorization", "Bearer customer-token"),)
        )
    finally:
        await channels.close()

    assert servicer.authorizations == ["Bearer service-token", None, "Bearer customer-token"]

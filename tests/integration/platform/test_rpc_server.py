"""The gRPC server over loopback sockets: errors, request ids, health, reflection, deadlines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from rpc_echo import ERRORS, SERVICE, echo_pb2, echo_stub, start_echo_server

from agora.platform.errors import Shortage
from agora.platform.logging import bind_request_id, configure_logging
from agora.platform.rpc import (
    GrpcServer,
    Resolver,
    ServiceChannels,
    error_info_from_rpc_error,
    grpc_code,
)
from agora.platform.rpc.interceptors import INTERNAL_MESSAGE, REQUEST_ID_HEADER


@pytest.fixture
async def echo() -> AsyncIterator[tuple[GrpcServer, Any]]:
    server, servicer = await start_echo_server(default_deadline_s=0.5)
    yield server, servicer
    await server.stop(0)


@pytest.fixture
async def channel(echo: tuple[GrpcServer, Any]) -> AsyncIterator[grpc.aio.Channel]:
    """A plain channel: no request id, no retries, so the server's behaviour shows as it is."""
    server, _ = echo
    async with grpc.aio.insecure_channel(server.address) as plain:
        yield plain


@pytest.fixture
async def channels(echo: tuple[GrpcServer, Any]) -> AsyncIterator[ServiceChannels]:
    server, _ = echo
    service_channels = ServiceChannels(Resolver(static={"echo": server.address}), timeout_s=5)
    yield service_channels
    await service_channels.close()


async def fail_with(channel: grpc.aio.Channel, error: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await echo_stub(channel).Fail(echo_pb2.FailRequest(error=error), timeout=5)
    return raised.value


async def test_invalid_argument_names_every_field(channel: grpc.aio.Channel) -> None:
    failure = await fail_with(channel, "invalid_argument")
    info = error_info_from_rpc_error(failure)
    assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["title", "prices[0].amount"]
    assert info.metadata == {"product": "p-1"}


async def test_not_found_keeps_reason_and_message(channel: grpc.aio.Channel) -> None:
    failure = await fail_with(channel, "not_found")
    info = error_info_from_rpc_error(failure)
    assert failure.code() == grpc.StatusCode.NOT_FOUND
    assert (info.reason, info.message) == ("NOT_FOUND", "product 'blue-shoe' not found")


async def test_insufficient_stock_carries_the_shortages(channel: grpc.aio.Channel) -> None:
    failure = await fail_with(channel, "insufficient")
    info = error_info_from_rpc_error(failure)
    assert failure.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info.reason == "INSUFFICIENT"
    assert info.shortages == [Shortage("sku:A-1", 5, 3), Shortage("sku:B-2", 2, 0)]


async def test_unavailable_tells_when_to_retry(channel: grpc.aio.Channel) -> None:
    failure = await fail_with(channel, "unavailable")
    assert failure.code() == grpc.StatusCode.UNAVAILABLE
    assert error_info_from_rpc_error(failure).retry_after_s == 2.5


async def test_every_sample_error_arrives_with_its_own_code(channel: grpc.aio.Channel) -> None:
    for name, make in ERRORS.items():
        failure = await fail_with(channel, name)
        assert (failure.code(), failure.details()) == (grpc_code(make()), make().message)


async def test_an_unexpected_exception_is_internal_and_leaks_nothing(
    channel: grpc.aio.Channel,
) -> None:
    failure = await fail_with(channel, "crash")
    assert failure.code() == grpc.StatusCode.INTERNAL
    assert failure.details() == INTERNAL_MESSAGE
    everything_sent = repr(failure.trailing_metadata()) + repr(failure.initial_metadata())
    assert "hunter2" not in everything_sent
    assert "RuntimeError" not in everything_sent


async def test_stream_error_after_a_reply_arrives_with_its_status(
    channel: grpc.aio.Channel,
) -> None:
    call = echo_stub(channel).Repeat(
        echo_pb2.RepeatRequest(text="a", count=3, error="not_found"), timeout=5
    )
    replies: list[str] = []

    async def read_all() -> None:
        async for reply in call:
            replies.append(reply.text)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await read_all()
    assert replies == ["a"]
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_callers_request_id_reaches_the_handler_and_comes_back(
    channels: ServiceChannels,
) -> None:
    bind_request_id("req-42")
    call = channels.stub("echo", echo_stub).Echo(echo_pb2.EchoRequest(text="hi"))
    reply = await call
    assert reply.request_id == "req-42"
    assert (REQUEST_ID_HEADER, "req-42") in tuple(await call.trailing_metadata())


async def test_a_failed_call_echoes_the_request_id_too(channels: ServiceChannels) -> None:
    bind_request_id("req-43")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await channels.stub("echo", echo_stub).Fail(echo_pb2.FailRequest(error="not_found"))
    assert (REQUEST_ID_HEADER, "req-43") in tuple(raised.value.trailing_metadata())


async def test_a_call_without_request_id_gets_one_in_the_initial_metadata(
    channel: grpc.aio.Channel,
) -> None:
    call = echo_stub(channel).Echo(echo_pb2.EchoRequest(text="hi"), timeout=5)
    reply = await call
    initial = dict(tuple(await call.initial_metadata()))
    assert len(reply.request_id) == 32
    assert initial[REQUEST_ID_HEADER] == reply.request_id


@pytest.mark.parametrize("sent", ["a b<script>", "x" * 500])
async def test_a_malformed_request_id_is_replaced(channel: grpc.aio.Channel, sent: str) -> None:
    reply = await echo_stub(channel).Echo(
        echo_pb2.EchoRequest(text="hi"), metadata=((REQUEST_ID_HEADER, sent),), timeout=5
    )
    assert len(reply.request_id) == 32


async def test_a_call_without_deadline_is_cut_by_the_servers_default(
    channel: grpc.aio.Channel,
) -> None:
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await echo_stub(channel).Echo(echo_pb2.EchoRequest(text="slow", delay_s=5))
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 3


async def test_health_is_serving_for_the_server_and_every_service(
    channel: grpc.aio.Channel,
) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_stopping_reports_not_serving_before_closing() -> None:
    server, _ = await start_echo_server()
    async with grpc.aio.insecure_channel(server.address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=10
        )
        first = await watch.read()
        stopping = asyncio.create_task(server.stop(0.2))
        second = await watch.read()
        await stopping
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_reflection_lists_the_service_health_and_reflection(
    channel: grpc.aio.Channel,
) -> None:
    reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    responses = reflect.ServerReflectionInfo(iter([request]), timeout=5)
    names = set()
    async for response in responses:
        names = {service.name for service in response.list_services_response.service}
    assert names == {
        SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_the_bound_port_is_the_one_the_os_chose(echo: tuple[GrpcServer, Any]) -> None:
    server, _ = echo
    assert server.port > 0
    assert server.address == f"127.0.0.1:{server.port}"


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("echo", "DEBUG", stream=stream)
    yield stream
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_each_call_leaves_one_access_log_line_at_debug(access_log: io.StringIO) -> None:
    server, _ = await start_echo_server()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            await echo_stub(channel).Echo(
                echo_pb2.EchoRequest(text="hi"), metadata=((REQUEST_ID_HEADER, "r-7"),), timeout=5
            )
            await fail_with(channel, "not_found")
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
    finally:
        await server.stop(0)
    calls = [
        line
        for line in map(json.loads, access_log.getvalue().splitlines())
        if line["event"] == "rpc"
    ]
    assert [(c["method"].rsplit("/", 1)[1], c["code"]) for c in calls] == [
        ("Echo", "OK"),
        ("Fail", "NOT_FOUND"),
        ("Check", "OK"),
    ]
    assert [c["level"] for c in calls] == ["debug", "info", "debug"]
    assert calls[0]["request_id"] == "r-7"
    assert calls[0]["service"] == "echo"
    assert all(c["duration_ms"] >= 0 for c in calls)

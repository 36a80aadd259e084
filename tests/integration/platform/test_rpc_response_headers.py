"""Response headers a handler sets (`send_response_headers`) under the platform's interceptor,
over loopback sockets: they go out as the call's initial metadata with the request id, once,
for unary calls and streams; a stream to a caller without a request id has sent its initial
metadata already, so its headers are left out and it still answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.api.httpbody_pb2 import HttpBody

from agora.platform.net import free_port
from agora.platform.rpc.interceptors import (
    REQUEST_ID_HEADER,
    ServerInterceptor,
    send_response_headers,
)

SERVICE = "agora.test.Files"
HEADERS = (("content-disposition", 'attachment; filename="a.csv"'), ("etag", '"v1"'))


@pytest.fixture
async def address() -> AsyncIterator[str]:
    sent: list[bool] = []

    async def whole(request: HttpBody, context: grpc.aio.ServicerContext[Any, Any]) -> HttpBody:
        sent.append(await send_response_headers(context, HEADERS))
        return HttpBody(content_type="text/csv", data=b"%d" % sent[-1])

    async def pieces(
        request: HttpBody, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[HttpBody]:
        done = await send_response_headers(context, HEADERS)
        again = await send_response_headers(context, HEADERS)
        for data in (b"%d" % done, b"%d" % again):
            yield HttpBody(content_type="text/csv", data=data)

    def serialize(message: HttpBody) -> bytes:
        return bytes(message.SerializeToString())

    handlers = {
        "Whole": grpc.unary_unary_rpc_method_handler(
            whole, request_deserializer=HttpBody.FromString, response_serializer=serialize
        ),
        "Pieces": grpc.unary_stream_rpc_method_handler(
            pieces, request_deserializer=HttpBody.FromString, response_serializer=serialize
        ),
    }
    server = grpc.aio.server(interceptors=[ServerInterceptor()])
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


def _metadata(request_id: str | None) -> tuple[tuple[str, str], ...]:
    return ((REQUEST_ID_HEADER, request_id),) if request_id else ()


@pytest.mark.parametrize(("request_id", "echoed"), [("files-1", "files-1"), (None, "[0-9a-f]{32}")])
async def test_a_unary_handlers_headers_go_out_with_the_request_id(
    address: str, request_id: str | None, echoed: str
) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_unary(
            f"/{SERVICE}/Whole",
            request_serializer=HttpBody.SerializeToString,
            response_deserializer=HttpBody.FromString,
        )(HttpBody(), metadata=_metadata(request_id), timeout=5)
        answer = await call
        initial = dict(tuple(await call.initial_metadata()))

    assert answer.data == b"1"
    assert initial["etag"] == '"v1"'
    assert initial["content-disposition"] == 'attachment; filename="a.csv"'
    assert re.fullmatch(echoed, initial[REQUEST_ID_HEADER])


async def test_a_streams_headers_go_out_once_when_the_caller_named_the_request(
    address: str,
) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_stream(
            f"/{SERVICE}/Pieces",
            request_serializer=HttpBody.SerializeToString,
            response_deserializer=HttpBody.FromString,
        )(HttpBody(), metadata=_metadata("files-2"), timeout=5)
        answers = [answer.data async for answer in call]
        initial = dict(tuple(await call.initial_metadata()))

    assert answers == [b"1", b"0"]
    assert initial["etag"] == '"v1"'
    assert initial[REQUEST_ID_HEADER] == "files-2"


async def test_a_stream_to_a_caller_without_a_request_id_leaves_its_headers_out(
    address: str,
) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        call = channel.unary_stream(
            f"/{SERVICE}/Pieces",
            request_serializer=HttpBody.SerializeToString,
            response_deserializer=HttpBody.FromString,
        )(HttpBody(), timeout=5)
        answers = [answer.data async for answer in call]
        initial = dict(tuple(await call.initial_metadata()))

    assert answers == [b"0", b"0"]
    assert "etag" not in initial
    assert len(initial[REQUEST_ID_HEADER]) == 32

"""A small Echo service, loaded from `protos/rpc_echo.proto` at run time, to test the rpc layer."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc

from agora.platform.errors import (
    AlreadyExists,
    DomainError,
    FieldViolation,
    Insufficient,
    InvalidArgument,
    NotFound,
    Shortage,
    Unavailable,
)
from agora.platform.logging import current_request_id
from agora.platform.rpc import GrpcServer

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

echo_pb2, echo_pb2_grpc = grpc.protos_and_services("protos/rpc_echo.proto")

SERVICE = "agora.test.echo.v1.EchoService"

ERRORS: dict[str, Callable[[], DomainError]] = {
    "invalid_argument": lambda: InvalidArgument(
        "title: must not be empty",
        [
            FieldViolation("title", "must not be empty"),
            FieldViolation("prices[0].amount", "must be positive"),
        ],
        metadata={"product": "p-1"},
    ),
    "not_found": lambda: NotFound("product", "blue-shoe"),
    "already_exists": lambda: AlreadyExists("sku A-1 exists", metadata={"sku": "A-1"}),
    "insufficient": lambda: Insufficient(
        "not enough stock", [Shortage("sku:A-1", 5, 3), Shortage("sku:B-2", 2, 0)]
    ),
    "unavailable": lambda: Unavailable("database unreachable", retry_after_s=2.5),
}


class EchoServicer:
    """Counts its calls per method, so tests can see retries and balancing."""

    def __init__(self, instance: str) -> None:
        self.instance = instance
        self.calls: Counter[str] = Counter()
        # The `authorization` metadata of each Echo call (None: the call carried none).
        self.authorizations: list[str | None] = []
        self._flaky_failures: Counter[str] = Counter()

    async def Echo(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        self.calls["Echo"] += 1
        metadata = dict(context.invocation_metadata() or ())
        self.authorizations.append(metadata.get("authorization"))
        if request.delay_s:
            await asyncio.sleep(request.delay_s)
        return self._reply(request.text)

    async def Fail(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        self.calls["Fail"] += 1
        if request.error == "crash":
            raise RuntimeError("secret internal detail: password=hunter2")
        raise ERRORS[request.error]()

    async def Flaky(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        self.calls["Flaky"] += 1
        if self._flaky_failures[request.key] < request.failures:
            self._flaky_failures[request.key] += 1
            raise Unavailable("warming up", retry_after_s=0.1)
        return self._reply(request.key)

    async def Repeat(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        self.calls["Repeat"] += 1
        for index in range(request.count):
            if index == 1 and request.error:
                raise ERRORS[request.error]()
            yield self._reply(request.text)

    def _reply(self, text: str) -> Any:
        return echo_pb2.EchoReply(
            text=text, request_id=current_request_id() or "", instance=self.instance
        )


async def start_echo_server(
    instance: str = "echo-1", *, default_deadline_s: float = 30.0
) -> tuple[GrpcServer, EchoServicer]:
    """An Echo server on a free loopback port, started."""
    servicer = EchoServicer(instance)
    server = GrpcServer("echo", "127.0.0.1", 0, default_deadline_s=default_deadline_s)
    server.add(echo_pb2_grpc.add_EchoServiceServicer_to_server, servicer)
    await server.start()
    return server, servicer


def echo_stub(channel: grpc.aio.Channel) -> Any:
    return echo_pb2_grpc.EchoServiceStub(channel)

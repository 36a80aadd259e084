"""The gRPC server every Agora service runs: health protocol, reflection and interceptors.

server = GrpcServer("catalog", "127.0.0.1", 8711)
server.add(catalog_pb2_grpc.add_CatalogServiceServicer_to_server, CatalogService(...))
await server.start()
...
await server.stop(grace=5)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from agora.platform.rpc.interceptors import DEFAULT_SERVER_DEADLINE_S, ServerInterceptor
from agora.platform.rpc.validation import RequestValidationInterceptor

MAX_MESSAGE_BYTES = 16 * 1024 * 1024

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    # Two processes on one port would split calls between old and new code: refuse instead.
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Accept the clients' keepalive pings (ServiceChannels pings every 30 s).
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_ping_strikes", 0),
)

AddServicer = Callable[[Any, Any], None]

log = structlog.get_logger("agora.rpc")


@dataclass(frozen=True)
class _Registration:
    add: AddServicer
    servicer: Any


class _NameRecorder:
    """Stands in for the server while a generated `add_…_to_server` runs, noting service names."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server
        self.names: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        for handler in handlers:
            if isinstance(handler, grpc.ServiceRpcHandler):
                self._note(handler.service_name())
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, name: str, handlers: dict[str, Any]) -> None:
        self._note(name)
        self._server.add_registered_method_handlers(name, handlers)

    def _note(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)


class GrpcServer:
    """A grpc.aio server with the health protocol, reflection and Agora's interceptors.

    Servicers are added before `start()`; the aio server itself is built in `start()`, inside
    the running event loop.
    """

    def __init__(
        self,
        service_name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default_deadline_s: float = DEFAULT_SERVER_DEADLINE_S,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        options: Sequence[tuple[str, Any]] = (),
        authorization: grpc.aio.ServerInterceptor | None = None,
    ) -> None:
        """`authorization` enforces each method's rule (`agora.platform.security.interceptor`);
        it runs inside Agora's own interceptor, which maps its refusals to gRPC status."""
        self.service_name = service_name
        self.host = host
        self._requested_port = port
        self._interceptors = list(interceptors)
        self._authorization = authorization
        self._default_deadline_s = default_deadline_s
        self._options = [*SERVER_OPTIONS, *options]
        self._registrations: list[_Registration] = []
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self._port: int | None = None
        self.service_names: list[str] = []

    def add(self, add_fn: AddServicer, servicer: Any) -> None:
        """Serve `servicer` through its generated `add_XServicer_to_server` function."""
        if self._server is not None:
            raise RuntimeError("add servicers before start()")
        self._registrations.append(_Registration(add_fn, servicer))

    @property
    def port(self) -> int:
        """The bound port (the one the OS chose when constructed with port 0)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def address(self) -> str:
        """`host:port` as bound."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind, register health and reflection for every added service, and start serving.

        Configure logging before: the access log binds its logger here.
        """
        interceptors = [
            *self._interceptors,
            ServerInterceptor(default_deadline_s=self._default_deadline_s),
            *([self._authorization] if self._authorization is not None else []),
            # Innermost: requests meet their fields' rules before any handler (docs/adr/0008).
            RequestValidationInterceptor(),
        ]
        server = grpc.aio.server(interceptors=interceptors, options=self._options)
        recorder = _NameRecorder(server)
        for registration in self._registrations:
            registration.add(registration.servicer, recorder)
        self.service_names = recorder.names
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            [*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
        )
        self._port = server.add_insecure_port(f"{self.host}:{self._requested_port}")
        await server.start()
        self._server = server
        for name in ["", *self.service_names]:
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc_serving", address=self.address, services=self.service_names)

    async def set_serving(self, serving: bool) -> None:
        """Report every service SERVING or NOT_SERVING on the health protocol."""
        if self._health is None:
            raise RuntimeError("the server is not started")
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self.service_names]:
            await self._health.set(name, status)

    async def stop(self, grace: float | None = 5.0) -> None:
        """Report NOT_SERVING, then let calls in flight finish for up to `grace` seconds."""
        if self._server is None:
            return
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)
        log.info("grpc_stopped", address=self.address)

    async def wait_for_termination(self) -> None:
        """Return when the server has stopped."""
        if self._server is None:
            raise RuntimeError("the server is not started")
        await self._server.wait_for_termination()

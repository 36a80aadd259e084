"""The registry of Agora's processes: which gRPC services exist, where each listens, how to ask
whether it is healthy. Adding a service to `agora up` is one line in `GRPC_SERVICES`.

The platform never imports a service: runners are named by module path and imported by the CLI.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass

from agora.platform.settings import DEFAULT_GATEWAY_PORT, DEFAULT_GRPC_PORTS

LOOPBACK = "127.0.0.1"


def _port_from_env(variable: str, default: int, environ: Mapping[str, str]) -> int:
    raw = environ.get(variable)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ValueError(f"{variable}={port} is outside 1-65535")
    return port


@dataclass(frozen=True)
class GrpcService:
    """A gRPC service: `agora.<name>.bootstrap.run(platform)` serves it on its port."""

    name: str

    @property
    def runner(self) -> str:
        return f"agora.{self.name}.bootstrap"

    @property
    def port_variable(self) -> str:
        return f"AGORA_{self.name.upper()}_PORT"

    @property
    def address_variable(self) -> str:
        return f"AGORA_{self.name.upper()}_ADDRESS"

    def port(self, environ: Mapping[str, str] = os.environ) -> int:
        return _port_from_env(self.port_variable, DEFAULT_GRPC_PORTS[self.name], environ)

    def address(self, environ: Mapping[str, str] = os.environ) -> str:
        """Where clients reach it: the static address when configured, else loopback:port."""
        return environ.get(self.address_variable) or f"{LOOPBACK}:{self.port(environ)}"

    async def is_healthy(self, address: str) -> bool:
        """The gRPC health protocol's overall status (`grpc.health.v1.Health/Check`)."""
        return await grpc_serving(address)


@dataclass(frozen=True)
class Gateway:
    """The HTTP edge: `agora.gateway.bootstrap.serve(platform, settings)`; ready on `/readyz`."""

    name: str = "gateway"
    runner: str = "agora.gateway.bootstrap"
    port_variable: str = "AGORA_GATEWAY_PORT"
    ready_path: str = "/readyz"

    def port(self, environ: Mapping[str, str] = os.environ) -> int:
        return _port_from_env(self.port_variable, DEFAULT_GATEWAY_PORT, environ)

    def url(self, environ: Mapping[str, str] = os.environ) -> str:
        return f"http://{LOOPBACK}:{self.port(environ)}"

    async def is_healthy(self, base_url: str) -> bool:
        return await http_ok(base_url + self.ready_path)


# Start order among services follows this tuple's order only through `depends_on`; today they
# are independent of one another and start together.
GRPC_SERVICES: tuple[GrpcService, ...] = (
    GrpcService("catalog"),
    GrpcService("orders"),
    GrpcService("payments"),
    GrpcService("auth"),
    GrpcService("chain"),
    GrpcService("support"),
    GrpcService("admin"),
)
GATEWAY = Gateway()


def grpc_service(name: str) -> GrpcService:
    """The registered gRPC service called `name`, or a ValueError listing the known ones."""
    for service in GRPC_SERVICES:
        if service.name == name:
            return service
    known = ", ".join(s.name for s in GRPC_SERVICES)
    raise ValueError(f"unknown service {name!r}; known: {known}")


async def grpc_serving(address: str, service: str = "", timeout_s: float = 1.0) -> bool:
    """True when the gRPC server at `address` answers Health/Check with SERVING."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout_s
            )
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    """True when GET `url` answers 2xx."""
    import httpx

    async with httpx.AsyncClient(timeout=timeout_s) as client:
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            return False
        return response.is_success


async def tcp_open(port: int, host: str = LOOPBACK, timeout_s: float = 1.0) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def postgres_accepts_queries(libpq_url: str, timeout_s: float = 1.0) -> bool:
    """True when PostgreSQL at `libpq_url` answers `SELECT 1` (past "starting up")."""
    import asyncpg

    try:
        conn = await asyncpg.connect(libpq_url, timeout=timeout_s)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        return bool(await conn.fetchval("SELECT 1") == 1)
    finally:
        await conn.close()

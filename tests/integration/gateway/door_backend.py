"""The edge-security tests' backend: a real gRPC door (`agora.testdoor.v1`) that answers with
the metadata each call reached it with, or fails the way it is asked to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc_tools
import httpx
from google.api import http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from grpc_tools import protoc
from security_support import service_identity
from starlette.applications import Starlette

from agora.gateway.app import create_app
from agora.gateway.descriptors import populate_pool
from agora.gateway.settings import GatewaySettings
from agora.platform.errors import (
    DomainError,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from agora.platform.rpc.status import to_grpc_status
from agora.platform.security.tokens import TokenVerifier

HERE = Path(__file__).parent
REPO = HERE.parents[2]
SERVICE = "agora.testdoor.v1.DoorService"
# Metadata the door echoes (gRPC adds its own, e.g. user-agent of the channel).
ECHOED = (
    "authorization",
    "x-agora-client-ip",
    "x-agora-user-agent",
    "x-agora-gateway",
    "x-request-id",
)
# The door's gateway signs session-bound CSRF tokens with this key (tests make tokens with it).
CSRF_KEY = b"door-csrf-key-of-the-edge-tests-0123456789"


def compile_door_protos(out: Path) -> descriptor_pb2.FileDescriptorSet:
    """The door's descriptor set (with imports and comments), its files added to the pool."""
    site_packages = Path(http_pb2.__file__).resolve().parents[2]
    target = out / "testdoor.binpb"
    code = protoc.main(
        [
            "protoc",
            f"-I{HERE / 'protos'}",
            f"-I{REPO / 'proto'}",
            f"-I{site_packages}",
            f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
            f"--descriptor_set_out={target}",
            "--include_imports",
            "--include_source_info",
            "agora/testdoor/v1/testdoor.proto",
        ]
    )
    assert code == 0, "protoc failed on the door proto"
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes())
    populate_pool(descriptor_set)
    return descriptor_set


def _class(name: str) -> type[Message]:
    pool = descriptor_pool.Default()
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"agora.testdoor.v1.{name}"))


def _refusal(request: Any) -> DomainError:
    match request.reason:
        case "PERMISSION_MISSING":
            return PermissionDenied.missing("door:open")
        case "LOCKED":
            return ResourceExhausted(
                "too many failed sign-ins", retry_after_s=request.retry_after_s
            )
        case reason:
            return Unauthenticated(f"refused: {reason}", reason=reason)


@dataclass
class Door:
    """A running door: what it was asked, and where it listens."""

    address: str
    channel: grpc.aio.Channel
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def last_metadata(self) -> dict[str, str]:
        return self.calls[-1][1]


async def start_door(port: int) -> tuple[grpc.aio.Server, Door]:
    address = f"127.0.0.1:{port}"
    door = Door(address, grpc.aio.insecure_channel(address))
    echo = _class("Echo")
    service = descriptor_pool.Default().FindServiceByName(SERVICE)

    def handler(name: str) -> grpc.RpcMethodHandler:
        async def behaviour(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
            seen = {k: v for k, v in context.invocation_metadata() or () if k in ECHOED}
            door.calls.append((name, seen))
            if name == "Refuse":
                await context.abort_with_status(to_grpc_status(_refusal(request)))
            return echo(metadata=seen)

        request_class = message_factory.GetMessageClass(service.methods_by_name[name].input_type)
        return grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=request_class.FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )

    server = grpc.aio.server()
    handlers = {name: handler(name) for name in service.methods_by_name}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(address)
    await server.start()
    return server, door


def door_app(
    descriptors: descriptor_pb2.FileDescriptorSet,
    door: Door,
    settings: GatewaySettings,
    token_verifier: TokenVerifier | None = None,
) -> Starlette:
    return create_app(
        descriptor_pool.Default(),
        lambda backend: door.channel,
        settings=settings,
        descriptor_set=descriptors,
        token_verifier=token_verifier,
        gateway_proof=service_identity("gateway").token,
        csrf_key=CSRF_KEY,
    )


@asynccontextmanager
async def gateway_client(
    app: Starlette, client_ip: str = "203.0.113.7"
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of `app` whose requests come from `client_ip` (the socket peer)."""
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway") as http:
        yield http

"""The gateway tests' backend: a real gRPC test shop (`agora.testshop.v1`).

The test proto is compiled at session start into a descriptor set with source info; its
messages come from the default descriptor pool, and the backend is a real grpc.aio server on a
free port that answers with Agora's status details (the same encoding services use).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc_tools
from google.api import http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2, message_factory
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_tools import protoc
from security_support import jwks
from starlette.applications import Starlette

from agora.gateway.app import create_app
from agora.gateway.cache import ResponseCache
from agora.gateway.settings import GatewaySettings
from agora.platform.errors import (
    DomainError,
    Insufficient,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Shortage,
)
from agora.platform.rpc.interceptors import MethodWrapper, ServerInterceptor
from agora.platform.rpc.status import to_grpc_status
from agora.platform.security.interceptor import AuthorizationInterceptor
from agora.platform.security.jwks import RefreshingJwks
from agora.platform.security.principal import current_principal
from agora.platform.security.tokens import TokenVerifier

HERE = Path(__file__).parent
PROTOS = HERE / "protos"
REPO = HERE.parents[2]
SERVICE = "agora.testshop.v1.ShopService"
STOCK = 5
BACKEND_TIMEOUT_S = 1.0


def compile_test_protos(out: Path) -> Path:
    """Compile the test protos into a descriptor set (with imports and comments)."""
    site_packages = Path(http_pb2.__file__).resolve().parents[2]
    target = out / "testshop.binpb"
    code = protoc.main(
        [
            "protoc",
            f"-I{PROTOS}",
            f"-I{REPO / 'proto'}",
            f"-I{site_packages}",
            f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
            f"--descriptor_set_out={target}",
            "--include_imports",
            "--include_source_info",
            "agora/testshop/v1/testshop.proto",
        ]
    )
    assert code == 0, "protoc failed on the test protos"
    return target


def message_class(name: str) -> type[Message]:
    pool = descriptor_pool.Default()
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"agora.testshop.v1.{name}"))


@dataclass
class ShopBackend:
    """The test shop's state and what it was asked."""

    items: dict[str, Message] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    metadata: list[dict[str, str]] = field(default_factory=list)
    # Chats that reached `slow`, and those of them cancelled by their caller.
    chats_waiting: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    chats_cancelled: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    # Tickers that reached `slow`, and those of them cancelled by their caller (by request id).
    tickers_waiting: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    tickers_cancelled: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def item(self, slug: str, title: str, amount_minor: int = 1000) -> Message:
        item = message_class("Item")(slug=slug, title=title)
        item.price.amount_minor = amount_minor
        item.price.currency = "EUR"
        self.items[slug] = item
        return item


Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Message]]


def shop_handlers(backend: ShopBackend) -> dict[str, Handler]:
    Item = message_class("Item")

    async def get_item(request: Any, context: Any) -> Message:
        if request.slug == "slow":
            await asyncio.sleep(30)
        if request.slug not in backend.items:
            raise NotFound("item", request.slug)
        return backend.items[request.slug]

    async def list_items(request: Any, context: Any) -> Message:
        answer = message_class("ListItemsResponse")(items=list(backend.items.values()))
        answer.seen.CopyFrom(request)
        return answer

    async def create_item(request: Any, context: Any) -> Message:
        if not request.item.title:
            raise InvalidArgument.for_field("item.title", "must not be empty")
        item = Item()
        item.CopyFrom(request.item)
        item.created_at.FromSeconds(1_700_000_000)
        backend.items[item.slug] = item
        return item

    async def update_item(request: Any, context: Any) -> Message:
        backend.items[request.item.slug] = request.item
        return request.item

    async def delete_item(request: Any, context: Any) -> Message:
        backend.items.pop(request.slug, None)
        return empty_pb2.Empty()

    async def reserve_item(request: Any, context: Any) -> Message:
        if request.quantity > STOCK:
            raise Insufficient(
                "not enough stock", [Shortage(request.slug, request.quantity, STOCK)]
            )
        return message_class("Reservation")(slug=request.slug, quantity=request.quantity)

    async def get_item_price(request: Any, context: Any) -> Message:
        return backend.items[request.slug]

    async def get_shelf(request: Any, context: Any) -> Message:
        return message_class("Shelf")(name=request.name, store=request.store)

    return {
        "GetItem": get_item,
        "ListItems": list_items,
        "CreateItem": create_item,
        "UpdateItem": update_item,
        "DeleteItem": delete_item,
        "ReserveItem": reserve_item,
        "GetItemPrice": get_item_price,
        "GetShelf": get_shelf,
    }


def _unary(
    backend: ShopBackend, name: str, handler: Handler, request_type: type[Message]
) -> grpc.RpcMethodHandler:
    async def behaviour(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        backend.calls[name] = backend.calls.get(name, 0) + 1
        backend.metadata.append(dict(context.invocation_metadata() or ()))
        try:
            return await handler(request, context)
        except DomainError as error:
            await context.abort_with_status(to_grpc_status(error))
            raise

    return grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=request_type.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def chat_handler(backend: ShopBackend, name: str) -> grpc.RpcMethodHandler:
    """A scripted chat: answers each message `repeat` times (see the proto's comment)."""
    Reply = message_class("ChatReply")

    async def behaviour(
        requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Message]:
        backend.calls[name] = backend.calls.get(name, 0) + 1
        seen = dict(context.invocation_metadata() or ())
        backend.metadata.append(seen)
        authorization = seen.get("authorization", "")
        sequence = 0
        async for request in requests:
            if request.text == "end":
                return
            if request.text == "fail":
                raise RuntimeError("the chat database at 10.9.8.7:5432 is on fire")
            if request.text == "deny":
                error = PermissionDenied("chats are closed for you")
                await context.abort_with_status(to_grpc_status(error))
            if request.text == "slow":
                await _wait_to_be_cancelled(backend, seen.get("x-request-id", ""))
            for index in range(max(1, request.repeat)):
                sequence += 1
                yield Reply(
                    text=request.text,
                    reply_index=index,
                    authorization=authorization,
                    sequence=sequence,
                    subject=current_principal().subject,
                )

    request_type = message_class("ChatRequest")
    return grpc.stream_stream_rpc_method_handler(
        behaviour,
        request_deserializer=request_type.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


def ticker_handler(backend: ShopBackend, name: str) -> grpc.RpcMethodHandler:
    """A scripted ticker: `count` ticks, or what its name says (see the proto's comment)."""
    Tick = message_class("Tick")

    async def behaviour(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Message]:
        backend.calls[name] = backend.calls.get(name, 0) + 1
        seen = dict(context.invocation_metadata() or ())
        backend.metadata.append(seen)
        if request.name == "deny":
            raise PermissionDenied("tickers are closed for you")
        if request.name == "slow":
            await _wait_to_be_cancelled(backend, seen.get("x-request-id", ""), tickers=True)
        subject = current_principal().subject
        for number in range(1, max(1, request.count) + 1):
            yield Tick(name=request.name, tick_number=number, subject=subject)
            if request.name == "fail":
                raise RuntimeError("the ticker database at 10.9.8.7:5432 is on fire")
            if request.name == "deny-later":
                raise PermissionDenied("your ticker time is over")

    request_type = message_class("TickerRequest")
    return grpc.unary_stream_rpc_method_handler(
        behaviour,
        request_deserializer=request_type.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


async def _wait_to_be_cancelled(
    backend: ShopBackend, request_id: str, *, tickers: bool = False
) -> None:
    waiting = backend.tickers_waiting if tickers else backend.chats_waiting
    cancelled = backend.tickers_cancelled if tickers else backend.chats_cancelled
    await waiting.put(request_id)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        await cancelled.put(request_id)
        raise


STREAM_METHODS = frozenset(
    f"/{SERVICE}/{name}" for name in ("Chat", "StaffChat", "Ticker", "StaffTicker")
)


class StreamsOnly(MethodWrapper):
    """One of the services' interceptors on the streams alone (the shop's REST tests send
    tokens no one signed, and expect the shop's own error answers)."""

    def __init__(self, inner: MethodWrapper) -> None:
        super().__init__()
        self._inner = inner

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        return self._inner.wrap(method, handler) if method in STREAM_METHODS else handler


def stream_interceptors() -> list[MethodWrapper]:
    """What a service runs its methods under: errors mapped to statuses, and the security
    interceptor verifying tokens with the test JWKS."""

    async def test_keys() -> Mapping[str, Any]:
        return jwks()

    verifier = TokenVerifier(RefreshingJwks(test_keys, name="test keys"), {})
    return [StreamsOnly(ServerInterceptor()), StreamsOnly(AuthorizationInterceptor(verifier))]


async def start_shop_server(backend: ShopBackend, port: int) -> grpc.aio.Server:
    server = grpc.aio.server(interceptors=stream_interceptors())
    service = descriptor_pool.Default().FindServiceByName(SERVICE)
    handlers = {
        name: _unary(
            backend,
            name,
            handler,
            message_factory.GetMessageClass(service.methods_by_name[name].input_type),
        )
        for name, handler in shop_handlers(backend).items()
    }
    handlers |= {name: chat_handler(backend, name) for name in ("Chat", "StaffChat")}
    handlers |= {name: ticker_handler(backend, name) for name in ("Ticker", "StaffTicker")}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    health_servicer = health.aio.HealthServicer()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    return server


def build_app(
    descriptors: descriptor_pb2.FileDescriptorSet,
    channel: grpc.aio.Channel,
    settings: GatewaySettings,
    cache: ResponseCache | None = None,
) -> Starlette:
    return create_app(
        descriptor_pool.Default(),
        lambda backend: channel,
        settings=settings,
        cache=cache,
        descriptor_set=descriptors,
    )


@dataclass
class RunningShop:
    """A started test shop: its state, address and a channel to it."""

    backend: ShopBackend
    address: str
    channel: grpc.aio.Channel

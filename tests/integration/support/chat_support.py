"""The support chat served for real (its own `compose()`, a gRPC server on a loopback port, its
jobs running: the LISTEN connection that carries signals between replicas), and a client that
speaks the `Chat` stream.

The tools stand in for the shop's services at the `ToolsFactory` port (the support service's
boundary with orders and catalog): `ShopDesk` answers each caller from their own `ShopTools`,
a guest only with their order's token, and keeps every `CustomerAccess` it was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import grpc
from assistant_shop import ShopTools
from security_support import SecurityFiles, authorization_interceptor, bearer, mint_token

from agora._proto.agora.support.v1 import support_pb2 as pb
from agora._proto.agora.support.v1 import support_pb2_grpc
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.runtime import Backends
from agora.support.bootstrap import SERVICE, compose
from agora.support.embeddings import TextEmbedder
from agora.support.service import SupportService
from agora.support.settings import SupportSettings
from agora.support.tools import CustomerAccess, ToolError, ToolFailure, Tools

WAIT_S = 30.0  # the longest any test waits for one server message: never a hang


@dataclass
class ShopDesk:
    """Each customer's shop by id; guests' orders with their access tokens."""

    customers: dict[str, ShopTools] = field(default_factory=dict)
    guests: dict[str, tuple[str, ShopTools]] = field(default_factory=dict)
    accesses: list[CustomerAccess] = field(default_factory=list)

    def __call__(self, access: CustomerAccess) -> Tools:
        self.accesses.append(access)
        if access.customer_id is not None:
            return self.customers.setdefault(access.customer_id, ShopTools())
        held = self.guests.get(access.guest_order_id or "")
        if held is not None and held[0] == access.guest_access_token:
            return held[1]
        return _NoOrders()


class _NoOrders(ShopTools):
    async def order_status(self, order_ref: str):  # type: ignore[no-untyped-def]
        raise ToolError(ToolFailure.NOT_FOUND)


@dataclass
class ChatServer:
    address: str
    service: SupportService
    desk: ShopDesk


@contextlib.asynccontextmanager
async def chat_server(
    backends: Backends,
    embedder: TextEmbedder,
    security: SecurityFiles,
    desk: ShopDesk,
    **settings: object,
) -> AsyncIterator[ChatServer]:
    """One replica of the support service with `settings`, serving until the block ends."""
    parts = compose(backends, SupportSettings(**settings), embedder, tools_factory=desk)  # type: ignore[arg-type]
    server = GrpcServer(
        SERVICE, "127.0.0.1", free_port(), authorization=authorization_interceptor(security)
    )
    for servicer in parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    jobs = [asyncio.create_task(job.run()) for job in parts.jobs]
    service = parts.servicers[0].implementation
    assert isinstance(service, SupportService)
    await asyncio.wait_for(service.chat.signals.listening.wait(), WAIT_S)
    await server.start()
    try:
        yield ChatServer(server.address, service, desk)
    finally:
        await server.stop(0)
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        for close in parts.closers:
            await close()


def customer() -> tuple[str, str]:
    """A new customer's id and `authorization`."""
    subject = str(uuid.uuid4())
    token = mint_token(
        subject, roles=["customer"], permissions=["orders:read:own", "support:read:own"]
    )
    return subject, bearer(token)


def staff() -> tuple[str, str]:
    subject = str(uuid.uuid4())
    token = mint_token(
        subject,
        roles=["support"],
        permissions=["support:conversations:read", "support:conversations:write"],
    )
    return subject, bearer(token)


class Chat:
    """One client's `Chat` stream."""

    def __init__(self, address: str, authorization: str | None) -> None:
        self.channel = grpc.aio.insecure_channel(address)
        metadata = (("authorization", authorization),) if authorization else ()
        self.call = support_pb2_grpc.SupportServiceStub(self.channel).Chat(metadata=metadata)
        self.received: list[pb.ChatServerMessage] = []

    async def start(self, **start: object) -> pb.ChatStarted:
        await self.call.write(pb.ChatClientMessage(start=pb.ChatStart(**start)))  # type: ignore[arg-type]
        first = await self.next()
        assert first.WhichOneof("kind") == "started", first
        return first.started

    async def say(self, text: str, client_message_id: str = "") -> None:
        say = pb.ChatSay(text=text, client_message_id=client_message_id)
        await self.call.write(pb.ChatClientMessage(say=say))

    async def cancel(self) -> None:
        await self.call.write(pb.ChatClientMessage(cancel=pb.ChatCancel()))

    async def next(self) -> pb.ChatServerMessage:
        message = await asyncio.wait_for(self.call.read(), WAIT_S)
        assert message is not grpc.aio.EOF, "the stream ended"
        self.received.append(message)
        return message

    async def until(
        self, wanted: Callable[[pb.ChatServerMessage], bool]
    ) -> list[pb.ChatServerMessage]:
        """Everything received up to and including the first message `wanted` accepts."""
        seen = []
        while True:
            message = await self.next()
            seen.append(message)
            if wanted(message):
                return seen

    async def answer(self) -> list[pb.ChatServerMessage]:
        """Up to the assistant's stored message."""
        return await self.until(is_message(pb.SPEAKER_ASSISTANT))

    async def close(self) -> None:
        self.call.cancel()
        await self.channel.close()


def is_message(speaker: int) -> Callable[[pb.ChatServerMessage], bool]:
    return lambda m: m.WhichOneof("kind") == "message" and m.message.speaker == speaker


def is_kind(kind: str) -> Callable[[pb.ChatServerMessage], bool]:
    return lambda m: m.WhichOneof("kind") == kind


def of_kind(messages: list[pb.ChatServerMessage], kind: str) -> list[object]:
    return [getattr(m, kind) for m in messages if m.WhichOneof("kind") == kind]


async def eventually(check: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until `check()` holds."""
    for _ in range(int(WAIT_S / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")

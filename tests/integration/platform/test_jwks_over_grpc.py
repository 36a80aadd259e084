"""Access-token keys fetched over gRPC from `agora.auth.v1.AuthService/GetJwks`, as every service
does (docs/adr/0007), from a server publishing the test key the way the auth service does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from security_support import TEST_USER_KID, jwks, mint_token

from agora._proto.agora.auth.v1 import auth_pb2
from agora.platform.errors import Unavailable
from agora.platform.net import free_port
from agora.platform.security.jwks import GrpcJwksSource
from agora.platform.security.tokens import TokenVerifier


@dataclass
class KeyPublisher:
    """Answers GetJwks with the test JWKS and counts the calls."""

    document: dict[str, Any] = field(default_factory=jwks)
    calls: int = 0

    async def get_jwks(self, request: auth_pb2.GetJwksRequest, context: Any) -> auth_pb2.Jwks:
        self.calls += 1
        return json_format.ParseDict(self.document, auth_pb2.Jwks())


@pytest.fixture
async def publisher() -> AsyncIterator[tuple[KeyPublisher, str]]:
    keys = KeyPublisher()
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "agora.auth.v1.AuthService",
        {
            "GetJwks": grpc.unary_unary_rpc_method_handler(
                keys.get_jwks,
                request_deserializer=auth_pb2.GetJwksRequest.FromString,
                response_serializer=auth_pb2.Jwks.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    await server.start()
    yield keys, address
    await server.stop(None)


async def test_a_token_verifies_under_the_keys_the_auth_service_publishes(
    publisher: tuple[KeyPublisher, str],
) -> None:
    keys, address = publisher
    async with grpc.aio.insecure_channel(address) as channel:
        verifier = TokenVerifier(GrpcJwksSource(lambda: channel), service_keys={})

        principal = await verifier.verify(mint_token("u-1", permissions=["orders:read:own"]))

    assert principal.subject == "u-1"
    assert keys.calls == 1


async def test_unknown_kids_do_not_make_every_call_ask_the_auth_service(
    publisher: tuple[KeyPublisher, str],
) -> None:
    keys, address = publisher
    async with grpc.aio.insecure_channel(address) as channel:
        source = GrpcJwksSource(lambda: channel)
        assert await source.key(TEST_USER_KID) is not None

        for n in range(20):
            assert await source.key(f"made-up-{n}") is None

    assert keys.calls == 1


async def test_no_auth_service_and_no_keys_yet_is_unavailable() -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}") as channel:
        source = GrpcJwksSource(lambda: channel, timeout_s=0.5)

        with pytest.raises(Unavailable):
            await source.key(TEST_USER_KID)

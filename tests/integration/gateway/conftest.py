"""Fixtures of the gateway tests: the test shop and the test door backends, a gateway app in
front of the shop, and Agora's own services behind the real gateway (`edge`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from door_backend import Door, compile_door_protos, start_door
from edge_stack import EdgeStack, edge_stack
from google.protobuf import descriptor_pb2
from testshop_backend import (
    BACKEND_TIMEOUT_S,
    RunningShop,
    ShopBackend,
    build_app,
    compile_test_protos,
    start_shop_server,
)

from agora.gateway.cache import ResponseCache
from agora.gateway.descriptors import populate_pool
from agora.gateway.settings import GatewaySettings
from agora.platform.net import free_port


@pytest.fixture(scope="session")
def testshop_descriptors(
    tmp_path_factory: pytest.TempPathFactory,
) -> descriptor_pb2.FileDescriptorSet:
    path = compile_test_protos(tmp_path_factory.mktemp("testshop"))
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    populate_pool(descriptor_set)
    return descriptor_set


@pytest.fixture(scope="session")
def testshop_descriptor_path(
    tmp_path_factory: pytest.TempPathFactory, testshop_descriptors: descriptor_pb2.FileDescriptorSet
) -> Path:
    path = tmp_path_factory.mktemp("testshop-set") / "testshop.binpb"
    path.write_bytes(testshop_descriptors.SerializeToString())
    return path


@pytest.fixture(scope="session")
async def shop(
    testshop_descriptors: descriptor_pb2.FileDescriptorSet,
) -> AsyncIterator[RunningShop]:
    backend = ShopBackend()
    port = free_port()
    server = await start_shop_server(backend, port)
    address = f"127.0.0.1:{port}"
    channel = grpc.aio.insecure_channel(address)
    yield RunningShop(backend, address, channel)
    await channel.close()
    await server.stop(grace=None)


@pytest.fixture
def gateway_settings() -> GatewaySettings:
    return GatewaySettings(backend_timeout_s=BACKEND_TIMEOUT_S, max_body_bytes=4096)


@pytest.fixture
async def client(
    shop: RunningShop,
    testshop_descriptors: descriptor_pb2.FileDescriptorSet,
    gateway_settings: GatewaySettings,
) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(testshop_descriptors, shop.channel, gateway_settings, ResponseCache())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@pytest.fixture(scope="session")
def door_descriptors(tmp_path_factory: pytest.TempPathFactory) -> descriptor_pb2.FileDescriptorSet:
    return compile_door_protos(tmp_path_factory.mktemp("testdoor"))


@pytest.fixture(scope="session")
async def door(door_descriptors: descriptor_pb2.FileDescriptorSet) -> AsyncIterator[Door]:
    server, running = await start_door(free_port())
    yield running
    await running.channel.close()
    await server.stop(grace=None)


@pytest.fixture(scope="module")
async def edge(database_url: str, nats_url: str) -> AsyncIterator[EdgeStack]:
    """Catalog, orders, payments and auth behind the gateway on granian, over HTTP (per module:
    their event consumers must not outlive the tests that use them)."""
    async with edge_stack(database_url, nats_url) as running:
        yield running

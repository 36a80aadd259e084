"""`bootstrap.compose` builds every part of orders without serving or connecting anything."""

from __future__ import annotations

from typing import Any, cast

from agora._proto.agora.orders.v1 import orders_pb2_grpc
from agora.orders.bootstrap import compose
from agora.orders.service import OrdersService
from agora.orders.settings import OrdersSettings
from agora.platform.db import create_engine
from agora.platform.runtime import Backends
from agora.platform.settings import PlatformSettings


async def test_compose_builds_the_servicer_and_every_consumer_and_connects_to_nothing() -> None:
    # Nothing listens on port 1: building the parts must not try to reach the database.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", "orders")
    unused = cast(Any, object())  # JetStream and channels are only used once the parts run
    backends = Backends(PlatformSettings(env="test"), engine, js=unused, channels=unused)

    parts = compose(backends, OrdersSettings())

    [servicer] = parts.servicers
    assert servicer.add_to_server is orders_pb2_grpc.add_OrdersServiceServicer_to_server
    assert isinstance(servicer.implementation, OrdersService)
    consumers = {(c.stream, c.durable) for c in cast(Any, parts.consumers)}
    assert consumers == {
        ("ORDERS", "orders-order-views"),
        ("ORDERS", "orders-stock-release"),
        ("ORDERS", "orders-saga-invoice"),
        ("ORDERS", "orders-stock-commit"),
        ("ORDERS", "orders-saga-invoice-cancel"),
        ("PAYMENTS", "orders-saga-payment"),
    }
    assert parts.jobs == ()
    await engine.dispose()

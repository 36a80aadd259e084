"""The orders service's composition root: the platform's service host, the orders servicer
with its catalog client, and the event consumers (read models, stock release, the checkout saga
reaching payments)."""

from __future__ import annotations

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2_grpc
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.orders.catalog_client import Catalog
from agora.orders.handlers import order_consumers
from agora.orders.payments_client import Payments
from agora.orders.service import OrdersService
from agora.orders.settings import OrdersSettings
from agora.platform.db import session_factory
from agora.platform.runtime import ServiceHost, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "orders"


def catalog_of(host: ServiceHost) -> Catalog:
    """The catalog as this process reaches it (static address, discovery or DNS)."""
    return Catalog(
        lambda: host.channels.stub("catalog", CatalogServiceStub),
        timeout_s=host.platform.rpc_timeout_s,
    )


def payments_of(host: ServiceHost, settings: OrdersSettings) -> Payments:
    """Payments as this process reaches it (static address, discovery or DNS)."""
    return Payments(
        lambda: host.channels.stub("payments", PaymentsServiceStub),
        invoice_expiry_s=settings.invoice_expiry_s,
        timeout_s=host.platform.rpc_timeout_s,
    )


async def run(platform: PlatformSettings, settings: OrdersSettings | None = None) -> None:
    """Serve orders until cancelled."""
    settings = settings or OrdersSettings()
    async with service_host(SERVICE, platform, settings) as host:
        catalog = catalog_of(host)
        host.server.add(
            orders_pb2_grpc.add_OrdersServiceServicer_to_server,
            OrdersService(
                host.engine,
                catalog,
                settings.shop_rules(),
                reservation_ttl_s=settings.reservation_ttl_s,
            ),
        )
        payments = payments_of(host, settings)
        sessions = session_factory(host.engine)
        for consumer in order_consumers(host.js, sessions, catalog, payments):
            host.background(consumer.run())
        await host.serve_forever()

"""The orders service's composition root: the servicer with its catalog client, and the event
consumers (read models, stock release, the checkout saga reaching payments)."""

from __future__ import annotations

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2_grpc
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.orders.clients import Catalog, Payments
from agora.orders.consumers import order_consumers
from agora.orders.service import OrdersService
from agora.orders.settings import OrdersSettings
from agora.platform.db import session_factory
from agora.platform.runtime import Backends, ServiceParts, Servicer, service_host
from agora.platform.settings import PlatformSettings

SERVICE = "orders"


def compose(backends: Backends, settings: OrdersSettings) -> ServiceParts:
    """Every part of orders, built over `backends` without serving anything."""
    timeout_s = backends.platform.rpc_timeout_s
    catalog = Catalog(
        lambda: backends.channels.stub("catalog", CatalogServiceStub), timeout_s=timeout_s
    )
    payments = Payments(
        lambda: backends.channels.stub("payments", PaymentsServiceStub),
        invoice_expiry_s=settings.invoice_expiry_s,
        timeout_s=timeout_s,
    )
    servicer = OrdersService(
        backends.engine,
        catalog,
        payments,
        settings.shop_rules(),
        reservation_ttl_s=settings.reservation_ttl_s,
    )
    sessions = session_factory(backends.engine)
    return ServiceParts(
        servicers=[Servicer(orders_pb2_grpc.add_OrdersServiceServicer_to_server, servicer)],
        consumers=order_consumers(backends.js, sessions, catalog, payments),
    )


async def run(platform: PlatformSettings, settings: OrdersSettings | None = None) -> None:
    """Serve orders until cancelled."""
    settings = settings or OrdersSettings()
    async with service_host(SERVICE, platform, settings) as host:
        host.install(compose(host.backends, settings))
        await host.serve_forever()

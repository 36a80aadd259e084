"""Factories for the catalog integration tests: the catalog composed as `agora serve` composes
it, unique names, products made through the API, outbox and stock lookups straight from the
database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import grpc
import sqlalchemy as sa
from security_support import SecurityFiles, authorization_interceptor
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora.catalog.bootstrap import SERVICE, compose
from agora.catalog.settings import CatalogSettings
from agora.platform.net import free_port
from agora.platform.rpc.server import GrpcServer
from agora.platform.rpc.status import ErrorInfo, error_info_from_rpc_error
from agora.platform.runtime import Backends, ServiceParts, connect_nats, service_resolver
from agora.platform.settings import PlatformSettings

TIMEOUT_S = 10.0


@asynccontextmanager
async def catalog_parts(
    engine: AsyncEngine, database_url: str, nats_url: str
) -> AsyncIterator[ServiceParts]:
    """The catalog's parts from `compose`, over `engine` and a NATS connection of their own."""
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, discovery=False)
    nc = await connect_nats(platform, f"{SERVICE}-test")
    try:
        async with service_resolver(platform, nc.jetstream()) as channels:
            backends = Backends(platform, engine, nc.jetstream(), channels)
            yield compose(backends, CatalogSettings())
    finally:
        await nc.close()


@asynccontextmanager
async def serving(parts: ServiceParts, security_files: SecurityFiles) -> AsyncIterator[GrpcServer]:
    """A gRPC server on a loopback port serving `parts`' servicers, checking tokens."""
    server = GrpcServer(
        SERVICE, "127.0.0.1", free_port(), authorization=authorization_interceptor(security_files)
    )
    for servicer in parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    try:
        yield server
    finally:
        await server.stop(0)


def unique(prefix: str) -> str:
    """A slug-safe name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def key() -> str:
    return str(uuid.uuid4())


def eur(amount_minor: int) -> pb.Money:
    return pb.Money(amount_minor=amount_minor, currency="EUR")


def prices(
    eur_minor: int, *, usd_minor: int | None = None, jpy: int | None = None
) -> list[pb.Money]:
    listed = [eur(eur_minor)]
    if usd_minor is not None:
        listed.append(pb.Money(amount_minor=usd_minor, currency="USD"))
    if jpy is not None:
        listed.append(pb.Money(amount_minor=jpy, currency="JPY"))
    return listed


async def create_category(
    catalog: CatalogServiceStub, name: str, parent_id: str = ""
) -> pb.Category:
    return await catalog.CreateCategory(
        pb.CreateCategoryRequest(
            idempotency_key=key(), slug=unique(name), name=name, parent_id=parent_id
        ),
        timeout=TIMEOUT_S,
    )


async def create_product(
    catalog: CatalogServiceStub,
    title: str,
    *,
    description: str = "",
    category_id: str = "",
    attributes: dict[str, str] | None = None,
    price_lists: Sequence[Sequence[pb.Money]] = ((eur(1000),),),
    on_hand: Sequence[int] = (),
    publish: bool = True,
) -> pb.Product:
    """A product with one variant per price list, stock per `on_hand`, published by default."""
    product = await catalog.CreateProduct(
        pb.CreateProductRequest(
            idempotency_key=key(),
            slug=unique("p"),
            title=title,
            description=description,
            category_id=category_id,
            attributes=attributes or {},
            variants=[
                pb.NewVariant(sku=unique("SKU"), title=f"V{i}", prices=listed)
                for i, listed in enumerate(price_lists)
            ],
        ),
        timeout=TIMEOUT_S,
    )
    for variant, quantity in zip(product.variants, on_hand, strict=False):
        await set_stock(catalog, variant.id, quantity)
    if publish:
        product = await catalog.PublishProduct(
            pb.PublishProductRequest(idempotency_key=key(), id=product.id), timeout=TIMEOUT_S
        )
    return product


async def set_stock(catalog: CatalogServiceStub, variant_id: str, on_hand: int) -> pb.Stock:
    return await catalog.SetStock(
        pb.SetStockRequest(idempotency_key=key(), variant_id=variant_id, on_hand=on_hand),
        timeout=TIMEOUT_S,
    )


async def stock_of(catalog: CatalogServiceStub, variant_id: str) -> pb.Stock:
    return await catalog.GetStock(pb.GetStockRequest(variant_id=variant_id), timeout=TIMEOUT_S)


async def list_all(
    catalog: CatalogServiceStub, request: pb.ListProductsRequest
) -> list[pb.Product]:
    """Every page of a listing, following the page tokens."""
    found: list[pb.Product] = []
    while True:
        page = await catalog.ListProducts(request, timeout=TIMEOUT_S)
        found.extend(page.products)
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token


async def error_of(call: object) -> tuple[grpc.StatusCode, ErrorInfo]:
    """The status code and details of an awaited call that must fail."""
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code(), error_info_from_rpc_error(error)
    raise AssertionError("the call succeeded")


async def outbox_subjects(engine: AsyncEngine, aggregate_id: str) -> list[str]:
    """Subjects of the events recorded for `aggregate_id` and not yet relayed, oldest first."""
    from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope

    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT payload FROM outbox ORDER BY seq"))
        subjects = []
        for (payload,) in rows:
            envelope = EventEnvelope.FromString(bytes(payload))
            if envelope.aggregate_id == aggregate_id:
                subjects.append(envelope.subject)
        return subjects


async def count_rows(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(sql), params)).scalar_one())

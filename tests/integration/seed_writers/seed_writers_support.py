"""Writing a seed plan the way `agora seed` does (each service's writer on a connection in its
own schema, one transaction each), reading back what a plan left, and placing an order through
the API beside seeded ones."""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator

import asyncpg

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.catalog.seeding import SEEDER as CATALOG
from agora.orders.seeding import SEEDER as ORDERS
from agora.payments.seeding import SEEDER as PAYMENTS
from agora.platform.seeding import SeedPlan, ServiceSeeder
from agora.platform.settings import to_libpq_url

TIMEOUT_S = 30.0
WRITERS: tuple[ServiceSeeder, ...] = (CATALOG, ORDERS, PAYMENTS)
# The writers under test: writing a plan again replaces what they wrote before.
ORDERS_AND_PAYMENTS: tuple[ServiceSeeder, ...] = (ORDERS, PAYMENTS)
# What a plan leaves in each schema, by the plan's order ids or invoice ids ($1).
SEEDED_ROWS = {
    "order_events": "SELECT * FROM orders.order_events WHERE order_id = ANY($1::uuid[])"
    " ORDER BY order_id, version",
    "order_details": "SELECT * FROM orders.order_details WHERE order_id = ANY($1::uuid[])"
    " ORDER BY order_id",
    "order_list": "SELECT * FROM orders.order_list WHERE order_id = ANY($1::uuid[])"
    " ORDER BY order_id",
    "invoices": "SELECT * FROM payments.invoices WHERE id = ANY($1::uuid[]) ORDER BY id",
    "invoice_payments": "SELECT * FROM payments.invoice_payments"
    " WHERE invoice_id = ANY($1::uuid[]) ORDER BY invoice_id, reference",
    "invoice_refunds": "SELECT * FROM payments.invoice_refunds"
    " WHERE invoice_id = ANY($1::uuid[]) ORDER BY id",
}


@contextlib.asynccontextmanager
async def in_schema(database_url: str, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection living in `schema`, as the seed runner hands one to a service's writer."""
    conn = await asyncpg.connect(
        to_libpq_url(database_url), server_settings={"search_path": f"{schema},public"}
    )
    try:
        yield conn
    finally:
        await conn.close()


async def write_plan(
    database_url: str, plan: SeedPlan, writers: tuple[ServiceSeeder, ...] = WRITERS
) -> dict[str, int]:
    written: dict[str, int] = {}
    for writer in writers:
        async with in_schema(database_url, writer.service) as conn, conn.transaction():
            written |= await writer.write(conn, plan, lambda entity, rows: None)
    return written


async def clean_plan(
    database_url: str, plan: SeedPlan, writers: tuple[ServiceSeeder, ...] = WRITERS
) -> dict[str, int]:
    deleted: dict[str, int] = {}
    for writer in reversed(writers):
        async with in_schema(database_url, writer.service) as conn, conn.transaction():
            deleted |= await writer.clean(conn, plan)
    return deleted


async def seeded_rows(database_url: str, plan: SeedPlan) -> dict[str, str]:
    """A digest of every row the plan's orders and invoices left, per table."""
    order_ids = [order.id for order in plan.orders]
    invoice_ids = [order.invoice_id for order in plan.orders]
    digests: dict[str, str] = {}
    async with in_schema(database_url, "public") as conn:
        for table, query in SEEDED_ROWS.items():
            rows = await conn.fetch(query, invoice_ids if "payments." in query else order_ids)
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode())
            digests[table] = f"{len(rows)}:{digest.hexdigest()}"
    return digests


async def place_order(catalog: CatalogServiceStub, orders: OrdersServiceStub) -> pb.Order:
    """An order placed through the API, for a product made through the catalog's API."""

    def key() -> str:
        return str(uuid.uuid4())

    created = await catalog.CreateProduct(
        cpb.CreateProductRequest(
            idempotency_key=key(),
            slug=f"api-{key()[:10]}",
            title="Reading Lamp",
            variants=[
                cpb.NewVariant(
                    sku=f"API-{key()[:8]}",
                    title="Brass",
                    prices=[cpb.Money(amount_minor=2_490, currency="EUR")],
                )
            ],
        ),
        timeout=TIMEOUT_S,
    )
    variant_id = created.variants[0].id
    await catalog.SetStock(
        cpb.SetStockRequest(idempotency_key=key(), variant_id=variant_id, on_hand=5),
        timeout=TIMEOUT_S,
    )
    await catalog.PublishProduct(
        cpb.PublishProductRequest(idempotency_key=key(), id=created.id), timeout=TIMEOUT_S
    )
    cart = await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR", customer_id="api-customer"),
        timeout=TIMEOUT_S,
    )
    await orders.AddCartLine(
        pb.AddCartLineRequest(
            idempotency_key=key(),
            cart_token=cart.token,
            product_id=created.id,
            variant_id=variant_id,
            quantity=1,
        ),
        timeout=TIMEOUT_S,
    )
    address = pb.Address(
        name="Erika Mustermann",
        line1="Unter den Linden 1",
        city="Berlin",
        postal_code="10117",
        country="DE",
        email="erika@example.org",
    )
    await orders.SetShippingAddress(
        pb.SetShippingAddressRequest(idempotency_key=key(), cart_token=cart.token, address=address),
        timeout=TIMEOUT_S,
    )
    await orders.SetShippingMethod(
        pb.SetShippingMethodRequest(
            idempotency_key=key(), cart_token=cart.token, code="de-standard"
        ),
        timeout=TIMEOUT_S,
    )
    return await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
    )

"""Orders for tests of several services: products and orders made through the catalog's and
orders' APIs, and moved along as payments and the warehouse would. Without payments in the
test's world, `advance_order` appends its events through the orders domain
(`saga.change_order`, the path the checkout saga takes), in a transaction of the orders schema."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as opb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.orders.aggregate import Order, OrderEvent, OrderStatus
from agora.orders.saga import Decide, change_order
from agora.platform.db import session_factory, transaction


def _next_step(carrier: str, tracking_number: str, target: OrderStatus) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        match order.status:
            case _ if order.status is target:
                return []
            case OrderStatus.PLACED:
                return [order.await_payment(f"inv-{order.id}")]
            case OrderStatus.AWAITING_PAYMENT:
                return [order.mark_paid("")]
            case OrderStatus.PAID:
                return [order.fulfil()]
            case OrderStatus.FULFILLED:
                return [order.ship(carrier, tracking_number)]
            case OrderStatus.SHIPPED:
                return [order.deliver()]
        raise AssertionError(f"an order {order.status.value} cannot reach {target.value}")

    return decide


async def advance_order(
    engine: AsyncEngine,
    order_id: str,
    target: OrderStatus = OrderStatus.SHIPPED,
    *,
    carrier: str = "DHL",
    tracking_number: str = "00340434161094042557",
) -> Order:
    """Append the events that take the order from where it is to `target` (placed ->
    awaiting_payment -> paid -> fulfilled -> shipped -> delivered)."""
    decide = _next_step(carrier, tracking_number, target)
    sessions = session_factory(engine)
    while True:
        async with transaction(sessions) as session:
            order = await change_order(session, order_id, decide)
        if order.status is target:
            return order


# --- products and orders through the services' APIs --------------------------------------------

TIMEOUT_S = 30.0
BERLIN = opb.Address(
    name="Erika Mustermann",
    line1="Unter den Linden 1",
    city="Berlin",
    postal_code="10117",
    country="DE",
    email="erika@example.org",
)
Metadata = tuple[tuple[str, str], ...]


def key() -> str:
    return str(uuid.uuid4())


async def published_product(
    catalog: CatalogServiceStub, title: str, *, eur_minor: int = 1_190, on_hand: int = 100
) -> tuple[str, str]:
    """A published product called `title`, one variant priced in EUR, in stock: its ids."""
    created = await catalog.CreateProduct(
        cpb.CreateProductRequest(
            idempotency_key=key(),
            slug=f"shop-{uuid.uuid4().hex[:10]}",
            title=title,
            variants=[
                cpb.NewVariant(
                    sku=f"SKU-{uuid.uuid4().hex[:8]}",
                    title="Standard",
                    prices=[cpb.Money(amount_minor=eur_minor, currency="EUR")],
                )
            ],
        ),
        timeout=TIMEOUT_S,
    )
    variant_id = created.variants[0].id
    await catalog.SetStock(
        cpb.SetStockRequest(idempotency_key=key(), variant_id=variant_id, on_hand=on_hand),
        timeout=TIMEOUT_S,
    )
    await catalog.PublishProduct(
        cpb.PublishProductRequest(idempotency_key=key(), id=created.id), timeout=TIMEOUT_S
    )
    return created.id, variant_id


async def order_as(
    orders: OrdersServiceStub,
    product: tuple[str, str],
    metadata: Metadata | None,
    quantity: int = 1,
) -> opb.Order:
    """An order placed by whoever `metadata` names (None: a guest, on a channel that adds no
    token of its own), shipping to Berlin."""
    cart = await orders.CreateCart(
        opb.CreateCartRequest(idempotency_key=key(), currency="EUR"),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    product_id, variant_id = product
    token = cart.token
    await orders.AddCartLine(
        opb.AddCartLineRequest(
            idempotency_key=key(),
            cart_token=token,
            product_id=product_id,
            variant_id=variant_id,
            quantity=quantity,
        ),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    await orders.SetShippingAddress(
        opb.SetShippingAddressRequest(idempotency_key=key(), cart_token=token, address=BERLIN),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    await orders.SetShippingMethod(
        opb.SetShippingMethodRequest(idempotency_key=key(), cart_token=token, code="de-standard"),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    return await orders.PlaceOrder(
        opb.PlaceOrderRequest(idempotency_key=key(), cart_token=token),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )

"""Factories for the orders integration tests: catalog products made through the catalog's API,
carts made ready for checkout through the orders API, and error reading."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import grpc
from security_support import customer_token, with_token
from shop_orders_support import published_product

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.platform.rpc.status import ErrorInfo, error_info_from_rpc_error

TIMEOUT_S = 30.0
BERLIN = pb.Address(
    name="Erika Mustermann",
    line1="Unter den Linden 1",
    city="Berlin",
    postal_code="10117",
    country="DE",
    email="erika@example.org",
)


def key() -> str:
    return str(uuid.uuid4())


async def product(
    catalog: CatalogServiceStub, *, eur_minor: int = 1_190, on_hand: int = 100
) -> tuple[str, str]:
    """A published product with one variant priced in EUR and `on_hand` in stock: ids."""
    return await published_product(catalog, "Desk Lamp", eur_minor=eur_minor, on_hand=on_hand)


async def stock(catalog: CatalogServiceStub, variant_id: str) -> cpb.Stock:
    return await catalog.GetStock(cpb.GetStockRequest(variant_id=variant_id), timeout=TIMEOUT_S)


async def cart_with(
    orders: OrdersServiceStub, product_id: str, variant_id: str, quantity: int = 1
) -> pb.Cart:
    cart = await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR", customer_id="cust-1"),
        timeout=TIMEOUT_S,
    )
    return await orders.AddCartLine(
        pb.AddCartLineRequest(
            idempotency_key=key(),
            cart_token=cart.token,
            product_id=product_id,
            variant_id=variant_id,
            quantity=quantity,
        ),
        timeout=TIMEOUT_S,
    )


async def ready_cart(
    orders: OrdersServiceStub, product_id: str, variant_id: str, quantity: int = 1
) -> pb.Cart:
    """A cart with one line, shipping to Berlin by DHL Paket."""
    cart = await cart_with(orders, product_id, variant_id, quantity)
    await orders.SetShippingAddress(
        pb.SetShippingAddressRequest(idempotency_key=key(), cart_token=cart.token, address=BERLIN),
        timeout=TIMEOUT_S,
    )
    return await orders.SetShippingMethod(
        pb.SetShippingMethodRequest(
            idempotency_key=key(), cart_token=cart.token, code="de-standard"
        ),
        timeout=TIMEOUT_S,
    )


async def error_of(call: Awaitable[object]) -> tuple[grpc.StatusCode, ErrorInfo]:
    """The status code and details of a call that must fail."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code(), error_info_from_rpc_error(error)
    raise AssertionError("the call succeeded")


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20.0) -> None:
    """Wait until `check()` holds (consumers work asynchronously), or fail."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never came true")
        await asyncio.sleep(0.1)


Metadata = tuple[tuple[str, str], ...]


def customer() -> tuple[str, Metadata]:
    """A new customer's id and the call metadata of their token."""
    subject = str(uuid.uuid4())
    return subject, with_token(customer_token(subject))


async def addressed_cart(
    orders: OrdersServiceStub, lamp: tuple[str, str], metadata: Metadata | None
) -> str:
    """The token of a cart filled and addressed by whoever `metadata` names (none: a guest)."""
    cart = await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR"),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    product_id, variant_id = lamp
    token = cart.token
    await orders.AddCartLine(
        pb.AddCartLineRequest(
            idempotency_key=key(),
            cart_token=token,
            product_id=product_id,
            variant_id=variant_id,
            quantity=1,
        ),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    await orders.SetShippingAddress(
        pb.SetShippingAddressRequest(idempotency_key=key(), cart_token=token, address=BERLIN),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    await orders.SetShippingMethod(
        pb.SetShippingMethodRequest(idempotency_key=key(), cart_token=token, code="de-standard"),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )
    return token


async def place(orders: OrdersServiceStub, token: str, metadata: Metadata | None) -> pb.Order:
    return await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=key(), cart_token=token),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )


async def placed_order(
    orders: OrdersServiceStub, lamp: tuple[str, str], metadata: Metadata | None
) -> pb.Order:
    return await place(orders, await addressed_cart(orders, lamp, metadata), metadata)

"""Customers see and change only their own carts and orders; staff see all; guests keep what
their unguessable cart token or order id gives them (docs/adr/0007). Someone else's cart or
order is NOT_FOUND, so an id never tells whether it exists."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from orders_support import BERLIN, TIMEOUT_S, error_of, key, product
from security_support import customer_token, mint_token, with_token

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub

Metadata = tuple[tuple[str, str], ...]


@pytest.fixture(scope="module")
async def anonymous(orders_address: str) -> AsyncIterator[OrdersServiceStub]:
    """Orders called with no token (unless a call sets one)."""
    async with grpc.aio.insecure_channel(orders_address) as channel:
        yield OrdersServiceStub(channel)


@pytest.fixture(scope="module")
async def lamp(catalog_stub: CatalogServiceStub) -> tuple[str, str]:
    return await product(catalog_stub)


def customer() -> tuple[str, Metadata]:
    subject = str(uuid.uuid4())
    return subject, with_token(customer_token(subject))


async def ready_cart(
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
    return await place(orders, await ready_cart(orders, lamp, metadata), metadata)


async def test_a_customers_cart_is_theirs_whatever_the_request_says(
    anonymous: OrdersServiceStub,
) -> None:
    subject, as_customer = customer()

    cart = await anonymous.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR", customer_id="someone-else"),
        metadata=as_customer,
        timeout=TIMEOUT_S,
    )

    assert cart.customer_id == subject


async def test_another_customer_or_a_guest_cannot_see_a_customers_cart(
    anonymous: OrdersServiceStub,
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    cart = await anonymous.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR"),
        metadata=as_owner,
        timeout=TIMEOUT_S,
    )
    request = pb.GetCartRequest(cart_token=cart.token)

    for metadata in (as_other, None):
        code, _ = await error_of(anonymous.GetCart(request, metadata=metadata, timeout=TIMEOUT_S))
        assert code == grpc.StatusCode.NOT_FOUND
    assert (await anonymous.GetCart(request, metadata=as_owner, timeout=TIMEOUT_S)).token


async def test_a_guest_cannot_create_a_cart_for_a_customer(anonymous: OrdersServiceStub) -> None:
    code, info = await error_of(
        anonymous.CreateCart(
            pb.CreateCartRequest(idempotency_key=key(), currency="EUR", customer_id="cust-9"),
            timeout=TIMEOUT_S,
        )
    )

    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert info.metadata == {"permission": "orders:write:any"}


async def test_a_customer_cannot_read_another_customers_order_but_staff_can(
    anonymous: OrdersServiceStub, orders: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    owner, as_owner = customer()
    _, as_other = customer()
    order = await placed_order(anonymous, lamp, as_owner)
    request = pb.GetOrderRequest(id=order.id)

    assert order.customer_id == owner
    for metadata in (as_other, None):
        code, _ = await error_of(anonymous.GetOrder(request, metadata=metadata, timeout=TIMEOUT_S))
        assert code == grpc.StatusCode.NOT_FOUND
    assert (await anonymous.GetOrder(request, metadata=as_owner, timeout=TIMEOUT_S)).id == order.id
    support = with_token(mint_token(roles=["support"], permissions=["orders:read:any"]))
    assert (await anonymous.GetOrder(request, metadata=support, timeout=TIMEOUT_S)).id == order.id
    assert (await orders.GetOrder(request, timeout=TIMEOUT_S)).id == order.id


async def test_a_customer_cannot_cancel_another_customers_order(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    order = await placed_order(anonymous, lamp, as_owner)

    code, _ = await error_of(
        anonymous.CancelOrder(
            pb.CancelOrderRequest(idempotency_key=key(), id=order.id),
            metadata=as_other,
            timeout=TIMEOUT_S,
        )
    )
    cancelled = await anonymous.CancelOrder(
        pb.CancelOrderRequest(idempotency_key=key(), id=order.id),
        metadata=as_owner,
        timeout=TIMEOUT_S,
    )

    assert code == grpc.StatusCode.NOT_FOUND
    assert cancelled.status == pb.ORDER_STATUS_CANCELLED


async def test_a_guest_order_is_read_by_whoever_holds_its_id(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    order = await placed_order(anonymous, lamp, None)

    found = await anonymous.GetOrder(pb.GetOrderRequest(id=order.id), timeout=TIMEOUT_S)

    assert (found.id, found.customer_id) == (order.id, "")


async def test_customers_list_their_own_orders_only(
    anonymous: OrdersServiceStub, orders: OrdersServiceStub
) -> None:
    owner, as_owner = customer()
    other, _ = customer()

    own = await anonymous.ListOrders(
        pb.ListOrdersRequest(customer_id=owner), metadata=as_owner, timeout=TIMEOUT_S
    )
    code, info = await error_of(
        anonymous.ListOrders(
            pb.ListOrdersRequest(customer_id=other), metadata=as_owner, timeout=TIMEOUT_S
        )
    )
    unauthenticated, _ = await error_of(
        anonymous.ListOrders(pb.ListOrdersRequest(customer_id=owner), timeout=TIMEOUT_S)
    )

    assert list(own.orders) == []
    assert (code, info.metadata) == (
        grpc.StatusCode.PERMISSION_DENIED,
        {"permission": "orders:read:any"},
    )
    assert unauthenticated == grpc.StatusCode.UNAUTHENTICATED
    assert await orders.ListOrders(pb.ListOrdersRequest(customer_id=other), timeout=TIMEOUT_S)


async def test_a_guest_cart_checked_out_by_a_customer_becomes_their_order(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    subject, as_customer = customer()
    token = await ready_cart(anonymous, lamp, None)

    order = await place(anonymous, token, as_customer)

    assert order.customer_id == subject


async def test_a_customers_cart_cannot_be_checked_out_by_someone_else(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    token = await ready_cart(anonymous, lamp, as_owner)

    for metadata in (as_other, None):
        code, _ = await error_of(place(anonymous, token, metadata))
        assert code == grpc.StatusCode.NOT_FOUND

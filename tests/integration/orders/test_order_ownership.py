"""Customers see and change only their own carts and orders; staff see all; guests keep what
their unguessable cart token, or the access token their order was placed with, gives them
(docs/adr/0007); an order id alone gives nothing. Someone else's cart or order is NOT_FOUND, so
an id never tells whether it exists."""

from __future__ import annotations

import hashlib
import uuid

import grpc
import sqlalchemy as sa
from orders_support import (
    TIMEOUT_S,
    Metadata,
    addressed_cart,
    customer,
    error_of,
    key,
    place,
    placed_order,
)
from security_support import mint_token, with_token
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub


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


async def not_found(call: object) -> bool:
    code, _ = await error_of(call)  # type: ignore[arg-type]
    return code == grpc.StatusCode.NOT_FOUND


async def test_a_guest_order_is_not_read_by_its_id_alone_only_with_its_access_token(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    order = await placed_order(anonymous, lamp, None)
    other = await placed_order(anonymous, lamp, None)
    _, as_customer = customer()

    def get(order_id: str, token: str = "", metadata: Metadata | None = None) -> object:
        request = pb.GetOrderRequest(id=order_id, access_token=token)
        return anonymous.GetOrder(request, metadata=metadata, timeout=TIMEOUT_S)

    assert len(order.access_token) >= 43  # 256 random bits, URL-safe
    assert await not_found(get(order.id))
    assert await not_found(get(order.id, metadata=as_customer))
    assert await not_found(get(order.id, "x" * 43))
    assert await not_found(get(order.id, other.access_token))
    assert await not_found(get(str(uuid.uuid4()), order.access_token))
    found = await get(order.id, order.access_token)  # type: ignore[misc]
    assert (found.id, found.customer_id, found.access_token) == (order.id, "", "")


async def test_staff_read_a_guest_order_without_its_access_token(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    order = await placed_order(anonymous, lamp, None)
    support = with_token(mint_token(roles=["support"], permissions=["orders:read:any"]))

    found = await anonymous.GetOrder(
        pb.GetOrderRequest(id=order.id), metadata=support, timeout=TIMEOUT_S
    )

    assert found.id == order.id


async def test_a_guest_cancels_their_order_with_its_access_token_only(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    order = await placed_order(anonymous, lamp, None)

    def cancel(token: str) -> object:
        request = pb.CancelOrderRequest(idempotency_key=key(), id=order.id, access_token=token)
        return anonymous.CancelOrder(request, timeout=TIMEOUT_S)

    assert await not_found(cancel(""))
    cancelled = await cancel(order.access_token)  # type: ignore[misc]
    assert cancelled.status == pb.ORDER_STATUS_CANCELLED


async def test_a_guest_orders_access_token_is_kept_only_as_its_digest(
    anonymous: OrdersServiceStub, orders_engine: AsyncEngine, lamp: tuple[str, str]
) -> None:
    token = await addressed_cart(anonymous, lamp, None)
    request = pb.PlaceOrderRequest(idempotency_key=key(), cart_token=token)
    first = await anonymous.PlaceOrder(request, timeout=TIMEOUT_S)
    retried = await anonymous.PlaceOrder(request, timeout=TIMEOUT_S)

    async with orders_engine.connect() as conn:
        digests = {
            bytes(row[0])
            for row in await conn.execute(
                sa.text("SELECT token_sha256 FROM order_access WHERE order_id = :id"),
                {"id": first.id},
            )
        }
        stored = await conn.execute(
            sa.text("SELECT count(*) FROM idempotency_keys WHERE position(:token in response) > 0"),
            {"token": first.access_token.encode()},
        )
    assert retried.id == first.id
    assert retried.access_token not in ("", first.access_token)  # a retry gets its own
    assert digests == {
        hashlib.sha256(first.access_token.encode()).digest(),
        hashlib.sha256(retried.access_token.encode()).digest(),
    }
    assert stored.scalar_one() == 0
    for held in (first.access_token, retried.access_token):
        found = await anonymous.GetOrder(
            pb.GetOrderRequest(id=first.id, access_token=held), timeout=TIMEOUT_S
        )
        assert found.id == first.id


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
    token = await addressed_cart(anonymous, lamp, None)

    order = await place(anonymous, token, as_customer)

    assert order.customer_id == subject


async def test_a_customers_cart_cannot_be_checked_out_by_someone_else(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    _, as_other = customer()
    token = await addressed_cart(anonymous, lamp, as_owner)

    for metadata in (as_other, None):
        code, _ = await error_of(place(anonymous, token, metadata))
        assert code == grpc.StatusCode.NOT_FOUND

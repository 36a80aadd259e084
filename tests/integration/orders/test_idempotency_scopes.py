"""Idempotency keys belong to their caller (issue 8, finding 2): another caller replaying a key
gets nothing of the first caller's, cannot squat it, a guest creating a cart needs a UUID key,
and a replay checks again that the caller may see what the first call did."""

from __future__ import annotations

import uuid

import grpc
import pytest
from orders_support import (
    TIMEOUT_S,
    Metadata,
    customer,
    error_of,
    key,
    placed_order,
)
from security_support import mint_token, with_token

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub


async def new_cart(
    orders: OrdersServiceStub, metadata: Metadata | None, idempotency_key: str = ""
) -> pb.Cart:
    return await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=idempotency_key or key(), currency="EUR"),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )


async def add_lamp(
    orders: OrdersServiceStub,
    lamp: tuple[str, str],
    token: str,
    metadata: Metadata | None,
    idempotency_key: str,
    quantity: int = 1,
) -> pb.Cart:
    product_id, variant_id = lamp
    return await orders.AddCartLine(
        pb.AddCartLineRequest(
            idempotency_key=idempotency_key,
            cart_token=token,
            product_id=product_id,
            variant_id=variant_id,
            quantity=quantity,
        ),
        metadata=metadata,
        timeout=TIMEOUT_S,
    )


async def test_a_guest_replaying_a_customers_key_gets_a_cart_of_their_own(
    anonymous: OrdersServiceStub,
) -> None:
    owner, as_owner = customer()
    shared = key()
    theirs = await new_cart(anonymous, as_owner, shared)

    mine = await new_cart(anonymous, None, shared)

    assert theirs.customer_id == owner
    assert mine.token != theirs.token
    assert mine.customer_id == ""


async def test_a_customer_replaying_another_customers_key_gets_a_cart_of_their_own(
    anonymous: OrdersServiceStub,
) -> None:
    _, as_owner = customer()
    other, as_other = customer()
    shared = "cart-1"  # a customer's key is theirs alone: it may be any text
    theirs = await new_cart(anonymous, as_owner, shared)

    mine = await new_cart(anonymous, as_other, shared)

    assert mine.token != theirs.token
    assert mine.customer_id == other


async def test_a_key_squatted_by_a_guest_does_not_block_the_customer(
    anonymous: OrdersServiceStub,
) -> None:
    owner, as_owner = customer()
    squatted = key()
    await anonymous.CreateCart(
        pb.CreateCartRequest(idempotency_key=squatted, currency="USD"), timeout=TIMEOUT_S
    )

    cart = await new_cart(anonymous, as_owner, squatted)

    assert (cart.currency, cart.customer_id) == ("EUR", owner)


async def test_a_key_used_on_one_guest_cart_does_not_block_another_guest_cart(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    squatter, victim = await new_cart(anonymous, None), await new_cart(anonymous, None)
    await add_lamp(anonymous, lamp, squatter.token, None, "line-1", quantity=2)

    changed = await add_lamp(anonymous, lamp, victim.token, None, "line-1")

    assert [line.quantity for line in changed.lines] == [1]


@pytest.mark.parametrize(
    "guessable",
    ["cart-1", "1", "00000000-0000-0000-0000-000000000000", uuid.uuid4().hex],
)
async def test_a_guest_creating_a_cart_with_a_guessable_key_is_refused(
    anonymous: OrdersServiceStub, guessable: str
) -> None:
    code, info = await error_of(
        anonymous.CreateCart(
            pb.CreateCartRequest(idempotency_key=guessable, currency="EUR"), timeout=TIMEOUT_S
        )
    )

    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["idempotencyKey"]


async def test_a_replay_after_staff_lost_the_right_to_cancel_is_not_found(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    order = await placed_order(anonymous, lamp, as_owner)
    clerk = str(uuid.uuid4())
    request = pb.CancelOrderRequest(idempotency_key=key(), id=order.id, reason="asked to")
    as_staff = with_token(
        mint_token(clerk, roles=["support"], permissions=["orders:read:any", "orders:write:any"])
    )
    cancelled = await anonymous.CancelOrder(request, metadata=as_staff, timeout=TIMEOUT_S)
    assert cancelled.status == pb.ORDER_STATUS_CANCELLED

    demoted = with_token(mint_token(clerk, roles=["customer"], permissions=["orders:read:own"]))
    code, _ = await error_of(anonymous.CancelOrder(request, metadata=demoted, timeout=TIMEOUT_S))

    assert code == grpc.StatusCode.NOT_FOUND
    replayed = await anonymous.CancelOrder(request, metadata=as_staff, timeout=TIMEOUT_S)
    assert replayed == cancelled


async def test_a_replay_of_a_cart_change_after_staff_lost_their_right_is_not_found(
    anonymous: OrdersServiceStub, lamp: tuple[str, str]
) -> None:
    _, as_owner = customer()
    cart = await new_cart(anonymous, as_owner)
    clerk, request_key = str(uuid.uuid4()), key()
    as_staff = with_token(
        mint_token(clerk, roles=["support"], permissions=["orders:read:any", "orders:write:any"])
    )
    changed = await add_lamp(anonymous, lamp, cart.token, as_staff, request_key)
    assert len(changed.lines) == 1

    demoted = with_token(mint_token(clerk, roles=["customer"], permissions=["orders:read:own"]))
    code, _ = await error_of(add_lamp(anonymous, lamp, cart.token, demoted, request_key))

    assert code == grpc.StatusCode.NOT_FOUND

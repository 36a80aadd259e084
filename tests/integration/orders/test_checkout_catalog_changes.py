"""Placing an order re-checks every cart line against the catalog as it is now: a product
archived, a price changed or withdrawn in the cart's currency since the line was added refuses
the order (409 CART_CHANGED naming each line), holds no stock, and brings the cart up to date so
the customer sees the new total before placing again."""

from __future__ import annotations

import grpc
from orders_support import TIMEOUT_S, error_of, key, product, ready_cart, stock

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.gateway.problem import http_status
from agora.platform.errors import PreconditionViolation
from agora.platform.rpc.status import ErrorInfo


async def set_prices(catalog: CatalogServiceStub, variant_id: str, **minor: int) -> None:
    prices = [cpb.Money(amount_minor=amount, currency=code) for code, amount in minor.items()]
    await catalog.SetPrices(
        cpb.SetPricesRequest(idempotency_key=key(), variant_id=variant_id, prices=prices),
        timeout=TIMEOUT_S,
    )


async def refused_placement(orders: OrdersServiceStub, cart: pb.Cart) -> ErrorInfo:
    code, info = await error_of(
        orders.PlaceOrder(
            pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
        )
    )
    assert (code, info.reason, http_status(code, info.reason)) == (
        grpc.StatusCode.ABORTED,
        "CART_CHANGED",
        409,
    )
    return info


async def cart_now(orders: OrdersServiceStub, cart: pb.Cart) -> pb.Cart:
    return await orders.GetCart(pb.GetCartRequest(cart_token=cart.token), timeout=TIMEOUT_S)


async def test_a_product_archived_after_it_went_into_the_cart_is_not_ordered(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await ready_cart(orders, product_id, variant_id)
    await catalog_stub.ArchiveProduct(
        cpb.ArchiveProductRequest(idempotency_key=key(), id=product_id), timeout=TIMEOUT_S
    )

    info = await refused_placement(orders, cart)

    assert info.preconditions == [
        PreconditionViolation("NOT_FOR_SALE", variant_id, "no longer for sale")
    ]
    assert variant_id in info.message
    assert (await stock(catalog_stub, variant_id)).reserved == 0
    after = await cart_now(orders, cart)
    assert (after.status, after.order_id) == (pb.CART_STATUS_OPEN, "")
    assert [line.variant_id for line in after.lines] == []


async def test_a_changed_price_refuses_the_order_shows_the_new_total_and_then_places_it(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, eur_minor=1_190)
    cart = await ready_cart(orders, product_id, variant_id, quantity=2)
    await set_prices(catalog_stub, variant_id, EUR=1_490)

    info = await refused_placement(orders, cart)
    updated = await cart_now(orders, cart)
    placed = await orders.PlaceOrder(
        pb.PlaceOrderRequest(idempotency_key=key(), cart_token=cart.token), timeout=TIMEOUT_S
    )

    assert info.preconditions == [
        PreconditionViolation("PRICE_CHANGED", variant_id, "price changed from 1190 to 1490 EUR")
    ]
    assert updated.lines[0].unit_price.amount_minor == 1_490
    assert updated.totals.total.amount_minor == cart.totals.total.amount_minor + 2 * 300
    assert placed.lines[0].unit_price.amount_minor == 1_490
    assert placed.totals.total == updated.totals.total
    assert (await stock(catalog_stub, variant_id)).reserved == 2


async def test_a_price_withdrawn_in_the_carts_currency_refuses_the_order(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await ready_cart(orders, product_id, variant_id)
    await set_prices(catalog_stub, variant_id, USD=1_290)

    info = await refused_placement(orders, cart)

    assert info.preconditions == [
        PreconditionViolation("UNPRICED", variant_id, "no longer priced in EUR")
    ]
    assert (await stock(catalog_stub, variant_id)).reserved == 0
    assert list((await cart_now(orders, cart)).lines) == []


async def test_only_the_changed_lines_are_named_and_the_others_stay(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    kept_product, kept_variant = await product(catalog_stub)
    gone_product, gone_variant = await product(catalog_stub)
    cart = await ready_cart(orders, kept_product, kept_variant)
    await orders.AddCartLine(
        pb.AddCartLineRequest(
            idempotency_key=key(),
            cart_token=cart.token,
            product_id=gone_product,
            variant_id=gone_variant,
            quantity=1,
        ),
        timeout=TIMEOUT_S,
    )
    await catalog_stub.ArchiveProduct(
        cpb.ArchiveProductRequest(idempotency_key=key(), id=gone_product), timeout=TIMEOUT_S
    )

    info = await refused_placement(orders, cart)

    assert info.preconditions == [
        PreconditionViolation("NOT_FOR_SALE", gone_variant, "no longer for sale")
    ]
    assert [line.variant_id for line in (await cart_now(orders, cart)).lines] == [kept_variant]
    assert (await stock(catalog_stub, kept_variant)).reserved == 0

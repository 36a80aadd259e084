"""Carts and checkout through the real orders API, validated against a real catalog."""

from __future__ import annotations

import grpc
import sqlalchemy as sa
from orders_support import BERLIN, TIMEOUT_S, cart_with, error_of, key, product
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub


async def test_cart_lines_are_added_updated_and_removed_with_totals_recomputed(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, eur_minor=1_190)
    cart = await cart_with(orders, product_id, variant_id, quantity=2)
    assert [(x.variant_id, x.quantity, x.unit_price.amount_minor) for x in cart.lines] == [
        (variant_id, 2, 1_190)
    ]
    # Prices include 19 % German VAT until an address says otherwise.
    assert (cart.totals.subtotal.amount_minor, cart.totals.tax.amount_minor) == (2_380, 380)
    updated = await orders.UpdateCartLine(
        pb.UpdateCartLineRequest(
            idempotency_key=key(), cart_token=cart.token, variant_id=variant_id, quantity=5
        ),
        timeout=TIMEOUT_S,
    )
    assert updated.totals.total.amount_minor == 5_950
    emptied = await orders.RemoveCartLine(
        pb.RemoveCartLineRequest(
            idempotency_key=key(), cart_token=cart.token, variant_id=variant_id
        ),
        timeout=TIMEOUT_S,
    )
    assert (list(emptied.lines), emptied.totals.total.amount_minor) == ([], 0)
    fetched = await orders.GetCart(pb.GetCartRequest(cart_token=cart.token), timeout=TIMEOUT_S)
    assert fetched == emptied


async def test_a_retried_add_with_the_same_key_adds_once(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await cart_with(orders, product_id, variant_id, quantity=1)
    request = pb.AddCartLineRequest(
        idempotency_key=key(),
        cart_token=cart.token,
        product_id=product_id,
        variant_id=variant_id,
        quantity=3,
    )
    first = await orders.AddCartLine(request, timeout=TIMEOUT_S)
    again = await orders.AddCartLine(request, timeout=TIMEOUT_S)
    assert first == again
    assert first.lines[0].quantity == 4


async def test_a_line_added_by_its_variant_alone_is_priced_from_the_variants_product(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, eur_minor=1_490)
    cart = await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="EUR"), timeout=TIMEOUT_S
    )

    added = await orders.AddCartLine(
        pb.AddCartLineRequest(
            idempotency_key=key(), cart_token=cart.token, variant_id=variant_id, quantity=2
        ),
        timeout=TIMEOUT_S,
    )
    code, info = await error_of(
        orders.AddCartLine(
            pb.AddCartLineRequest(
                idempotency_key=key(),
                cart_token=cart.token,
                variant_id="00000000-0000-4000-8000-000000000002",
                quantity=1,
            ),
            timeout=TIMEOUT_S,
        )
    )

    assert [(x.product_id, x.variant_id, x.amount.amount_minor) for x in added.lines] == [
        (product_id, variant_id, 2_980)
    ]
    assert (code, [v.field for v in info.violations]) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["variantId"],
    )


async def test_an_unknown_variant_is_a_400_naming_it(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await cart_with(orders, product_id, variant_id)
    unknown = "00000000-0000-4000-8000-000000000001"
    code, info = await error_of(
        orders.AddCartLine(
            pb.AddCartLineRequest(
                idempotency_key=key(),
                cart_token=cart.token,
                product_id=product_id,
                variant_id=unknown,
                quantity=1,
            ),
            timeout=TIMEOUT_S,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, unknown in v.description) for v in info.violations] == [("variantId", True)]


async def test_a_variant_without_a_price_in_the_cart_currency_is_refused(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await orders.CreateCart(
        pb.CreateCartRequest(idempotency_key=key(), currency="USD"), timeout=TIMEOUT_S
    )
    code, info = await error_of(
        orders.AddCartLine(
            pb.AddCartLineRequest(
                idempotency_key=key(),
                cart_token=cart.token,
                product_id=product_id,
                variant_id=variant_id,
                quantity=1,
            ),
            timeout=TIMEOUT_S,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "no price in USD" in info.violations[0].description


async def test_an_unknown_currency_is_a_400_naming_it(orders: OrdersServiceStub) -> None:
    code, info = await error_of(
        orders.CreateCart(
            pb.CreateCartRequest(idempotency_key=key(), currency="XYZ"), timeout=TIMEOUT_S
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["currency"]
    assert "XYZ" in info.message


async def test_checkout_in_germany_adds_shipping_with_its_included_vat(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, eur_minor=1_190)
    cart = await cart_with(orders, product_id, variant_id, quantity=2)
    addressed = await orders.SetShippingAddress(
        pb.SetShippingAddressRequest(idempotency_key=key(), cart_token=cart.token, address=BERLIN),
        timeout=TIMEOUT_S,
    )
    assert addressed.shipping_address.postal_code == "10117"
    methods = await orders.ListShippingMethods(
        pb.ListShippingMethodsRequest(cart_token=cart.token), timeout=TIMEOUT_S
    )
    assert [(m.code, m.price.amount_minor) for m in methods.methods] == [
        ("de-standard", 490),
        ("de-express", 990),
    ]
    chosen = await orders.SetShippingMethod(
        pb.SetShippingMethodRequest(
            idempotency_key=key(), cart_token=cart.token, code="de-standard"
        ),
        timeout=TIMEOUT_S,
    )
    totals = chosen.totals
    assert (
        totals.subtotal.amount_minor,
        totals.shipping.amount_minor,
        totals.tax.amount_minor,
        totals.total.amount_minor,
        totals.prices_include_tax,
    ) == (2_380, 490, 458, 2_870, True)


async def test_a_malformed_postal_code_is_a_field_error(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await cart_with(orders, product_id, variant_id)
    bad = pb.Address()
    bad.CopyFrom(BERLIN)
    bad.postal_code = "1011"
    code, info = await error_of(
        orders.SetShippingAddress(
            pb.SetShippingAddressRequest(idempotency_key=key(), cart_token=cart.token, address=bad),
            timeout=TIMEOUT_S,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["shippingAddress.postalCode"]


async def test_an_expired_cart_is_gone(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub, orders_engine: AsyncEngine
) -> None:
    product_id, variant_id = await product(catalog_stub)
    cart = await cart_with(orders, product_id, variant_id)
    async with orders_engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE carts SET expires_at = now() - interval '1 second' WHERE token = :t"),
            {"t": cart.token},
        )
    code, info = await error_of(
        orders.GetCart(pb.GetCartRequest(cart_token=cart.token), timeout=TIMEOUT_S)
    )
    assert (code, info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EXPIRED")

"""Money bounds through the real services (issue 8, finding 10): a price above the shop's largest
amount is refused by the catalog, and two of the largest price are refused by orders naming the
quantity (INVALID_ARGUMENT, never an INTERNAL from an int64 overflow)."""

from __future__ import annotations

import grpc
from orders_support import TIMEOUT_S, cart_with, error_of, key, product

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora.platform.kernel.money import MAX_AMOUNT_MINOR


async def test_two_of_the_largest_price_are_refused_naming_the_quantity(
    orders: OrdersServiceStub, catalog_stub: CatalogServiceStub
) -> None:
    product_id, variant_id = await product(catalog_stub, eur_minor=MAX_AMOUNT_MINOR)
    cart = await cart_with(orders, product_id, variant_id, quantity=1)
    assert cart.totals.total.amount_minor == MAX_AMOUNT_MINOR
    code, info = await error_of(
        orders.UpdateCartLine(
            pb.UpdateCartLineRequest(
                idempotency_key=key(), cart_token=cart.token, variant_id=variant_id, quantity=2
            ),
            timeout=TIMEOUT_S,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["quantity"]


async def test_a_price_above_the_largest_amount_is_refused(
    catalog_stub: CatalogServiceStub,
) -> None:
    code, info = await error_of(
        catalog_stub.CreateProduct(
            cpb.CreateProductRequest(
                idempotency_key=key(),
                title="Gold Lamp",
                variants=[
                    cpb.NewVariant(
                        sku="GOLD-1",
                        title="Gold",
                        prices=[cpb.Money(amount_minor=2**63 - 1, currency="EUR")],
                    )
                ],
            ),
            timeout=TIMEOUT_S,
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["variants[0].prices[0].amountMinor"]

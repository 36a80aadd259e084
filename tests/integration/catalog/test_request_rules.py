"""The platform checks every request against its fields' rules before the catalog's handler."""

from __future__ import annotations

import grpc
from catalog_support import count_rows, create_product, error_of, key, unique
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora.platform.errors import FieldViolation


async def test_a_nul_byte_in_a_nested_string_is_invalid_argument_naming_the_field(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    title = unique("Nul Lamp")
    request = pb.CreateProductRequest(
        idempotency_key=key(),
        title=title,
        variants=[pb.NewVariant(sku="NUL-1", title="Lamp\x00", prices=[])],
    )
    code, info = await error_of(catalog.CreateProduct(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.violations == [
        FieldViolation("variants[0].title", "must not contain NUL characters")
    ]
    rows = await count_rows(
        catalog_engine, "SELECT count(*) FROM catalog.products WHERE title = :t", t=title
    )
    assert rows == 0


async def test_a_price_of_int64_max_is_refused_and_not_stored(catalog: CatalogServiceStub) -> None:
    product = await create_product(catalog, unique("Gold Lamp"), publish=False)
    huge = pb.Money(amount_minor=2**63 - 1, currency="EUR")
    request = pb.SetPricesRequest(
        idempotency_key=key(), variant_id=product.variants[0].id, prices=[huge]
    )
    code, info = await error_of(catalog.SetPrices(request))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["prices[0].amountMinor"]
    stored = await catalog.GetProductById(pb.GetProductByIdRequest(id=product.id))
    assert stored.variants[0].prices[0].amount_minor == 1000

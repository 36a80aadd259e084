"""Staff changes through the real gRPC API: a variant's title, SKU and options; taking a
product back to draft; finding a product by its exact slug."""

from __future__ import annotations

import grpc
from catalog_support import (
    TIMEOUT_S,
    create_product,
    error_of,
    eur,
    key,
    list_all,
    outbox_subjects,
    prices,
    unique,
)
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub


async def _two_sizes(catalog: CatalogServiceStub, title: str) -> pb.Product:
    """A published product whose two variants are sizes S and M."""
    product = await create_product(catalog, title, price_lists=[prices(1000), prices(1200)])
    for variant, size in zip(product.variants, ("S", "M"), strict=True):
        await catalog.UpdateVariant(
            pb.UpdateVariantRequest(
                idempotency_key=key(),
                variant=pb.Variant(id=variant.id, options={"size": size}),
                update_mask=FieldMask(paths=["options"]),
            ),
            timeout=TIMEOUT_S,
        )
    return await catalog.GetProductById(pb.GetProductByIdRequest(id=product.id))


async def test_a_variants_options_sku_and_title_change_and_the_product_announces_it(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    product = await _two_sizes(catalog, "Linen Shirt")
    new_sku = unique("SHIRT-L")
    request = pb.UpdateVariantRequest(
        idempotency_key=key(),
        variant=pb.Variant(
            id=product.variants[1].id, sku=new_sku, title="Large", options={"size": "L"}
        ),
        product_version=product.version,
    )

    changed = await catalog.UpdateVariant(request, timeout=TIMEOUT_S)
    retried = await catalog.UpdateVariant(request, timeout=TIMEOUT_S)

    assert (changed.sku, changed.title, dict(changed.options)) == (new_sku, "Large", {"size": "L"})
    assert [(m.currency, m.amount_minor) for m in changed.prices] == [("EUR", 1200)]
    assert retried == changed
    shown = await catalog.GetProduct(pb.GetProductRequest(slug=product.slug), timeout=TIMEOUT_S)
    assert [dict(v.options) for v in shown.variants] == [{"size": "S"}, {"size": "L"}]
    assert shown.version == product.version + 1
    subjects = await outbox_subjects(catalog_engine, product.id)
    assert subjects[-1] == "catalog.product.updated"
    assert subjects.count("catalog.product.updated") == 3  # two sizes set, one change


async def test_a_taken_sku_is_refused_naming_the_sku(catalog: CatalogServiceStub) -> None:
    other = await create_product(catalog, "Wool Scarf")
    product = await create_product(catalog, "Silk Scarf")
    code, info = await error_of(
        catalog.UpdateVariant(
            pb.UpdateVariantRequest(
                idempotency_key=key(),
                variant=pb.Variant(id=product.variants[0].id, sku=other.variants[0].sku),
                update_mask=FieldMask(paths=["sku"]),
            )
        )
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert info.metadata["field"] == "variant.sku"


async def test_options_another_variant_has_are_refused_naming_the_options(
    catalog: CatalogServiceStub,
) -> None:
    product = await _two_sizes(catalog, "Cotton Tee")
    code, info = await error_of(
        catalog.UpdateVariant(
            pb.UpdateVariantRequest(
                idempotency_key=key(),
                variant=pb.Variant(id=product.variants[1].id, options={"size": "S"}),
                update_mask=FieldMask(paths=["options"]),
            )
        )
    )
    added = catalog.CreateVariant(
        pb.CreateVariantRequest(
            idempotency_key=key(),
            product_id=product.id,
            variant=pb.NewVariant(
                sku=unique("TEE"), title="S again", options={"size": "S"}, prices=[eur(900)]
            ),
        )
    )
    added_code, added_info = await error_of(added)
    assert (code, info.metadata["field"]) == (grpc.StatusCode.ALREADY_EXISTS, "variant.options")
    assert (added_code, added_info.metadata["field"]) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "variant.options",
    )


async def test_a_variant_change_against_a_stale_version_conflicts(
    catalog: CatalogServiceStub,
) -> None:
    product = await create_product(catalog, "Clay Pot")
    await catalog.SetPrices(
        pb.SetPricesRequest(
            idempotency_key=key(), variant_id=product.variants[0].id, prices=[eur(1500)]
        )
    )
    code, info = await error_of(
        catalog.UpdateVariant(
            pb.UpdateVariantRequest(
                idempotency_key=key(),
                variant=pb.Variant(id=product.variants[0].id, title="Stale"),
                product_version=product.version,
            )
        )
    )
    assert code == grpc.StatusCode.ABORTED
    assert info.reason == "CONFLICT"


async def test_a_bad_variant_change_names_each_field(catalog: CatalogServiceStub) -> None:
    product = await create_product(catalog, "Glass Jar")
    code, info = await error_of(
        catalog.UpdateVariant(
            pb.UpdateVariantRequest(
                idempotency_key=key(),
                variant=pb.Variant(id=product.variants[0].id, sku="has space", title="x" * 201),
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(v.field for v in info.violations) == ["variant.sku", "variant.title"]


async def test_an_unpublished_product_leaves_the_storefront_until_published_again(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    word = unique("unpub")
    product = await create_product(catalog, f"Lantern {word}")
    listing = pb.ListProductsRequest(q=word)
    assert [p.id for p in await list_all(catalog, listing)] == [product.id]

    draft = await catalog.UnpublishProduct(
        pb.UnpublishProductRequest(idempotency_key=key(), id=product.id), timeout=TIMEOUT_S
    )
    code, _ = await error_of(catalog.GetProduct(pb.GetProductRequest(slug=product.slug)))
    hidden = await list_all(catalog, pb.ListProductsRequest(q=word))
    again_code, _ = await error_of(
        catalog.UnpublishProduct(pb.UnpublishProductRequest(idempotency_key=key(), id=product.id))
    )
    await catalog.PublishProduct(pb.PublishProductRequest(idempotency_key=key(), id=product.id))
    shown = await catalog.GetProduct(pb.GetProductRequest(slug=product.slug), timeout=TIMEOUT_S)

    assert draft.status == pb.PRODUCT_STATUS_DRAFT
    assert (code, hidden) == (grpc.StatusCode.NOT_FOUND, [])
    assert again_code == grpc.StatusCode.FAILED_PRECONDITION
    assert shown.id == product.id
    assert (await outbox_subjects(catalog_engine, product.id))[-2:] == [
        "catalog.product.updated",
        "catalog.product.published",
    ]


async def test_staff_find_a_draft_by_its_exact_slug_and_not_by_a_prefix(
    catalog: CatalogServiceStub,
) -> None:
    draft = await create_product(catalog, "Unlisted Stool", publish=False)
    longer = await catalog.CreateProduct(
        pb.CreateProductRequest(
            idempotency_key=key(), slug=f"{draft.slug}-tall", title="Unlisted Tall Stool"
        )
    )
    exact = await catalog.SearchProducts(
        pb.SearchProductsRequest(slug=draft.slug), timeout=TIMEOUT_S
    )
    prefix = await catalog.SearchProducts(
        pb.SearchProductsRequest(slug=draft.slug[:-2]), timeout=TIMEOUT_S
    )
    assert [p.id for p in exact.products] == [draft.id]
    assert exact.products[0].status == pb.PRODUCT_STATUS_DRAFT
    assert longer.id not in {p.id for p in exact.products}
    assert prefix.products == []

"""Products through the real gRPC API: create, publish, read, update, archive; bad input."""

from __future__ import annotations

import grpc
from catalog_support import (
    TIMEOUT_S,
    count_rows,
    create_category,
    create_product,
    error_of,
    eur,
    key,
    outbox_subjects,
    prices,
    unique,
)
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub


async def test_a_published_product_is_found_by_slug_with_its_prices(
    catalog: CatalogServiceStub,
) -> None:
    created = await create_product(
        catalog, "Oak Desk Lamp", price_lists=[prices(4999, usd_minor=5499, jpy=7800)]
    )
    found = await catalog.GetProduct(pb.GetProductRequest(slug=created.slug), timeout=TIMEOUT_S)
    assert found.id == created.id
    assert found.status == pb.PRODUCT_STATUS_PUBLISHED
    assert {(m.currency, m.amount_minor) for m in found.variants[0].prices} == {
        ("EUR", 4999),
        ("JPY", 7800),
        ("USD", 5499),
    }
    in_yen = await catalog.GetProduct(
        pb.GetProductRequest(slug=created.slug, currency="JPY"), timeout=TIMEOUT_S
    )
    assert [m.currency for m in in_yen.variants[0].prices] == ["JPY"]
    assert in_yen.price_from.amount_minor == 7800


async def test_an_unknown_slug_is_not_found(catalog: CatalogServiceStub) -> None:
    code, info = await error_of(catalog.GetProduct(pb.GetProductRequest(slug="no-such-thing")))
    assert code == grpc.StatusCode.NOT_FOUND
    assert info.reason == "NOT_FOUND"


async def test_a_draft_is_hidden_from_the_storefront_but_visible_to_staff(
    catalog: CatalogServiceStub,
) -> None:
    draft = await create_product(catalog, "Unfinished Chair", publish=False)
    code, _ = await error_of(catalog.GetProduct(pb.GetProductRequest(slug=draft.slug)))
    assert code == grpc.StatusCode.NOT_FOUND
    staff_view = await catalog.GetProductById(pb.GetProductByIdRequest(id=draft.id))
    assert staff_view.status == pb.PRODUCT_STATUS_DRAFT


async def test_an_empty_title_is_invalid_and_names_title(catalog: CatalogServiceStub) -> None:
    code, info = await error_of(
        catalog.CreateProduct(pb.CreateProductRequest(idempotency_key=key(), title=" "))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["title"]


async def test_a_negative_price_is_invalid_and_names_its_amount(
    catalog: CatalogServiceStub,
) -> None:
    product = await create_product(catalog, "Price Test Mug")
    code, info = await error_of(
        catalog.SetPrices(
            pb.SetPricesRequest(
                idempotency_key=key(),
                variant_id=product.variants[0].id,
                prices=[eur(100), pb.Money(amount_minor=-1, currency="USD")],
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["prices[1].amountMinor"]


async def test_a_mutation_without_idempotency_key_is_invalid(catalog: CatalogServiceStub) -> None:
    code, info = await error_of(catalog.CreateProduct(pb.CreateProductRequest(title="Keyless")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["idempotencyKey"]


async def test_creating_twice_with_one_key_makes_one_product_and_one_event(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    request = pb.CreateProductRequest(
        idempotency_key=key(), slug=unique("twice"), title="Twice Sent Teapot"
    )
    first = await catalog.CreateProduct(request, timeout=TIMEOUT_S)
    second = await catalog.CreateProduct(request, timeout=TIMEOUT_S)
    assert second == first
    rows = await count_rows(
        catalog_engine, "SELECT count(*) FROM products WHERE slug = :slug", slug=request.slug
    )
    assert rows == 1
    assert await outbox_subjects(catalog_engine, first.id) == ["catalog.product.created"]


async def test_reusing_a_key_for_another_request_is_refused(catalog: CatalogServiceStub) -> None:
    shared = key()
    await catalog.CreateProduct(
        pb.CreateProductRequest(idempotency_key=shared, slug=unique("a"), title="First Kettle")
    )
    code, info = await error_of(
        catalog.CreateProduct(
            pb.CreateProductRequest(idempotency_key=shared, slug=unique("b"), title="Other Kettle")
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.reason == "IDEMPOTENCY_KEY_REUSED"


async def test_concurrent_retries_of_one_create_make_one_product(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    import asyncio

    request = pb.CreateProductRequest(
        idempotency_key=key(), slug=unique("race"), title="Raced Vase"
    )
    results = await asyncio.gather(
        *(catalog.CreateProduct(request, timeout=TIMEOUT_S) for _ in range(8)),
        return_exceptions=True,
    )
    made = [r for r in results if isinstance(r, pb.Product)]
    # The others were told at once that the first is still running (they do not wait on it).
    in_flight = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert all(e.code() == grpc.StatusCode.ABORTED for e in in_flight)
    assert len(made) + len(in_flight) == 8
    retried = await catalog.CreateProduct(request, timeout=TIMEOUT_S)
    assert len({r.id for r in [*made, retried]}) == 1
    assert await outbox_subjects(catalog_engine, retried.id) == ["catalog.product.created"]


async def test_a_taken_slug_is_already_exists(catalog: CatalogServiceStub) -> None:
    product = await create_product(catalog, "Unique Rug")
    code, _ = await error_of(
        catalog.CreateProduct(
            pb.CreateProductRequest(idempotency_key=key(), slug=product.slug, title="Copy Rug")
        )
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS


async def test_publishing_without_a_priced_variant_is_a_failed_precondition(
    catalog: CatalogServiceStub,
) -> None:
    draft = await create_product(catalog, "Priceless Statue", price_lists=[], publish=False)
    code, _ = await error_of(
        catalog.PublishProduct(pb.PublishProductRequest(idempotency_key=key(), id=draft.id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_archive_hides_and_restore_returns_to_draft_with_events(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    product = await create_product(catalog, "Seasonal Wreath")
    archived = await catalog.ArchiveProduct(
        pb.ArchiveProductRequest(idempotency_key=key(), id=product.id)
    )
    assert archived.status == pb.PRODUCT_STATUS_ARCHIVED
    code, _ = await error_of(catalog.GetProduct(pb.GetProductRequest(slug=product.slug)))
    assert code == grpc.StatusCode.NOT_FOUND
    restored = await catalog.RestoreProduct(
        pb.RestoreProductRequest(idempotency_key=key(), id=product.id)
    )
    assert restored.status == pb.PRODUCT_STATUS_DRAFT
    code, _ = await error_of(
        catalog.RestoreProduct(pb.RestoreProductRequest(idempotency_key=key(), id=product.id))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert await outbox_subjects(catalog_engine, product.id) == [
        "catalog.product.created",
        "catalog.product.published",
        "catalog.product.archived",
        "catalog.product.updated",
    ]


async def test_update_changes_only_masked_fields_and_checks_the_version(
    catalog: CatalogServiceStub,
) -> None:
    product = await create_product(catalog, "Old Title Bowl", description="Kept.")
    updated = await catalog.UpdateProduct(
        pb.UpdateProductRequest(
            idempotency_key=key(),
            product=pb.Product(id=product.id, title="New Title Bowl", version=product.version),
            update_mask=FieldMask(paths=["title"]),
        )
    )
    assert (updated.title, updated.description) == ("New Title Bowl", "Kept.")
    assert updated.version == product.version + 1
    code, info = await error_of(
        catalog.UpdateProduct(
            pb.UpdateProductRequest(
                idempotency_key=key(),
                product=pb.Product(id=product.id, title="Stale", version=product.version),
                update_mask=FieldMask(paths=["title"]),
            )
        )
    )
    assert code == grpc.StatusCode.ABORTED
    assert info.reason == "CONFLICT"


async def test_a_variant_added_later_gets_prices_stock_and_bumps_the_version(
    catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    product = await create_product(catalog, "Growing Sofa")
    variant = await catalog.CreateVariant(
        pb.CreateVariantRequest(
            idempotency_key=key(),
            product_id=product.id,
            variant=pb.NewVariant(sku=unique("SOFA"), title="XL", prices=[eur(90000)]),
        )
    )
    assert (variant.position, variant.available) == (1, 0)
    again = await catalog.GetProductById(pb.GetProductByIdRequest(id=product.id))
    assert again.version == product.version + 1
    assert [v.id for v in again.variants][-1] == variant.id
    assert (await outbox_subjects(catalog_engine, product.id))[-1] == (
        "catalog.product.variant_added"
    )


async def test_categories_form_a_tree_listed_parents_first(catalog: CatalogServiceStub) -> None:
    root = await create_category(catalog, "garden")
    child = await create_category(catalog, "tools", root.id)
    grandchild = await create_category(catalog, "spades", child.id)
    assert (root.depth, child.depth, grandchild.depth) == (0, 1, 2)
    listed = (await catalog.ListCategories(pb.ListCategoriesRequest())).categories
    order = [c.id for c in listed]
    assert order.index(root.id) < order.index(child.id) < order.index(grandchild.id)
    code, info = await error_of(
        catalog.CreateCategory(
            pb.CreateCategoryRequest(
                idempotency_key=key(),
                name="Orphan",
                parent_id="00000000-0000-0000-0000-000000000000",
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["parentId"]


async def test_products_by_id_come_in_one_call_whatever_their_status(
    catalog: CatalogServiceStub,
) -> None:
    published = await create_product(catalog, "Brass Lamp", price_lists=[prices(2500)])
    archived = await create_product(catalog, "Old Lamp")
    await catalog.ArchiveProduct(pb.ArchiveProductRequest(idempotency_key=key(), id=archived.id))
    unknown = "00000000-0000-4000-8000-000000000000"

    found = await catalog.GetProductsById(
        pb.GetProductsByIdRequest(ids=[published.id, archived.id, unknown, published.id]),
        timeout=TIMEOUT_S,
    )
    code, info = await error_of(
        catalog.GetProductsById(pb.GetProductsByIdRequest(ids=[unknown] * 101))
    )

    by_id = {p.id: p for p in found.products}
    assert set(by_id) == {published.id, archived.id}
    assert by_id[archived.id].status == pb.PRODUCT_STATUS_ARCHIVED
    assert [(m.currency, m.amount_minor) for m in by_id[published.id].variants[0].prices] == [
        ("EUR", 2500)
    ]
    assert (code, info.violations[0].field) == (grpc.StatusCode.INVALID_ARGUMENT, "ids")


async def test_products_are_found_by_their_variants_ids_too(
    catalog: CatalogServiceStub,
) -> None:
    lamp = await create_product(catalog, "Brass Lamp", price_lists=[prices(2500)])
    other = await create_product(catalog, "Copper Lamp", price_lists=[prices(2600)])

    found = await catalog.GetProductsById(
        pb.GetProductsByIdRequest(ids=[other.id], variant_ids=[lamp.variants[0].id]),
        timeout=TIMEOUT_S,
    )

    assert sorted(p.id for p in found.products) == sorted([lamp.id, other.id])

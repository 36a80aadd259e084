"""SearchProducts: staff's list of every product, drafts and archived too, by text and status."""

from __future__ import annotations

import grpc
from catalog_support import TIMEOUT_S, create_product, error_of, key, unique
from security_support import customer_token, with_token

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub


async def test_staff_find_drafts_published_and_archived_products_by_title_slug_or_sku(
    catalog: CatalogServiceStub,
) -> None:
    word = unique("findme")
    draft = await create_product(catalog, f"Draft {word}", publish=False)
    published = await create_product(catalog, f"Published {word}")
    archived = await create_product(catalog, f"Archived {word}")
    await catalog.ArchiveProduct(
        pb.ArchiveProductRequest(idempotency_key=key(), id=archived.id), timeout=TIMEOUT_S
    )
    every = await catalog.SearchProducts(pb.SearchProductsRequest(q=word), timeout=TIMEOUT_S)
    assert {p.id for p in every.products} == {draft.id, published.id, archived.id}
    assert every.products[0].id == archived.id  # most recently changed first
    drafts = await catalog.SearchProducts(
        pb.SearchProductsRequest(q=word, status=pb.PRODUCT_STATUS_DRAFT), timeout=TIMEOUT_S
    )
    assert [p.id for p in drafts.products] == [draft.id]
    by_sku = await catalog.SearchProducts(
        pb.SearchProductsRequest(q=published.variants[0].sku.lower()), timeout=TIMEOUT_S
    )
    assert [p.id for p in by_sku.products] == [published.id]
    assert by_sku.products[0].variants[0].prices[0].amount_minor == 1000


async def test_search_pages_follow_each_other_without_repeats(catalog: CatalogServiceStub) -> None:
    word = unique("paged")
    made = [await create_product(catalog, f"Paged {word} {i}", publish=False) for i in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = await catalog.SearchProducts(
            pb.SearchProductsRequest(q=word, page_size=2, page_token=token), timeout=TIMEOUT_S
        )
        seen += [p.id for p in page.products]
        token = page.next_page_token
        if not token:
            break
    assert seen == [p.id for p in reversed(made)]


async def test_a_customer_may_not_search_every_product(catalog: CatalogServiceStub) -> None:
    code, _ = await error_of(
        catalog.SearchProducts(
            pb.SearchProductsRequest(),
            metadata=with_token(customer_token("c-1")),
            timeout=TIMEOUT_S,
        )
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED

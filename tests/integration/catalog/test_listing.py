"""ListProducts: full-text search, filters, sorts and cursor pagination over real PostgreSQL.

Each test tags its products with a word or category of its own, so tests sharing the database
never see each other's products.
"""

from __future__ import annotations

import grpc
from catalog_support import (
    TIMEOUT_S,
    create_category,
    create_product,
    error_of,
    eur,
    list_all,
    prices,
    unique,
)

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub


def word() -> str:
    """A search word no other product contains (letters only, so it stems to itself)."""
    return "".join(chr(ord("a") + int(c, 16) % 26) for c in unique("w")[2:]) + "zq"


async def test_full_text_search_ranks_title_matches_before_description_matches(
    catalog: CatalogServiceStub,
) -> None:
    term = word()
    in_description = await create_product(
        catalog, "Plain Basket", description=f"A basket that goes well with any {term}."
    )
    in_title = await create_product(catalog, f"The {term} Basket", description="Woven.")
    await create_product(catalog, "Unrelated Basket", description="Nothing to see.")
    found = (await catalog.ListProducts(pb.ListProductsRequest(q=term), timeout=TIMEOUT_S)).products
    assert [p.id for p in found] == [in_title.id, in_description.id]


async def test_search_matches_attribute_values_and_word_forms(catalog: CatalogServiceStub) -> None:
    term = word()
    product = await create_product(catalog, "Garden Chairs", attributes={"finish": term})
    by_attribute = await catalog.ListProducts(pb.ListProductsRequest(q=term))
    assert [p.id for p in by_attribute.products] == [product.id]
    by_singular = await catalog.ListProducts(pb.ListProductsRequest(q=f"chair {term}"))
    assert [p.id for p in by_singular.products] == [product.id]


async def test_a_category_filter_includes_its_descendants(catalog: CatalogServiceStub) -> None:
    kitchen = await create_category(catalog, "kitchen")
    knives = await create_category(catalog, "knives", kitchen.id)
    chef = await create_category(catalog, "chef-knives", knives.id)
    elsewhere = await create_category(catalog, "bathroom")
    in_root = await create_product(catalog, "Kitchen Scale", category_id=kitchen.id)
    in_leaf = await create_product(catalog, "Chef Knife", category_id=chef.id)
    await create_product(catalog, "Bath Towel", category_id=elsewhere.id)
    whole = await list_all(catalog, pb.ListProductsRequest(category=kitchen.slug))
    assert {p.id for p in whole} == {in_root.id, in_leaf.id}
    knives_only = await list_all(catalog, pb.ListProductsRequest(category=knives.slug))
    assert [p.id for p in knives_only] == [in_leaf.id]
    assert await list_all(catalog, pb.ListProductsRequest(category="no-such-category")) == []


async def test_price_range_and_price_sorts_use_the_lowest_variant_price_in_the_currency(
    catalog: CatalogServiceStub,
) -> None:
    shelf = await create_category(catalog, "shelf")
    cheap = await create_product(
        catalog, "Cheap Hook", category_id=shelf.id, price_lists=[prices(500, usd_minor=900)]
    )
    middle = await create_product(
        catalog,
        "Middle Hook",
        category_id=shelf.id,
        price_lists=[prices(3000, usd_minor=100), prices(1500, usd_minor=4000)],
    )
    dear = await create_product(
        catalog, "Dear Hook", category_id=shelf.id, price_lists=[[eur(9000)]]
    )
    ascending = await list_all(
        catalog, pb.ListProductsRequest(category=shelf.slug, currency="EUR", sort="price_asc")
    )
    assert [p.id for p in ascending] == [cheap.id, middle.id, dear.id]
    assert [p.price_from.amount_minor for p in ascending] == [500, 1500, 9000]
    descending = await list_all(
        catalog, pb.ListProductsRequest(category=shelf.slug, currency="EUR", sort="price_desc")
    )
    assert [p.id for p in descending] == [dear.id, middle.id, cheap.id]
    in_range = await list_all(
        catalog,
        pb.ListProductsRequest(category=shelf.slug, currency="EUR", min_price=1000, max_price=5000),
    )
    assert [p.id for p in in_range] == [middle.id]
    in_dollars = await list_all(
        catalog, pb.ListProductsRequest(category=shelf.slug, currency="USD", sort="price_asc")
    )
    assert [p.id for p in in_dollars] == [middle.id, cheap.id]
    assert all(m.currency == "USD" for p in in_dollars for v in p.variants for m in v.prices)


async def test_the_in_stock_filter_keeps_products_with_available_stock(
    catalog: CatalogServiceStub,
) -> None:
    bin_ = await create_category(catalog, "bin")
    stocked = await create_product(catalog, "Stocked Bin", category_id=bin_.id, on_hand=[2])
    await create_product(catalog, "Empty Bin", category_id=bin_.id, on_hand=[0])
    found = await list_all(catalog, pb.ListProductsRequest(category=bin_.slug, in_stock=True))
    assert [p.id for p in found] == [stocked.id]
    assert found[0].in_stock


async def test_attribute_filters_match_any_value_of_a_key_and_every_key(
    catalog: CatalogServiceStub,
) -> None:
    scarf = await create_category(catalog, "scarf")
    red_wool = await create_product(
        catalog,
        "Red Wool Scarf",
        category_id=scarf.id,
        attributes={"color": "red", "fabric": "wool"},
    )
    blue_wool = await create_product(
        catalog,
        "Blue Wool Scarf",
        category_id=scarf.id,
        attributes={"color": "blue", "fabric": "wool"},
    )
    await create_product(
        catalog,
        "Red Silk Scarf",
        category_id=scarf.id,
        attributes={"color": "red", "fabric": "silk"},
    )
    found = await list_all(
        catalog,
        pb.ListProductsRequest(
            category=scarf.slug, attr=["color:red", "color:blue", "fabric:wool"], sort="title"
        ),
    )
    assert [p.id for p in found] == [blue_wool.id, red_wool.id]


async def test_cursor_pagination_returns_every_product_exactly_once(
    catalog: CatalogServiceStub,
) -> None:
    rack = await create_category(catalog, "rack")
    made = [
        await create_product(
            catalog, f"Rack Item {i:02d}", category_id=rack.id, price_lists=[[eur(i % 4)]]
        )
        for i in range(23)
    ]
    expected = {p.id for p in made}
    for sort in ("newest", "title", "price_asc", "price_desc"):
        pages: list[int] = []
        seen: list[str] = []
        request = pb.ListProductsRequest(category=rack.slug, currency="EUR", sort=sort, page_size=5)
        while True:
            page = await catalog.ListProducts(request, timeout=TIMEOUT_S)
            pages.append(len(page.products))
            seen.extend(p.id for p in page.products)
            if not page.next_page_token:
                break
            request.page_token = page.next_page_token
        assert pages == [5, 5, 5, 5, 3], sort
        assert len(seen) == len(expected), sort
        assert set(seen) == expected, sort
    newest = await list_all(catalog, pb.ListProductsRequest(category=rack.slug, page_size=7))
    assert [p.id for p in newest] == [p.id for p in reversed(made)]


async def test_relevance_pages_hold_every_match_once(catalog: CatalogServiceStub) -> None:
    term = word()
    made = [
        await create_product(catalog, f"{term} Cup {i}", description=f"{term} " * (i % 3))
        for i in range(9)
    ]
    found = await list_all(catalog, pb.ListProductsRequest(q=term, page_size=4))
    assert sorted(p.id for p in found) == sorted(p.id for p in made)


async def test_page_size_above_the_maximum_names_page_size(catalog: CatalogServiceStub) -> None:
    code, info = await error_of(catalog.ListProducts(pb.ListProductsRequest(page_size=101)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["pageSize"]


async def test_a_tampered_page_token_names_page_token(catalog: CatalogServiceStub) -> None:
    code, info = await error_of(catalog.ListProducts(pb.ListProductsRequest(page_token="bogus")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["pageToken"]


async def test_an_ids_filter_lists_only_those_published_products(
    catalog: CatalogServiceStub,
) -> None:
    first = await create_product(catalog, "Listed Lamp", price_lists=[prices(1200)])
    second = await create_product(catalog, "Listed Rug", price_lists=[prices(800)])
    draft = await create_product(catalog, "Draft Vase", publish=False)
    await create_product(catalog, "Other Stool")
    found = await catalog.ListProducts(
        pb.ListProductsRequest(
            ids=[first.id, second.id, draft.id], currency="EUR", sort="price_asc"
        ),
        timeout=TIMEOUT_S,
    )
    assert [p.id for p in found.products] == [second.id, first.id]
    assert [p.price_from.amount_minor for p in found.products] == [800, 1200]


async def test_an_ids_filter_names_ids_on_a_malformed_id(catalog: CatalogServiceStub) -> None:
    code, info = await error_of(catalog.ListProducts(pb.ListProductsRequest(ids=["nope"])))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["ids[0]"]

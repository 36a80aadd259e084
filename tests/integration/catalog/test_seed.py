"""The demo catalog, seeded over gRPC: complete, priced in three currencies, and idempotent."""

from __future__ import annotations

import grpc
from catalog_support import count_rows, list_all
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora.seed.catalog import demo_products, seed_demo_catalog

SEEDED_SLUGS = "SELECT count(*) FROM products WHERE slug = ANY(:slugs) AND status = 'published'"


async def test_seeding_twice_yields_the_same_fifty_published_products(
    catalog_channel: grpc.aio.Channel, catalog: CatalogServiceStub, catalog_engine: AsyncEngine
) -> None:
    first = await seed_demo_catalog(catalog_channel)
    second = await seed_demo_catalog(catalog_channel)
    assert second == first
    assert (first.products, first.categories, len(first.product_ids)) == (50, 11, 50)
    slugs = [spec.slug for spec in demo_products()]
    assert await count_rows(catalog_engine, SEEDED_SLUGS, slugs=slugs) == 50
    variants = await count_rows(
        catalog_engine,
        "SELECT count(*) FROM variants v JOIN products p ON p.id = v.product_id"
        " WHERE p.slug = ANY(:slugs)",
        slugs=slugs,
    )
    assert variants == first.variants


async def test_the_demo_catalog_lists_by_category_tree_with_three_currencies(
    catalog_channel: grpc.aio.Channel, catalog: CatalogServiceStub
) -> None:
    await seed_demo_catalog(catalog_channel)
    apparel = await list_all(catalog, pb.ListProductsRequest(category="apparel", page_size=50))
    assert len(apparel) == 18
    lamp = await catalog.GetProduct(pb.GetProductRequest(slug="essential-desk-lamp"))
    assert {(m.currency, m.amount_minor) for m in lamp.variants[0].prices} == {
        ("EUR", 5990),
        ("USD", 6490),
        ("JPY", 9580),
    }
    in_stock = await list_all(catalog, pb.ListProductsRequest(category="outdoor", in_stock=True))
    everything = await list_all(catalog, pb.ListProductsRequest(category="outdoor"))
    assert 0 < len(in_stock) < len(everything) == 14

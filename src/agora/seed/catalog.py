"""The demo catalog: about 50 products in a small category tree, priced in EUR, USD and JPY.

Everything goes through the catalog's public gRPC API. Every call carries an idempotency key
derived from what it creates, so seeding again changes nothing and creates nothing new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub

KEY_PREFIX = "seed:demo-catalog:v1"
CALL_TIMEOUT_S = 10.0
CONCURRENCY = 8
# Demo conversion of a euro price; rounded to prices a shop would show.
USD_PER_EUR = 1.08
JPY_PER_EUR = 160


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    parent: str | None = None


@dataclass(frozen=True)
class ProductSpec:
    title: str
    description: str
    category: str
    price_eur_minor: int
    attributes: tuple[tuple[str, str], ...]
    # Option name and its values: one variant per value ("size": S, M, L).
    option: tuple[str, tuple[str, ...]]

    @property
    def slug(self) -> str:
        return "-".join("".join(c for c in w if c.isalnum()) for w in self.title.lower().split())


@dataclass(frozen=True)
class SeedReport:
    """What the demo catalog holds after seeding (the same numbers on every run)."""

    categories: int
    products: int
    variants: int
    product_ids: tuple[str, ...]


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("home-living", "Home & Living"),
    CategorySpec("lighting", "Lighting", "home-living"),
    CategorySpec("kitchen", "Kitchen", "home-living"),
    CategorySpec("textiles", "Textiles", "home-living"),
    CategorySpec("apparel", "Apparel"),
    CategorySpec("tops", "Tops", "apparel"),
    CategorySpec("outerwear", "Outerwear", "apparel"),
    CategorySpec("accessories", "Accessories", "apparel"),
    CategorySpec("outdoor", "Outdoor"),
    CategorySpec("camping", "Camping", "outdoor"),
    CategorySpec("garden", "Garden", "outdoor"),
)

# (category, noun, what it is, base price in euro cents, option name, option values)
_ITEMS: tuple[tuple[str, str, str, int, str, tuple[str, ...]], ...] = (
    (
        "lighting",
        "Desk Lamp",
        "an adjustable arm and a warm 2700 K bulb",
        5900,
        "finish",
        ("black", "brass"),
    ),
    (
        "lighting",
        "Pendant Light",
        "a shade that throws a soft pool of light over a table",
        8900,
        "finish",
        ("white", "black"),
    ),
    (
        "lighting",
        "Floor Lamp",
        "a slim stand and a linen shade for reading corners",
        12900,
        "finish",
        ("oak", "walnut"),
    ),
    (
        "kitchen",
        "Chef Knife",
        "a 20 cm blade forged from one piece of steel",
        7900,
        "handle",
        ("oak", "olive"),
    ),
    (
        "kitchen",
        "Cast Iron Pan",
        "a pre-seasoned surface that only gets better with use",
        4900,
        "size",
        ("24 cm", "28 cm"),
    ),
    (
        "kitchen",
        "Pour-Over Kettle",
        "a gooseneck spout for a steady, slow pour",
        3900,
        "finish",
        ("steel", "matte black"),
    ),
    (
        "textiles",
        "Throw Blanket",
        "a heavy weave that keeps its shape wash after wash",
        6900,
        "color",
        ("sand", "forest"),
    ),
    (
        "textiles",
        "Cushion Cover",
        "a hidden zip and a cover that fits 50 x 50 cm inserts",
        2400,
        "color",
        ("rust", "ink"),
    ),
    (
        "textiles",
        "Bath Towel",
        "a dense loop pile that dries quickly",
        2900,
        "color",
        ("white", "sage"),
    ),
    (
        "tops",
        "Crew T-Shirt",
        "a midweight jersey cut for a relaxed fit",
        2900,
        "size",
        ("S", "M", "L"),
    ),
    (
        "tops",
        "Oxford Shirt",
        "a soft-washed cotton oxford with a button-down collar",
        5900,
        "size",
        ("S", "M", "L"),
    ),
    (
        "tops",
        "Merino Sweater",
        "fine merino wool that breathes and resists odour",
        8900,
        "size",
        ("S", "M", "L"),
    ),
    (
        "outerwear",
        "Rain Jacket",
        "taped seams and a hood that stays put in the wind",
        12900,
        "size",
        ("S", "M", "L"),
    ),
    (
        "outerwear",
        "Down Vest",
        "responsibly sourced down in a packable shell",
        9900,
        "size",
        ("S", "M", "L"),
    ),
    (
        "outerwear",
        "Field Coat",
        "a waxed cotton shell with four deep pockets",
        18900,
        "size",
        ("M", "L"),
    ),
    (
        "accessories",
        "Leather Belt",
        "full-grain leather and a solid brass buckle",
        3900,
        "length",
        ("85 cm", "95 cm"),
    ),
    (
        "accessories",
        "Wool Beanie",
        "a ribbed knit that folds over the ears",
        1900,
        "color",
        ("grey", "navy"),
    ),
    (
        "accessories",
        "Canvas Tote",
        "a heavy canvas body with an inside pocket",
        2900,
        "color",
        ("natural", "black"),
    ),
    (
        "camping",
        "Trail Tent",
        "a two-person shelter under two kilograms",
        24900,
        "color",
        ("green", "orange"),
    ),
    (
        "camping",
        "Sleeping Bag",
        "a three-season bag comfortable down to 2 degrees",
        13900,
        "length",
        ("regular", "long"),
    ),
    (
        "camping",
        "Camp Stove",
        "a compact burner that boils a litre in four minutes",
        5900,
        "fuel",
        ("gas", "multi-fuel"),
    ),
    (
        "garden",
        "Pruning Shears",
        "bypass blades that cut clean without crushing stems",
        3400,
        "size",
        ("small", "large"),
    ),
    (
        "garden",
        "Watering Can",
        "a long spout and a removable brass rose",
        3900,
        "capacity",
        ("5 l", "9 l"),
    ),
    (
        "garden",
        "Raised Bed",
        "untreated larch boards that slot together without tools",
        11900,
        "size",
        ("1 m", "2 m"),
    ),
    (
        "garden",
        "Garden Gloves",
        "goatskin palms and breathable backs",
        1900,
        "size",
        ("S", "M", "L"),
    ),
)

_LINES: tuple[tuple[str, str, float], ...] = (
    ("Essential", "Made to be used every day", 1.0),
    ("Heritage", "Built the old way, to last for decades", 1.5),
)


def demo_products() -> tuple[ProductSpec, ...]:
    """The 50 demo products: each item in an everyday and a heritage line."""
    specs = []
    for category, noun, what, base, option, values in _ITEMS:
        for line, pitch, factor in _LINES:
            specs.append(
                ProductSpec(
                    title=f"{line} {noun}",
                    description=f"{pitch}: {what}.",
                    category=category,
                    price_eur_minor=_shop_price(base * factor),
                    attributes=(("line", line.lower()), (option, values[0])),
                    option=(option, values),
                )
            )
    return tuple(specs)


def _shop_price(minor: float) -> int:
    """Round to the next price ending in 90 minor units (29.90)."""
    return int(minor // 100) * 100 + 90


def prices_for(eur_minor: int) -> list[pb.Money]:
    """EUR and USD in cents; JPY in whole yen (no minor unit), rounded to tens."""
    usd = _shop_price(eur_minor * USD_PER_EUR)
    jpy = round(eur_minor * JPY_PER_EUR / 100, -1)
    return [
        pb.Money(amount_minor=eur_minor, currency="EUR"),
        pb.Money(amount_minor=usd, currency="USD"),
        pb.Money(amount_minor=int(jpy), currency="JPY"),
    ]


def stock_for(product_index: int, variant_index: int) -> int:
    """Deterministic stock; every sixth product is sold out, so the in-stock filter shows."""
    if product_index % 6 == 5:
        return 0
    return 3 + (product_index * 7 + variant_index * 5) % 20


def _key(*parts: str) -> str:
    return ":".join((KEY_PREFIX, *parts))


async def _ensure_categories(catalog: CatalogServiceStub) -> dict[str, str]:
    existing = await catalog.ListCategories(pb.ListCategoriesRequest(), timeout=CALL_TIMEOUT_S)
    ids = {c.slug: c.id for c in existing.categories}
    for spec in CATEGORIES:
        if spec.slug in ids:
            continue
        created = await catalog.CreateCategory(
            pb.CreateCategoryRequest(
                idempotency_key=_key("category", spec.slug),
                slug=spec.slug,
                name=spec.name,
                parent_id=ids[spec.parent] if spec.parent else "",
            ),
            timeout=CALL_TIMEOUT_S,
        )
        ids[spec.slug] = created.id
    return ids


def _create_request(spec: ProductSpec, category_id: str) -> pb.CreateProductRequest:
    option, values = spec.option
    return pb.CreateProductRequest(
        idempotency_key=_key("product", spec.slug),
        slug=spec.slug,
        title=spec.title,
        description=spec.description,
        attributes=dict(spec.attributes),
        image_urls=[f"/static/demo/{spec.slug}.webp"],
        category_id=category_id,
        variants=[
            pb.NewVariant(
                sku=f"{spec.slug}-{value}".upper().replace(" ", ""),
                title=value.capitalize(),
                options={option: value},
                prices=prices_for(spec.price_eur_minor),
            )
            for value in values
        ],
    )


async def _ensure_product(
    catalog: CatalogServiceStub, index: int, spec: ProductSpec, category_id: str
) -> pb.Product | None:
    """Create, stock and publish one product; None if it exists from an earlier seeding."""
    try:
        product = await catalog.CreateProduct(
            _create_request(spec, category_id), timeout=CALL_TIMEOUT_S
        )
    except grpc.aio.AioRpcError as error:
        # Past the idempotency window the key is forgotten but the product is still there.
        if error.code() == grpc.StatusCode.ALREADY_EXISTS:
            return None
        raise
    for variant_index, variant in enumerate(product.variants):
        await catalog.SetStock(
            pb.SetStockRequest(
                idempotency_key=_key("stock", variant.sku),
                variant_id=variant.id,
                on_hand=stock_for(index, variant_index),
            ),
            timeout=CALL_TIMEOUT_S,
        )
    published: pb.Product = await catalog.PublishProduct(
        pb.PublishProductRequest(idempotency_key=_key("publish", spec.slug), id=product.id),
        timeout=CALL_TIMEOUT_S,
    )
    return published


async def seed_demo_catalog(channel: grpc.aio.Channel) -> SeedReport:
    """Make sure the demo catalog exists (idempotent: a second run creates nothing)."""
    catalog = CatalogServiceStub(channel)  # type: ignore[no-untyped-call]
    categories = await _ensure_categories(catalog)
    specs = demo_products()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def ensure(index: int, spec: ProductSpec) -> pb.Product | None:
        async with gate:
            return await _ensure_product(catalog, index, spec, categories[spec.category])

    products: Sequence[pb.Product | None] = await asyncio.gather(
        *(ensure(i, spec) for i, spec in enumerate(specs))
    )
    seeded = [p for p in products if p is not None]
    return SeedReport(
        categories=len(CATEGORIES),
        products=len(specs),
        variants=sum(len(spec.option[1]) for spec in specs),
        product_ids=tuple(sorted(p.id for p in seeded)),
    )

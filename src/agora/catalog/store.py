"""Loading and saving the catalog: statements built from `tables.py`, run on the caller's
connection or session. Decides nothing (the rules are in `domain.py`); writes take the session of
the caller's transaction, so the state change, the idempotency record and the outbox event commit
together.

Two paths are raw asyncpg statements, each measured as a hot path (docs/benchmarks.md): the
storefront's product reads and the reservation statements every checkout runs.

Stock is race-free without table locks: each reservation line is one conditional
`UPDATE stock SET reserved = reserved + q WHERE on_hand - reserved >= q`, lines in variant-id
order (the order every writer of stock rows follows, so transactions never deadlock), and the
CHECK constraint on `stock` makes a negative availability impossible whatever the code does.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.catalog.domain import (
    Category,
    Cursor,
    CursorKey,
    NewCategory,
    NewProduct,
    NewVariant,
    Product,
    ProductChanges,
    ProductPage,
    ProductQuery,
    ProductSort,
    ProductStatus,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Stock,
    StockMovement,
    Variant,
)
from agora.catalog.tables import (
    categories,
    prices,
    product_prices,
    products,
    reservation_lines,
    reservations,
    stock,
    variants,
)
from agora.platform.db import driver_connection
from agora.platform.errors import AlreadyExists, InvalidArgument, NotFound, Shortage
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import Money

Db = AsyncConnection | AsyncSession

SEARCH_CONFIG = "english"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- reading products ----------------------------------------------------------------------
#
# The storefront's hot path, measured (docs/benchmarks.md): plain SQL on the asyncpg connection
# beneath SQLAlchemy cut query CPU 4-5x against Core here; asyncpg prepares each distinct SQL
# text once per connection and decodes rows in C. The statements name the columns of `tables.py`.

_PRODUCT_FIELDS = (
    "p.id, p.slug, p.title, p.description, p.status, p.attributes, p.image_urls, "
    "p.category_id, p.version, p.created_at, p.updated_at, p.published_at"
)
_VARIANTS_SQL = """
    SELECT v.id, v.product_id, v.sku, v.title, v.options, v.position,
           coalesce(s.on_hand - s.reserved, 0) AS available, pr.currency, pr.amount_minor
    FROM variants v
    LEFT JOIN stock s ON s.variant_id = v.id
    LEFT JOIN prices pr ON pr.variant_id = v.id {currency_condition}
    WHERE v.product_id = ANY($1::uuid[])
    ORDER BY v.product_id, v.position, pr.currency
"""
_VARIANTS_ALL_CURRENCIES = _VARIANTS_SQL.format(currency_condition="")
_VARIANTS_ONE_CURRENCY = _VARIANTS_SQL.format(currency_condition="AND pr.currency = $2")
_IN_STOCK = (
    "EXISTS (SELECT 1 FROM variants v JOIN stock s ON s.variant_id = v.id"
    " WHERE v.product_id = p.id AND s.on_hand > s.reserved)"
)
_IN_CATEGORY_TREE = (
    "p.category_id IN (SELECT id FROM categories WHERE path LIKE"
    " (SELECT path FROM categories WHERE slug = {slug}) || '%')"
)


async def _driver(db: Db) -> asyncpg.Connection:
    """The asyncpg connection under `db` (inside the session's transaction, if any)."""
    return await driver_connection(db)


def _product(
    row: Mapping[str, Any], variants_of: Sequence[Variant] = (), price_from: Money | None = None
) -> Product:
    category_id = row["category_id"]
    return Product(
        id=str(row["id"]),
        slug=row["slug"],
        title=row["title"],
        description=row["description"],
        status=ProductStatus(row["status"]),
        attributes=row["attributes"],
        image_urls=tuple(row["image_urls"]),
        category_id=str(category_id) if category_id is not None else None,
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        variants=tuple(variants_of),
        price_from=price_from,
    )


async def _variants_by_product(
    db: Db, product_ids: Sequence[str], currency: str = ""
) -> dict[str, list[Variant]]:
    """Variants of the products with their prices (in `currency` only, if given) and stock."""
    if not product_ids:
        return {}
    driver = await _driver(db)
    if currency:
        rows = await driver.fetch(_VARIANTS_ONE_CURRENCY, product_ids, currency)
    else:
        rows = await driver.fetch(_VARIANTS_ALL_CURRENCIES, product_ids)
    firsts: dict[Any, Any] = {}
    prices_of: dict[Any, list[Money]] = defaultdict(list)
    for row in rows:
        firsts.setdefault(row["id"], row)
        if row["currency"] is not None:
            prices_of[row["id"]].append(Money(row["amount_minor"], row["currency"]))
    grouped: dict[str, list[Variant]] = defaultdict(list)
    for variant_id, row in firsts.items():
        product_id = str(row["product_id"])
        grouped[product_id].append(
            Variant(
                id=str(variant_id),
                product_id=product_id,
                sku=row["sku"],
                title=row["title"],
                options=row["options"],
                prices=tuple(prices_of[variant_id]),
                available=row["available"],
                position=row["position"],
            )
        )
    return grouped


def _lowest_price(variants_of: Sequence[Variant], currency: str) -> Money | None:
    amounts = [p.amount_minor for v in variants_of for p in v.prices if p.currency == currency]
    return Money(min(amounts), currency) if currency and amounts else None


async def _one_product(
    db: Db, condition: str, value: str, name: str, currency: str = ""
) -> Product:
    driver = await _driver(db)
    row = await driver.fetchrow(
        f"SELECT {_PRODUCT_FIELDS} FROM products p WHERE {condition}", value
    )
    if row is None:
        raise NotFound("product", name)
    found = (await _variants_by_product(db, [str(row["id"])], currency)).get(str(row["id"]), [])
    return _product(row, found, _lowest_price(found, currency))


async def product_by_slug(db: Db, slug: str, currency: str = "") -> Product:
    """A published product by slug, or NotFound."""
    return await _one_product(db, "p.slug = $1 AND p.status = 'published'", slug, slug, currency)


async def product_by_id(db: Db, product_id: str, *, for_update: bool = False) -> Product:
    """Any product (whatever its status) by id, or NotFound; `for_update` locks its row."""
    lock = " FOR UPDATE" if for_update else ""
    return await _one_product(db, f"p.id = $1::uuid{lock}", product_id, product_id)


async def products_by_ids(
    db: Db, product_ids: Sequence[str], variant_ids: Sequence[str] = ()
) -> list[Product]:
    """The products of `product_ids` and of `variant_ids` that exist (whatever their status),
    with their variants and every price: two statements however many products."""
    driver = await _driver(db)
    rows = await driver.fetch(
        f"SELECT {_PRODUCT_FIELDS} FROM products p WHERE p.id = ANY($1::uuid[])"
        " OR p.id IN (SELECT v.product_id FROM variants v WHERE v.id = ANY($2::uuid[]))",
        product_ids,
        list(variant_ids),
    )
    found = await _variants_by_product(db, [str(row["id"]) for row in rows])
    return [_product(row, found.get(str(row["id"]), [])) for row in rows]


# --- listing -------------------------------------------------------------------------------


class _PageSql:
    """The SQL text and positional parameters of one ListProducts page."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def param(self, value: Any, cast: str = "") -> str:
        self.params.append(value)
        return f"${len(self.params)}{cast}"


# The type each sort key's cursor value is sent as, and how the value is read back.
_CURSOR_CASTS = {
    ProductSort.NEWEST: "::timestamptz",
    ProductSort.TITLE: "::text",
    ProductSort.PRICE_ASC: "::bigint",
    ProductSort.PRICE_DESC: "::bigint",
    ProductSort.RELEVANCE: "::float8",
}


def _cursor_value(sort: ProductSort, key: CursorKey) -> Any:
    """The SQL value of a cursor's key, as `_cursor_key` wrote it (the page token is signed)."""
    match sort:
        case ProductSort.NEWEST:
            return EPOCH + timedelta(microseconds=int(key))
        case ProductSort.TITLE:
            return str(key)
        case ProductSort.PRICE_ASC | ProductSort.PRICE_DESC:
            return int(key)
        case ProductSort.RELEVANCE:
            return float(key)


def _cursor_key(sort: ProductSort, value: Any) -> CursorKey:
    """A sort key as a page token holds it: timestamps as integer microseconds, ranks as the
    exact decimal text of the float."""
    if sort is ProductSort.NEWEST:
        return int((value - EPOCH) // timedelta(microseconds=1))
    if sort is ProductSort.RELEVANCE:
        return repr(float(value))
    if sort is ProductSort.TITLE:
        return str(value)
    return int(value)


def _page_sql(query: ProductQuery) -> tuple[str, list[Any]]:
    """Keyset pagination: `(sort key, id)` after the cursor, ordered, one row more than a page."""
    sql = _PageSql()
    where = ["p.status = 'published'"]
    joins = ""
    rank = ""
    if query.text:
        tsquery = f"websearch_to_tsquery('{SEARCH_CONFIG}', {sql.param(query.text)})"
        where.append(f"p.search @@ {tsquery}")
        rank = f"ts_rank(p.search, {tsquery})"
    if query.sort.by_price or query.min_price is not None or query.max_price is not None:
        # Only price filters and sorts join the lowest prices; pages take theirs from variants.
        currency = sql.param(query.currency)
        joins = f" JOIN product_prices pp ON pp.product_id = p.id AND pp.currency = {currency}"
    if query.min_price is not None:
        where.append(f"pp.amount_minor >= {sql.param(query.min_price, '::bigint')}")
    if query.max_price is not None:
        where.append(f"pp.amount_minor <= {sql.param(query.max_price, '::bigint')}")
    if query.category:
        where.append(_IN_CATEGORY_TREE.format(slug=sql.param(query.category)))
    for name, values in query.attributes.items():
        matches = (
            f"p.attributes @> {sql.param(json.dumps({name: value}), '::jsonb')}" for value in values
        )
        where.append(f"({' OR '.join(matches)})")
    if query.in_stock:
        where.append(_IN_STOCK)
    if query.ids:
        where.append(f"p.id = ANY({sql.param(list(query.ids), '::uuid[]')})")
    key = {
        ProductSort.NEWEST: "p.published_at",
        ProductSort.TITLE: "p.title",
        ProductSort.PRICE_ASC: "pp.amount_minor",
        ProductSort.PRICE_DESC: "pp.amount_minor",
        ProductSort.RELEVANCE: rank,
    }[query.sort]
    direction = "DESC" if query.sort.descending else "ASC"
    if query.after is not None:
        value = sql.param(_cursor_value(query.sort, query.after.key), _CURSOR_CASTS[query.sort])
        after_id = sql.param(query.after.product_id, "::uuid")
        where.append(f"({key}, p.id) {'<' if query.sort.descending else '>'} ({value}, {after_id})")
    limit = sql.param(query.page_size + 1)
    text = (
        f"SELECT {_PRODUCT_FIELDS}, {key} AS sort_key FROM products p{joins}"
        f" WHERE {' AND '.join(where)}"
        f" ORDER BY {key} {direction}, p.id {direction} LIMIT {limit}"
    )
    return text, sql.params


async def list_products(db: Db, query: ProductQuery) -> ProductPage:
    """One page of published products: one query for the page, one for variants and prices."""
    text, params = _page_sql(query)
    rows = await (await _driver(db)).fetch(text, *params)
    page, more = rows[: query.page_size], len(rows) > query.page_size
    found = await _variants_by_product(db, [str(row["id"]) for row in page], query.currency)
    listed = []
    for row in page:
        variants_of = found.get(str(row["id"]), [])
        listed.append(_product(row, variants_of, _lowest_price(variants_of, query.currency)))
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = Cursor(
            key=_cursor_key(query.sort, last["sort_key"]), product_id=str(last["id"])
        )
    return ProductPage(products=tuple(listed), next_cursor=next_cursor)


_SEARCH_PRODUCTS = f"""
    SELECT {_PRODUCT_FIELDS} FROM products p
    WHERE ($1::text = '' OR p.status = $1)
      AND ($2::text = '' OR p.title ILIKE $2 OR p.slug ILIKE $2 OR EXISTS (
          SELECT 1 FROM variants v WHERE v.product_id = p.id AND v.sku ILIKE $2))
      AND ($3::timestamptz IS NULL OR (p.updated_at, p.id) < ($3, $4::uuid))
      AND ($6::text = '' OR p.slug = $6)
    ORDER BY p.updated_at DESC, p.id DESC
    LIMIT $5
"""


async def search_products(
    db: Db,
    *,
    text: str,
    status: ProductStatus | None,
    page_size: int,
    after: tuple[datetime, str] | None,
    slug: str = "",
) -> tuple[list[Product], tuple[datetime, str] | None]:
    """Staff's product list: every status (or only the product of exactly `slug`), most
    recently changed first (keyset on `(updated_at, id)`), with each product's variants and
    all their prices; and the position after the page (None on the last page)."""
    pattern = f"%{_like_escaped(text)}%" if text else ""
    rows = await (await _driver(db)).fetch(
        _SEARCH_PRODUCTS,
        status.value if status is not None else "",
        pattern,
        after[0] if after else None,
        after[1] if after else None,
        page_size + 1,
        slug,
    )
    page = rows[:page_size]
    found = await _variants_by_product(db, [str(row["id"]) for row in page])
    listed = [_product(row, found.get(str(row["id"]), [])) for row in page]
    if len(rows) <= page_size or not page:
        return listed, None
    return listed, (page[-1]["updated_at"], str(page[-1]["id"]))


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- writing products ----------------------------------------------------------------------


async def _require_category(db: Db, category_id: str | None, field: str) -> None:
    if category_id is None:
        return
    found = await db.execute(sa.select(categories.c.id).where(categories.c.id == category_id))
    if found.first() is None:
        raise InvalidArgument.for_field(field, "no such category")


async def _inserted(session: AsyncSession, table: sa.Table, unique: str, **values: Any) -> bool:
    """Insert a row unless one with the same value of the `unique` column exists; whether it
    was (one statement, no race between looking and inserting)."""
    inserted = await session.execute(
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[unique])
        .returning(table.c[unique])
    )
    return inserted.first() is not None


async def create_product(session: AsyncSession, new: NewProduct) -> Product:
    """Insert a new product with its variants, prices and (empty) stock."""
    await _require_category(session, new.category_id, "categoryId")
    product_id = str(uuid.uuid4())
    now = utcnow()
    if not await _inserted(
        session,
        products,
        "slug",
        id=product_id,
        slug=new.slug,
        title=new.title,
        description=new.description,
        status=new.status.value,
        attributes=dict(new.attributes),
        image_urls=list(new.image_urls),
        category_id=new.category_id,
        version=1,
        created_at=now,
        updated_at=now,
    ):
        raise AlreadyExists(f"a product with slug {new.slug!r} exists", metadata={"slug": new.slug})
    for position, variant in enumerate(new.variants):
        await _insert_variant(session, product_id, variant, position, f"variants[{position}]")
    await _refresh_product_prices(session, product_id)
    return await product_by_id(session, product_id)


async def _insert_variant(
    session: AsyncSession, product_id: str, new: NewVariant, position: int, path: str
) -> str:
    variant_id = str(uuid.uuid4())
    if not await _inserted(
        session,
        variants,
        "sku",
        id=variant_id,
        product_id=product_id,
        sku=new.sku,
        title=new.title,
        options=dict(new.options),
        position=position,
    ):
        raise AlreadyExists(
            f"a variant with SKU {new.sku!r} exists", metadata={"field": f"{path}.sku"}
        )
    await _insert_prices(session, variant_id, new.prices)
    await session.execute(
        sa.insert(stock).values(
            variant_id=variant_id, on_hand=0, reserved=0, version=0, updated_at=utcnow()
        )
    )
    return variant_id


async def _insert_prices(session: AsyncSession, variant_id: str, money: Sequence[Money]) -> None:
    if money:
        await session.execute(
            sa.insert(prices),
            [
                {"variant_id": variant_id, "currency": m.currency, "amount_minor": m.amount_minor}
                for m in money
            ],
        )


async def _refresh_product_prices(session: AsyncSession, product_id: str) -> None:
    await session.execute(
        sa.delete(product_prices).where(product_prices.c.product_id == product_id)
    )
    lowest = (
        sa.select(variants.c.product_id, prices.c.currency, sa.func.min(prices.c.amount_minor))
        .select_from(prices.join(variants, variants.c.id == prices.c.variant_id))
        .where(variants.c.product_id == product_id)
        .group_by(variants.c.product_id, prices.c.currency)
    )
    await session.execute(
        sa.insert(product_prices).from_select(["product_id", "currency", "amount_minor"], lowest)
    )


async def _bump_version(session: AsyncSession, product_id: str, **values: Any) -> int:
    """Write `values` and the product's next version; returns that version."""
    bumped = await session.execute(
        sa.update(products)
        .where(products.c.id == product_id)
        .values(version=products.c.version + 1, updated_at=utcnow(), **values)
        .returning(products.c.version)
    )
    return int(bumped.scalar_one())


async def update_product(
    session: AsyncSession, current: Product, changes: ProductChanges
) -> Product:
    """Write the fields named by `changes` over `current` (loaded for update)."""
    if "category_id" in changes.fields:
        await _require_category(session, changes.category_id, "product.categoryId")
    if "slug" in changes.fields and changes.slug != current.slug:
        taken = await session.execute(
            sa.select(products.c.id).where(products.c.slug == changes.slug)
        )
        if taken.first() is not None:
            raise AlreadyExists(f"a product with slug {changes.slug!r} exists")
    values = {
        "slug": changes.slug,
        "title": changes.title,
        "description": changes.description,
        "attributes": dict(changes.attributes),
        "image_urls": list(changes.image_urls),
        "category_id": changes.category_id,
    }
    await _bump_version(
        session, current.id, **{k: v for k, v in values.items() if k in changes.fields}
    )
    return await product_by_id(session, current.id)


async def save_product_status(session: AsyncSession, changed: Product) -> Product:
    """Write `changed`'s status and publication time; returns the product as saved."""
    await _bump_version(
        session, changed.id, status=changed.status.value, published_at=changed.published_at
    )
    return await product_by_id(session, changed.id)


async def add_variant(
    session: AsyncSession, product_id: str, new: NewVariant, position: int
) -> tuple[Variant, int]:
    """Add a variant (with prices and empty stock); returns it and the product's new version."""
    variant_id = await _insert_variant(session, product_id, new, position, "variant")
    await _refresh_product_prices(session, product_id)
    version = await _bump_version(session, product_id)
    return await variant_by_id(session, variant_id), version


async def update_variant(session: AsyncSession, current: Variant, changed: Variant) -> int:
    """Write `changed`'s SKU, title and options over `current` (its product loaded for update);
    returns the product's new version. A SKU another variant has is ALREADY_EXISTS."""
    if changed.sku != current.sku:
        taken = await session.execute(sa.select(variants.c.id).where(variants.c.sku == changed.sku))
        if taken.first() is not None:
            raise AlreadyExists(
                f"a variant with SKU {changed.sku!r} exists", metadata={"field": "variant.sku"}
            )
    await session.execute(
        sa.update(variants)
        .where(variants.c.id == current.id)
        .values(sku=changed.sku, title=changed.title, options=dict(changed.options))
    )
    return await _bump_version(session, current.product_id)


async def variant_by_id(db: Db, variant_id: str) -> Variant:
    product_id = (
        await db.execute(sa.select(variants.c.product_id).where(variants.c.id == variant_id))
    ).scalar()
    if product_id is None:
        raise NotFound("variant", variant_id)
    found = await _variants_by_product(db, [product_id])
    return next(v for v in found[product_id] if v.id == variant_id)


async def set_prices(
    session: AsyncSession, variant_id: str, money: Sequence[Money]
) -> tuple[Variant, int]:
    """Replace a variant's price list; returns the variant and its product's new version."""
    bumped = (
        await session.execute(
            sa.update(products)
            .where(
                products.c.id
                == sa.select(variants.c.product_id)
                .where(variants.c.id == variant_id)
                .scalar_subquery()
            )
            .values(version=products.c.version + 1, updated_at=utcnow())
            .returning(products.c.id, products.c.version)
        )
    ).first()
    if bumped is None:
        raise NotFound("variant", variant_id)
    await session.execute(sa.delete(prices).where(prices.c.variant_id == variant_id))
    await _insert_prices(session, variant_id, money)
    await _refresh_product_prices(session, bumped.id)
    return await variant_by_id(session, variant_id), int(bumped.version)


# --- categories ----------------------------------------------------------------------------


def _category(row: Any) -> Category:
    return Category(
        id=row.id, slug=row.slug, name=row.name, parent_id=row.parent_id, depth=row.depth
    )


async def list_categories(db: Db) -> list[Category]:
    """Every category, depth first (parents before their children)."""
    rows = await db.execute(sa.select(categories).order_by(categories.c.path))
    return [_category(row) for row in rows]


async def create_category(session: AsyncSession, new: NewCategory) -> Category:
    parent_path, depth = "/", 0
    if new.parent_id is not None:
        parent = (
            await session.execute(
                sa.select(categories.c.path, categories.c.depth).where(
                    categories.c.id == new.parent_id
                )
            )
        ).first()
        if parent is None:
            raise InvalidArgument.for_field("parentId", "no such category")
        parent_path, depth = parent.path, parent.depth + 1
    category_id = str(uuid.uuid4())
    if not await _inserted(
        session,
        categories,
        "slug",
        id=category_id,
        slug=new.slug,
        name=new.name,
        parent_id=new.parent_id,
        path=f"{parent_path}{category_id}/",
        depth=depth,
    ):
        raise AlreadyExists(
            f"a category with slug {new.slug!r} exists", metadata={"slug": new.slug}
        )
    return Category(
        id=category_id, slug=new.slug, name=new.name, parent_id=new.parent_id, depth=depth
    )


# --- stock ---------------------------------------------------------------------------------


def _stock(row: Any) -> Stock:
    return Stock(variant_id=row.variant_id, on_hand=row.on_hand, reserved=row.reserved)


async def stock_of(db: Db, variant_id: str, *, for_update: bool = False) -> Stock:
    """A variant's stock, or NotFound; `for_update` locks its row (reservations then wait)."""
    query = sa.select(stock.c.variant_id, stock.c.on_hand, stock.c.reserved).where(
        stock.c.variant_id == variant_id
    )
    row = (await db.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound("variant", variant_id)
    return _stock(row)


async def save_on_hand(session: AsyncSession, counted: Stock) -> int:
    """Write the quantity on hand of `counted` (loaded for update); returns the row's version."""
    version = await session.execute(
        sa.update(stock)
        .where(stock.c.variant_id == counted.variant_id)
        .values(on_hand=counted.on_hand, version=stock.c.version + 1, updated_at=utcnow())
        .returning(stock.c.version)
    )
    return int(version.scalar_one())


# The reservation statements, raw: every checkout runs them (asyncpg's prepared statements,
# measured in docs/benchmarks.md). They name the columns of `tables.py`.
_HOLD_LINE = """
    UPDATE stock SET reserved = reserved + $2, version = version + 1, updated_at = now()
    WHERE variant_id = $1 AND on_hand - reserved >= $2
    RETURNING variant_id
"""
_INSERT_RESERVATION = """
    WITH reservation AS (
        INSERT INTO reservations (id, reference, status, expires_at, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $5)
    )
    INSERT INTO reservation_lines (reservation_id, variant_id, quantity)
    SELECT $1, * FROM unnest($6::uuid[], $7::bigint[])
"""
_RESERVATION = """
    SELECT r.id, r.reference, r.status, r.expires_at, r.created_at,
        ARRAY(SELECT variant_id FROM reservation_lines l WHERE l.reservation_id = r.id
              ORDER BY variant_id) AS variant_ids,
        ARRAY(SELECT quantity FROM reservation_lines l WHERE l.reservation_id = r.id
              ORDER BY variant_id) AS quantities
    FROM reservations r WHERE r.id = $1
"""
# A reservation's lines never change once written, so reading them with the lock is safe.
_RESERVATION_FOR_UPDATE = f"{_RESERVATION} FOR UPDATE OF r"
_MOVE_STOCK = """
    UPDATE stock SET reserved = reserved - $2, on_hand = on_hand - $3, version = version + 1,
        updated_at = now()
    WHERE variant_id = $1
"""
_SAVE_STATUSES = """
    UPDATE reservations r SET status = s.status, updated_at = $3
    FROM unnest($1::uuid[], $2::text[]) AS s(id, status) WHERE r.id = s.id
"""


async def hold_stock(session: AsyncSession, lines: Sequence[ReservationLine]) -> list[Shortage]:
    """Hold each line's quantity where it is available, in the given (variant-id) order; returns
    the lines that could not be held, with what is available of each."""
    raw = await driver_connection(session)
    shortages: list[Shortage] = []
    for line in lines:
        if await raw.fetchval(_HOLD_LINE, line.variant_id, line.quantity) is None:
            available = (await stock_of(session, line.variant_id)).available
            shortages.append(Shortage(line.variant_id, line.quantity, available))
    return shortages


async def insert_reservation(session: AsyncSession, reservation: Reservation) -> None:
    """Write a new reservation with its lines (one statement)."""
    raw = await driver_connection(session)
    await raw.execute(
        _INSERT_RESERVATION,
        reservation.id,
        reservation.reference,
        reservation.status.value,
        reservation.expires_at,
        reservation.created_at,
        [line.variant_id for line in reservation.lines],
        [line.quantity for line in reservation.lines],
    )


async def _lines_of(
    db: Db, reservation_ids: Sequence[str]
) -> dict[str, tuple[ReservationLine, ...]]:
    rows = await db.execute(
        sa.select(reservation_lines)
        .where(reservation_lines.c.reservation_id.in_(reservation_ids))
        .order_by(reservation_lines.c.variant_id)
    )
    lines: dict[str, list[ReservationLine]] = defaultdict(list)
    for row in rows:
        lines[row.reservation_id].append(ReservationLine(row.variant_id, row.quantity))
    return {rid: tuple(found) for rid, found in lines.items()}


def _reservation(row: Any, lines: tuple[ReservationLine, ...]) -> Reservation:
    return Reservation(
        id=row.id,
        reference=row.reference,
        status=ReservationStatus(row.status),
        lines=lines,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


async def reservation_by_id(
    db: Db, reservation_id: str, *, for_update: bool = False
) -> Reservation:
    """A reservation with its lines, or NotFound; `for_update` locks it."""
    raw = await driver_connection(db)
    row = await raw.fetchrow(
        _RESERVATION_FOR_UPDATE if for_update else _RESERVATION, reservation_id
    )
    if row is None:
        raise NotFound("reservation", reservation_id)
    lines = tuple(
        ReservationLine(str(variant_id), quantity)
        for variant_id, quantity in zip(row["variant_ids"], row["quantities"], strict=True)
    )
    return Reservation(
        id=str(row["id"]),
        reference=row["reference"],
        status=ReservationStatus(row["status"]),
        lines=lines,
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


async def due_reservations(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[Reservation]:
    """Up to `limit` active reservations past their expiry, locked, oldest expiry first.

    Rows locked by another worker (or by a commit in flight) are skipped, not waited for, so
    several replicas can expire reservations at once and each is expired once.
    """
    rows = (
        await session.execute(
            sa.select(reservations)
            .where(
                reservations.c.status == ReservationStatus.ACTIVE.value,
                reservations.c.expires_at <= now,
            )
            .order_by(reservations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    lines = await _lines_of(session, [row.id for row in rows]) if rows else {}
    return [_reservation(row, lines.get(row.id, ())) for row in rows]


async def move_stock(session: AsyncSession, movements: Mapping[str, StockMovement]) -> None:
    """Take each movement out of its variant's stock row; the rows are locked in variant order,
    so two of these never deadlock."""
    raw = await driver_connection(session)
    for variant_id in sorted(movements):
        moved = movements[variant_id]
        await raw.execute(_MOVE_STOCK, variant_id, moved.reserved, moved.on_hand)


async def save_reservation_statuses(
    session: AsyncSession, changed: Sequence[Reservation], *, now: datetime
) -> None:
    """Write the status of each reservation in `changed` (one statement)."""
    raw = await driver_connection(session)
    await raw.execute(
        _SAVE_STATUSES, [r.id for r in changed], [r.status.value for r in changed], now
    )

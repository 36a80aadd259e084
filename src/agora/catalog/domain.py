"""The catalog's decisions: prices, slugs, the product and reservation state machines, stock
rules, validation, listing queries and their cursors. Pure: the standard library and the
platform's kernel only (the store loads and saves what this module decides).

Validation collects every violation of a request and reports them at once, each named by its
lowerCamelCase JSON path (`variants[0].prices[1].amountMinor`), as the REST edge shows them.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum

from agora.platform.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    FieldViolation,
    Gone,
    Insufficient,
    InvalidArgument,
    Shortage,
)
from agora.platform.kernel.checks import canonical_id, id_violations, is_id, raise_if_any
from agora.platform.kernel.money import CURRENCIES, Money, money_violations
from agora.platform.kernel.paging import (
    DEFAULT_PAGE_SIZE,
    decode_page_token,
    encode_page_token,
    page_size,
)

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_SLUG = 120
MAX_SKU = 64
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 50
MAX_ATTRIBUTE_VALUE = 200
MAX_IMAGES = 20
MAX_REFERENCE = 200
MAX_RESERVATION_LINES = 200
MAX_QUANTITY = 1_000_000
MAX_ON_HAND = 1_000_000_000
# ListProducts by ids (a recommendation's products) names at most this many.
MAX_LISTED_IDS = 100
DEFAULT_RESERVATION_TTL = timedelta(minutes=15)
MAX_RESERVATION_TTL = timedelta(days=1)

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# --- prices ------------------------------------------------------------------------------


def _is_price_currency(code: str) -> bool:
    """Products are priced in ISO 4217 currencies (crypto is a way to pay, not a price)."""
    known = CURRENCIES.get(code)
    return known is not None and not known.crypto


def price_list_violations(prices: Sequence[Money], path: str) -> list[FieldViolation]:
    """A price list holds at most one valid price per currency."""
    violations: list[FieldViolation] = []
    seen: set[str] = set()
    for index, money in enumerate(prices):
        violations += money_violations(money, f"{path}[{index}]")
        if money.currency in seen:
            violations.append(FieldViolation(f"{path}[{index}].currency", "one price per currency"))
        seen.add(money.currency)
    return violations


# --- slugs ---------------------------------------------------------------------------------


def is_slug(value: str) -> bool:
    return len(value) <= MAX_SLUG and _SLUG.fullmatch(value) is not None


def slugify(title: str) -> str:
    """A URL slug from a title: lower case ASCII letters and digits joined by hyphens."""
    # NFKD splits accented letters into letter + accent, so "Crème" becomes "creme".
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return _NOT_SLUG.sub("-", ascii_title).strip("-")[:MAX_SLUG].rstrip("-")


# --- products ------------------------------------------------------------------------------


class ProductStatus(Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class ProductAction(Enum):
    PUBLISH = "publish"
    UNPUBLISH = "unpublish"
    ARCHIVE = "archive"
    RESTORE = "restore"


# Every allowed (status, action) pair; anything else is refused.
PRODUCT_TRANSITIONS: Mapping[tuple[ProductStatus, ProductAction], ProductStatus] = {
    (ProductStatus.DRAFT, ProductAction.PUBLISH): ProductStatus.PUBLISHED,
    (ProductStatus.DRAFT, ProductAction.ARCHIVE): ProductStatus.ARCHIVED,
    (ProductStatus.PUBLISHED, ProductAction.UNPUBLISH): ProductStatus.DRAFT,
    (ProductStatus.PUBLISHED, ProductAction.ARCHIVE): ProductStatus.ARCHIVED,
    (ProductStatus.ARCHIVED, ProductAction.RESTORE): ProductStatus.DRAFT,
}


def next_product_status(status: ProductStatus, action: ProductAction) -> ProductStatus:
    """The status after `action`, or FAILED_PRECONDITION when the transition is not allowed."""
    try:
        return PRODUCT_TRANSITIONS[(status, action)]
    except KeyError:
        raise FailedPrecondition(
            f"cannot {action.value} a {status.value} product",
            metadata={"status": status.value, "action": action.value},
        ) from None


def ensure_publishable(priced_variant_count: int) -> None:
    """A product is sold through its variants: publishing needs one with a price."""
    if priced_variant_count < 1:
        raise FailedPrecondition("a product needs a variant with a price to be published")


def change_product_status(product: Product, action: ProductAction, *, now: datetime) -> Product:
    """The product after `action`, as the status table allows; publishing stamps `published_at`."""
    status = next_product_status(product.status, action)
    if status is not ProductStatus.PUBLISHED:
        return replace(product, status=status)
    ensure_publishable(sum(1 for variant in product.variants if variant.prices))
    return replace(product, status=status, published_at=now)


def ensure_version(product: Product, expected_version: int) -> None:
    """Optimistic locking: a change made against version N applies only while the product is
    still at N (0 applies to any version); CONFLICT carries the current version."""
    if expected_version and expected_version != product.version:
        raise Conflict(
            f"product {product.id} is at version {product.version}, not {expected_version}",
            metadata={"version": str(product.version)},
        )


def next_variant_position(product: Product) -> int:
    """A new variant is listed after the product's others."""
    return max((variant.position for variant in product.variants), default=-1) + 1


@dataclass(frozen=True)
class NewVariant:
    sku: str
    title: str
    options: Mapping[str, str]
    prices: tuple[Money, ...]


@dataclass(frozen=True)
class NewProduct:
    slug: str
    title: str
    description: str
    attributes: Mapping[str, str]
    image_urls: tuple[str, ...]
    category_id: str | None
    variants: tuple[NewVariant, ...]

    @property
    def status(self) -> ProductStatus:
        """A new product is a draft until published (which needs a priced variant)."""
        return ProductStatus.DRAFT


# Fields of a product that UpdateProduct may change (proto names).
UPDATABLE_PRODUCT_FIELDS = frozenset(
    {"slug", "title", "description", "attributes", "image_urls", "category_id"}
)


@dataclass(frozen=True)
class ProductChanges:
    """The new values of the fields named in `fields`; the others are ignored."""

    fields: frozenset[str]
    slug: str = ""
    title: str = ""
    description: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)
    image_urls: tuple[str, ...] = ()
    category_id: str | None = None
    expected_version: int = 0


def _title_violations(title: str, path: str) -> list[FieldViolation]:
    if not title.strip():
        return [FieldViolation(path, "must not be empty")]
    if len(title) > MAX_TITLE:
        return [FieldViolation(path, f"at most {MAX_TITLE} characters")]
    return []


def _slug_violations(slug: str) -> list[FieldViolation]:
    if not is_slug(slug):
        return [FieldViolation("slug", "lower-case letters, digits and single hyphens")]
    return []


def _attribute_violations(attributes: Mapping[str, str], path: str) -> list[FieldViolation]:
    if len(attributes) > MAX_ATTRIBUTES:
        return [FieldViolation(path, f"at most {MAX_ATTRIBUTES} entries")]
    return [
        FieldViolation(f"{path}[{key!r}]", "keys 1-50 characters, values at most 200")
        for key, value in attributes.items()
        if not key.strip() or len(key) > MAX_ATTRIBUTE_KEY or len(value) > MAX_ATTRIBUTE_VALUE
    ]


def _image_violations(urls: Sequence[str]) -> list[FieldViolation]:
    if len(urls) > MAX_IMAGES:
        return [FieldViolation("imageUrls", f"at most {MAX_IMAGES} images")]
    return [
        FieldViolation(f"imageUrls[{i}]", "an http(s) URL or an absolute path")
        for i, url in enumerate(urls)
        if not url.startswith(("https://", "http://", "/"))
    ]


def _category_violations(category_id: str | None) -> list[FieldViolation]:
    if category_id is not None and not is_id(category_id):
        return [FieldViolation("categoryId", "not a valid id")]
    return []


def _is_sku(sku: str) -> bool:
    return 0 < len(sku) <= MAX_SKU and _SKU.fullmatch(sku) is not None


def variant_violations(variant: NewVariant, path: str) -> list[FieldViolation]:
    """What is wrong with a new variant at JSON path `path` (`variants[0]`, `variant`)."""
    prefix = f"{path}." if path else ""
    violations = []
    if not _is_sku(variant.sku):
        violations.append(
            FieldViolation(f"{prefix}sku", "1-64 letters, digits, dots, hyphens, underscores")
        )
    violations += _title_violations(variant.title, f"{prefix}title")
    violations += _attribute_violations(variant.options, f"{prefix}options")
    violations += price_list_violations(variant.prices, f"{prefix}prices")
    return violations


def validate_new_variant(variant: NewVariant, path: str = "variant") -> NewVariant:
    raise_if_any(variant_violations(variant, path))
    return variant


def validate_new_product(product: NewProduct) -> NewProduct:
    """The product with its slug filled in from the title, or INVALID_ARGUMENT."""
    slug = product.slug or slugify(product.title)
    violations = _title_violations(product.title, "title")
    if product.title.strip():
        violations += _slug_violations(slug)
    if len(product.description) > MAX_DESCRIPTION:
        violations.append(FieldViolation("description", f"at most {MAX_DESCRIPTION} characters"))
    violations += _attribute_violations(product.attributes, "attributes")
    violations += _image_violations(product.image_urls)
    violations += _category_violations(product.category_id)
    skus: set[str] = set()
    for index, variant in enumerate(product.variants):
        violations += variant_violations(variant, f"variants[{index}]")
        if variant.sku in skus:
            violations.append(FieldViolation(f"variants[{index}].sku", "SKUs must be unique"))
        skus.add(variant.sku)
    raise_if_any(violations)
    return NewProduct(
        slug=slug,
        title=product.title.strip(),
        description=product.description,
        attributes=dict(product.attributes),
        image_urls=tuple(product.image_urls),
        category_id=product.category_id,
        variants=tuple(product.variants),
    )


def validate_product_changes(changes: ProductChanges) -> ProductChanges:
    """Checks only the fields being changed; the mask must name updatable fields."""
    unknown = changes.fields - UPDATABLE_PRODUCT_FIELDS
    violations = [FieldViolation("updateMask", f"cannot update {name!r}") for name in unknown]
    if not changes.fields:
        violations.append(FieldViolation("updateMask", "names no field to update"))
    checks = {
        "title": lambda: _title_violations(changes.title, "product.title"),
        "slug": lambda: _slug_violations(changes.slug),
        "attributes": lambda: _attribute_violations(changes.attributes, "product.attributes"),
        "image_urls": lambda: _image_violations(changes.image_urls),
        "category_id": lambda: _category_violations(changes.category_id),
    }
    for name in sorted(changes.fields & checks.keys()):
        violations += checks[name]()
    if "description" in changes.fields and len(changes.description) > MAX_DESCRIPTION:
        violations.append(FieldViolation("product.description", "too long"))
    raise_if_any(violations)
    return changes


# Fields of a variant that UpdateVariant may change (proto names); prices and stock have their
# own calls.
UPDATABLE_VARIANT_FIELDS = frozenset({"title", "sku", "options"})


@dataclass(frozen=True)
class VariantChanges:
    """The new values of the variant fields named in `fields`; the others are ignored."""

    variant_id: str
    fields: frozenset[str]
    sku: str = ""
    title: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    expected_version: int = 0


def validate_variant_changes(changes: VariantChanges) -> VariantChanges:
    """Checks only the fields being changed, as CreateVariant checks them; the mask must name
    updatable fields."""
    unknown = changes.fields - UPDATABLE_VARIANT_FIELDS
    violations = [FieldViolation("updateMask", f"cannot update {name!r}") for name in unknown]
    if not changes.fields:
        violations.append(FieldViolation("updateMask", "names no field to update"))
    if "sku" in changes.fields and not _is_sku(changes.sku):
        violations.append(
            FieldViolation("variant.sku", "1-64 letters, digits, dots, hyphens, underscores")
        )
    if "title" in changes.fields:
        violations += _title_violations(changes.title, "variant.title")
    if "options" in changes.fields:
        violations += _attribute_violations(changes.options, "variant.options")
    raise_if_any(violations)
    return replace(changes, title=changes.title.strip())


def changed_variant(product: Product, changes: VariantChanges) -> Variant:
    """The variant of `product` with `changes` applied (options still telling the product's
    variants apart)."""
    current = next(v for v in product.variants if v.id == changes.variant_id)
    named = changes.fields
    changed = replace(
        current,
        sku=changes.sku if "sku" in named else current.sku,
        title=changes.title if "title" in named else current.title,
        options=dict(changes.options) if "options" in named else current.options,
    )
    if "options" in changes.fields:
        ensure_distinct_options(product, changed.options, changed.id)
    return changed


def ensure_distinct_options(
    product: Product, options: Mapping[str, str], variant_id: str = ""
) -> None:
    """A variant's options (when it has any) must tell it apart from the product's others:
    ALREADY_EXISTS naming `variant.options` otherwise."""
    for other in product.variants:
        if options and other.id != variant_id and dict(other.options) == dict(options):
            raise AlreadyExists(
                f"variant {other.sku} has the same options",
                metadata={"field": "variant.options"},
            )


# --- categories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCategory:
    slug: str
    name: str
    parent_id: str | None


def validate_new_category(category: NewCategory) -> NewCategory:
    slug = category.slug or slugify(category.name)
    violations = _title_violations(category.name, "name")
    if category.name.strip() and not is_slug(slug):
        violations.append(FieldViolation("slug", "lower-case letters, digits and single hyphens"))
    if category.parent_id is not None and not is_id(category.parent_id):
        violations.append(FieldViolation("parentId", "not a valid id"))
    raise_if_any(violations)
    return NewCategory(slug=slug, name=category.name.strip(), parent_id=category.parent_id)


# --- stock and reservations ----------------------------------------------------------------


def validate_on_hand(on_hand: int) -> int:
    if not 0 <= on_hand <= MAX_ON_HAND:
        raise InvalidArgument.for_field("onHand", f"between 0 and {MAX_ON_HAND}")
    return on_hand


def recount(stock: Stock, on_hand: int) -> Stock:
    """`stock` with `on_hand` counted anew; never below what is reserved (FAILED_PRECONDITION)."""
    if on_hand < stock.reserved:
        raise FailedPrecondition(
            f"{stock.reserved} units are reserved; on hand cannot go below that",
            metadata={"reserved": str(stock.reserved)},
        )
    return replace(stock, on_hand=on_hand)


@dataclass(frozen=True)
class ReservationLine:
    variant_id: str
    quantity: int


@dataclass(frozen=True)
class ReservationPlan:
    """A valid reservation request: lines ordered by variant id (the stock lock order)."""

    lines: tuple[ReservationLine, ...]
    reference: str
    expires_at: datetime


def _line_violations(lines: Sequence[ReservationLine]) -> list[FieldViolation]:
    if not lines:
        return [FieldViolation("lines", "at least one line")]
    if len(lines) > MAX_RESERVATION_LINES:
        return [FieldViolation("lines", f"at most {MAX_RESERVATION_LINES} lines")]
    violations = []
    seen: set[str] = set()
    for index, line in enumerate(lines):
        variant_id = canonical_id(line.variant_id)
        if variant_id is None:
            violations.append(FieldViolation(f"lines[{index}].variantId", "not a valid id"))
        elif variant_id in seen:
            violations.append(FieldViolation(f"lines[{index}].variantId", "one line per variant"))
        else:
            seen.add(variant_id)
        if not 0 < line.quantity <= MAX_QUANTITY:
            violations.append(
                FieldViolation(f"lines[{index}].quantity", f"between 1 and {MAX_QUANTITY}")
            )
    return violations


def plan_reservation(
    lines: Sequence[ReservationLine], *, ttl_seconds: int, reference: str, now: datetime
) -> ReservationPlan:
    """Check a reservation request and fix its expiry; INVALID_ARGUMENT names every bad field."""
    violations = _line_violations(lines)
    ttl = timedelta(seconds=ttl_seconds) if ttl_seconds else DEFAULT_RESERVATION_TTL
    if ttl_seconds < 0 or ttl > MAX_RESERVATION_TTL:
        violations.append(FieldViolation("ttlSeconds", "between 1 and 86400 (0: default)"))
    if len(reference) > MAX_REFERENCE:
        violations.append(FieldViolation("reference", f"at most {MAX_REFERENCE} characters"))
    raise_if_any(violations)
    ordered = sorted(
        (ReservationLine(str(canonical_id(line.variant_id)), line.quantity) for line in lines),
        key=lambda line: line.variant_id,
    )
    return ReservationPlan(lines=tuple(ordered), reference=reference, expires_at=now + ttl)


class ReservationStatus(Enum):
    ACTIVE = "active"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    # A committed reservation whose order was cancelled after payment: its units are back.
    RESTOCKED = "restocked"


class ReservationAction(Enum):
    COMMIT = "commit"
    RELEASE = "release"
    EXPIRE = "expire"
    RESTOCK = "restock"


RESERVATION_TRANSITIONS: Mapping[tuple[ReservationStatus, ReservationAction], ReservationStatus] = {
    (ReservationStatus.ACTIVE, ReservationAction.COMMIT): ReservationStatus.COMMITTED,
    (ReservationStatus.ACTIVE, ReservationAction.RELEASE): ReservationStatus.RELEASED,
    (ReservationStatus.ACTIVE, ReservationAction.EXPIRE): ReservationStatus.EXPIRED,
    (ReservationStatus.COMMITTED, ReservationAction.RESTOCK): ReservationStatus.RESTOCKED,
}


def open_reservation(
    plan: ReservationPlan, shortages: Sequence[Shortage], *, now: datetime
) -> Reservation:
    """The reservation of `plan` once every line is held, or Insufficient listing each short line
    (all lines or none: the caller's transaction rolls back the lines that were held)."""
    if shortages:
        raise insufficient_stock(shortages)
    return Reservation(
        id=str(uuid.uuid4()),
        reference=plan.reference,
        status=ReservationStatus.ACTIVE,
        lines=plan.lines,
        expires_at=plan.expires_at,
        created_at=now,
    )


def next_reservation_status(
    status: ReservationStatus,
    action: ReservationAction,
    *,
    expires_at: datetime,
    now: datetime,
) -> ReservationStatus:
    """The status after `action`; a reservation past its expiry can no longer be committed."""
    expired = now >= expires_at
    if action is ReservationAction.COMMIT and status is ReservationStatus.ACTIVE and expired:
        raise Gone("the reservation has expired", metadata={"expires_at": expires_at.isoformat()})
    try:
        return RESERVATION_TRANSITIONS[(status, action)]
    except KeyError:
        raise FailedPrecondition(
            f"cannot {action.value} a {status.value} reservation",
            metadata={"status": status.value, "action": action.value},
        ) from None


def end_reservation(
    reservation: Reservation, action: ReservationAction, *, now: datetime
) -> Reservation:
    """The reservation committed, released, expired or restocked, as its status table allows."""
    status = next_reservation_status(
        reservation.status, action, expires_at=reservation.expires_at, now=now
    )
    return replace(reservation, status=status)


@dataclass(frozen=True)
class StockMovement:
    """What leaves a variant's stock row: `reserved` units stop being held, `on_hand` are sold."""

    reserved: int
    on_hand: int


def stock_movements(ended: Iterable[Reservation]) -> dict[str, StockMovement]:
    """Per variant, what the ended reservations give back: every held unit, and a committed
    reservation's units also leave the stock (they are sold); a restocked reservation held
    nothing any more, and its sold units come back to the shelf (a negative movement)."""
    reserved: dict[str, int] = {}
    sold: dict[str, int] = {}
    for reservation in ended:
        for line in reservation.lines:
            v, q = line.variant_id, line.quantity
            if reservation.status is ReservationStatus.RESTOCKED:
                reserved.setdefault(v, 0)
                sold[v] = sold.get(v, 0) - q
                continue
            reserved[v] = reserved.get(v, 0) + q
            if reservation.status is ReservationStatus.COMMITTED:
                sold[v] = sold.get(v, 0) + q
    return {v: StockMovement(reserved=q, on_hand=sold.get(v, 0)) for v, q in reserved.items()}


# --- listing -------------------------------------------------------------------------------


class ProductSort(Enum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    TITLE = "title"

    @property
    def by_price(self) -> bool:
        return self in (ProductSort.PRICE_ASC, ProductSort.PRICE_DESC)

    @property
    def descending(self) -> bool:
        return self in (ProductSort.RELEVANCE, ProductSort.NEWEST, ProductSort.PRICE_DESC)


# Relevance ranks are floats; they travel as their exact decimal text (page tokens hold str|int).
CursorKey = str | int


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: its last product's sort key and id."""

    key: CursorKey
    product_id: str


@dataclass(frozen=True)
class ProductQuery:
    """A valid ListProducts request."""

    text: str = ""
    category: str = ""
    currency: str = ""
    min_price: int | None = None
    max_price: int | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    in_stock: bool = False
    sort: ProductSort = ProductSort.NEWEST
    page_size: int = DEFAULT_PAGE_SIZE
    after: Cursor | None = None
    ids: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """Identifies the filters and sort: a page token is bound to it, so a cursor cannot be
        reused with other ones."""
        facts = [
            self.text,
            self.category,
            self.currency,
            self.min_price,
            self.max_price,
            sorted((k, sorted(v)) for k, v in self.attributes.items()),
            self.in_stock,
            self.sort.value,
            *([sorted(self.ids)] if self.ids else []),
        ]
        digest = hashlib.blake2b(json.dumps(facts).encode(), digest_size=6).hexdigest()
        return digest


@dataclass(frozen=True)
class ListRequest:
    """ListProducts as received, before validation."""

    text: str = ""
    category: str = ""
    currency: str = ""
    min_price: int | None = None
    max_price: int | None = None
    attributes: Sequence[str] = ()
    in_stock: bool = False
    sort: str = ""
    page_size: int = 0
    page_token: str = ""
    ids: Sequence[str] = ()


def _parse_attribute_filters(
    filters: Iterable[str], violations: list[FieldViolation]
) -> dict[str, tuple[str, ...]]:
    parsed: dict[str, tuple[str, ...]] = {}
    for index, item in enumerate(filters):
        key, sep, value = item.partition(":")
        if not sep or not key.strip() or not value.strip():
            violations.append(FieldViolation(f"attr[{index}]", "expected key:value"))
            continue
        parsed[key.strip()] = (*parsed.get(key.strip(), ()), value.strip())
    return parsed


def _parse_sort(request: ListRequest, violations: list[FieldViolation]) -> ProductSort:
    if not request.sort:
        return ProductSort.RELEVANCE if request.text.strip() else ProductSort.NEWEST
    try:
        sort = ProductSort(request.sort.lower())
    except ValueError:
        choices = ", ".join(s.value for s in ProductSort)
        violations.append(FieldViolation("sort", f"one of {choices}"))
        return ProductSort.NEWEST
    if sort is ProductSort.RELEVANCE and not request.text.strip():
        violations.append(FieldViolation("sort", "relevance needs a search query q"))
    return sort


def _price_violations(request: ListRequest, sort: ProductSort) -> list[FieldViolation]:
    violations = []
    currency = request.currency.upper()
    uses_price = request.min_price is not None or request.max_price is not None or sort.by_price
    if currency and not _is_price_currency(currency):
        violations.append(FieldViolation("currency", f"unknown ISO 4217 currency {currency!r}"))
    elif uses_price and not currency:
        violations.append(FieldViolation("currency", "required to filter or sort by price"))
    for name, bound in (("minPrice", request.min_price), ("maxPrice", request.max_price)):
        if bound is not None and bound < 0:
            violations.append(FieldViolation(name, "must not be negative"))
    if (
        request.min_price is not None
        and request.max_price is not None
        and request.min_price > request.max_price
    ):
        violations.append(FieldViolation("maxPrice", "must not be below minPrice"))
    return violations


def _parse_ids(values: Sequence[str], violations: list[FieldViolation]) -> tuple[str, ...]:
    if len(values) > MAX_LISTED_IDS:
        violations.append(FieldViolation("ids", f"at most {MAX_LISTED_IDS} ids"))
        return ()
    found = []
    for value in values:
        problems = id_violations(value, "ids")
        if problems:
            violations += problems
            return ()
        found.append(str(canonical_id(value)))
    return tuple(sorted(set(found)))


def _page_size(requested: int, violations: list[FieldViolation]) -> int:
    try:
        return page_size(requested)
    except InvalidArgument as refused:
        violations += refused.violations
        return DEFAULT_PAGE_SIZE


def parse_product_query(request: ListRequest) -> ProductQuery:
    """A ListProducts request checked and normalised, or INVALID_ARGUMENT naming every bad field."""
    violations: list[FieldViolation] = []
    size = _page_size(request.page_size, violations)
    sort = _parse_sort(request, violations)
    violations += _price_violations(request, sort)
    attributes = _parse_attribute_filters(request.attributes, violations)
    ids = _parse_ids(request.ids, violations)
    raise_if_any(violations)
    query = ProductQuery(
        text=request.text.strip(),
        category=request.category.strip().lower(),
        currency=request.currency.upper(),
        min_price=request.min_price,
        max_price=request.max_price,
        attributes=attributes,
        in_stock=request.in_stock,
        sort=sort,
        page_size=size,
        ids=ids,
    )
    position = decode_page_token(request.page_token, query.fingerprint(), arity=2)
    if position is None:
        return query
    key, product_id = position
    return replace(query, after=Cursor(key=key, product_id=str(product_id)))


def next_page_token(query: ProductQuery, page: ProductPage) -> str:
    """The token of the page after `page` ("" on the last page), bound to `query`."""
    if page.next_cursor is None:
        return ""
    cursor = page.next_cursor
    return encode_page_token([cursor.key, cursor.product_id], query.fingerprint())


# --- the catalog as read -------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    id: str
    product_id: str
    sku: str
    title: str
    options: Mapping[str, str]
    prices: tuple[Money, ...]
    available: int
    position: int


@dataclass(frozen=True)
class Product:
    id: str
    slug: str
    title: str
    description: str
    status: ProductStatus
    attributes: Mapping[str, str]
    image_urls: tuple[str, ...]
    category_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    variants: tuple[Variant, ...] = ()
    price_from: Money | None = None

    @property
    def in_stock(self) -> bool:
        return any(variant.available > 0 for variant in self.variants)


@dataclass(frozen=True)
class ProductPage:
    products: tuple[Product, ...]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class Category:
    id: str
    slug: str
    name: str
    parent_id: str | None
    depth: int


@dataclass(frozen=True)
class Stock:
    variant_id: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class Reservation:
    id: str
    reference: str
    status: ReservationStatus
    lines: tuple[ReservationLine, ...]
    expires_at: datetime
    created_at: datetime


def insufficient_stock(shortages: Sequence[Shortage]) -> Insufficient:
    """The error for a reservation some of whose lines cannot be served."""
    listed = ", ".join(f"{s.subject}: {s.available} of {s.requested}" for s in shortages)
    return Insufficient(f"not enough stock ({listed})", shortages)

"""Protobuf <-> domain translation, shared by the servicer (`service.py`) and `events.py`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora.catalog.domain import (
    Category,
    ListRequest,
    NewVariant,
    Product,
    ProductChanges,
    ProductStatus,
    Reservation,
    ReservationLine,
    ReservationStatus,
    Stock,
    Variant,
    VariantChanges,
)
from agora.platform.kernel.money import Money
from agora.platform.rpc.timestamps import timestamp

PRODUCT_STATUS_PB = {
    ProductStatus.DRAFT: pb.PRODUCT_STATUS_DRAFT,
    ProductStatus.PUBLISHED: pb.PRODUCT_STATUS_PUBLISHED,
    ProductStatus.ARCHIVED: pb.PRODUCT_STATUS_ARCHIVED,
}
PRODUCT_STATUS_BY_PB = {value: key for key, value in PRODUCT_STATUS_PB.items()}
RESERVATION_STATUS_PB = {
    ReservationStatus.ACTIVE: pb.RESERVATION_STATUS_ACTIVE,
    ReservationStatus.COMMITTED: pb.RESERVATION_STATUS_COMMITTED,
    ReservationStatus.RELEASED: pb.RESERVATION_STATUS_RELEASED,
    ReservationStatus.EXPIRED: pb.RESERVATION_STATUS_EXPIRED,
    ReservationStatus.RESTOCKED: pb.RESERVATION_STATUS_RESTOCKED,
}
_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def money_pb(money: Money) -> pb.Money:
    return pb.Money(amount_minor=money.amount_minor, currency=money.currency)


def money(message: pb.Money) -> Money:
    return Money(amount_minor=message.amount_minor, currency=message.currency.strip().upper())


def variant_pb(variant: Variant) -> pb.Variant:
    return pb.Variant(
        id=variant.id,
        product_id=variant.product_id,
        sku=variant.sku,
        title=variant.title,
        options=variant.options,
        prices=[money_pb(m) for m in variant.prices],
        available=variant.available,
        position=variant.position,
    )


def product_pb(product: Product) -> pb.Product:
    message = pb.Product(
        id=product.id,
        slug=product.slug,
        title=product.title,
        description=product.description,
        status=PRODUCT_STATUS_PB[product.status],
        attributes=product.attributes,
        image_urls=product.image_urls,
        category_id=product.category_id or "",
        variants=[variant_pb(v) for v in product.variants],
        version=product.version,
        created_at=timestamp(product.created_at),
        updated_at=timestamp(product.updated_at),
        in_stock=product.in_stock,
    )
    if product.published_at is not None:
        message.published_at.CopyFrom(timestamp(product.published_at))
    if product.price_from is not None:
        message.price_from.CopyFrom(money_pb(product.price_from))
    return message


def category_pb(category: Category) -> pb.Category:
    return pb.Category(
        id=category.id,
        slug=category.slug,
        name=category.name,
        parent_id=category.parent_id or "",
        depth=category.depth,
    )


def stock_pb(stock: Stock) -> pb.Stock:
    return pb.Stock(
        variant_id=stock.variant_id,
        on_hand=stock.on_hand,
        reserved=stock.reserved,
        available=stock.available,
    )


def lines_pb(lines: Iterable[ReservationLine]) -> list[pb.ReservationLine]:
    return [pb.ReservationLine(variant_id=x.variant_id, quantity=x.quantity) for x in lines]


def reservation_pb(reservation: Reservation) -> pb.Reservation:
    return pb.Reservation(
        id=reservation.id,
        reference=reservation.reference,
        status=RESERVATION_STATUS_PB[reservation.status],
        lines=lines_pb(reservation.lines),
        expires_at=timestamp(reservation.expires_at),
        created_at=timestamp(reservation.created_at),
    )


def new_variant(message: pb.NewVariant) -> NewVariant:
    return NewVariant(
        sku=message.sku.strip(),
        title=message.title,
        options=dict(message.options),
        prices=tuple(money(m) for m in message.prices),
    )


def list_request(message: pb.ListProductsRequest) -> ListRequest:
    return ListRequest(
        text=message.q,
        category=message.category,
        currency=message.currency,
        min_price=message.min_price if message.HasField("min_price") else None,
        max_price=message.max_price if message.HasField("max_price") else None,
        attributes=tuple(message.attr),
        in_stock=message.in_stock,
        sort=message.sort,
        page_size=message.page_size,
        page_token=message.page_token,
        ids=tuple(message.ids),
    )


def _snake_case(path: str) -> str:
    return _CAMEL_HUMP.sub("_", path).lower()


def product_changes(message: pb.UpdateProductRequest) -> ProductChanges:
    """The mask's fields, or every updatable field set in `product` when the mask is empty."""
    product = message.product
    if message.update_mask.paths:
        fields = frozenset(_snake_case(path) for path in message.update_mask.paths)
    else:
        present = {
            "slug": bool(product.slug),
            "title": bool(product.title),
            "description": bool(product.description),
            "attributes": bool(product.attributes),
            "image_urls": bool(product.image_urls),
            "category_id": bool(product.category_id),
        }
        fields = frozenset(name for name, is_set in present.items() if is_set)
    return ProductChanges(
        fields=fields,
        slug=product.slug,
        title=product.title,
        description=product.description,
        attributes=dict(product.attributes),
        image_urls=tuple(product.image_urls),
        category_id=product.category_id or None,
        expected_version=product.version,
    )


def variant_changes(message: pb.UpdateVariantRequest, variant_id: str) -> VariantChanges:
    """The mask's fields, or every updatable field set in `variant` when the mask is empty."""
    variant = message.variant
    if message.update_mask.paths:
        fields = frozenset(_snake_case(path) for path in message.update_mask.paths)
    else:
        present = {
            "sku": bool(variant.sku),
            "title": bool(variant.title),
            "options": bool(variant.options),
        }
        fields = frozenset(name for name, is_set in present.items() if is_set)
    return VariantChanges(
        variant_id=variant_id,
        fields=fields,
        sku=variant.sku.strip(),
        title=variant.title,
        options=dict(variant.options),
        expected_version=message.product_version,
    )

"""The catalog's gRPC servicer: protobuf in and out through `translation.py`, one unit of work
per call.

Reads run on autocommit connections (no BEGIN/ROLLBACK round trips). Each mutation is one
transaction: claim the idempotency key, load (`store`), decide (`domain`), save (`store`) and
record the outbox event. Domain errors propagate to the platform's server interceptor, which maps
them to gRPC status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.catalog.v1 import catalog_pb2 as pb
from agora._proto.agora.catalog.v1 import catalog_pb2_grpc
from agora._proto.agora.catalog.v1 import events_pb2 as events
from agora.catalog import store
from agora.catalog.domain import (
    NewCategory,
    NewProduct,
    ProductAction,
    ReservationAction,
    ReservationLine,
    change_product_status,
    changed_variant,
    end_reservation,
    ensure_distinct_options,
    ensure_version,
    next_page_token,
    next_variant_position,
    open_reservation,
    parse_product_query,
    plan_reservation,
    price_list_violations,
    recount,
    stock_movements,
    validate_new_category,
    validate_new_product,
    validate_new_variant,
    validate_on_hand,
    validate_product_changes,
    validate_variant_changes,
)
from agora.catalog.events import (
    CATEGORY_CREATED,
    PRICES_CHANGED,
    PRODUCT_ARCHIVED,
    PRODUCT_CREATED,
    PRODUCT_PUBLISHED,
    PRODUCT_UPDATED,
    STOCK_CHANGED,
    VARIANT_ADDED,
    record,
    record_reservation_event,
)
from agora.catalog.translation import (
    PRODUCT_STATUS_BY_PB,
    category_pb,
    list_request,
    money,
    new_variant,
    product_changes,
    product_pb,
    reservation_pb,
    stock_pb,
    variant_changes,
    variant_pb,
)
from agora.platform.audit import record_audit
from agora.platform.db import session_factory
from agora.platform.errors import InvalidArgument
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import raise_if_any, require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size

ResponseT = TypeVar("ResponseT", bound=Message)
Change = Callable[[AsyncSession], Awaitable[ResponseT]]
MAX_PRODUCTS_BY_ID = 100

_STATUS_EVENTS = {
    ProductAction.PUBLISH: PRODUCT_PUBLISHED,
    ProductAction.UNPUBLISH: PRODUCT_UPDATED,
    ProductAction.ARCHIVE: PRODUCT_ARCHIVED,
    ProductAction.RESTORE: PRODUCT_UPDATED,
}


class CatalogService(catalog_pb2_grpc.CatalogServiceServicer):
    """CatalogService over the catalog schema reached through `engine`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Change[ResponseT],
    ) -> ResponseT:
        """One transaction: claim the idempotency key, make the change, record its event.

        Every catalog mutation needs a permission (staff or a service), which the interceptor
        checks on every call, replays included: there is no guest capability and no ownership
        to re-check."""
        return await idempotent_mutation(
            self._sessions,
            operation=f"catalog.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )

    # --- storefront reads ----------------------------------------------------------------

    async def ListProducts(
        self, request: pb.ListProductsRequest, context: object
    ) -> pb.ListProductsResponse:
        query = parse_product_query(list_request(request))
        async with self._reads.connect() as conn:
            page = await store.list_products(conn, query)
        return pb.ListProductsResponse(
            products=[product_pb(p) for p in page.products],
            next_page_token=next_page_token(query, page),
        )

    async def SearchProducts(
        self, request: pb.SearchProductsRequest, context: object
    ) -> pb.ListProductsResponse:
        """Staff's list of every product (drafts and archived too), most recently changed
        first; the interceptor checks `catalog:read`."""
        size = page_size(request.page_size, "pageSize")
        text = request.q.strip()
        status = PRODUCT_STATUS_BY_PB.get(request.status)
        slug = request.slug.strip()
        fingerprint = f"admin-products:{text}:{request.status}:{slug}"
        position = decode_page_token(request.page_token, fingerprint, arity=2)
        after = None
        if position is not None:
            try:
                after = (datetime.fromisoformat(str(position[0])), str(position[1]))
            except ValueError:
                raise InvalidArgument.for_field("pageToken", "not a page token") from None
        async with self._reads.connect() as conn:
            found, last = await store.search_products(
                conn, text=text, status=status, page_size=size, after=after, slug=slug
            )
        token = ""
        if last is not None:
            token = encode_page_token([last[0].isoformat(), last[1]], fingerprint)
        return pb.ListProductsResponse(
            products=[product_pb(p) for p in found], next_page_token=token
        )

    async def GetProduct(self, request: pb.GetProductRequest, context: object) -> pb.Product:
        async with self._reads.connect() as conn:
            product = await store.product_by_slug(conn, request.slug, request.currency.upper())
        return product_pb(product)

    async def GetProductById(
        self, request: pb.GetProductByIdRequest, context: object
    ) -> pb.Product:
        product_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            return product_pb(await store.product_by_id(conn, product_id))

    async def GetProductsById(
        self, request: pb.GetProductsByIdRequest, context: object
    ) -> pb.GetProductsByIdResponse:
        for name, values in (("ids", request.ids), ("variantIds", request.variant_ids)):
            if len(values) > MAX_PRODUCTS_BY_ID:
                raise InvalidArgument.for_field(name, f"at most {MAX_PRODUCTS_BY_ID} ids")
        ids = sorted({require_id(value, "ids") for value in request.ids})
        variant_ids = sorted({require_id(value, "variantIds") for value in request.variant_ids})
        async with self._reads.connect() as conn:
            found = await store.products_by_ids(conn, ids, variant_ids)
        return pb.GetProductsByIdResponse(products=[product_pb(p) for p in found])

    async def ListCategories(
        self, request: pb.ListCategoriesRequest, context: object
    ) -> pb.ListCategoriesResponse:
        async with self._reads.connect() as conn:
            found = await store.list_categories(conn)
        return pb.ListCategoriesResponse(categories=[category_pb(c) for c in found])

    async def GetStock(self, request: pb.GetStockRequest, context: object) -> pb.Stock:
        variant_id = require_id(request.variant_id, "variantId")
        async with self._reads.connect() as conn:
            return stock_pb(await store.stock_of(conn, variant_id))

    async def GetReservation(
        self, request: pb.GetReservationRequest, context: object
    ) -> pb.Reservation:
        reservation_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            return reservation_pb(await store.reservation_by_id(conn, reservation_id))

    # --- products ------------------------------------------------------------------------

    async def CreateProduct(self, request: pb.CreateProductRequest, context: object) -> pb.Product:
        async def change(session: AsyncSession) -> pb.Product:
            new = validate_new_product(
                NewProduct(
                    slug=request.slug.strip(),
                    title=request.title,
                    description=request.description,
                    attributes=dict(request.attributes),
                    image_urls=tuple(request.image_urls),
                    category_id=request.category_id or None,
                    variants=tuple(new_variant(v) for v in request.variants),
                )
            )
            product = product_pb(await store.create_product(session, new))
            await record(
                session,
                PRODUCT_CREATED,
                events.ProductCreated(product=product),
                aggregate_id=product.id,
                version=product.version,
            )
            return product

        return await self._mutate("CreateProduct", request, pb.Product, change)

    async def UpdateProduct(self, request: pb.UpdateProductRequest, context: object) -> pb.Product:
        async def change(session: AsyncSession) -> pb.Product:
            product_id = require_id(request.product.id, "product.id")
            changes = validate_product_changes(product_changes(request))
            current = await store.product_by_id(session, product_id, for_update=True)
            ensure_version(current, changes.expected_version)
            product = product_pb(await store.update_product(session, current, changes))
            await record(
                session,
                PRODUCT_UPDATED,
                events.ProductUpdated(product=product, changed_fields=sorted(changes.fields)),
                aggregate_id=product.id,
                version=product.version,
            )
            return product

        return await self._mutate("UpdateProduct", request, pb.Product, change)

    async def _change_status(
        self, operation: str, request: Any, action: ProductAction
    ) -> pb.Product:
        async def change(session: AsyncSession) -> pb.Product:
            product_id = require_id(request.id, "id")
            current = await store.product_by_id(session, product_id, for_update=True)
            changed = change_product_status(current, action, now=utcnow())
            product = product_pb(await store.save_product_status(session, changed))
            event: Message
            match action:
                case ProductAction.PUBLISH:
                    event = events.ProductPublished(product=product)
                case ProductAction.ARCHIVE:
                    event = events.ProductArchived(product_id=product.id, slug=product.slug)
                case ProductAction.UNPUBLISH | ProductAction.RESTORE:
                    event = events.ProductUpdated(product=product, changed_fields=["status"])
            await record(
                session,
                _STATUS_EVENTS[action],
                event,
                aggregate_id=product.id,
                version=product.version,
            )
            return product

        return await self._mutate(operation, request, pb.Product, change)

    async def PublishProduct(
        self, request: pb.PublishProductRequest, context: object
    ) -> pb.Product:
        return await self._change_status("PublishProduct", request, ProductAction.PUBLISH)

    async def UnpublishProduct(
        self, request: pb.UnpublishProductRequest, context: object
    ) -> pb.Product:
        return await self._change_status("UnpublishProduct", request, ProductAction.UNPUBLISH)

    async def ArchiveProduct(
        self, request: pb.ArchiveProductRequest, context: object
    ) -> pb.Product:
        return await self._change_status("ArchiveProduct", request, ProductAction.ARCHIVE)

    async def RestoreProduct(
        self, request: pb.RestoreProductRequest, context: object
    ) -> pb.Product:
        return await self._change_status("RestoreProduct", request, ProductAction.RESTORE)

    async def CreateVariant(self, request: pb.CreateVariantRequest, context: object) -> pb.Variant:
        async def change(session: AsyncSession) -> pb.Variant:
            product_id = require_id(request.product_id, "productId")
            new = validate_new_variant(new_variant(request.variant))
            current = await store.product_by_id(session, product_id, for_update=True)
            ensure_distinct_options(current, new.options)
            added, version = await store.add_variant(
                session, product_id, new, next_variant_position(current)
            )
            variant = variant_pb(added)
            await record(
                session,
                VARIANT_ADDED,
                events.VariantAdded(product_id=product_id, variant=variant),
                aggregate_id=product_id,
                version=version,
            )
            return variant

        return await self._mutate("CreateVariant", request, pb.Variant, change)

    async def UpdateVariant(self, request: pb.UpdateVariantRequest, context: object) -> pb.Variant:
        """Announced as a product update (a snapshot naming `variants`), which the storefront
        cache, the search texts and the analytics already follow."""

        async def change(session: AsyncSession) -> pb.Variant:
            variant_id = require_id(request.variant.id, "variant.id")
            changes = validate_variant_changes(variant_changes(request, variant_id))
            product_id = (await store.variant_by_id(session, variant_id)).product_id
            current = await store.product_by_id(session, product_id, for_update=True)
            ensure_version(current, changes.expected_version)
            before = next(v for v in current.variants if v.id == variant_id)
            await store.update_variant(session, before, changed_variant(current, changes))
            product = product_pb(await store.product_by_id(session, current.id))
            await record(
                session,
                PRODUCT_UPDATED,
                events.ProductUpdated(product=product, changed_fields=["variants"]),
                aggregate_id=product.id,
                version=product.version,
            )
            return next(v for v in product.variants if v.id == variant_id)

        return await self._mutate("UpdateVariant", request, pb.Variant, change)

    async def SetPrices(self, request: pb.SetPricesRequest, context: object) -> pb.Variant:
        async def change(session: AsyncSession) -> pb.Variant:
            variant_id = require_id(request.variant_id, "variantId")
            price_list = [money(m) for m in request.prices]
            raise_if_any(price_list_violations(price_list, "prices"))
            before = variant_pb(await store.variant_by_id(session, variant_id))
            changed, version = await store.set_prices(session, variant_id, price_list)
            variant = variant_pb(changed)
            await _audit(session, "prices_set", variant_id, before, variant)
            await record(
                session,
                PRICES_CHANGED,
                events.PricesChanged(
                    product_id=variant.product_id, variant_id=variant.id, prices=variant.prices
                ),
                aggregate_id=variant.product_id,
                version=version,
            )
            return variant

        return await self._mutate("SetPrices", request, pb.Variant, change)

    # --- categories ----------------------------------------------------------------------

    async def CreateCategory(
        self, request: pb.CreateCategoryRequest, context: object
    ) -> pb.Category:
        async def change(session: AsyncSession) -> pb.Category:
            new = validate_new_category(
                NewCategory(
                    slug=request.slug.strip(),
                    name=request.name,
                    parent_id=request.parent_id or None,
                )
            )
            category = category_pb(await store.create_category(session, new))
            await record(
                session,
                CATEGORY_CREATED,
                events.CategoryCreated(category=category),
                aggregate_id=category.id,
                version=1,
            )
            return category

        return await self._mutate("CreateCategory", request, pb.Category, change)

    # --- stock and reservations ----------------------------------------------------------

    async def SetStock(self, request: pb.SetStockRequest, context: object) -> pb.Stock:
        async def change(session: AsyncSession) -> pb.Stock:
            variant_id = require_id(request.variant_id, "variantId")
            on_hand = validate_on_hand(request.on_hand)
            before = await store.stock_of(session, variant_id, for_update=True)
            counted = recount(before, on_hand)
            version = await store.save_on_hand(session, counted)
            await _audit(session, "stock_set", variant_id, stock_pb(before), stock_pb(counted))
            await record(
                session,
                STOCK_CHANGED,
                events.StockChanged(
                    variant_id=variant_id, on_hand=counted.on_hand, reserved=counted.reserved
                ),
                aggregate_id=variant_id,
                version=version,
            )
            return stock_pb(counted)

        return await self._mutate("SetStock", request, pb.Stock, change)

    async def ReserveStock(
        self, request: pb.ReserveStockRequest, context: object
    ) -> pb.Reservation:
        async def change(session: AsyncSession) -> pb.Reservation:
            now = utcnow()
            plan = plan_reservation(
                [ReservationLine(line.variant_id, line.quantity) for line in request.lines],
                ttl_seconds=request.ttl_seconds,
                reference=request.reference,
                now=now,
            )
            shortages = await store.hold_stock(session, plan.lines)
            reservation = open_reservation(plan, shortages, now=now)
            await store.insert_reservation(session, reservation)
            await record_reservation_event(session, reservation)
            return reservation_pb(reservation)

        return await self._mutate("ReserveStock", request, pb.Reservation, change)

    async def _finish(
        self, operation: str, request: Any, action: ReservationAction
    ) -> pb.Reservation:
        async def change(session: AsyncSession) -> pb.Reservation:
            reservation_id = require_id(request.id, "id")
            now = utcnow()
            current = await store.reservation_by_id(session, reservation_id, for_update=True)
            reservation = end_reservation(current, action, now=now)
            await store.move_stock(session, stock_movements([reservation]))
            await store.save_reservation_statuses(session, [reservation], now=now)
            await record_reservation_event(session, reservation)
            return reservation_pb(reservation)

        return await self._mutate(operation, request, pb.Reservation, change)

    async def CommitReservation(
        self, request: pb.CommitReservationRequest, context: object
    ) -> pb.Reservation:
        return await self._finish("CommitReservation", request, ReservationAction.COMMIT)

    async def ReleaseReservation(
        self, request: pb.ReleaseReservationRequest, context: object
    ) -> pb.Reservation:
        return await self._finish("ReleaseReservation", request, ReservationAction.RELEASE)

    async def RestockReservation(
        self, request: pb.RestockReservationRequest, context: object
    ) -> pb.Reservation:
        return await self._finish("RestockReservation", request, ReservationAction.RESTOCK)


async def _audit(
    session: AsyncSession, action: str, variant_id: str, before: Message, after: Message
) -> None:
    """Staff changes of what a variant costs or how many there are leave an audit entry."""
    await record_audit(
        session,
        service="catalog",
        action=action,
        target_type="variant",
        target_id=variant_id,
        before=before,
        after=after,
    )

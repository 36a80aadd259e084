"""What orders asks of the catalog, over its gRPC API: the offer of a variant (published, priced
in the cart's currency), the variants of a cart as they are now (one call at checkout), and
holding or releasing an order's stock.

Catalog errors come back as domain errors (`raise_for_rpc_error`), so an out-of-stock
reservation reaches the orders client as the catalog's INSUFFICIENT with its shortages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import grpc

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora.orders.domain import CartLine, CatalogVariant
from agora.platform.errors import (
    FailedPrecondition,
    Gone,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from agora.platform.rpc.status import raise_for_rpc_error

StubSource = Callable[[], CatalogServiceStub]
# Call outcomes that say nothing about the request: the saga retries them without limit.
TRANSIENT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


def raise_for_call(error: grpc.aio.AioRpcError, service: str) -> NoReturn:
    """Re-raise a failed call as a domain error; an outage becomes `Unavailable` (retried)."""
    if error.code() in TRANSIENT_CODES:
        raise Unavailable(f"{service} is unavailable: {error.code().name}") from error
    raise_for_rpc_error(error)


@dataclass(frozen=True)
class Offer:
    """A variant as it may go into a cart: what it is and what one unit costs."""

    product_id: str
    variant_id: str
    sku: str
    title: str
    unit_price_minor: int


class Catalog:
    """The catalog service, reached through a stub taken afresh per call (its channel follows
    discovery)."""

    def __init__(self, stub: StubSource, *, timeout_s: float = 5.0) -> None:
        self._stub = stub
        self._timeout_s = timeout_s

    async def offer(self, product_id: str, variant_id: str, currency: str) -> Offer:
        """The variant's offer, or INVALID_ARGUMENT naming the unknown or unsellable one."""
        product = await self._product(product_id)
        if product.status != cpb.PRODUCT_STATUS_PUBLISHED:
            raise InvalidArgument.for_field("productId", f"product {product_id} is not for sale")
        variant = next((v for v in product.variants if v.id == variant_id), None)
        if variant is None:
            raise InvalidArgument.for_field("variantId", f"unknown variant {variant_id}")
        price = next((p for p in variant.prices if p.currency == currency), None)
        if price is None:
            raise InvalidArgument.for_field(
                "variantId", f"variant {variant_id} has no price in {currency}"
            )
        title = product.title if not variant.title else f"{product.title} ({variant.title})"
        return Offer(product.id, variant.id, variant.sku, title, price.amount_minor)

    async def variants_now(self, product_ids: Sequence[str]) -> dict[str, CatalogVariant]:
        """The variants of `product_ids` as the catalog has them now, by variant id, in one
        call: a variant is for sale while its product is published; a product or variant that
        no longer exists is absent."""
        request = cpb.GetProductsByIdRequest(ids=sorted(set(product_ids)))
        try:
            found: cpb.GetProductsByIdResponse = await self._stub().GetProductsById(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            raise_for_call(error, "catalog")
        return {
            variant.id: CatalogVariant(
                variant.id,
                product.status == cpb.PRODUCT_STATUS_PUBLISHED,
                {price.currency: price.amount_minor for price in variant.prices},
            )
            for product in found.products
            for variant in product.variants
        }

    async def _product(self, product_id: str) -> cpb.Product:
        try:
            product: cpb.Product = await self._stub().GetProductById(
                cpb.GetProductByIdRequest(id=product_id), timeout=self._timeout_s
            )
            return product
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument.for_field(
                    "productId", f"unknown product {product_id}"
                ) from error
            raise_for_rpc_error(error)

    async def reserve(self, order_id: str, lines: Sequence[CartLine], ttl_seconds: int) -> str:
        """Hold the order's stock (all lines or none); returns the reservation id.

        The idempotency key derives from the order, so a retried placement gets the same
        reservation back instead of holding the stock twice.
        """
        request = cpb.ReserveStockRequest(
            idempotency_key=f"orders:{order_id}:reserve",
            lines=[
                cpb.ReservationLine(variant_id=x.variant_id, quantity=x.quantity) for x in lines
            ],
            ttl_seconds=ttl_seconds,
            reference=order_id,
        )
        try:
            reservation: cpb.Reservation = await self._stub().ReserveStock(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            raise_for_rpc_error(error)
        return reservation.id

    async def release(self, order_id: str, reservation_id: str) -> None:
        """Make the order's stock available again; a reservation already ended stays ended."""
        request = cpb.ReleaseReservationRequest(
            idempotency_key=f"orders:{order_id}:release", id=reservation_id
        )
        try:
            await self._stub().ReleaseReservation(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            try:
                raise_for_rpc_error(error)
            except (FailedPrecondition, Gone, NotFound):
                return  # expired, committed or released already: nothing is held any more

    async def commit(self, order_id: str, reservation_id: str) -> None:
        """Turn the paid order's reservation into a sale (stock leaves on_hand for good).

        The key derives from the order, so a retried commit is answered, not repeated.
        """
        request = cpb.CommitReservationRequest(
            idempotency_key=f"orders:{order_id}:commit", id=reservation_id
        )
        try:
            await self._stub().CommitReservation(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            raise_for_call(error, "catalog")

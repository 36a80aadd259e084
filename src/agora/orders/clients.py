"""The services orders calls, over their gRPC APIs (generated stubs only: orders never imports
another service's code): the catalog (offers, the variants of a cart as they are now, holding
and releasing an order's stock) and payments (an order's invoice, cancelling it, refunds).

Every call that changes something has an idempotency key derived from the order, so a retried
placement or a repeated saga step gets the same reservation or invoice back, not a second one.
Failures come back as domain errors (an out-of-stock reservation is the catalog's INSUFFICIENT
with its shortages); an outage becomes `Unavailable`, which the consumers retry without limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

import grpc

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.orders.aggregate import Order, refund_in_pay_currency
from agora.orders.domain import CartLine, CatalogVariant, Offer, invoice_provider
from agora.platform.errors import (
    DomainError,
    FailedPrecondition,
    Gone,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from agora.platform.rpc.status import raise_for_rpc_error

CatalogStubSource = Callable[[], CatalogServiceStub]
PaymentsStubSource = Callable[[], PaymentsServiceStub]
# Call outcomes that say nothing about the request: the saga retries them without limit.
TRANSIENT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


def _raise_for_call(error: grpc.aio.AioRpcError, service: str) -> NoReturn:
    """Re-raise a failed call as a domain error; an outage becomes `Unavailable` (retried)."""
    if error.code() in TRANSIENT_CODES:
        raise Unavailable(f"{service} is unavailable: {error.code().name}") from error
    raise_for_rpc_error(error)


async def _end(call: Awaitable[object], service: str, *ended: type[DomainError]) -> None:
    """Make `call`, which ends something; refusals of the kinds `ended` mean it has ended
    already (the wanted outcome, so a repeated step is harmless)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        try:
            _raise_for_call(error, service)
        except ended:
            return


class Catalog:
    """The catalog service, reached through a stub taken afresh per call (its channel follows
    discovery)."""

    def __init__(self, stub: CatalogStubSource, *, timeout_s: float = 5.0) -> None:
        self._stub = stub
        self._timeout_s = timeout_s

    async def offer(self, product_id: str, variant_id: str, currency: str) -> Offer:
        """The variant's offer, or INVALID_ARGUMENT naming the unknown or unsellable one (the
        product is the variant's when `product_id` is empty)."""
        if not product_id:
            product_id = await self._product_of_variant(variant_id)
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
            _raise_for_call(error, "catalog")
        return {
            variant.id: CatalogVariant(
                variant.id,
                product.status == cpb.PRODUCT_STATUS_PUBLISHED,
                {price.currency: price.amount_minor for price in variant.prices},
            )
            for product in found.products
            for variant in product.variants
        }

    async def _product_of_variant(self, variant_id: str) -> str:
        try:
            found: cpb.GetProductsByIdResponse = await self._stub().GetProductsById(
                cpb.GetProductsByIdRequest(variant_ids=[variant_id]), timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            _raise_for_call(error, "catalog")
        if not found.products:
            raise InvalidArgument.for_field("variantId", f"unknown variant {variant_id}")
        return str(found.products[0].id)

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
        """Hold the order's stock (all lines or none); returns the reservation id."""
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
        """Make the order's stock available again; a reservation already expired, committed or
        released stays as it is."""
        request = cpb.ReleaseReservationRequest(
            idempotency_key=f"orders:{order_id}:release", id=reservation_id
        )
        call = self._stub().ReleaseReservation(request, timeout=self._timeout_s)
        await _end(call, "catalog", FailedPrecondition, Gone, NotFound)

    async def restock(self, order_id: str, reservation_id: str) -> None:
        """Put a paid order's stock back on the shelf once it is cancelled: its committed
        reservation restocked (keyed by the order: once). One the commit never reached (the
        cancellation overtook it) is released instead; if the commit lands meanwhile, the
        release is refused and the restock tried again. One restocked, released or expired
        already stays as it is."""
        for _ in range(2):
            try:
                await self._end_as(order_id, reservation_id, "restock")
                return
            except FailedPrecondition as refused:
                if refused.metadata.get("status") != "active":
                    return
            try:
                await self._end_as(order_id, reservation_id, "release")
                return
            except FailedPrecondition as refused:
                if refused.metadata.get("status") != "committed":
                    return
        raise Unavailable(f"the reservation of order {order_id} keeps changing: retried later")

    async def _end_as(self, order_id: str, reservation_id: str, action: str) -> None:
        """Restock or release the order's reservation; FAILED_PRECONDITION as such (its
        metadata names the status), gone or unknown as done."""
        key = f"orders:{order_id}:{action}"
        stub = self._stub()
        call = (
            stub.RestockReservation(
                cpb.RestockReservationRequest(idempotency_key=key, id=reservation_id),
                timeout=self._timeout_s,
            )
            if action == "restock"
            else stub.ReleaseReservation(
                cpb.ReleaseReservationRequest(idempotency_key=key, id=reservation_id),
                timeout=self._timeout_s,
            )
        )
        await _end(call, "catalog", Gone, NotFound)

    async def commit(self, order_id: str, reservation_id: str) -> None:
        """Turn the paid order's reservation into a sale (stock leaves on_hand for good)."""
        request = cpb.CommitReservationRequest(
            idempotency_key=f"orders:{order_id}:commit", id=reservation_id
        )
        try:
            await self._stub().CommitReservation(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            _raise_for_call(error, "catalog")


@dataclass(frozen=True)
class PaymentsRefund:
    """A refund payments made: its id, and what it gives back in the invoice's pay currency
    (`pay_amount` base units of `pay_currency`, which has `decimals`)."""

    id: str
    invoice_id: str
    pay_amount: int
    pay_currency: str
    decimals: int


class Payments:
    """The payments service, reached through a stub taken afresh per call (its channel follows
    discovery or `AGORA_PAYMENTS_ADDRESS`)."""

    def __init__(
        self, stub: PaymentsStubSource, *, invoice_expiry_s: int, timeout_s: float = 5.0
    ) -> None:
        self._stub = stub
        self._invoice_expiry_s = invoice_expiry_s
        self._timeout_s = timeout_s

    async def create_invoice(self, order: Order) -> str:
        """The id of the order's invoice: its total, payable in the order's pay currency (its
        own, or a chain token through the `chain` provider); the order's customer (none for a
        guest) is the one who may read it in full. A refusal (INVALID_ARGUMENT,
        FAILED_PRECONDITION) comes back as that domain error."""
        pay_currency = order.placed.invoice_pay_currency
        request = ppb.CreateInvoiceRequest(
            idempotency_key=f"orders:{order.id}:invoice",
            reference=order.id,
            price=Money(amount_minor=order.total_minor, currency=order.placed.currency),
            pay_currency=pay_currency,
            provider=invoice_provider(pay_currency),
            expires_in_seconds=self._invoice_expiry_s,
            customer_id=order.placed.customer_id,
        )
        try:
            invoice: ppb.Invoice = await self._stub().CreateInvoice(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            _raise_for_call(error, "payments")
        return invoice.id

    async def cancel_invoice(self, order_id: str, invoice_id: str) -> None:
        """Stop the invoice of an order that ended unpaid from taking any more money; an
        invoice already settled, expired or cancelled stays as it is."""
        request = ppb.CancelInvoiceRequest(
            idempotency_key=f"orders:{order_id}:cancel-invoice", id=invoice_id
        )
        call = self._stub().CancelInvoice(request, timeout=self._timeout_s)
        await _end(call, "payments", FailedPrecondition, Gone)

    async def refund(self, order: Order, amount_minor: int, reason: str) -> PaymentsRefund:
        """Refund `amount_minor` of the order's currency from its invoice, converted to the pay
        currency at the invoice's locked rate (`refund_in_pay_currency`).

        The key derives from the order and how much of it was refunded before, so a retry of the
        same refund after a failed commit gets payments' first refund back, never a second one
        (the same key with another reason is refused by payments: IDEMPOTENCY_KEY_REUSED)."""
        payment = await self._invoice_payment(order.invoice_id)
        pay_amount = refund_in_pay_currency(
            price_minor=payment.price.amount_minor,
            due=int(payment.due.base_units),
            refunded_minor=order.refunded_minor,
            amount_minor=amount_minor,
        )
        if pay_amount <= 0:
            raise InvalidArgument.for_field(
                "amount.amountMinor", f"too small to refund in {payment.pay_currency}"
            )
        request = ppb.RefundInvoiceRequest(
            idempotency_key=f"orders:{order.id}:refund:{order.refunded_minor}+{amount_minor}",
            id=order.invoice_id,
            amount=str(pay_amount),
            reason=reason,
        )
        try:
            made: ppb.RefundInvoiceResponse = await self._stub().RefundInvoice(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            _raise_for_call(error, "payments")
        return PaymentsRefund(
            id=made.refund.id,
            invoice_id=order.invoice_id,
            pay_amount=int(made.refund.amount.base_units),
            pay_currency=made.refund.amount.asset,
            decimals=made.refund.amount.decimals,
        )

    async def _invoice_payment(self, invoice_id: str) -> ppb.InvoicePayment:
        """The invoice's price and what was due for it (its public payment view)."""
        request = ppb.GetInvoicePaymentRequest(id=invoice_id)
        try:
            payment: ppb.InvoicePayment = await self._stub().GetInvoicePayment(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            _raise_for_call(error, "payments")
        return payment

"""The checkout saga, orchestrated by orders: each step is a durable consumer reacting to one
event, deciding with the `Order` aggregate's commands and recording its progress as the
order's own events (so a crash anywhere resumes where the event store says it stands).

    orders.order.placed        -> InvoiceRequest: create the invoice at payments,
                                  append AwaitingPayment(invoice_id)
    payments.invoice.settled   -> PaymentOutcome: append OrderPaid
    payments.invoice.expired   -> PaymentOutcome: append OrderExpired  (StockRelease releases)
    payments.invoice.invalid   -> PaymentOutcome: append OrderCancelled (StockRelease releases)
    payments.payment.withdrawn -> PaymentOutcome: a paid order whose invoice no longer settles
                                  (a chain reorg) gets PaymentAtRisk: still paid, its stock
                                  still sold, fulfilment refused; PaymentRestored when the
                                  invoice settles again
    orders.order.paid          -> StockCommit: commit the catalog reservation (unless staff
                                  cancelled the paid order before: StockRelease releases it)
    orders.order.cancelled     -> InvoiceCancellation: cancel the order's open invoice

Every remote call has an idempotency key derived from the order, and every append first
checks the order's state, so a redelivered or repeated step changes nothing. Outages of
payments or the catalog raise `Unavailable`: the consumer retries them without limit.

Paid late: payments keeps an invoice paid after its expiry `expired` (flag `paid_late`), so
the order has already expired and its stock is released. The order stays expired; the
remedy is a refund at payments (`RefundInvoice`). The same holds for a settlement that
reaches an order cancelled meanwhile: the order is never revived, the money is refunded.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora._proto.agora.payments.v1 import events_pb2 as payment_events
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.orders import store
from agora.orders.aggregate import Order, OrderEvent, OrderStatus
from agora.orders.clients import Catalog, Payments
from agora.orders.events import ORDER_CANCELLED, ORDER_PAID, ORDER_PLACED, STREAM
from agora.platform.bus.envelope import decode
from agora.platform.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound
from agora.platform.kernel.checks import canonical_id
from agora.platform.kernel.clock import utcnow

log = structlog.get_logger(__name__)

PAYMENTS_STREAM = "PAYMENTS"
INVOICE_SETTLED = "payments.invoice.settled"
INVOICE_EXPIRED = "payments.invoice.expired"
INVOICE_INVALID = "payments.invoice.invalid"
PAYMENT_WITHDRAWN = "payments.payment.withdrawn"
APPEND_ATTEMPTS = 3
_ENDED = (OrderStatus.CANCELLED, OrderStatus.EXPIRED)

Decide = Callable[[Order], list[OrderEvent]]


async def change_order(
    session: AsyncSession, order_id: str, decide: Decide, *, loaded: Order | None = None
) -> Order:
    """Load the order (or start from `loaded`), decide its new events, append them; on a
    concurrent append, reload and decide again. A conflicting append writes nothing and leaves
    the transaction usable (see `store.append`), so the inbox record survives it."""
    order = loaded
    for _ in range(APPEND_ATTEMPTS):
        if order is None:
            order = (await store.load(session, order_id)).order
        new_events = decide(order)
        if not new_events:
            return order
        try:
            return await store.append(
                session,
                order_id,
                new_events,
                expected_version=order.version,
                before=order,
                occurred_at=utcnow(),
            )
        except Conflict:
            log.info("saga_append_conflict", order_id=order_id)
            order = None
    raise Conflict(f"order {order_id} keeps changing concurrently")


class InvoiceRequest:
    """Placed order -> invoice at payments -> AwaitingPayment(invoice_id)."""

    name = "orders-saga-invoice"
    stream = STREAM
    filter_subjects = [ORDER_PLACED]

    def __init__(self, payments: Payments) -> None:
        self._payments = payments

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Create the order's invoice (once: keyed by the order) and record that it waits."""
        order_id = decode(envelope, ev.OrderPlaced).order_id
        order = (await store.load(session, order_id)).order
        if order.status is not OrderStatus.PLACED:
            return  # moved on already: a redelivery, or paid/cancelled in the meantime
        try:
            invoice_id = await self._payments.create_invoice(order)
        except (InvalidArgument, FailedPrecondition, NotFound) as refusal:
            # Payments will never invoice this order: end it, so its stock is released.
            reason = f"no invoice: {refusal.message}"
            await change_order(session, order_id, _cancel(reason), loaded=order)
            return
        # The order as loaded before the call: a change meanwhile makes the append conflict,
        # and change_order then decides again on the reloaded order.
        after = await change_order(session, order_id, _await_payment(invoice_id), loaded=order)
        if after.status in _ENDED:
            # Cancelled while its invoice was being made: that invoice must not take money.
            await self._payments.cancel_invoice(order_id, invoice_id)


class PaymentOutcome:
    """An invoice settled, expired or cancelled at payments -> the order paid, expired or
    cancelled (an event about an invoice that is not an order's is ignored)."""

    name = "orders-saga-payment"
    stream = PAYMENTS_STREAM
    filter_subjects = [INVOICE_SETTLED, INVOICE_EXPIRED, INVOICE_INVALID, PAYMENT_WITHDRAWN]
    # One transaction per fetched batch (a savepoint per event, in stream order): the handler
    # touches only this service's database, and most of payments' invoices are no order's, so
    # the per-event transaction cost more than the handler (docs/benchmarks.md, bench chain).
    batched = True

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Move the invoice's order to where the invoice's outcome leads."""
        invoice = _invoice_of(envelope)
        order_id = _order_id(invoice.reference)
        if order_id is None:
            return
        try:
            if envelope.subject == INVOICE_SETTLED:
                await change_order(session, order_id, _paid(invoice.id))
            elif envelope.subject == PAYMENT_WITHDRAWN:
                if invoice.status != ppb.INVOICE_STATUS_SETTLED:
                    await change_order(session, order_id, _at_risk(invoice))
            elif envelope.subject == INVOICE_EXPIRED:
                await change_order(session, order_id, _unpaid(invoice.id, expired=True))
            else:
                await change_order(session, order_id, _unpaid(invoice.id, expired=False))
        except NotFound:
            log.info("invoice_of_no_order", invoice_id=invoice.id, reference=invoice.reference)


class StockCommit:
    """Paid order -> its catalog reservation committed (the stock is sold)."""

    name = "orders-stock-commit"
    stream = STREAM
    filter_subjects = [ORDER_PAID]

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Commit the paid order's reservation (keyed by the order: once)."""
        order_id = decode(envelope, ev.OrderPaid).order_id
        order = (await store.load(session, order_id)).order
        if order.status is OrderStatus.CANCELLED:
            return  # cancelled by staff since: StockRelease gives its stock back
        try:
            await self._catalog.commit(order_id, order.placed.reservation_id)
        except FailedPrecondition:
            # Released meanwhile by a cancellation that raced this step: nothing to sell.
            if (await store.load(session, order_id)).order.status is not OrderStatus.CANCELLED:
                raise


class InvoiceCancellation:
    """Cancelled order -> its invoice cancelled, so that no payment can settle it any more."""

    name = "orders-saga-invoice-cancel"
    stream = STREAM
    filter_subjects = [ORDER_CANCELLED]

    def __init__(self, payments: Payments) -> None:
        self._payments = payments

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        """Cancel the order's invoice, if it has one still open."""
        order_id = decode(envelope, ev.OrderCancelled).order_id
        order = (await store.load(session, order_id)).order
        if order.invoice_id:
            await self._payments.cancel_invoice(order_id, order.invoice_id)


# --- decisions: pure, from the order's state -------------------------------------------------


def _await_payment(invoice_id: str) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        if order.status is not OrderStatus.PLACED:
            return []
        return [order.await_payment(invoice_id)]

    return decide


def _paid(invoice_id: str) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        if order.status is OrderStatus.PLACED:
            # Settled before AwaitingPayment was recorded (a crash in between): record both.
            awaiting = order.await_payment(invoice_id)
            return [awaiting, order.apply(awaiting).mark_paid(invoice_id)]
        if order.status is OrderStatus.AWAITING_PAYMENT and order.invoice_id == invoice_id:
            return [order.mark_paid(invoice_id)]
        if order.status in _ENDED:
            log.warning(
                "order_paid_after_it_ended",
                order_id=order.id,
                invoice_id=invoice_id,
                status=order.status.value,
                remedy="refund the invoice at payments",
            )
        # Paid already (settled again after a withdrawal: the hold ends), or another invoice.
        return list(order.payment_settled_again(invoice_id))

    return decide


def _at_risk(invoice: ppb.Invoice) -> Decide:
    status = ppb.InvoiceStatus.Name(invoice.status).removeprefix("INVOICE_STATUS_").lower()
    reason = f"a payment was withdrawn (chain reorg); the invoice is {status}"

    def decide(order: Order) -> list[OrderEvent]:
        return list(order.payment_withdrawn(invoice.id, reason))

    return decide


def _unpaid(invoice_id: str, *, expired: bool) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        waits_for_it = order.status is OrderStatus.PLACED or (
            order.status is OrderStatus.AWAITING_PAYMENT and order.invoice_id == invoice_id
        )
        if not waits_for_it:
            return []
        if expired:
            return [order.expire("the invoice expired unpaid")]
        return [order.cancel("the invoice was cancelled")]

    return decide


def _cancel(reason: str) -> Decide:
    def decide(order: Order) -> list[OrderEvent]:
        if order.status is not OrderStatus.PLACED:
            return []
        return [order.cancel(reason)]

    return decide


def _invoice_of(envelope: EventEnvelope) -> ppb.Invoice:
    if envelope.subject == INVOICE_SETTLED:
        return decode(envelope, payment_events.InvoiceSettled).invoice
    if envelope.subject == INVOICE_EXPIRED:
        return decode(envelope, payment_events.InvoiceExpired).invoice
    if envelope.subject == PAYMENT_WITHDRAWN:
        return decode(envelope, payment_events.PaymentWithdrawn).invoice
    return decode(envelope, payment_events.InvoiceInvalid).invoice


def _order_id(reference: str) -> str | None:
    """The order an invoice is for: orders make invoices referencing the order id."""
    return canonical_id(reference)

"""The order as an event-sourced aggregate: its events, the fold that gives its state, and the
commands that produce new events. Pure: no I/O.

State machine (the explicit table `TRANSITIONS`):

    placed -> awaiting_payment -> paid -> fulfilled -> shipped -> delivered
    placed | awaiting_payment -> cancelled | expired
    paid | fulfilled | shipped | delivered -> refunded (a full refund)

A partial refund keeps the order's state and adds to its refunded amount; the refund that
brings the refunded amount to the order's total is a full refund. Anything else is refused
with FAILED_PRECONDITION.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from agora.orders.domain import Address, CartLine, Totals
from agora.platform.errors import FailedPrecondition, InvalidArgument


class OrderStatus(Enum):
    PLACED = "placed"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class OrderCommand(Enum):
    AWAIT_PAYMENT = "await_payment"
    MARK_PAID = "mark_paid"
    FULFIL = "fulfil"
    SHIP = "ship"
    DELIVER = "deliver"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND_PARTIALLY = "refund_partially"
    REFUND_FULLY = "refund_fully"


S, C = OrderStatus, OrderCommand
_REFUNDABLE = (S.PAID, S.FULFILLED, S.SHIPPED, S.DELIVERED)

# (state, command) -> the state after it. A pair that is not here is an illegal transition.
TRANSITIONS: dict[tuple[OrderStatus, OrderCommand], OrderStatus] = {
    (S.PLACED, C.AWAIT_PAYMENT): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, C.MARK_PAID): S.PAID,
    (S.PAID, C.FULFIL): S.FULFILLED,
    (S.FULFILLED, C.SHIP): S.SHIPPED,
    (S.SHIPPED, C.DELIVER): S.DELIVERED,
    (S.PLACED, C.CANCEL): S.CANCELLED,
    (S.AWAITING_PAYMENT, C.CANCEL): S.CANCELLED,
    (S.PLACED, C.EXPIRE): S.EXPIRED,
    (S.AWAITING_PAYMENT, C.EXPIRE): S.EXPIRED,
    **{(state, C.REFUND_PARTIALLY): state for state in _REFUNDABLE},
    **{(state, C.REFUND_FULLY): S.REFUNDED for state in _REFUNDABLE},
}


# What a refused command would have done, in the API's words (for error messages).
_REFUSED: dict[OrderCommand, str] = {
    C.AWAIT_PAYMENT: "wait for a payment",
    C.MARK_PAID: "be paid",
    C.FULFIL: "be fulfilled",
    C.SHIP: "be shipped",
    C.DELIVER: "be delivered",
    C.CANCEL: "be cancelled",
    C.EXPIRE: "expire",
    C.REFUND_PARTIALLY: "be refunded",
    C.REFUND_FULLY: "be refunded",
}


def next_status(status: OrderStatus, command: OrderCommand) -> OrderStatus:
    """The state `command` leads to from `status`, or FAILED_PRECONDITION saying why in the
    API's words (metadata `status`: the `ORDER_STATUS_…` name)."""
    target = TRANSITIONS.get((status, command))
    if target is None:
        raise FailedPrecondition(
            f"the order is {status.value.replace('_', ' ')} and cannot {_REFUSED[command]}",
            metadata={"status": f"ORDER_STATUS_{status.name}"},
        )
    return target


# --- events --------------------------------------------------------------------------------


# An order keeps its cart's lines as they were when it was placed.
OrderLine = CartLine


@dataclass(frozen=True)
class OrderPlaced:
    order_id: str
    cart_id: str
    customer_id: str
    currency: str
    lines: tuple[OrderLine, ...]
    totals: Totals
    shipping_address: Address
    shipping_method: str
    shipping_method_name: str
    reservation_id: str
    # The invoice's pay currency (`domain.pay_currency`): `currency` or a chain token.
    pay_currency: str = ""

    @property
    def invoice_pay_currency(self) -> str:
        return self.pay_currency or self.currency


@dataclass(frozen=True)
class AwaitingPayment:
    invoice_id: str


@dataclass(frozen=True)
class OrderPaid:
    invoice_id: str


@dataclass(frozen=True)
class PaymentAtRisk:
    """The paid order's invoice no longer settles (its payment was withdrawn: a chain reorg)."""

    invoice_id: str
    reason: str


@dataclass(frozen=True)
class PaymentRestored:
    """The invoice of an order at risk settled again."""

    invoice_id: str


@dataclass(frozen=True)
class OrderFulfilled:
    pass


@dataclass(frozen=True)
class OrderShipped:
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class OrderDelivered:
    pass


@dataclass(frozen=True)
class OrderCancelled:
    reason: str


@dataclass(frozen=True)
class OrderExpired:
    reason: str


@dataclass(frozen=True)
class OrderRefunded:
    """`amount_minor` refunded now; `full` when the order's whole total is refunded by now."""

    amount_minor: int
    full: bool
    refund_id: str = ""


OrderEvent = (
    OrderPlaced
    | AwaitingPayment
    | OrderPaid
    | OrderFulfilled
    | OrderShipped
    | OrderDelivered
    | OrderCancelled
    | OrderExpired
    | OrderRefunded
    | PaymentAtRisk
    | PaymentRestored
)


# --- the aggregate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """An order's state: the fold of its events. `version` is how many events it has."""

    placed: OrderPlaced
    status: OrderStatus = OrderStatus.PLACED
    version: int = 1
    invoice_id: str = ""
    refunded_minor: int = 0
    carrier: str = ""
    tracking_number: str = ""
    closing_reason: str = ""
    payment_at_risk: bool = False

    @property
    def id(self) -> str:
        return self.placed.order_id

    @property
    def total_minor(self) -> int:
        return self.placed.totals.total

    @staticmethod
    def replay(events: Iterable[OrderEvent]) -> Order:
        """The state after `events`, which must start with OrderPlaced."""
        iterator = iter(events)
        first = next(iterator, None)
        if not isinstance(first, OrderPlaced):
            raise ValueError("an order's history starts with OrderPlaced")
        order = Order(placed=first)
        for event in iterator:
            order = order.apply(event)
        return order

    def apply(self, event: OrderEvent) -> Order:
        """The state after one more event (events are facts: applied without checks)."""
        version = self.version + 1
        match event:
            case OrderPlaced():
                raise ValueError("an order is placed once")
            case AwaitingPayment(invoice_id=invoice_id):
                return replace(
                    self, status=S.AWAITING_PAYMENT, invoice_id=invoice_id, version=version
                )
            case OrderPaid(invoice_id=invoice_id):
                return replace(
                    self, status=S.PAID, invoice_id=invoice_id or self.invoice_id, version=version
                )
            case OrderFulfilled():
                return replace(self, status=S.FULFILLED, version=version)
            case OrderShipped(carrier=carrier, tracking_number=tracking):
                return replace(
                    self,
                    status=S.SHIPPED,
                    carrier=carrier,
                    tracking_number=tracking,
                    version=version,
                )
            case OrderDelivered():
                return replace(self, status=S.DELIVERED, version=version)
            case OrderCancelled(reason=reason):
                return replace(self, status=S.CANCELLED, closing_reason=reason, version=version)
            case OrderExpired(reason=reason):
                return replace(self, status=S.EXPIRED, closing_reason=reason, version=version)
            case PaymentAtRisk():
                return replace(self, payment_at_risk=True, version=version)
            case PaymentRestored():
                return replace(self, payment_at_risk=False, version=version)
            case OrderRefunded(amount_minor=amount, full=full):
                return replace(
                    self,
                    status=S.REFUNDED if full else self.status,
                    refunded_minor=self.refunded_minor + amount,
                    version=version,
                )

    # --- commands: each checks the table, then returns the event to append ---------------

    def await_payment(self, invoice_id: str) -> AwaitingPayment:
        next_status(self.status, C.AWAIT_PAYMENT)
        return AwaitingPayment(invoice_id=_required(invoice_id, "invoiceId"))

    def mark_paid(self, invoice_id: str) -> OrderPaid:
        next_status(self.status, C.MARK_PAID)
        if invoice_id and self.invoice_id and invoice_id != self.invoice_id:
            raise FailedPrecondition(f"order {self.id} awaits invoice {self.invoice_id}")
        return OrderPaid(invoice_id=invoice_id or self.invoice_id)

    def fulfil(self) -> OrderFulfilled:
        next_status(self.status, C.FULFIL)
        if self.payment_at_risk:
            raise FailedPrecondition(
                f"order {self.id}: its payment was withdrawn; hold until the invoice settles again"
            )
        return OrderFulfilled()

    def payment_withdrawn(self, invoice_id: str, reason: str) -> list[PaymentAtRisk]:
        """A paid (or later) order whose invoice no longer settles is flagged, once; it stays
        paid (refunds and staff decide what follows)."""
        if self.status not in _REFUNDABLE or self.payment_at_risk or invoice_id != self.invoice_id:
            return []
        return [PaymentAtRisk(invoice_id=invoice_id, reason=reason.strip())]

    def payment_settled_again(self, invoice_id: str) -> list[PaymentRestored]:
        """The flag cleared when the order's invoice settles again."""
        if not self.payment_at_risk or invoice_id != self.invoice_id:
            return []
        return [PaymentRestored(invoice_id=invoice_id)]

    def ship(self, carrier: str, tracking_number: str) -> OrderShipped:
        next_status(self.status, C.SHIP)
        return OrderShipped(carrier=carrier.strip(), tracking_number=tracking_number.strip())

    def deliver(self) -> OrderDelivered:
        next_status(self.status, C.DELIVER)
        return OrderDelivered()

    def cancel(self, reason: str = "") -> OrderCancelled:
        next_status(self.status, C.CANCEL)
        return OrderCancelled(reason=reason.strip())

    def expire(self, reason: str = "") -> OrderExpired:
        next_status(self.status, C.EXPIRE)
        return OrderExpired(reason=reason.strip())

    def refund(self, amount_minor: int, refund_id: str = "") -> OrderRefunded:
        """A refund of `amount_minor` (at most what is not refunded yet)."""
        remaining = self.total_minor - self.refunded_minor
        full = amount_minor == remaining
        next_status(self.status, C.REFUND_FULLY if full else C.REFUND_PARTIALLY)
        if not 0 < amount_minor <= remaining:
            raise InvalidArgument.for_field(
                "amount.amountMinor", f"must be between 1 and the refundable {remaining}"
            )
        return OrderRefunded(amount_minor=amount_minor, full=full, refund_id=refund_id)


@dataclass(frozen=True)
class History:
    """An order's state with the times of its first and last events."""

    order: Order
    placed_at: datetime
    updated_at: datetime


def _required(value: str, path: str) -> str:
    if not value.strip():
        raise InvalidArgument.for_field(path, "required")
    return value.strip()

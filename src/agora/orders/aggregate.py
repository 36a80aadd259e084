"""The order as an event-sourced aggregate: its events, the fold that gives its state, and the
commands that produce new events. Pure: no I/O.

State machine (the explicit table `TRANSITIONS`):

    placed -> awaiting_payment -> paid -> fulfilled -> shipped -> delivered
    placed | awaiting_payment -> cancelled | expired
    paid | fulfilled | shipped | delivered -> refunded (a full refund)
    shipped | delivered -> the same state with a return requested (the customer sends lines back)

A partial refund keeps the order's state and adds to its refunded amount; the refund that
brings the refunded amount to the order's total is a full refund. Anything else is refused
with FAILED_PRECONDITION.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from agora.orders.domain import Address, CartLine, Totals
from agora.platform.errors import FailedPrecondition, InvalidArgument, PreconditionViolation
from agora.platform.kernel.checks import require_text


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
    REQUEST_RETURN = "request_return"


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
    (S.SHIPPED, C.REQUEST_RETURN): S.SHIPPED,
    (S.DELIVERED, C.REQUEST_RETURN): S.DELIVERED,
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
    C.REQUEST_RETURN: "be sent back",
}

MAX_RETURN_REASON = 2000
MAX_RETURN_LINES = 100


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


class ReturnStatus(Enum):
    """A return request's state: requested until staff approve or reject it."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReturnLine:
    """`quantity` of the ordered `variant_id` to send back."""

    variant_id: str
    quantity: int


@dataclass(frozen=True)
class ReturnRequested:
    """The customer asked to send `lines` back (staff approve or reject it later)."""

    return_id: str
    lines: tuple[ReturnLine, ...]
    reason: str


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
    | ReturnRequested
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
    # Every return the customer asked for, oldest first (none is decided yet: a rejection,
    # once it exists, gives its lines back to what may still be returned).
    returns: tuple[ReturnRequested, ...] = ()

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
            case ReturnRequested():
                return replace(self, returns=(*self.returns, event), version=version)
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

    def returnable(self) -> dict[str, int]:
        """Per ordered variant, how many may still be asked back: ordered minus asked."""
        left = {line.variant_id: line.quantity for line in self.placed.lines}
        for requested in self.returns:
            for line in requested.lines:
                left[line.variant_id] = left.get(line.variant_id, 0) - line.quantity
        return left

    def request_return(
        self, return_id: str, lines: Sequence[ReturnLine], reason: str
    ) -> ReturnRequested:
        """Ask to send `lines` back (every line still returnable, in full, when empty)."""
        next_status(self.status, C.REQUEST_RETURN)
        reason = require_text(reason, "reason", max_len=MAX_RETURN_REASON, required=False)
        left = self.returnable()
        if not lines:
            lines = [ReturnLine(v, n) for v, n in left.items() if n > 0]
            if not lines:
                raise FailedPrecondition(
                    f"every line of order {self.id} was already asked back",
                    metadata={"field": "lines"},
                )
        return ReturnRequested(
            return_id=_required(return_id, "returnId"),
            lines=_checked_return_lines(lines, left),
            reason=reason.strip(),
        )


@dataclass(frozen=True)
class History:
    """An order's state with the times of its first and last events."""

    order: Order
    placed_at: datetime
    updated_at: datetime


def _checked_return_lines(
    lines: Sequence[ReturnLine], left: dict[str, int]
) -> tuple[ReturnLine, ...]:
    """`lines` if each names an ordered variant once, with 1..what may still be returned;
    INVALID_ARGUMENT for a malformed line, FAILED_PRECONDITION for a variant not ordered or
    more than may still be returned."""
    if len(lines) > MAX_RETURN_LINES:
        raise InvalidArgument.for_field("lines", f"at most {MAX_RETURN_LINES} lines")
    seen: set[str] = set()
    for index, line in enumerate(lines):
        path = f"lines[{index}]"
        if line.variant_id in seen:
            raise InvalidArgument.for_field(f"{path}.variantId", "named twice")
        seen.add(line.variant_id)
        if line.variant_id not in left:
            raise FailedPrecondition(
                f"{path}.variantId: variant {line.variant_id} is not a line of the order",
                metadata={"field": f"{path}.variantId"},
                preconditions=[
                    PreconditionViolation("NOT_IN_ORDER", line.variant_id, "not ordered")
                ],
            )
        if line.quantity < 1:
            raise InvalidArgument.for_field(f"{path}.quantity", "at least 1")
        if line.quantity > left[line.variant_id]:
            available = max(left[line.variant_id], 0)
            raise FailedPrecondition(
                f"{path}.quantity: at most {available} more of variant {line.variant_id} "
                "can be returned",
                metadata={"field": f"{path}.quantity", "returnable": str(available)},
                preconditions=[
                    PreconditionViolation(
                        "RETURN_QUANTITY",
                        line.variant_id,
                        f"{line.quantity} asked, {available} returnable",
                    )
                ],
            )
    return tuple(lines)


def _required(value: str, path: str) -> str:
    if not value.strip():
        raise InvalidArgument.for_field(path, "required")
    return value.strip()

"""The order as an event-sourced aggregate: its events, the fold that gives its state, and the
commands that produce new events. Pure: no I/O.

State machine (the explicit table `TRANSITIONS`):

    placed -> awaiting_payment -> paid -> fulfilled -> shipped -> delivered
    paid -> paid with some lines fulfilled (a partial fulfilment), until every line is
    placed | awaiting_payment -> cancelled | expired
    paid | fulfilled -> cancelled by staff, refunded in full (cancel after payment)
    paid | fulfilled | shipped | delivered -> refunded (a full refund)
    shipped | delivered -> the same state with a return requested (the customer sends lines back)
    shipped | delivered | refunded -> the same state with a return approved or rejected

A partial refund keeps the order's state and adds to its refunded amount; the refund that
brings the refunded amount to the order's total is a full refund. A partial fulfilment
(`OrderLinesFulfilled`) keeps the order paid; the one that fulfils the last line is followed
by `OrderFulfilled`. Anything else is refused with FAILED_PRECONDITION.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TypeVar
from urllib.parse import urlsplit

from agora.orders.domain import Address, CartLine, Totals
from agora.platform.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
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
    FULFIL_PARTIALLY = "fulfil_partially"
    SHIP = "ship"
    DELIVER = "deliver"
    CANCEL = "cancel"
    CANCEL_PAID = "cancel_paid"
    EXPIRE = "expire"
    REFUND_PARTIALLY = "refund_partially"
    REFUND_FULLY = "refund_fully"
    REQUEST_RETURN = "request_return"
    APPROVE_RETURN = "approve_return"
    REJECT_RETURN = "reject_return"


S, C = OrderStatus, OrderCommand
_REFUNDABLE = (S.PAID, S.FULFILLED, S.SHIPPED, S.DELIVERED)
_RETURN_DECIDABLE = (S.SHIPPED, S.DELIVERED, S.REFUNDED)

# (state, command) -> the state after it. A pair that is not here is an illegal transition.
TRANSITIONS: dict[tuple[OrderStatus, OrderCommand], OrderStatus] = {
    (S.PLACED, C.AWAIT_PAYMENT): S.AWAITING_PAYMENT,
    (S.AWAITING_PAYMENT, C.MARK_PAID): S.PAID,
    (S.PAID, C.FULFIL): S.FULFILLED,
    (S.PAID, C.FULFIL_PARTIALLY): S.PAID,
    (S.FULFILLED, C.SHIP): S.SHIPPED,
    (S.SHIPPED, C.DELIVER): S.DELIVERED,
    (S.PLACED, C.CANCEL): S.CANCELLED,
    (S.AWAITING_PAYMENT, C.CANCEL): S.CANCELLED,
    (S.PAID, C.CANCEL_PAID): S.CANCELLED,
    (S.FULFILLED, C.CANCEL_PAID): S.CANCELLED,
    (S.PLACED, C.EXPIRE): S.EXPIRED,
    (S.AWAITING_PAYMENT, C.EXPIRE): S.EXPIRED,
    **{(state, C.REFUND_PARTIALLY): state for state in _REFUNDABLE},
    **{(state, C.REFUND_FULLY): S.REFUNDED for state in _REFUNDABLE},
    (S.SHIPPED, C.REQUEST_RETURN): S.SHIPPED,
    (S.DELIVERED, C.REQUEST_RETURN): S.DELIVERED,
    **{(state, C.APPROVE_RETURN): state for state in _RETURN_DECIDABLE},
    **{(state, C.REJECT_RETURN): state for state in _RETURN_DECIDABLE},
}


# What a refused command would have done, in the API's words (for error messages).
_REFUSED: dict[OrderCommand, str] = {
    C.AWAIT_PAYMENT: "wait for a payment",
    C.MARK_PAID: "be paid",
    C.FULFIL: "be fulfilled",
    C.FULFIL_PARTIALLY: "be fulfilled",
    C.SHIP: "be shipped",
    C.DELIVER: "be delivered",
    C.CANCEL: "be cancelled",
    C.CANCEL_PAID: "be cancelled",
    C.EXPIRE: "expire",
    C.REFUND_PARTIALLY: "be refunded",
    C.REFUND_FULLY: "be refunded",
    C.REQUEST_RETURN: "be sent back",
    C.APPROVE_RETURN: "have a return approved",
    C.REJECT_RETURN: "have a return rejected",
}

MAX_RETURN_REASON = 2000
MAX_RETURN_LINES = 100
MAX_REASON = 2000
MAX_CARRIER = 100
MAX_TRACKING_NUMBER = 100
MAX_TRACKING_URL = 2000


def next_status(status: OrderStatus, command: OrderCommand) -> OrderStatus:
    """The state `command` leads to from `status`, or FAILED_PRECONDITION saying why in the
    API's words (metadata `status`: the `ORDER_STATUS_…` name)."""
    target = TRANSITIONS.get((status, command))
    if target is None:
        raise FailedPrecondition(
            f"the order is {status.value.replace('_', ' ')} and cannot {_REFUSED[command]}",
            metadata={"status": _status_name(status)},
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
class FulfilmentLine:
    """`quantity` of the ordered `variant_id` picked, packed and ready to ship."""

    variant_id: str
    quantity: int


@dataclass(frozen=True)
class OrderLinesFulfilled:
    """Staff fulfilled `lines` (a part of the order, or the rest of it)."""

    lines: tuple[FulfilmentLine, ...]


@dataclass(frozen=True)
class OrderFulfilled:
    """Every line is fulfilled (after the `OrderLinesFulfilled` that completed it; alone in
    histories recorded before partial fulfilment existed)."""


@dataclass(frozen=True)
class OrderShipped:
    carrier: str
    tracking_number: str
    tracking_url: str = ""


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


@dataclass(frozen=True)
class ReturnApproved:
    """Staff accepted the return `return_id` (a refund with it is an `OrderRefunded` of its own)."""

    return_id: str
    reason: str


@dataclass(frozen=True)
class ReturnRejected:
    """Staff refused the return `return_id`: its lines may be asked back again."""

    return_id: str
    reason: str


OrderEvent = (
    OrderPlaced
    | AwaitingPayment
    | OrderPaid
    | OrderLinesFulfilled
    | OrderFulfilled
    | OrderShipped
    | OrderDelivered
    | OrderCancelled
    | OrderExpired
    | OrderRefunded
    | PaymentAtRisk
    | PaymentRestored
    | ReturnRequested
    | ReturnApproved
    | ReturnRejected
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
    tracking_url: str = ""
    closing_reason: str = ""
    payment_at_risk: bool = False
    # Per ordered variant, how many are fulfilled so far (variants with none are absent).
    fulfilled: tuple[FulfilmentLine, ...] = ()
    # Every return the customer asked for, oldest first, and staff's decisions by return id
    # (a rejection gives its lines back to what may still be returned).
    returns: tuple[ReturnRequested, ...] = ()
    decisions: tuple[tuple[str, ReturnStatus], ...] = ()

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
            case OrderLinesFulfilled(lines=lines):
                fulfilled = dict(self.fulfilled_quantities())
                for line in lines:
                    fulfilled[line.variant_id] = fulfilled.get(line.variant_id, 0) + line.quantity
                return replace(self, fulfilled=_fulfilment_lines(fulfilled), version=version)
            case OrderFulfilled():
                everything = {x.variant_id: x.quantity for x in self.placed.lines}
                return replace(
                    self,
                    status=S.FULFILLED,
                    fulfilled=_fulfilment_lines(everything),
                    version=version,
                )
            case OrderShipped(carrier=carrier, tracking_number=tracking, tracking_url=url):
                return replace(
                    self,
                    status=S.SHIPPED,
                    carrier=carrier,
                    tracking_number=tracking,
                    tracking_url=url,
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
            case ReturnApproved(return_id=return_id):
                decided = (*self.decisions, (return_id, ReturnStatus.APPROVED))
                return replace(self, decisions=decided, version=version)
            case ReturnRejected(return_id=return_id):
                decided = (*self.decisions, (return_id, ReturnStatus.REJECTED))
                return replace(self, decisions=decided, version=version)
            case OrderRefunded(amount_minor=amount, full=full):
                # A paid order cancelled by staff stays cancelled with its full refund.
                refunded = full and self.status is not S.CANCELLED
                return replace(
                    self,
                    status=S.REFUNDED if refunded else self.status,
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
        """Every line at once (the seeder's step; staff go through `fulfil_lines`)."""
        next_status(self.status, C.FULFIL)
        self._ensure_payment_holds()
        return OrderFulfilled()

    def fulfil_lines(self, lines: Sequence[FulfilmentLine]) -> list[OrderEvent]:
        """Fulfil `lines` (every line not fulfilled yet, when empty): `OrderLinesFulfilled`,
        followed by `OrderFulfilled` when no line is left to fulfil."""
        left = self.unfulfilled()
        if not lines:
            lines = [FulfilmentLine(v, n) for v, n in left.items() if n > 0]
        complete = sum(x.quantity for x in lines) == sum(left.values())
        next_status(self.status, C.FULFIL if complete else C.FULFIL_PARTIALLY)
        self._ensure_payment_holds()
        fulfilled = OrderLinesFulfilled(lines=_checked_lines(lines, left))
        return [fulfilled, OrderFulfilled()] if complete else [fulfilled]

    def fulfilled_quantities(self) -> dict[str, int]:
        return {line.variant_id: line.quantity for line in self.fulfilled}

    def unfulfilled(self) -> dict[str, int]:
        """Per ordered variant, how many are still to fulfil."""
        done = self.fulfilled_quantities()
        return {x.variant_id: x.quantity - done.get(x.variant_id, 0) for x in self.placed.lines}

    def _ensure_payment_holds(self) -> None:
        if self.payment_at_risk:
            raise FailedPrecondition(
                f"order {self.id}: its payment was withdrawn; hold until the invoice settles again",
                metadata={"status": _status_name(self.status), "paymentAtRisk": "true"},
            )

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

    def ship(self, carrier: str, tracking_number: str, tracking_url: str = "") -> OrderShipped:
        """The parcel left with `carrier`; `tracking_url`, when given, is an https link."""
        next_status(self.status, C.SHIP)
        self._ensure_payment_holds()
        return OrderShipped(
            carrier=_required_text(carrier, "carrier", MAX_CARRIER),
            tracking_number=_required_text(tracking_number, "trackingNumber", MAX_TRACKING_NUMBER),
            tracking_url=checked_tracking_url(tracking_url),
        )

    def deliver(self) -> OrderDelivered:
        next_status(self.status, C.DELIVER)
        return OrderDelivered()

    def cancel(self, reason: str = "") -> OrderCancelled:
        next_status(self.status, C.CANCEL)
        return OrderCancelled(reason=reason.strip())

    def cancel_paid(self, reason: str, refund_id: str = "") -> list[OrderEvent]:
        """Staff cancel a paid order not yet shipped: `OrderCancelled` (its stock goes back),
        then the refund of everything not refunded yet."""
        next_status(self.status, C.CANCEL_PAID)
        cancelled = OrderCancelled(reason=_required_text(reason, "reason", MAX_REASON))
        remaining = self.total_minor - self.refunded_minor
        if remaining <= 0:
            return [cancelled]
        return [cancelled, OrderRefunded(amount_minor=remaining, full=True, refund_id=refund_id)]

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

    @property
    def remaining_minor(self) -> int:
        """What may still be refunded."""
        return self.total_minor - self.refunded_minor

    def return_status(self, return_id: str) -> ReturnStatus:
        """The return's status, or NOT_FOUND for a return not of this order."""
        if not any(r.return_id == return_id for r in self.returns):
            raise NotFound("return request", return_id)
        return dict(self.decisions).get(return_id, ReturnStatus.REQUESTED)

    def decide_return(
        self, return_id: str, *, approve: bool, reason: str
    ) -> ReturnApproved | ReturnRejected:
        """Approve or reject a requested return (a rejection says why)."""
        next_status(self.status, C.APPROVE_RETURN if approve else C.REJECT_RETURN)
        status = self.return_status(return_id)
        if status is not ReturnStatus.REQUESTED:
            raise FailedPrecondition(
                f"return {return_id} is {status.value} already",
                metadata={
                    "status": _status_name(self.status),
                    "returnStatus": f"RETURN_STATUS_{status.name}",
                },
            )
        if approve:
            reason = require_text(reason, "reason", max_len=MAX_REASON, required=False).strip()
            return ReturnApproved(return_id=return_id, reason=reason)
        return ReturnRejected(
            return_id=return_id, reason=_required_text(reason, "reason", MAX_REASON)
        )

    def returnable(self) -> dict[str, int]:
        """Per ordered variant, how many may still be asked back: ordered minus asked, a
        rejected return's lines given back."""
        left = {line.variant_id: line.quantity for line in self.placed.lines}
        rejected = {i for i, status in self.decisions if status is ReturnStatus.REJECTED}
        for requested in self.returns:
            if requested.return_id in rejected:
                continue
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
            lines=_checked_lines(lines, left),
            reason=reason.strip(),
        )


@dataclass(frozen=True)
class History:
    """An order's state with the times of its first and last events."""

    order: Order
    placed_at: datetime
    updated_at: datetime


LineT = TypeVar("LineT", ReturnLine, FulfilmentLine)
# What a line's quantity is checked against: (verb in messages, metadata key, violation type).
_LINE_LIMITS = {
    ReturnLine: ("returned", "returnable", "RETURN_QUANTITY"),
    FulfilmentLine: ("fulfilled", "unfulfilled", "FULFIL_QUANTITY"),
}


def _checked_lines(lines: Sequence[LineT], left: Mapping[str, int]) -> tuple[LineT, ...]:
    """`lines` if each names an ordered variant once, with 1..what is `left` of it;
    INVALID_ARGUMENT for a malformed line, FAILED_PRECONDITION for a variant not ordered or
    more than is left."""
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
            raise _too_many(line, path, max(left[line.variant_id], 0))
    return tuple(lines)


def _too_many(line: ReturnLine | FulfilmentLine, path: str, available: int) -> FailedPrecondition:
    verb, key, kind = _LINE_LIMITS[type(line)]
    return FailedPrecondition(
        f"{path}.quantity: at most {available} more of variant {line.variant_id} can be {verb}",
        metadata={"field": f"{path}.quantity", key: str(available)},
        preconditions=[
            PreconditionViolation(
                kind, line.variant_id, f"{line.quantity} asked, {available} {key}"
            )
        ],
    )


def checked_tracking_url(url: str) -> str:
    """An https link with a host, without credentials or spaces (empty: none)."""
    url = require_text(url, "trackingUrl", max_len=MAX_TRACKING_URL, required=False).strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "@" in parts.netloc:
        raise InvalidArgument.for_field("trackingUrl", "an https URL with a host")
    if any(c.isspace() for c in url):
        raise InvalidArgument.for_field("trackingUrl", "no spaces")
    return url


def refund_in_pay_currency(
    *, price_minor: int, due: int, refunded_minor: int, amount_minor: int
) -> int:
    """What refunding `amount_minor` of an order (after `refunded_minor`) gives back in the
    invoice's pay currency, of which `due` bought `price_minor`: the difference of the
    cumulative shares, each rounded down, so the refunds of a whole order sum to `due`."""
    if price_minor <= 0:
        raise ValueError("an invoice has a positive price")
    after = (refunded_minor + amount_minor) * due // price_minor
    return after - refunded_minor * due // price_minor


def _fulfilment_lines(quantities: Mapping[str, int]) -> tuple[FulfilmentLine, ...]:
    return tuple(FulfilmentLine(v, n) for v, n in sorted(quantities.items()) if n > 0)


def _status_name(status: OrderStatus) -> str:
    return f"ORDER_STATUS_{status.name}"


def _required_text(value: str, path: str, max_len: int) -> str:
    return require_text(value, path, max_len=max_len).strip()


def _required(value: str, path: str) -> str:
    if not value.strip():
        raise InvalidArgument.for_field(path, "required")
    return value.strip()

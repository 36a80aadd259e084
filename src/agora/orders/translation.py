"""Protobuf <-> domain mapping for the servicer, the event store and the read models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from google.protobuf.message import Message

from agora._proto.agora.orders.v1 import events_pb2 as ev
from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount, Money
from agora.orders.aggregate import (
    AwaitingPayment,
    FulfilmentLine,
    Order,
    OrderCancelled,
    OrderDelivered,
    OrderEvent,
    OrderExpired,
    OrderFulfilled,
    OrderLine,
    OrderLinesFulfilled,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    OrderShipped,
    OrderStatus,
    PaymentAtRisk,
    PaymentRestored,
    ReturnApproved,
    ReturnLine,
    ReturnRejected,
    ReturnRequested,
    ReturnStatus,
)
from agora.orders.domain import (
    Address,
    Cart,
    CartLine,
    CartStatus,
    LineTotal,
    OrderSummary,
    ShippingOption,
    Taxed,
    Totals,
)
from agora.platform.rpc.timestamps import optional_timestamp, timestamp

ORDER_STATUS_PB = {
    OrderStatus.PLACED: pb.ORDER_STATUS_PLACED,
    OrderStatus.AWAITING_PAYMENT: pb.ORDER_STATUS_AWAITING_PAYMENT,
    OrderStatus.PAID: pb.ORDER_STATUS_PAID,
    OrderStatus.FULFILLED: pb.ORDER_STATUS_FULFILLED,
    OrderStatus.SHIPPED: pb.ORDER_STATUS_SHIPPED,
    OrderStatus.DELIVERED: pb.ORDER_STATUS_DELIVERED,
    OrderStatus.CANCELLED: pb.ORDER_STATUS_CANCELLED,
    OrderStatus.EXPIRED: pb.ORDER_STATUS_EXPIRED,
    OrderStatus.REFUNDED: pb.ORDER_STATUS_REFUNDED,
}
ORDER_STATUS_BY_PB = {value: key for key, value in ORDER_STATUS_PB.items()}
RETURN_STATUS_PB = {
    ReturnStatus.REQUESTED: pb.RETURN_STATUS_REQUESTED,
    ReturnStatus.APPROVED: pb.RETURN_STATUS_APPROVED,
    ReturnStatus.REJECTED: pb.RETURN_STATUS_REJECTED,
}
RETURN_STATUS_BY_PB = {value: key for key, value in RETURN_STATUS_PB.items()}
CART_STATUS_PB = {CartStatus.OPEN: pb.CART_STATUS_OPEN, CartStatus.ORDERED: pb.CART_STATUS_ORDERED}

# Each event: its domain type, its `type` in the event store (also the last part of its
# subject), and its events.proto message.
_EVENT_KINDS: tuple[tuple[type[object], str, type[Message]], ...] = (
    (OrderPlaced, "placed", ev.OrderPlaced),
    (AwaitingPayment, "awaiting_payment", ev.OrderAwaitingPayment),
    (OrderPaid, "paid", ev.OrderPaid),
    (OrderLinesFulfilled, "lines_fulfilled", ev.OrderLinesFulfilled),
    (OrderFulfilled, "fulfilled", ev.OrderFulfilled),
    (OrderShipped, "shipped", ev.OrderShipped),
    (OrderDelivered, "delivered", ev.OrderDelivered),
    (OrderCancelled, "cancelled", ev.OrderCancelled),
    (OrderExpired, "expired", ev.OrderExpired),
    (OrderRefunded, "refunded", ev.OrderRefunded),
    (PaymentAtRisk, "payment_at_risk", ev.OrderPaymentAtRisk),
    (PaymentRestored, "payment_restored", ev.OrderPaymentRestored),
    (ReturnRequested, "return_requested", ev.ReturnRequested),
    (ReturnApproved, "return_approved", ev.ReturnApproved),
    (ReturnRejected, "return_rejected", ev.ReturnRejected),
)
EVENT_TYPES: dict[type[object], str] = {kind: name for kind, name, _ in _EVENT_KINDS}
_EVENT_MESSAGES: dict[str, type[Message]] = {name: message for _, name, message in _EVENT_KINDS}
EVENT_TYPE_BY_NAME = {message.DESCRIPTOR.full_name: name for _, name, message in _EVENT_KINDS}


def money(amount_minor: int, currency: str) -> Money:
    return Money(amount_minor=amount_minor, currency=currency)


def address_pb(address: Address) -> pb.Address:
    return pb.Address(**{name: getattr(address, name) for name in Address.__dataclass_fields__})


def address(message: pb.Address) -> Address:
    return Address(**{name: getattr(message, name) for name in Address.__dataclass_fields__})


def totals_pb(totals: Totals) -> pb.Totals:
    currency = totals.currency
    return pb.Totals(
        subtotal=money(totals.subtotal, currency),
        shipping=money(totals.shipping, currency),
        tax=money(totals.tax, currency),
        total=money(totals.total, currency),
        prices_include_tax=totals.prices_include_tax,
        tax_rate_bp=totals.tax_rate_bp,
    )


def _shown(amount: Taxed, prices_include_tax: bool) -> int:
    return amount.gross if prices_include_tax else amount.net


def _line_fields(
    line: CartLine, total: LineTotal, currency: str, prices_include_tax: bool
) -> dict[str, Any]:
    """The fields a cart line and an order line show alike (`pb.CartLine`, `pb.OrderLine`)."""
    return {
        "variant_id": line.variant_id,
        "product_id": line.product_id,
        "sku": line.sku,
        "title": line.title,
        "quantity": line.quantity,
        "unit_price": money(line.unit_price_minor, currency),
        "amount": money(_shown(total.amount, prices_include_tax), currency),
        "tax": money(total.amount.tax, currency),
    }


def cart_pb(cart: Cart, totals: Totals, shipping: ShippingOption | None) -> pb.Cart:
    """The cart as the API shows it, with its recomputed totals."""
    currency = cart.currency
    message = pb.Cart(
        id=cart.id,
        token=cart.token,
        currency=currency,
        customer_id=cart.customer_id,
        status=CART_STATUS_PB[cart.status],
        lines=[
            pb.CartLine(**_line_fields(line, total, currency, totals.prices_include_tax))
            for line, total in zip(cart.lines, totals.lines, strict=True)
        ],
        totals=totals_pb(totals),
        expires_at=timestamp(cart.expires_at),
        order_id=cart.order_id,
    )
    if cart.shipping_address is not None:
        message.shipping_address.CopyFrom(address_pb(cart.shipping_address))
    if shipping is not None:
        message.shipping_method.CopyFrom(shipping_method_pb(shipping, currency))
    return message


def shipping_method_pb(option: ShippingOption, currency: str) -> pb.ShippingMethod:
    return pb.ShippingMethod(
        code=option.method.code,
        name=option.method.name,
        price=money(option.price_minor, currency),
    )


# --- orders --------------------------------------------------------------------------------


def _order_lines_pb(
    placed: OrderPlaced, fulfilled: dict[str, int] | None = None
) -> list[pb.OrderLine]:
    currency, include = placed.currency, placed.totals.prices_include_tax
    done = fulfilled or {}
    return [
        pb.OrderLine(
            **_line_fields(line, total, currency, include),
            fulfilled_quantity=done.get(line.variant_id, 0),
        )
        for line, total in zip(placed.lines, placed.totals.lines, strict=True)
    ]


def _placed_fields(placed: OrderPlaced) -> dict[str, object]:
    return {
        "order_id": placed.order_id,
        "cart_id": placed.cart_id,
        "customer_id": placed.customer_id,
        "currency": placed.currency,
        "lines": _order_lines_pb(placed),
        "totals": totals_pb(placed.totals),
        "shipping_address": address_pb(placed.shipping_address),
        "shipping_method": pb.ShippingMethod(
            code=placed.shipping_method,
            name=placed.shipping_method_name,
            price=money(placed.totals.shipping, placed.currency),
        ),
        "reservation_id": placed.reservation_id,
        "pay_currency": placed.invoice_pay_currency,
    }


def order_pb(order: Order, *, placed_at: datetime, updated_at: datetime) -> pb.Order:
    """The order's state as the API shows it."""
    fields = _placed_fields(order.placed)
    fields["id"] = fields.pop("order_id")
    fields["lines"] = _order_lines_pb(order.placed, order.fulfilled_quantities())
    return pb.Order(
        **fields,  # type: ignore[arg-type]
        status=ORDER_STATUS_PB[order.status],
        invoice_id=order.invoice_id,
        refunded=money(order.refunded_minor, order.placed.currency),
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        tracking_url=order.tracking_url,
        closing_reason=order.closing_reason,
        payment_at_risk=order.payment_at_risk,
        version=order.version,
        placed_at=timestamp(placed_at),
        updated_at=timestamp(updated_at),
    )


def placed_from_pb(message: ev.OrderPlaced) -> OrderPlaced:
    """The placement an OrderPlaced event holds."""
    include = message.totals.prices_include_tax
    lines = tuple(
        OrderLine(x.variant_id, x.product_id, x.sku, x.title, x.quantity, x.unit_price.amount_minor)
        for x in message.lines
    )
    line_totals = tuple(
        LineTotal(
            variant_id=x.variant_id,
            quantity=x.quantity,
            unit_price_minor=x.unit_price.amount_minor,
            amount=_split(x.amount.amount_minor, x.tax.amount_minor, include),
        )
        for x in message.lines
    )
    t = message.totals
    return OrderPlaced(
        order_id=message.order_id,
        cart_id=message.cart_id,
        customer_id=message.customer_id,
        currency=message.currency,
        lines=lines,
        totals=Totals(
            currency=message.currency,
            subtotal=t.subtotal.amount_minor,
            shipping=t.shipping.amount_minor,
            tax=t.tax.amount_minor,
            total=t.total.amount_minor,
            prices_include_tax=include,
            tax_rate_bp=t.tax_rate_bp,
            lines=line_totals,
        ),
        shipping_address=address(message.shipping_address),
        shipping_method=message.shipping_method.code,
        shipping_method_name=message.shipping_method.name,
        reservation_id=message.reservation_id,
        pay_currency=message.pay_currency or message.currency,
    )


def _split(shown: int, tax: int, prices_include_tax: bool) -> Taxed:
    if prices_include_tax:
        return Taxed(net=shown - tax, tax=tax, gross=shown)
    return Taxed(net=shown, tax=tax, gross=shown + tax)


def order_summary_pb(summary: OrderSummary) -> pb.OrderSummary:
    """An order as lists show it."""
    return pb.OrderSummary(
        id=summary.order_id,
        customer_id=summary.customer_id,
        status=cast(pb.OrderStatus, pb.OrderStatus.Value(summary.status)),
        total=money(summary.total_minor, summary.currency),
        item_count=summary.item_count,
        customer_name=summary.customer_name,
        email=summary.email,
        country=summary.country,
        placed_at=timestamp(summary.placed_at),
        updated_at=timestamp(summary.updated_at),
    )


# --- events --------------------------------------------------------------------------------

# The states in which an order's reservation is committed (its stock sold).
_PAID_STATES = frozenset({OrderStatus.PAID, OrderStatus.FULFILLED})


def event_pb(event: OrderEvent, order: Order | None) -> Message:
    """The events.proto message of `event` (`order` is the state before it, None to place)."""
    order_id = event.order_id if isinstance(event, OrderPlaced) else _id(order)
    reservation_id = order.placed.reservation_id if order else ""
    match event:
        case OrderPlaced():
            return ev.OrderPlaced(**_placed_fields(event))  # type: ignore[arg-type]
        case AwaitingPayment(invoice_id=invoice_id):
            return ev.OrderAwaitingPayment(order_id=order_id, invoice_id=invoice_id)
        case OrderPaid(invoice_id=invoice_id):
            return ev.OrderPaid(order_id=order_id, invoice_id=invoice_id)
        case OrderLinesFulfilled(lines=lines):
            return ev.OrderLinesFulfilled(
                order_id=order_id,
                lines=[
                    ev.FulfilledLine(variant_id=x.variant_id, quantity=x.quantity) for x in lines
                ],
            )
        case OrderFulfilled():
            return ev.OrderFulfilled(order_id=order_id)
        case OrderShipped(carrier=carrier, tracking_number=tracking, tracking_url=url):
            return ev.OrderShipped(
                order_id=order_id, carrier=carrier, tracking_number=tracking, tracking_url=url
            )
        case OrderDelivered():
            return ev.OrderDelivered(order_id=order_id)
        case OrderCancelled(reason=reason):
            return ev.OrderCancelled(
                order_id=order_id,
                reason=reason,
                reservation_id=reservation_id,
                after_payment=order is not None and order.status in _PAID_STATES,
            )
        case OrderExpired(reason=reason):
            return ev.OrderExpired(order_id=order_id, reason=reason, reservation_id=reservation_id)
        case PaymentAtRisk(invoice_id=invoice_id, reason=reason):
            return ev.OrderPaymentAtRisk(order_id=order_id, invoice_id=invoice_id, reason=reason)
        case PaymentRestored(invoice_id=invoice_id):
            return ev.OrderPaymentRestored(order_id=order_id, invoice_id=invoice_id)
        case ReturnRequested():
            return return_requested_pb(event, _order(order))
        case ReturnApproved(return_id=return_id, reason=reason):
            customer_id = _order(order).placed.customer_id
            return ev.ReturnApproved(
                return_id=return_id, order_id=order_id, customer_id=customer_id, reason=reason
            )
        case ReturnRejected(return_id=return_id, reason=reason):
            customer_id = _order(order).placed.customer_id
            return ev.ReturnRejected(
                return_id=return_id, order_id=order_id, customer_id=customer_id, reason=reason
            )
        case OrderRefunded(amount_minor=amount, full=full, refund_id=refund_id):
            currency = order.placed.currency if order else ""
            return ev.OrderRefunded(
                order_id=order_id, amount=money(amount, currency), full=full, refund_id=refund_id
            )


def _id(order: Order | None) -> str:
    return _order(order).id


def _order(order: Order | None) -> Order:
    if order is None:
        raise ValueError("only OrderPlaced starts an order")
    return order


def return_lines_pb(order: Order, lines: tuple[ReturnLine, ...]) -> list[pb.ReturnLine]:
    """The lines of a return with the titles the order was placed with."""
    titles = {line.variant_id: line.title for line in order.placed.lines}
    return [
        pb.ReturnLine(
            variant_id=x.variant_id, title=titles.get(x.variant_id, ""), quantity=x.quantity
        )
        for x in lines
    ]


def return_requested_pb(event: ReturnRequested, order: Order) -> ev.ReturnRequested:
    return ev.ReturnRequested(
        return_id=event.return_id,
        order_id=order.id,
        customer_id=order.placed.customer_id,
        lines=return_lines_pb(order, event.lines),
        reason=event.reason,
    )


def return_request_pb(
    event: ReturnRequested, order: Order, *, status: ReturnStatus, requested_at: datetime
) -> pb.ReturnRequest:
    """A return request as the API shows it."""
    return pb.ReturnRequest(
        id=event.return_id,
        order_id=order.id,
        status=RETURN_STATUS_PB[status],
        lines=return_lines_pb(order, event.lines),
        reason=event.reason,
        requested_at=timestamp(requested_at),
    )


def return_request_from_row(row: dict[str, Any]) -> pb.ReturnRequest:
    """A return request as the API shows it, from its `return_requests` row (who decided it
    stays server-side: its customer reads this too)."""
    return pb.ReturnRequest(
        id=str(row["id"]),
        order_id=str(row["order_id"]),
        status=RETURN_STATUS_PB[ReturnStatus(row["status"])],
        lines=[
            pb.ReturnLine(variant_id=x["variantId"], title=x["title"], quantity=x["quantity"])
            for x in row["lines"]
        ],
        reason=row["reason"],
        requested_at=timestamp(row["requested_at"]),
        decision_reason=row["decision_reason"],
        decided_at=optional_timestamp(row["decided_at"]),
    )


def order_refund_pb(
    refund_id: str,
    invoice_id: str,
    amount: Money,
    *,
    pay_amount: int,
    pay_currency: str,
    decimals: int,
    full: bool,
) -> pb.OrderRefund:
    return pb.OrderRefund(
        id=refund_id,
        invoice_id=invoice_id,
        amount=amount,
        pay_amount=CryptoAmount(base_units=str(pay_amount), asset=pay_currency, decimals=decimals),
        full=full,
    )


def parse_event(event_type: str, payload: bytes) -> Message:
    """The events.proto message stored as `event_type` ("placed", "paid", …)."""
    message = _EVENT_MESSAGES[event_type]()
    message.ParseFromString(payload)
    return message


def event_from_pb(message: Message) -> OrderEvent:
    """The domain event an events.proto message stands for."""
    match message:
        case ev.OrderPlaced():
            return placed_from_pb(message)
        case ev.OrderAwaitingPayment():
            return AwaitingPayment(invoice_id=message.invoice_id)
        case ev.OrderPaid():
            return OrderPaid(invoice_id=message.invoice_id)
        case ev.OrderLinesFulfilled():
            return OrderLinesFulfilled(
                lines=tuple(FulfilmentLine(x.variant_id, x.quantity) for x in message.lines)
            )
        case ev.OrderFulfilled():
            return OrderFulfilled()
        case ev.OrderShipped():
            return OrderShipped(
                carrier=message.carrier,
                tracking_number=message.tracking_number,
                tracking_url=message.tracking_url,
            )
        case ev.OrderDelivered():
            return OrderDelivered()
        case ev.OrderCancelled():
            return OrderCancelled(reason=message.reason)
        case ev.OrderExpired():
            return OrderExpired(reason=message.reason)
        case ev.OrderPaymentAtRisk():
            return PaymentAtRisk(invoice_id=message.invoice_id, reason=message.reason)
        case ev.OrderPaymentRestored():
            return PaymentRestored(invoice_id=message.invoice_id)
        case ev.ReturnRequested():
            return ReturnRequested(
                return_id=message.return_id,
                lines=tuple(ReturnLine(x.variant_id, x.quantity) for x in message.lines),
                reason=message.reason,
            )
        case ev.ReturnApproved():
            return ReturnApproved(return_id=message.return_id, reason=message.reason)
        case ev.ReturnRejected():
            return ReturnRejected(return_id=message.return_id, reason=message.reason)
        case ev.OrderRefunded():
            return OrderRefunded(
                amount_minor=message.amount.amount_minor,
                full=message.full,
                refund_id=message.refund_id,
            )
    raise TypeError(f"{type(message).__name__} is not an order event")

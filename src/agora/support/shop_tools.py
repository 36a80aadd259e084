"""The assistant's tools over gRPC, with the customer's own rights and nothing more.

Every call to orders, the catalog and payments carries only what the customer sent: their
`authorization` (forwarded as it came), or for a guest no token at all and the order's
`access_token`. The stubs come from `ServiceChannels.caller_stub`, which never adds the support
service's own token, so a call the customer may not make is refused by the owning service
(NOT_FOUND for someone else's order, whatever id the model was talked into asking for).

Failures become `ToolError`s whose message is written here for the customer; what a service or
the transport said goes to the log only. Each call has its own deadline.

Recommendations are this service's own: they are computed in-process from its read models
(`recommendations.py`), as its GetRecommendations and GetMyRecommendations answer them, so no
loopback call and no token is needed; "for you" uses the conversation's customer id, which the
Chat call's own token established.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agora._proto.agora.catalog.v1 import catalog_pb2 as cpb
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as opb
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import Money as MoneyPb
from agora.platform.errors import DomainError
from agora.platform.kernel.checks import canonical_id
from agora.platform.kernel.money import Money
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.status import error_info_from_rpc_error
from agora.platform.rpc.timestamps import datetime_of
from agora.support import recommendations, store
from agora.support.recommending import Method, ProductQuestion, Recommended
from agora.support.tools import (
    CustomerAccess,
    OrderBrief,
    OrderDetails,
    OrderLineInfo,
    OrderState,
    ProductHit,
    ReturnLine,
    ReturnReceipt,
    ToolError,
    ToolFailure,
    Tools,
    ToolsFactory,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Idempotency keys of the changes a conversation asks for derive from it (see `_change_key`).
KEY_NAMESPACE = uuid.UUID("0f6c7d52-9a43-5b1e-8c2d-5e7a41b3c9d0")
MIN_PREFIX = 6
# Orders looked through for a prefix: the customer's newest, a page of 100 at a time.
PREFIX_PAGES = 3
PAGE = 100
MY_ORDERS = 10
SEARCH_RESULTS = 5
RECOMMENDED = 5
MAX_QUERY = 200  # the catalog's bound on `q`
MAX_REASON = 2000  # the orders' bound on a reason
_PREFIX = re.compile(r"[0-9a-f-]+")

ORDER_STATES = {
    opb.ORDER_STATUS_PLACED: OrderState.PLACED,
    opb.ORDER_STATUS_AWAITING_PAYMENT: OrderState.AWAITING_PAYMENT,
    opb.ORDER_STATUS_PAID: OrderState.PAID,
    opb.ORDER_STATUS_FULFILLED: OrderState.FULFILLED,
    opb.ORDER_STATUS_SHIPPED: OrderState.SHIPPED,
    opb.ORDER_STATUS_DELIVERED: OrderState.DELIVERED,
    opb.ORDER_STATUS_CANCELLED: OrderState.CANCELLED,
    opb.ORDER_STATUS_EXPIRED: OrderState.EXPIRED,
    opb.ORDER_STATUS_REFUNDED: OrderState.REFUNDED,
}
INVOICE_WORDS = {
    ppb.INVOICE_STATUS_NEW: "awaiting payment",
    ppb.INVOICE_STATUS_PROCESSING: "payment received, being confirmed",
    ppb.INVOICE_STATUS_SETTLED: "paid",
    ppb.INVOICE_STATUS_EXPIRED: "not paid in time",
    ppb.INVOICE_STATUS_INVALID: "cancelled",
}
# The payment in words when payments cannot say more: what the order's state implies.
PAYMENT_BY_STATE = {
    OrderState.PLACED: "not invoiced yet",
    OrderState.AWAITING_PAYMENT: "awaiting payment",
    OrderState.PAID: "paid",
    OrderState.FULFILLED: "paid",
    OrderState.SHIPPED: "paid",
    OrderState.DELIVERED: "paid",
    OrderState.CANCELLED: "not paid",
    OrderState.EXPIRED: "not paid",
    OrderState.REFUNDED: "refunded",
}
WHY = {
    Method.ALSO_BOUGHT: "customers also bought",
    Method.SIMILAR: "similar",
    Method.FOR_YOU: "for you",
    Method.POPULAR: "popular",
}
RETURN_INSTRUCTIONS = (
    "Keep the items and their packaging: we will tell you how to send them once the return "
    "is approved."
)


@dataclass(frozen=True)
class Deadlines:
    """Per-call deadlines, in seconds: reads answer a customer waiting in the chat; changes
    get longer (a cancel releases stock at the catalog)."""

    read_s: float = 4.0
    change_s: float = 8.0
    search_s: float = 4.0


# --- failures --------------------------------------------------------------------------------

_UNAVAILABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)


def tool_error(error: grpc.RpcError, what: str) -> ToolError:
    """The customer-safe ToolError of a failed call (`what`: "order", "cancel", "return",
    "search"); the service's own words go to the log, never to the customer."""
    info = error_info_from_rpc_error(error)
    code = info.code
    log.info("support_tool_refused", tool=what, code=code.name, reason=info.reason)
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
        return ToolError(ToolFailure.NOT_FOUND, "I could not find that order among yours.")
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return ToolError(ToolFailure.REFUSED, "Your session has expired: please sign in again.")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return ToolError(ToolFailure.REFUSED, _refusal(what, info.metadata))
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE):
        fields = ", ".join(v.field for v in info.violations)
        return ToolError(ToolFailure.INVALID, f"That request was not valid ({fields or what}).")
    if code not in _UNAVAILABLE:
        log.warning("support_tool_failed", tool=what, code=code.name)
    return ToolError(
        ToolFailure.UNAVAILABLE, "The shop cannot answer right now: please try again shortly."
    )


def _refusal(what: str, metadata: dict[str, str]) -> str:
    """Why orders refused, in words made here from the error's metadata."""
    state = metadata.get("status", "").removeprefix("ORDER_STATUS_").lower()
    words = state.replace("_", " ") if state in _STATE_NAMES else ""
    if what == "cancel" and words:
        return f"This order is {words} and can no longer be cancelled."
    if what == "cancel":
        return "This order can no longer be cancelled."
    if what != "return":
        return "The shop refused this request."
    if words:
        return f"This order is {words}: only shipped or delivered orders can be returned."
    if metadata.get("returnable", "").isdigit():
        return f"At most {metadata['returnable']} more of that item can be returned."
    if metadata.get("field", "").endswith("variantId"):
        return "That item is not part of this order."
    return "Everything in this order has already been asked back."


_STATE_NAMES = frozenset(state.value for state in OrderState)


async def _call(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Make the call (finding the service may fail too), mapping failures to ToolError."""
    try:
        return await call()
    except grpc.RpcError as error:
        raise tool_error(error, what) from None
    except DomainError as error:  # no address known for the service: it is not reachable
        log.info("support_tool_unreachable", tool=what, reason=error.reason)
        raise ToolError(
            ToolFailure.UNAVAILABLE, "The shop cannot answer right now: please try again shortly."
        ) from None


# --- translation -----------------------------------------------------------------------------


def _money(message: MoneyPb) -> Money:
    return Money(message.amount_minor, message.currency)


def _state(status: int) -> OrderState:
    state: OrderState | None = ORDER_STATES.get(status)  # type: ignore[call-overload]
    if state is None:
        raise ToolError(ToolFailure.UNAVAILABLE, "The shop gave an answer I cannot read.")
    return state


def order_brief(summary: opb.OrderSummary) -> OrderBrief:
    return OrderBrief(
        id=summary.id,
        status=_state(summary.status),
        total=_money(summary.total),
        item_count=summary.item_count,
        placed_at=datetime_of(summary.placed_at),
    )


def order_details(order: opb.Order, payment: str = "") -> OrderDetails:
    state = _state(order.status)
    return OrderDetails(
        id=order.id,
        status=state,
        total=_money(order.totals.total),
        placed_at=datetime_of(order.placed_at),
        lines=tuple(
            OrderLineInfo(
                variant_id=x.variant_id,
                product_id=x.product_id,
                title=x.title,
                quantity=x.quantity,
                unit_price=_money(x.unit_price),
            )
            for x in order.lines
        ),
        payment=payment or PAYMENT_BY_STATE[state],
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        refunded=_money(order.refunded) if order.refunded.amount_minor else None,
        closing_reason=order.closing_reason,
    )


def _brief_of(order: opb.Order) -> OrderBrief:
    return OrderBrief(
        id=order.id,
        status=_state(order.status),
        total=_money(order.totals.total),
        item_count=sum(x.quantity for x in order.lines),
        placed_at=datetime_of(order.placed_at),
    )


def _bounded(text: str, limit: int) -> str:
    return text.replace("\x00", "").strip()[:limit]


def _full_id(order_id: str) -> str:
    found = canonical_id(order_id.strip().lower())
    if found is None:
        raise ToolError(ToolFailure.INVALID, "That is not a complete order number.")
    return found


# --- the tools -------------------------------------------------------------------------------


class GrpcShopTools(Tools):
    """One conversation's tools, acting with `access` and nothing else."""

    def __init__(
        self,
        access: CustomerAccess,
        channels: ServiceChannels,
        engine: AsyncEngine,
        *,
        currency: str,
        deadlines: Deadlines,
        conversation_key: str,
    ) -> None:
        self._access = access
        self._channels = channels
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._currency = currency
        self._deadlines = deadlines
        self._conversation_key = conversation_key

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        """The customer's own credentials: their bearer token as sent, or none (a guest)."""
        authorization = self._access.authorization.strip()
        return (("authorization", authorization),) if authorization else ()

    def _orders(self) -> OrdersServiceStub:
        return self._channels.caller_stub("orders", OrdersServiceStub)

    def _catalog(self) -> CatalogServiceStub:
        return self._channels.caller_stub("catalog", CatalogServiceStub)

    def _change_key(self, *parts: object) -> str:
        """The idempotency key of a change: the same change asked again in this conversation
        (a retried tool call, a repeated confirmation) gets the first answer back."""
        text = ":".join([self._conversation_key, *map(str, parts)])
        return str(uuid.uuid5(KEY_NAMESPACE, text))

    # --- orders ----------------------------------------------------------------------------

    async def my_orders(self) -> Sequence[OrderBrief]:
        if self._access.customer_id:
            page = await self._list_page(MY_ORDERS, "")
            return [order_brief(x) for x in page.orders]
        if self._access.guest_order_id:
            return [_brief_of(await self._get_order(self._access.guest_order_id))]
        return []

    async def order_status(self, order_ref: str) -> OrderDetails:
        order = await self._get_order(await self._resolve(order_ref))
        return order_details(order, await self._payment_words(order))

    async def cancel_order(self, order_id: str, reason: str) -> OrderDetails:
        order_id = _full_id(order_id)
        request = opb.CancelOrderRequest(
            idempotency_key=self._change_key("cancel", order_id),
            id=order_id,
            reason=_bounded(reason, MAX_REASON),
            access_token=self._access.guest_access_token or "",
        )
        return order_details(
            await _call(
                lambda: self._orders().CancelOrder(
                    request, metadata=self._metadata(), timeout=self._deadlines.change_s
                ),
                "cancel",
            )
        )

    async def start_return(
        self, order_id: str, lines: Sequence[ReturnLine], reason: str
    ) -> ReturnReceipt:
        order_id = _full_id(order_id)
        reason = _bounded(reason, MAX_REASON)
        asked = sorted((x.variant_id, x.quantity) for x in lines)
        request = opb.RequestReturnRequest(
            idempotency_key=self._change_key("return", order_id, asked, reason),
            id=order_id,
            lines=[opb.ReturnLineRequest(variant_id=v, quantity=q) for v, q in asked],
            reason=reason,
            access_token=self._access.guest_access_token or "",
        )
        answer = await _call(
            lambda: self._orders().RequestReturn(
                request, metadata=self._metadata(), timeout=self._deadlines.change_s
            ),
            "return",
        )
        return ReturnReceipt(
            return_id=answer.id,
            order_id=answer.order_id,
            status=opb.ReturnStatus.Name(answer.status).removeprefix("RETURN_STATUS_").lower(),
            instructions=RETURN_INSTRUCTIONS,
        )

    async def _get_order(self, order_id: str) -> opb.Order:
        request = opb.GetOrderRequest(
            id=order_id, access_token=self._access.guest_access_token or ""
        )
        return await _call(
            lambda: self._orders().GetOrder(
                request, metadata=self._metadata(), timeout=self._deadlines.read_s
            ),
            "order",
        )

    async def _list_page(self, size: int, token: str) -> opb.ListOrdersResponse:
        request = opb.ListOrdersRequest(
            customer_id=self._access.customer_id or "", page_size=size, page_token=token
        )
        return await _call(
            lambda: self._orders().ListOrders(
                request, metadata=self._metadata(), timeout=self._deadlines.read_s
            ),
            "order",
        )

    async def _resolve(self, order_ref: str) -> str:
        """The full id `order_ref` names: itself, or the one of the customer's own orders (a
        guest: their one order) whose id starts with it. Never a search beyond them."""
        ref = order_ref.strip().lower().removeprefix("#")
        if (full := canonical_id(ref)) is not None:
            return full
        prefix = ref.replace("-", "")
        if not _PREFIX.fullmatch(ref) or len(prefix) < MIN_PREFIX or len(prefix) > 32:
            raise ToolError(
                ToolFailure.INVALID,
                f"Give the order number, or at least its first {MIN_PREFIX} characters.",
            )
        matches = [x for x in await self._own_order_ids() if x.replace("-", "").startswith(prefix)]
        if not matches:
            raise ToolError(ToolFailure.NOT_FOUND, "I could not find that order among yours.")
        if len(matches) > 1:
            raise ToolError(
                ToolFailure.INVALID,
                "Several of your orders start with that: give a few more characters.",
            )
        return matches[0]

    async def _own_order_ids(self) -> list[str]:
        if not self._access.customer_id:
            return [self._access.guest_order_id] if self._access.guest_order_id else []
        ids: list[str] = []
        token = ""
        for _ in range(PREFIX_PAGES):
            page = await self._list_page(PAGE, token)
            ids += [x.id for x in page.orders]
            token = page.next_page_token
            if not token:
                break
        return ids

    async def _payment_words(self, order: opb.Order) -> str:
        """The invoice's state in words, from payments (its public payment view: the invoice
        id, which the customer's own order shows, is all it takes); "" when payments cannot
        say, and the order's state stands in (`order_details`)."""
        if canonical_id(order.invoice_id) is None:
            return ""
        if order.payment_at_risk:
            return "payment under review"
        try:
            stub = self._channels.caller_stub("payments", PaymentsServiceStub)
            invoice = await stub.GetInvoicePayment(
                ppb.GetInvoicePaymentRequest(id=order.invoice_id),
                metadata=self._metadata(),
                timeout=self._deadlines.read_s,
            )
        except (grpc.RpcError, DomainError) as error:
            log.info("support_payment_state_unknown", error=type(error).__name__)
            return ""
        return INVOICE_WORDS.get(invoice.status, "")

    # --- products --------------------------------------------------------------------------

    async def search_products(self, query: str) -> Sequence[ProductHit]:
        q = _bounded(query, MAX_QUERY)
        if not q:
            raise ToolError(ToolFailure.INVALID, "What should I look for?")
        request = cpb.ListProductsRequest(q=q, currency=self._currency, page_size=SEARCH_RESULTS)
        found = await _call(
            lambda: self._catalog().ListProducts(
                request, metadata=self._metadata(), timeout=self._deadlines.search_s
            ),
            "search",
        )
        return [
            ProductHit(
                id=p.id,
                name=p.title,
                price=_money(p.price_from) if p.HasField("price_from") else None,
                in_stock=p.in_stock,
            )
            for p in found.products
        ]

    async def recommendations(self, product_id: str | None) -> Sequence[ProductHit]:
        async with self._reads.connect() as conn:
            answer = await self._recommended(conn, product_id)
            hits = []
            for item in answer.items:
                product = await store.catalog_product(conn, item.product_id)
                if product is not None and product.published:
                    hits.append(ProductHit(item.product_id, product.title, why=WHY[item.source]))
        return hits

    async def _recommended(self, conn: AsyncConnection, product_id: str | None) -> Recommended:
        if product_id:
            product = canonical_id(product_id.strip().lower())
            if product is None:
                raise ToolError(ToolFailure.INVALID, "That is not a product I know.")
            question = ProductQuestion(Method.ALSO_BOUGHT, product, RECOMMENDED)
            return await recommendations.for_product(conn, question)
        customer = canonical_id(self._access.customer_id or "")
        if customer is not None:
            return await recommendations.for_customer(conn, customer, RECOMMENDED)
        return await recommendations.for_product(
            conn, ProductQuestion(Method.POPULAR, "", RECOMMENDED)
        )


def grpc_tools_factory(
    channels: ServiceChannels,
    engine: AsyncEngine,
    *,
    currency: str = "EUR",
    deadlines: Deadlines | None = None,
) -> ToolsFactory:
    """The ToolsFactory of the support service: each conversation's tools call orders, the
    catalog and payments through `channels` (`Backends.channels`) with `access`'s credentials
    only, and read recommendations from the support schema through `engine`. `currency` is
    the one product prices are shown in."""
    chosen = deadlines or Deadlines()

    def tools_for(access: CustomerAccess) -> Tools:
        # Without a conversation id each tools object keys its changes on its own.
        conversation = access.conversation_id or str(uuid.uuid4())
        return GrpcShopTools(
            access,
            channels,
            engine,
            currency=currency,
            deadlines=chosen,
            conversation_key=conversation,
        )

    return tools_for

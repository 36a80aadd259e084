"""The orders gRPC servicer: translates protobuf to domain calls and back.

Each mutation is one transaction holding its idempotency record, its state change and, for
orders, its events in the event store and the outbox. A cart is locked (`FOR UPDATE`) while it
changes, so concurrent changes of one cart apply one after the other. Reads of orders come from
the read models (`order_details`, `order_list`), which the projection keeps current.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.orders.v1 import orders_pb2 as pb
from agora._proto.agora.orders.v1 import orders_pb2_grpc
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.orders import store
from agora.orders.access import (
    ensure_changeable,
    ensure_may_list,
    ensure_readable,
    may_change_order,
    may_read_order,
    new_cart_owner,
    new_order_capability,
    order_owner,
    token_digest,
)
from agora.orders.aggregate import (
    FulfilmentLine,
    History,
    Order,
    OrderEvent,
    OrderPlaced,
    OrderRefunded,
    ReturnApproved,
    ReturnLine,
    ReturnRejected,
    ReturnRequested,
    ReturnStatus,
)
from agora.orders.clients import Catalog, Payments, PaymentsRefund
from agora.orders.domain import (
    Cart,
    CartChanged,
    CartLine,
    CartStatus,
    OrderListQuery,
    PlacedDays,
    ShopRules,
    cart_totals,
    catalog_changes,
    chosen_shipping,
    ensure_open,
    new_cart,
    parcel_weight,
    pay_currency,
    ready_for_checkout,
    require_quantity,
    shipping_options,
    touched,
    with_catalog_changes,
    with_line,
    with_quantity,
    with_shipping_address,
    with_shipping_method,
    without_line,
)
from agora.orders.translation import (
    ORDER_STATUS_BY_PB,
    ORDER_STATUS_PB,
    RETURN_STATUS_BY_PB,
    address,
    cart_pb,
    money,
    order_pb,
    order_refund_pb,
    order_summary_pb,
    return_request_from_row,
    return_request_pb,
    shipping_method_pb,
)
from agora.platform.audit import record_audit
from agora.platform.db import session_factory, transaction
from agora.platform.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from agora.platform.idempotency import AuthorizeReplay, Capability, idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import page_size
from agora.platform.rpc.timestamps import timestamp
from agora.platform.security.permissions import ORDERS_REFUND
from agora.platform.security.principal import current_principal

ResponseT = TypeVar("ResponseT", bound=Message)
Change = Callable[[AsyncSession], Awaitable[ResponseT]]
CartChange = Callable[[Cart], Awaitable[Cart]]

# Order ids derive from (cart, idempotency key): a retried placement names the same order.
ORDER_NAMESPACE = uuid.UUID("6f1d8e2a-4c7b-5e39-9a0d-3b2c1f4e5a60")


class OrdersService(orders_pb2_grpc.OrdersServiceServicer):
    """OrdersService over the orders schema reached through `engine`."""

    def __init__(
        self,
        engine: AsyncEngine,
        catalog: Catalog,
        payments: Payments,
        rules: ShopRules,
        *,
        reservation_ttl_s: int = 1_200,
    ) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._catalog = catalog
        self._payments = payments
        self._rules = rules
        self._reservation_ttl_s = reservation_ttl_s

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Change[ResponseT],
        *,
        guest_capability: Capability | None,
        authorize_replay: AuthorizeReplay | None,
    ) -> ResponseT:
        """One transaction: claim the idempotency key, make the change, record its events.

        A guest's key is scoped to the cart or order they act on; a replay re-runs the
        ownership check that `change` makes (`authorize_replay`) before the stored answer."""
        return await idempotent_mutation(
            self._sessions,
            operation=f"orders.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=guest_capability,
            authorize_replay=authorize_replay,
        )

    def _cart_owner_check(self, token: str) -> AuthorizeReplay:
        """On a replay: the caller may still change the cart (`ensure_changeable`)."""

        async def check(session: AsyncSession) -> None:
            cart = await store.cart_by_token(session, token)
            ensure_changeable(current_principal(), cart.customer_id, "cart", token)

        return check

    def _order_owner_check(self, order_id: str, access_token: str) -> AuthorizeReplay:
        """On a replay: the caller may still change the order (its customer, staff, or for a
        guest order the holder of its access token)."""

        async def check(session: AsyncSession) -> None:
            history = await store.load(session, order_id)
            customer_id = history.order.placed.customer_id
            holds_token = await self._holds_access(session, order_id, access_token)
            if not may_change_order(current_principal(), customer_id, holds_token=holds_token):
                raise NotFound("order", order_id)

        return check

    async def _change_cart(self, operation: str, request: Any, change: CartChange) -> pb.Cart:
        async def in_transaction(session: AsyncSession) -> pb.Cart:
            now = utcnow()
            cart = await store.cart_by_token(session, request.cart_token, for_update=True)
            ensure_changeable(current_principal(), cart.customer_id, "cart", request.cart_token)
            ensure_open(cart, now)
            changed = touched(await change(cart), now, self._rules)
            await store.save_cart(session, changed)
            return self._cart_pb(changed)

        return await self._mutate(
            operation,
            request,
            pb.Cart,
            in_transaction,
            guest_capability=Capability("cart", request.cart_token),
            authorize_replay=self._cart_owner_check(request.cart_token),
        )

    def _cart_pb(self, cart: Cart) -> pb.Cart:
        return cart_pb(cart, cart_totals(cart, self._rules), chosen_shipping(cart, self._rules))

    async def _open_cart(self, token: str) -> Cart:
        async with self._reads.connect() as conn:
            cart = await store.cart_by_token(conn, token)
        ensure_readable(current_principal(), cart.customer_id, "cart", token)
        ensure_open(cart, utcnow())
        return cart

    # --- carts ---------------------------------------------------------------------------

    async def CreateCart(self, request: pb.CreateCartRequest, context: object) -> pb.Cart:
        customer_id = new_cart_owner(current_principal(), request.customer_id)

        async def change(session: AsyncSession) -> pb.Cart:
            cart = new_cart(
                token=secrets.token_urlsafe(24),
                currency=request.currency,
                customer_id=customer_id,
                now=utcnow(),
                rules=self._rules,
            )
            await store.insert_cart(session, cart)
            return self._cart_pb(cart)

        # A guest has nothing to act on yet: their key must be a UUID. The owner was decided
        # above, outside `change`, so a replay decides it (and checks staff's right) again.
        return await self._mutate(
            "CreateCart", request, pb.Cart, change, guest_capability=None, authorize_replay=None
        )

    async def GetCart(self, request: pb.GetCartRequest, context: object) -> pb.Cart:
        async with self._reads.connect() as conn:
            cart = await store.cart_by_token(conn, request.cart_token)
        ensure_readable(current_principal(), cart.customer_id, "cart", request.cart_token)
        if cart.status is CartStatus.OPEN:
            ensure_open(cart, utcnow())
        return self._cart_pb(cart)

    async def AddCartLine(self, request: pb.AddCartLineRequest, context: object) -> pb.Cart:
        product_id = require_id(request.product_id, "productId") if request.product_id else ""
        variant_id = require_id(request.variant_id, "variantId")
        quantity = require_quantity(request.quantity)

        async def change(cart: Cart) -> Cart:
            offer = await self._catalog.offer(product_id, variant_id, cart.currency)
            line = CartLine(
                offer.variant_id,
                offer.product_id,
                offer.sku,
                offer.title,
                quantity,
                offer.unit_price_minor,
            )
            return with_line(cart, line)

        return await self._change_cart("AddCartLine", request, change)

    async def UpdateCartLine(self, request: pb.UpdateCartLineRequest, context: object) -> pb.Cart:
        variant_id = require_id(request.variant_id, "variantId")
        quantity = require_quantity(request.quantity)

        async def change(cart: Cart) -> Cart:
            line = next((x for x in cart.lines if x.variant_id == variant_id), None)
            if line is None:
                raise InvalidArgument.for_field(
                    "variantId", f"variant {variant_id} is not in the cart"
                )
            offer = await self._catalog.offer(line.product_id, variant_id, cart.currency)
            return with_quantity(cart, variant_id, quantity, offer.unit_price_minor)

        return await self._change_cart("UpdateCartLine", request, change)

    async def RemoveCartLine(self, request: pb.RemoveCartLineRequest, context: object) -> pb.Cart:
        variant_id = require_id(request.variant_id, "variantId")

        async def change(cart: Cart) -> Cart:
            return without_line(cart, variant_id)

        return await self._change_cart("RemoveCartLine", request, change)

    async def SetShippingAddress(
        self, request: pb.SetShippingAddressRequest, context: object
    ) -> pb.Cart:
        async def change(cart: Cart) -> Cart:
            return with_shipping_address(cart, address(request.address), self._rules)

        return await self._change_cart("SetShippingAddress", request, change)

    async def ListShippingMethods(
        self, request: pb.ListShippingMethodsRequest, context: object
    ) -> pb.ListShippingMethodsResponse:
        cart = await self._open_cart(request.cart_token)
        if cart.shipping_address is None:
            return pb.ListShippingMethodsResponse()
        options = shipping_options(
            self._rules.shipping,
            cart.shipping_address.country,
            cart.currency,
            parcel_weight(cart.lines, self._rules),
        )
        return pb.ListShippingMethodsResponse(
            methods=[shipping_method_pb(option, cart.currency) for option in options]
        )

    async def SetShippingMethod(
        self, request: pb.SetShippingMethodRequest, context: object
    ) -> pb.Cart:
        async def change(cart: Cart) -> Cart:
            return with_shipping_method(cart, request.code, self._rules)

        return await self._change_cart("SetShippingMethod", request, change)

    # --- orders --------------------------------------------------------------------------

    async def PlaceOrder(self, request: pb.PlaceOrderRequest, context: object) -> pb.Order:
        """The cart becomes an order in state `placed`, its stock held at the catalog.

        The catalog calls happen inside the transaction, under the cart's lock: first every line
        is checked against the catalog as it is now (one call); a line archived, unpriced or
        repriced since it was added refuses the order (CART_CHANGED, nothing written) and then
        the cart is brought up to date in a transaction of its own. Then the stock is reserved:
        if that fails (out of stock), nothing is written; if the commit fails after it, a retry
        with the same key names the same order and gets the same reservation back (its
        idempotency key derives from the order id), and an abandoned reservation expires at the
        catalog on its own.

        A guest order's access token is made after the order is stored, for this answer only
        (first call or retry: each gets a token of its own), so no stored answer holds one.
        """
        principal = current_principal()

        async def change(session: AsyncSession) -> pb.Order:
            now = utcnow()
            cart = await store.cart_by_token(session, request.cart_token, for_update=True)
            ensure_changeable(principal, cart.customer_id, "cart", request.cart_token)
            ensure_open(cart, now)
            shipping = ready_for_checkout(cart, self._rules)
            paying = pay_currency(request.pay_currency, cart.currency)
            catalog = await self._catalog.variants_now([x.product_id for x in cart.lines])
            if changes := catalog_changes(cart, catalog):
                raise CartChanged(changes, cart.currency)
            order_id = str(uuid.uuid5(ORDER_NAMESPACE, f"{cart.id}:{request.idempotency_key}"))
            reservation_id = await self._catalog.reserve(
                order_id, cart.lines, self._reservation_ttl_s
            )
            placed = OrderPlaced(
                order_id=order_id,
                cart_id=cart.id,
                customer_id=order_owner(principal, cart.customer_id),
                currency=cart.currency,
                lines=cart.lines,
                totals=cart_totals(cart, self._rules),
                shipping_address=cart.shipping_address,  # type: ignore[arg-type]
                shipping_method=shipping.method.code,
                shipping_method_name=shipping.method.name,
                reservation_id=reservation_id,
                pay_currency=paying,
            )
            order = await store.append(
                session, order_id, [placed], expected_version=0, before=None, occurred_at=now
            )
            ordered = replace(cart, status=CartStatus.ORDERED, order_id=order_id)
            await store.save_cart(session, replace(ordered, version=cart.version + 1))
            return order_pb(order, placed_at=now, updated_at=now)

        try:
            placed = await self._mutate(
                "PlaceOrder",
                request,
                pb.Order,
                change,
                guest_capability=Capability("cart", request.cart_token),
                authorize_replay=self._cart_owner_check(request.cart_token),
            )
        except CartChanged as changed:
            await self._bring_up_to_date(request.cart_token, changed)
            raise
        if not placed.customer_id:
            placed.access_token = await self._grant_access(placed.id)
        return placed

    async def _bring_up_to_date(self, cart_token: str, changed: CartChanged) -> None:
        """Reprice or remove the lines the catalog refused, so the cart shows what an order
        would cost now (a cart that became an order meanwhile stays as it is)."""
        async with transaction(self._sessions) as session:
            cart = await store.cart_by_token(session, cart_token, for_update=True)
            if cart.status is not CartStatus.OPEN:
                return
            updated = with_catalog_changes(cart, changed.changes)
            await store.save_cart(session, touched(updated, utcnow(), self._rules))

    async def _grant_access(self, order_id: str) -> str:
        capability = new_order_capability()
        async with transaction(self._sessions) as session:
            await store.insert_order_access(session, order_id, capability.digest)
        return capability.token

    async def _holds_access(self, db: store.Db, order_id: str, token: str) -> bool:
        """True when `token` is an access token given for the guest order."""
        if not token:
            return False
        return await store.order_access_granted(db, order_id, token_digest(token))

    async def GetOrder(self, request: pb.GetOrderRequest, context: object) -> pb.Order:
        order_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            view = await store.fresh_order_view(conn, order_id)
            if view is None:
                # Not projected yet (just placed or just changed): the event store is the truth.
                history = await store.load(conn, order_id)
                view = order_pb(
                    history.order, placed_at=history.placed_at, updated_at=history.updated_at
                )
            holds_token = not view.customer_id and await self._holds_access(
                conn, order_id, request.access_token
            )
        if not may_read_order(current_principal(), view.customer_id, holds_token=holds_token):
            raise NotFound("order", order_id)
        return view

    async def GetOrderHistory(
        self, request: pb.GetOrderHistoryRequest, context: object
    ) -> pb.GetOrderHistoryResponse:
        """The order's events with their times and the status each left (staff: the
        interceptor checks `orders:read:any`)."""
        order_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            entries = await store.order_history(conn, order_id)
        return pb.GetOrderHistoryResponse(
            entries=[
                pb.OrderHistoryEntry(
                    version=version,
                    type=event_type,
                    occurred_at=timestamp(occurred_at),
                    status=ORDER_STATUS_PB[order.status],
                )
                for version, (event_type, occurred_at, order) in enumerate(entries, start=1)
            ]
        )

    async def ListOrderReturnRequests(
        self, request: pb.ListOrderReturnRequestsRequest, context: object
    ) -> pb.ListOrderReturnRequestsResponse:
        """The order's return requests, to whoever may read the order (NOT_FOUND otherwise)."""
        order_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            history = await store.load(conn, order_id)
            customer_id = history.order.placed.customer_id
            holds_token = not customer_id and await self._holds_access(
                conn, order_id, request.access_token
            )
            if not may_read_order(current_principal(), customer_id, holds_token=holds_token):
                raise NotFound("order", order_id)
            rows = await store.return_requests_of(conn, order_id)
        return pb.ListOrderReturnRequestsResponse(
            return_requests=[return_request_from_row(row) for row in rows]
        )

    async def ListReturnRequests(
        self, request: pb.ListReturnRequestsRequest, context: object
    ) -> pb.ListReturnRequestsResponse:
        """Every order's return requests for staff, oldest first."""
        status = None
        if request.status != pb.RETURN_STATUS_UNSPECIFIED:
            if request.status not in RETURN_STATUS_BY_PB:
                raise InvalidArgument.for_field("status", "unknown return status")
            status = RETURN_STATUS_BY_PB[request.status].value
        size = page_size(request.page_size)
        async with self._reads.connect() as conn:
            rows, next_token = await store.return_requests_page(
                conn, status=status, page_size=size, page_token=request.page_token
            )
        return pb.ListReturnRequestsResponse(
            return_requests=[return_request_from_row(row) for row in rows],
            next_page_token=next_token,
        )

    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: object
    ) -> pb.ListOrdersResponse:
        if not request.customer_id.strip():
            raise InvalidArgument.for_field("customerId", "required")
        ensure_may_list(current_principal(), request.customer_id.strip())
        query = OrderListQuery(
            customer_id=request.customer_id.strip(),
            page_size=page_size(request.page_size),
            page_token=request.page_token,
        )
        return pb.ListOrdersResponse(**await self._list(query))

    async def SearchOrders(
        self, request: pb.SearchOrdersRequest, context: object
    ) -> pb.SearchOrdersResponse:
        status = None
        if request.status != pb.ORDER_STATUS_UNSPECIFIED:
            if request.status not in ORDER_STATUS_BY_PB:
                raise InvalidArgument.for_field("status", "unknown order status")
            status = pb.OrderStatus.Name(request.status)
        query = OrderListQuery(
            status=status,
            words=tuple(request.q.split()),
            placed=PlacedDays.parse(request.placed_from, request.placed_to),
            page_size=page_size(request.page_size),
            page_token=request.page_token,
        )
        return pb.SearchOrdersResponse(**await self._list(query))

    async def _list(self, query: OrderListQuery) -> dict[str, Any]:
        """The fields of a listing's response: the page's orders and the next page's token."""
        async with self._reads.connect() as conn:
            page = await store.list_orders(conn, query)
        return {
            "orders": [order_summary_pb(summary) for summary in page.orders],
            "next_page_token": page.next_page_token,
        }

    async def CancelOrder(self, request: pb.CancelOrderRequest, context: object) -> pb.Order:
        """placed | awaiting_payment -> cancelled; the stock release follows from its event."""
        order_id = require_id(request.id, "id")
        principal = current_principal()

        async def change(session: AsyncSession) -> pb.Order:
            holds_token = await self._holds_access(session, order_id, request.access_token)

            def cancel(order: Order) -> list[OrderEvent]:
                owner = order.placed.customer_id
                if not may_change_order(principal, owner, holds_token=holds_token):
                    raise NotFound("order", order_id)
                return [order.cancel(request.reason)]

            return await self._apply(session, order_id, cancel)

        return await self._mutate(
            "CancelOrder",
            request,
            pb.Order,
            change,
            guest_capability=Capability("order", order_id),
            authorize_replay=self._order_owner_check(order_id, request.access_token),
        )

    async def _apply(
        self, session: AsyncSession, order_id: str, decide: Callable[[Order], list[OrderEvent]]
    ) -> pb.Order:
        """Load the order, decide its new events, append them after the loaded version."""
        now = utcnow()
        history = await store.load(session, order_id)
        order = await store.append(
            session,
            order_id,
            decide(history.order),
            expected_version=history.order.version,
            before=history.order,
            occurred_at=now,
        )
        return order_pb(order, placed_at=history.placed_at, updated_at=now)

    async def RequestReturn(
        self, request: pb.RequestReturnRequest, context: object
    ) -> pb.ReturnRequest:
        """A shipped or delivered order gets a `ReturnRequested` event (its version moves, its
        state stays), a row in `return_requests` and an audit entry, in one transaction."""
        order_id = require_id(request.id, "id")
        lines = [
            ReturnLine(require_id(x.variant_id, f"lines[{i}].variantId"), x.quantity)
            for i, x in enumerate(request.lines)
        ]
        principal = current_principal()

        async def change(session: AsyncSession) -> pb.ReturnRequest:
            holds_token = await self._holds_access(session, order_id, request.access_token)
            history = await store.load(session, order_id)
            before = history.order
            if not may_change_order(principal, before.placed.customer_id, holds_token=holds_token):
                raise NotFound("order", order_id)
            requested = before.request_return(str(uuid.uuid4()), lines, request.reason)
            return await self._record_return(session, before, requested)

        return await self._mutate(
            "RequestReturn",
            request,
            pb.ReturnRequest,
            change,
            guest_capability=Capability("order", order_id),
            authorize_replay=self._order_owner_check(order_id, request.access_token),
        )

    async def _record_return(
        self, session: AsyncSession, before: Order, requested: ReturnRequested
    ) -> pb.ReturnRequest:
        now = utcnow()
        after = await store.append(
            session,
            before.id,
            [requested],
            expected_version=before.version,
            before=before,
            occurred_at=now,
        )
        status = ReturnStatus.REQUESTED
        answer = return_request_pb(requested, after, status=status, requested_at=now)
        await store.insert_return_request(
            session,
            answer,
            customer_id=after.placed.customer_id,
            status=status.value,
            order_version=after.version,
            requested_at=now,
        )
        await record_audit(
            session,
            service="orders",
            action="return_requested",
            target_type="order",
            target_id=after.id,
            after=answer,
        )
        return answer

    # --- fulfilment, for staff -----------------------------------------------------------
    # Each call: one transaction with the idempotency record (the staff member's scope: the
    # rule's permission is the only check, so there is no replay check), the order's events,
    # their outbox entries and an audit entry with the order before and after.

    async def FulfilOrder(self, request: pb.FulfilOrderRequest, context: object) -> pb.Order:
        lines = [
            FulfilmentLine(require_id(x.variant_id, f"lines[{i}].variantId"), x.quantity)
            for i, x in enumerate(request.lines)
        ]
        return await self._staff_transition(
            "FulfilOrder", request, "lines_fulfilled", lambda order: order.fulfil_lines(lines)
        )

    async def ShipOrder(self, request: pb.ShipOrderRequest, context: object) -> pb.Order:
        def ship(order: Order) -> list[OrderEvent]:
            return [order.ship(request.carrier, request.tracking_number, request.tracking_url)]

        return await self._staff_transition("ShipOrder", request, "shipped", ship)

    async def DeliverOrder(self, request: pb.DeliverOrderRequest, context: object) -> pb.Order:
        return await self._staff_transition(
            "DeliverOrder", request, "delivered", lambda order: [order.deliver()]
        )

    async def _staff_transition(
        self,
        operation: str,
        request: Any,
        action: str,
        decide: Callable[[Order], list[OrderEvent]],
    ) -> pb.Order:
        order_id = require_id(request.id, "id")

        async def change(session: AsyncSession) -> pb.Order:
            history = await store.load(session, order_id)
            after = await self._append_audited(session, history, decide(history.order), action)
            return after

        return await self._staff_mutation(operation, request, pb.Order, change)

    async def _staff_mutation(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Change[ResponseT],
    ) -> ResponseT:
        return await self._mutate(
            operation,
            request,
            response_type,
            change,
            guest_capability=None,
            authorize_replay=None,
        )

    async def _append_audited(
        self, session: AsyncSession, history: History, events: list[OrderEvent], action: str
    ) -> pb.Order:
        """Append `events` after the loaded order and audit the order before and after."""
        now = utcnow()
        before = history.order
        after = await store.append(
            session,
            before.id,
            events,
            expected_version=before.version,
            before=before,
            occurred_at=now,
        )
        shown = order_pb(after, placed_at=history.placed_at, updated_at=now)
        await record_audit(
            session,
            service="orders",
            action=action,
            target_type="order",
            target_id=before.id,
            before=order_pb(before, placed_at=history.placed_at, updated_at=history.updated_at),
            after=shown,
        )
        return shown

    async def CancelPaidOrder(
        self, request: pb.CancelPaidOrderRequest, context: object
    ) -> pb.RefundOrderResponse:
        """paid | fulfilled -> cancelled, and the rest of the total refunded through payments
        (before the events are appended: a refused refund changes nothing). The stock release
        follows from `OrderCancelled`, as for any cancellation."""
        order_id = require_id(request.id, "id")

        async def change(session: AsyncSession) -> pb.RefundOrderResponse:
            history = await store.load(session, order_id)
            events = history.order.cancel_paid(request.reason)
            refund = None
            if isinstance(events[-1], OrderRefunded):
                refund = await self._refund(history.order, events[-1], request.reason)
                events[-1] = replace(events[-1], refund_id=refund.id)
            shown = await self._append_audited(session, history, events, "paid_order_cancelled")
            return self._refund_response(shown, events[-1], refund)

        return await self._staff_mutation(
            "CancelPaidOrder", request, pb.RefundOrderResponse, change
        )

    async def RefundOrder(
        self, request: pb.RefundOrderRequest, context: object
    ) -> pb.RefundOrderResponse:
        """Part or the rest of the order refunded through payments, then `OrderRefunded`."""
        order_id = require_id(request.id, "id")

        async def change(session: AsyncSession) -> pb.RefundOrderResponse:
            history = await store.load(session, order_id)
            amount = _amount_in(history.order, request.amount, "amount")
            refunded = history.order.refund(amount)
            refund = await self._refund(history.order, refunded, request.reason)
            event = replace(refunded, refund_id=refund.id)
            shown = await self._append_audited(session, history, [event], "refunded")
            return self._refund_response(shown, event, refund)

        return await self._staff_mutation("RefundOrder", request, pb.RefundOrderResponse, change)

    async def _refund(self, order: Order, refunded: OrderRefunded, reason: str) -> PaymentsRefund:
        if not order.invoice_id:
            raise FailedPrecondition(
                f"order {order.id} has no invoice to refund",
                metadata={"status": f"ORDER_STATUS_{order.status.name}"},
            )
        return await self._payments.refund(order, refunded.amount_minor, reason.strip())

    @staticmethod
    def _refund_response(
        shown: pb.Order, event: OrderEvent, refund: PaymentsRefund | None
    ) -> pb.RefundOrderResponse:
        if refund is None or not isinstance(event, OrderRefunded):
            return pb.RefundOrderResponse(order=shown)
        return pb.RefundOrderResponse(order=shown, refund=_refund_pb(shown, event, refund))

    async def ApproveReturn(
        self, request: pb.ApproveReturnRequest, context: object
    ) -> pb.ReturnDecision:
        """requested -> approved; with `refund`, also refunded through payments (which needs
        `orders:refund` besides the rule's `orders:returns:write`)."""
        with_refund = request.HasField("refund")
        if with_refund and not current_principal().can(ORDERS_REFUND):
            raise PermissionDenied.missing(ORDERS_REFUND)
        return await self._decide_return(request, approve=True, with_refund=with_refund)

    async def RejectReturn(
        self, request: pb.RejectReturnRequest, context: object
    ) -> pb.ReturnDecision:
        """requested -> rejected, saying why."""
        return await self._decide_return(request, approve=False, with_refund=False)

    async def _decide_return(
        self, request: Any, *, approve: bool, with_refund: bool
    ) -> pb.ReturnDecision:
        order_id = require_id(request.id, "id")
        return_id = require_id(request.return_id, "returnId")
        operation = "ApproveReturn" if approve else "RejectReturn"

        async def change(session: AsyncSession) -> pb.ReturnDecision:
            history = await store.load(session, order_id)
            before = history.order
            decided = before.decide_return(return_id, approve=approve, reason=request.reason)
            events: list[OrderEvent] = [decided]
            refund = None
            if with_refund:
                amount = _amount_in(before, request.refund, "refund")
                refunded = before.apply(decided).refund(amount)
                refund = await self._refund(before, refunded, f"return {return_id}")
                events.append(replace(refunded, refund_id=refund.id))
            return await self._record_decision(session, history, events, refund)

        return await self._staff_mutation(operation, request, pb.ReturnDecision, change)

    async def _record_decision(
        self,
        session: AsyncSession,
        history: History,
        events: list[OrderEvent],
        refund: PaymentsRefund | None,
    ) -> pb.ReturnDecision:
        """Append the decision (and its refund), record it on the return request (with the
        deciding staff member, kept server-side), audit it."""
        decided = events[0]
        assert isinstance(decided, ReturnApproved | ReturnRejected)
        now = utcnow()
        after = await store.append(
            session,
            history.order.id,
            events,
            expected_version=history.order.version,
            before=history.order,
            occurred_at=now,
        )
        status = after.return_status(decided.return_id)
        await store.record_return_decision(
            session,
            decided.return_id,
            status.value,
            reason=decided.reason,
            by=current_principal().subject,
            at=now,
        )
        row = await store.return_request(session, after.id, decided.return_id)
        shown = order_pb(after, placed_at=history.placed_at, updated_at=now)
        answer = pb.ReturnDecision(
            return_request=return_request_from_row(row), reason=decided.reason, order=shown
        )
        if refund is not None and isinstance(events[-1], OrderRefunded):
            answer.refund.CopyFrom(_refund_pb(shown, events[-1], refund))
        await record_audit(
            session,
            service="orders",
            action=f"return_{status.value}",
            target_type="order",
            target_id=after.id,
            after=answer,
        )
        return answer


def _amount_in(order: Order, amount: Money, path: str) -> int:
    """The minor units of `amount`, which must be in the order's currency."""
    if amount.currency.strip().upper() != order.placed.currency:
        raise InvalidArgument.for_field(
            f"{path}.currency", f"must be the order's currency, {order.placed.currency}"
        )
    return amount.amount_minor


def _refund_pb(shown: pb.Order, event: OrderRefunded, refund: PaymentsRefund) -> pb.OrderRefund:
    return order_refund_pb(
        refund.id,
        refund.invoice_id,
        money(event.amount_minor, shown.currency),
        pay_amount=refund.pay_amount,
        pay_currency=refund.pay_currency,
        decimals=refund.decimals,
        full=event.full,
    )

"""Admin: orders (search, detail with history, fulfil, ship, deliver, refund, cancel, returns)
and products (list, create, edit, variants, prices, stock, publish/archive/restore, CSV import).

Every change is a form posting back with an idempotency key rendered into it, so a retried
POST does not act twice; the services decide what staff may do and their refusals are shown on
the page. The CSV import is driven by `static/js/product_import.js`: the file is validated here
whole, then imported in batches of rows, each row under keys derived from the upload id and its
line, so a retried batch creates nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode, urlsplit

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from agora._proto.agora.catalog.v1 import catalog_pb2 as cat
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.orders.v1 import orders_pb2 as ords
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1 import payments_pb2 as pay
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.gateway.problem import problem_from_rpc_error
from agora.gateway.web.admin.listing import (
    Filter,
    ListQuery,
    words_and_choice,
    words_and_choice_bar,
)
from agora.gateway.web.admin.product_csv import (
    MAX_VARIANTS,
    FileRefused,
    Problem,
    ProductFields,
    Row,
    VariantRow,
    check_batch,
    check_csv,
)
from agora.gateway.web.site import Page, Site, WebRefusal, user_message
from agora.platform.kernel.checks import whole_number
from agora.platform.kernel.money import ISO_EXPONENTS
from agora.platform.rpc.status import error_info_from_rpc_error

PAGE_SIZE = 25
MAX_VERSION = 2**63 - 1  # a product version (int64)
# The CSV import's bounds: the file, its rows, and the rows of one batch.
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_MAX_ROWS = 1000
IMPORT_BATCH = 25
# The catalog's product fields as the import's columns name them.
IMPORT_FIELD_COLUMNS = {"title": "name", "description": "description", "category_id": "category"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DAYS_HELP = "A day in UTC, included."
UPLOAD_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
MAX_MINOR = 1_000_000_000_000

ORDER_STATUSES = (
    "placed",
    "awaiting_payment",
    "paid",
    "fulfilled",
    "shipped",
    "delivered",
    "cancelled",
    "expired",
    "refunded",
)
PRODUCT_STATUSES = ("draft", "published", "archived")
RETURN_STATUSES = ("requested", "approved", "rejected")
ORDER_DONE = {
    "fulfil": "The order is fulfilled.",
    "ship": "The order is shipped.",
    "deliver": "The order is delivered.",
    "refund": "The refund was made.",
    "cancel": "The order is cancelled.",
    "approve": "The return is approved.",
    "reject": "The return is rejected.",
}
PRODUCT_DONE = {
    "created": "The product was created.",
    "saved": "The product was saved.",
    "variant": "The variant was added.",
    "edited": "The variant was saved.",
    "prices": "The prices were saved.",
    "stock": "The stock was saved.",
    "publish": "The product is published.",
    "unpublish": "The product is unpublished: it is a draft again.",
    "archive": "The product is archived.",
    "restore": "The product is restored (draft).",
}


class BadInput(ValueError):
    """Input staff typed that cannot be sent: said next to the form."""


class VariantRefused(BadInput):
    """A variant's edit refused field by field (`sku`, `title`, `options`): each said next to
    its field, with the values staff sent kept in the form."""

    def __init__(self, status: int, fields: Mapping[str, str], sent: Mapping[str, str]) -> None:
        super().__init__("Check the variant's fields.")
        self.status = status
        self.fields = dict(fields)
        self.sent = dict(sent)


def order_status_name(value: int) -> str:
    return ords.OrderStatus.Name(value).removeprefix("ORDER_STATUS_").lower()


def product_status_name(value: int) -> str:
    return cat.ProductStatus.Name(value).removeprefix("PRODUCT_STATUS_").lower()


def exponent(currency: str) -> int:
    return ISO_EXPONENTS.get(currency, 2)


def parse_minor(text: str, currency: str, label: str = "Amount") -> int:
    """A decimal amount typed by staff (`12.50`) in minor units of `currency` (1250): digits
    and at most the currency's number of decimals, no sign, no thousands separators."""
    cleaned = text.strip()
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", cleaned):
        raise BadInput(f"{label}: write a number like 12.50 (no sign, no thousands separator).")
    places = exponent(currency)
    decimals = len(cleaned.partition(".")[2])
    if decimals > places:
        raise BadInput(f"{label}: {currency} has {places} decimal places at most.")
    try:
        minor = int(Decimal(cleaned).scaleb(places))
    except InvalidOperation:
        raise BadInput(f"{label}: not a number.") from None
    if minor > MAX_MINOR:
        raise BadInput(f"{label}: too large.")
    return minor


def minor_to_input(minor: int, currency: str) -> str:
    """Minor units as the decimal an input shows (`1250` EUR → `12.50`)."""
    places = exponent(currency)
    if places == 0:
        return str(minor)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"


def _new_key() -> str:
    return str(uuid.uuid4())


def _key(form: Mapping[str, Any]) -> str:
    """The form's idempotency key (rendered with the form), or a refusal."""
    value = form.get("idempotency_key")
    if not isinstance(value, str) or not UUID.match(value):
        raise BadInput("This form is incomplete: reload the page and try again.")
    return value


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _refusal(page: Page, error: grpc.aio.AioRpcError) -> tuple[int, str]:
    """The status and message of a refusal the form can show; a failure that is no fault of
    the input (unavailable, internal, signed out) is re-raised to become the error page."""
    problem = problem_from_rpc_error(error)
    if problem.status == 401 or problem.status >= 500:
        raise error
    message = user_message(page, problem)
    if problem.errors:
        message += " " + "; ".join(f"{v.field}: {v.description}" for v in problem.errors)
    if problem.shortages:
        message += " (not enough stock)"
    return problem.status, message


def _list_refusal(page: Page, error: grpc.aio.AioRpcError) -> str:
    """A search the service found invalid (a stale page token, too long a text) is said above
    the list; anything else (no permission, unavailable) becomes the error page."""
    problem = problem_from_rpc_error(error)
    if problem.status != 400:
        raise error
    return _refusal(page, error)[1]


def _next_url(page: Page) -> str:
    return page.request.url.path + (f"?{page.request.url.query}" if page.request.url.query else "")


def _staff_redirect(site: Site, page: Page) -> Response | None:
    if page.signed_in:
        return None
    return site.redirect(page, f"/admin/login?{urlencode({'next': _next_url(page)})}")


def placed_days_problem(first: str, last: str) -> str:
    """What is wrong with the days of the orders filter ("" when nothing)."""
    days = []
    for text, label in ((first, "Placed from"), (last, "Placed to")):
        day = None
        if text:
            with contextlib.suppress(ValueError):
                day = date.fromisoformat(text) if DAY.fullmatch(text) else None
            if day is None:
                return f"{label}: write a day as YYYY-MM-DD (for example 2026-03-31)."
        days.append(day)
    if days[0] and days[1] and days[0] > days[1]:
        return "Placed to: a day on or after Placed from."
    return ""


def order_filters(filters: Mapping[str, str]) -> list[Filter]:
    return [
        *words_and_choice_bar(
            filters,
            ("Search", "Order number, customer name, email or city."),
            "status",
            "Status",
            [("", "Any status"), *((s, s.replace("_", " ")) for s in ORDER_STATUSES)],
        ),
        Filter("placed_from", "Placed from", filters["placed_from"], kind="date", help=DAYS_HELP),
        Filter("placed_to", "Placed to", filters["placed_to"], kind="date", help=DAYS_HELP),
    ]


def product_filters(filters: Mapping[str, str]) -> list[Filter]:
    return words_and_choice_bar(
        filters,
        ("Search", "Name, slug or SKU."),
        "status",
        "Status",
        [("", "Any status"), *((s, s) for s in PRODUCT_STATUSES)],
    )


# --- orders ---------------------------------------------------------------------------------


@dataclass
class OrderView:
    """What the order page shows, read concurrently."""

    order: ords.Order
    history: Sequence[ords.OrderHistoryEntry] = ()
    returns: Sequence[ords.ReturnRequest] = ()
    invoice: pay.Invoice | None = None
    notes: list[str] = field(default_factory=list)


def _order_actions(order: ords.Order) -> set[str]:
    """What the order's status allows (the service decides; this only hides what it refuses)."""
    status = order_status_name(order.status)
    remaining = order.totals.total.amount_minor - order.refunded.amount_minor
    actions: set[str] = set()
    if status == "paid" and not order.payment_at_risk:
        actions.add("fulfil")
    if status == "fulfilled" and not order.payment_at_risk:
        actions.add("ship")
    if status == "shipped":
        actions.add("deliver")
    if status in ("paid", "fulfilled", "shipped", "delivered") and remaining > 0:
        actions.add("refund")
    if status in ("paid", "fulfilled"):
        actions.add("cancel_paid")
    if status in ("placed", "awaiting_payment"):
        actions.add("cancel")
    return actions


def routes(site: Site) -> list[BaseRoute]:
    def render(page: Page, template: str, *, status: int = 200, **context: Any) -> Response:
        return site.render(page, template, status=status, when=_when(page), **context)

    async def read_order(page: Page, order_id: str) -> OrderView:
        orders = page.stub(OrdersServiceStub, "orders")
        order = await page.call(orders.GetOrder, ords.GetOrderRequest(id=order_id))
        view = OrderView(order=order)

        async def history() -> None:
            try:
                answer = await page.call(
                    orders.GetOrderHistory, ords.GetOrderHistoryRequest(id=order_id)
                )
                view.history = list(answer.entries)
            except grpc.aio.AioRpcError:
                view.notes.append("The order's history could not be read.")

        async def returns() -> None:
            try:
                answer = await page.call(
                    orders.ListOrderReturnRequests, ords.ListOrderReturnRequestsRequest(id=order_id)
                )
                view.returns = list(answer.return_requests)
            except grpc.aio.AioRpcError:
                view.notes.append("The order's return requests could not be read.")

        async def invoice() -> None:
            if not order.invoice_id:
                return
            payments = page.stub(PaymentsServiceStub, "payments")
            try:
                view.invoice = await page.call(
                    payments.GetInvoice, pay.GetInvoiceRequest(id=order.invoice_id)
                )
            except grpc.aio.AioRpcError:
                view.notes.append("The order's invoice could not be read.")

        await asyncio.gather(history(), returns(), invoice())
        return view

    def render_order(
        page: Page, view: OrderView, *, status: int = 200, error: str = "", failed: str = ""
    ) -> Response:
        order = view.order
        remaining = order.totals.total.amount_minor - order.refunded.amount_minor
        done = page.request.query_params.get("done", "")
        return render(
            page,
            "admin/order.html",
            status=status,
            order=order,
            view=view,
            status_name=order_status_name,
            actions=_order_actions(order),
            remaining=remaining,
            remaining_input=minor_to_input(max(remaining, 0), order.currency),
            keys={name: _new_key() for name in ("fulfil", "ship", "deliver", "refund", "cancel")},
            return_keys={r.id: (_new_key(), _new_key()) for r in view.returns},
            invoice_status=lambda v: (
                pay.InvoiceStatus.Name(v).removeprefix("INVOICE_STATUS_").lower()
            ),
            return_status=lambda v: (
                ords.ReturnStatus.Name(v).removeprefix("RETURN_STATUS_").lower()
            ),
            crypto=_crypto_text,
            done=ORDER_DONE.get(done, "") if not error else "",
            error=error,
            failed=failed,
        )

    async def orders_list(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        params = request.query_params
        query = ListQuery.read(
            request,
            words_and_choice(
                request,
                "status",
                ORDER_STATUSES,
                placed_from=params.get("placed_from", "").strip()[:40],
                placed_to=params.get("placed_to", "").strip()[:40],
            ),
            size=PAGE_SIZE,
        )
        filters = query.filters
        error = placed_days_problem(filters["placed_from"], filters["placed_to"])
        found = ords.SearchOrdersResponse()
        if not error:
            orders = page.stub(OrdersServiceStub, "orders")
            try:
                found = await page.call(
                    orders.SearchOrders,
                    ords.SearchOrdersRequest(
                        **query.search_fields("ORDER_STATUS_"),
                        placed_from=filters["placed_from"],
                        placed_to=filters["placed_to"],
                    ),
                )
            except grpc.aio.AioRpcError as failure:
                error = _list_refusal(page, failure)
        return render_list(
            page,
            "admin/orders.html",
            "admin/_orders_results.html",
            status=400 if error else 200,
            orders=found.orders,
            pages=query.pager(found.next_page_token),
            fields=order_filters(filters),
            status_name=order_status_name,
            error=error,
        )

    def render_list(
        page: Page, template: str, results: str, *, status: int, **context: Any
    ) -> Response:
        """A list page, or only its results when htmx asks (swapped in: always 200)."""
        if page.request.headers.get("hx-request") == "true":
            return render(page, results, **context)
        return render(page, template, status=status, **context)

    async def order_detail(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        order_id = request.path_params["order_id"]
        if not UUID.match(order_id):
            return site.error_page(page, 404, "Page not found")
        return render_order(page, await read_order(page, order_id))

    async def order_action(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        order_id = request.path_params["order_id"]
        action = request.path_params["action"]
        if not UUID.match(order_id) or action not in ORDER_DONE or action in ("approve", "reject"):
            return site.error_page(page, 404, "Page not found")
        form = await site.form(page)
        orders = page.stub(OrdersServiceStub, "orders")
        try:
            key = _key(form)
            if action == "fulfil":
                await page.call(
                    orders.FulfilOrder, ords.FulfilOrderRequest(idempotency_key=key, id=order_id)
                )
            elif action == "ship":
                carrier, tracking = _text(form, "carrier"), _text(form, "tracking_number")
                if not carrier or not tracking:
                    raise BadInput("Give the carrier and the tracking number.")
                await page.call(
                    orders.ShipOrder,
                    ords.ShipOrderRequest(
                        idempotency_key=key,
                        id=order_id,
                        carrier=carrier,
                        tracking_number=tracking,
                        tracking_url=_text(form, "tracking_url"),
                    ),
                )
            elif action == "deliver":
                await page.call(
                    orders.DeliverOrder, ords.DeliverOrderRequest(idempotency_key=key, id=order_id)
                )
            elif action == "refund":
                currency = _text(form, "currency")
                if currency not in ISO_EXPONENTS:
                    raise BadInput("This form is incomplete: reload the page and try again.")
                amount = parse_minor(_text(form, "amount"), currency)
                if amount <= 0:
                    raise BadInput("Amount: more than zero.")
                await page.call(
                    orders.RefundOrder,
                    ords.RefundOrderRequest(
                        idempotency_key=key,
                        id=order_id,
                        amount=Money(amount_minor=amount, currency=currency),
                        reason=_text(form, "reason"),
                    ),
                )
            elif action == "cancel":
                reason = _text(form, "reason")
                if _text(form, "paid") == "yes":
                    if not reason:
                        raise BadInput("Say why the order is cancelled.")
                    await page.call(
                        orders.CancelPaidOrder,
                        ords.CancelPaidOrderRequest(
                            idempotency_key=key, id=order_id, reason=reason
                        ),
                    )
                else:
                    await page.call(
                        orders.CancelOrder,
                        ords.CancelOrderRequest(idempotency_key=key, id=order_id, reason=reason),
                    )
        except BadInput as bad:
            view = await read_order(page, order_id)
            return render_order(page, view, status=422, error=str(bad), failed=action)
        except grpc.aio.AioRpcError as failure:
            status, message = _refusal(page, failure)
            view = await read_order(page, order_id)
            return render_order(page, view, status=status, error=message, failed=action)
        return site.redirect(page, f"/admin/orders/{order_id}?done={action}")

    async def returns_queue(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        return await render_returns(page)

    async def render_returns(page: Page, *, status: int = 200, error: str = "") -> Response:
        wanted = page.request.query_params.get("status", "requested")[:20]
        value = f"RETURN_STATUS_{wanted.upper()}" if wanted in RETURN_STATUSES else ""
        # An unknown status lists them all; kept in the pager's links so it stays that way.
        query = ListQuery.read(
            page.request, {"status": wanted}, size=PAGE_SIZE, path="/admin/returns"
        )
        orders = page.stub(OrdersServiceStub, "orders")
        found = await page.call(
            orders.ListReturnRequests,
            ords.ListReturnRequestsRequest(
                status=value or None, page_size=query.size, page_token=query.token
            ),
        )
        done = page.request.query_params.get("done", "")
        return render(
            page,
            "admin/orders_returns.html",
            status=status,
            returns=found.return_requests,
            pages=query.pager(found.next_page_token),
            fields=[
                Filter(
                    "status",
                    "Status",
                    wanted if value else "",
                    choices=[(n, n) for n in RETURN_STATUSES],
                )
            ],
            keys={r.id: (_new_key(), _new_key()) for r in found.return_requests},
            return_status=lambda v: (
                ords.ReturnStatus.Name(v).removeprefix("RETURN_STATUS_").lower()
            ),
            done=ORDER_DONE.get(done, "") if not error else "",
            error=error,
        )

    async def return_decision(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        order_id, return_id = request.path_params["order_id"], request.path_params["return_id"]
        decision = request.path_params["decision"]
        if not (UUID.match(order_id) and UUID.match(return_id)) or decision not in (
            "approve",
            "reject",
        ):
            return site.error_page(page, 404, "Page not found")
        form = await site.form(page)
        orders = page.stub(OrdersServiceStub, "orders")
        back = _text(form, "back")
        back = back if back in ("returns", "order") else "order"
        try:
            key, reason = _key(form), _text(form, "reason")
            if decision == "approve":
                await page.call(
                    orders.ApproveReturn,
                    ords.ApproveReturnRequest(
                        idempotency_key=key, id=order_id, return_id=return_id, reason=reason
                    ),
                )
            else:
                if not reason:
                    raise BadInput("Say why the return is rejected.")
                await page.call(
                    orders.RejectReturn,
                    ords.RejectReturnRequest(
                        idempotency_key=key, id=order_id, return_id=return_id, reason=reason
                    ),
                )
        except (BadInput, grpc.aio.AioRpcError) as failure:
            status, message = (
                (422, str(failure)) if isinstance(failure, BadInput) else _refusal(page, failure)
            )
            if back == "returns":
                return await render_returns(page, status=status, error=message)
            view = await read_order(page, order_id)
            return render_order(page, view, status=status, error=message, failed=decision)
        if back == "returns":
            return site.redirect(page, f"/admin/returns?done={decision}")
        return site.redirect(page, f"/admin/orders/{order_id}?done={decision}")

    # --- products ---------------------------------------------------------------------------

    async def categories(page: Page) -> Sequence[cat.Category]:
        catalog = page.stub(CatalogServiceStub, "catalog")
        found = await page.call(catalog.ListCategories, cat.ListCategoriesRequest())
        return list(found.categories)

    async def products_list(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        query = ListQuery.read(
            request, words_and_choice(request, "status", PRODUCT_STATUSES), size=PAGE_SIZE
        )
        catalog = page.stub(CatalogServiceStub, "catalog")
        error = ""
        try:
            found = await page.call(
                catalog.SearchProducts,
                cat.SearchProductsRequest(**query.search_fields("PRODUCT_STATUS_")),
            )
        except grpc.aio.AioRpcError as failure:
            error = _list_refusal(page, failure)
            found = cat.ListProductsResponse()
        return render_list(
            page,
            "admin/products.html",
            "admin/_catalog_products_results.html",
            status=200,
            products=found.products,
            pages=query.pager(found.next_page_token),
            fields=product_filters(query.filters),
            status_name=product_status_name,
            error=error,
        )

    async def product_new(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        values: dict[str, str] = {}
        error, status = "", 200
        if request.method == "POST":
            form = await site.form(page)
            values = {
                name: _text(form, name) for name in ("title", "slug", "description", "category_id")
            }
            catalog = page.stub(CatalogServiceStub, "catalog")
            try:
                key = _key(form)
                if not values["title"]:
                    raise BadInput("Give the product a name.")
                if values["slug"] and not SLUG.match(values["slug"]):
                    raise BadInput("Slug: lowercase letters, digits and single hyphens only.")
                created = await page.call(
                    catalog.CreateProduct,
                    cat.CreateProductRequest(
                        idempotency_key=key,
                        title=values["title"],
                        slug=values["slug"],
                        description=values["description"],
                        category_id=values["category_id"],
                    ),
                )
                return site.redirect(page, f"/admin/products/{created.id}?done=created")
            except BadInput as bad:
                error, status = str(bad), 422
            except grpc.aio.AioRpcError as failure:
                status, error = _refusal(page, failure)
        return render(
            page,
            "admin/product_new.html",
            status=status,
            values=values,
            categories=await categories(page),
            key=_new_key(),
            error=error,
        )

    async def render_product(
        page: Page,
        product_id: str,
        *,
        status: int = 200,
        error: str = "",
        failed: str = "",
        refused: VariantRefused | None = None,
    ) -> Response:
        catalog = page.stub(CatalogServiceStub, "catalog")
        product, tree = await asyncio.gather(
            page.call(catalog.GetProductById, cat.GetProductByIdRequest(id=product_id)),
            categories(page),
        )

        async def on_hand(variant_id: str) -> cat.Stock | None:
            try:
                level: cat.Stock = await page.call(
                    catalog.GetStock, cat.GetStockRequest(variant_id=variant_id)
                )
            except grpc.aio.AioRpcError:
                return None
            return level

        stocks = await asyncio.gather(*(on_hand(v.id) for v in product.variants))
        done = page.request.query_params.get("done", "")
        currencies = list(site.currencies)
        return render(
            page,
            "admin/product.html",
            status=status,
            product=product,
            categories=tree,
            stocks=dict(zip([v.id for v in product.variants], stocks, strict=True)),
            status_name=product_status_name(product.status),
            currencies=currencies,
            price_rows=lambda v: _price_rows(v, currencies),
            keys={
                name: _new_key()
                for name in ("save", "variant", "publish", "unpublish", "archive", "restore")
            },
            variant_keys={v.id: (_new_key(), _new_key(), _new_key()) for v in product.variants},
            variant_edits={v.id: _edit_values(v) for v in product.variants},
            done=PRODUCT_DONE.get(done, "") if not error else "",
            error=error,
            failed=failed,
            field_errors=refused.fields if refused else {},
            sent=refused.sent if refused else {},
        )

    async def product_detail(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        product_id = request.path_params["product_id"]
        if not UUID.match(product_id):
            return site.error_page(page, 404, "Page not found")
        return await render_product(page, product_id)

    async def product_action(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        product_id = request.path_params["product_id"]
        action = request.path_params.get("action", "save")
        variant_id = request.path_params.get("variant_id", "")
        if not UUID.match(product_id) or (variant_id and not UUID.match(variant_id)):
            return site.error_page(page, 404, "Page not found")
        form = await site.form(page)
        catalog = page.stub(CatalogServiceStub, "catalog")
        done = action
        try:
            key = _key(form)
            if action == "save":
                done = "saved"
                await save_product(page, catalog, product_id, key, form)
            elif action == "variant":
                await page.call(
                    catalog.CreateVariant,
                    cat.CreateVariantRequest(
                        idempotency_key=key, product_id=product_id, variant=_new_variant(form)
                    ),
                )
            elif action == "edit":
                done = "edited"
                await update_variant(page, catalog, variant_id, key, form)
            elif action == "prices":
                await page.call(
                    catalog.SetPrices,
                    cat.SetPricesRequest(
                        idempotency_key=key, variant_id=variant_id, prices=_prices(form)
                    ),
                )
            elif action == "stock":
                raw = _text(form, "on_hand")
                count = whole_number(raw, 1_000_000_000)
                if count is None:
                    raise BadInput("On hand: a whole number from 0.")
                await page.call(
                    catalog.SetStock,
                    cat.SetStockRequest(idempotency_key=key, variant_id=variant_id, on_hand=count),
                )
            elif action == "publish":
                await page.call(
                    catalog.PublishProduct,
                    cat.PublishProductRequest(idempotency_key=key, id=product_id),
                )
            elif action == "unpublish":
                await page.call(
                    catalog.UnpublishProduct,
                    cat.UnpublishProductRequest(idempotency_key=key, id=product_id),
                )
            elif action == "archive":
                await page.call(
                    catalog.ArchiveProduct,
                    cat.ArchiveProductRequest(idempotency_key=key, id=product_id),
                )
            elif action == "restore":
                await page.call(
                    catalog.RestoreProduct,
                    cat.RestoreProductRequest(idempotency_key=key, id=product_id),
                )
            else:
                return site.error_page(page, 404, "Page not found")
        except VariantRefused as refused:
            return await render_product(
                page,
                product_id,
                status=refused.status,
                error=str(refused),
                failed=variant_id,
                refused=refused,
            )
        except BadInput as bad:
            return await render_product(
                page, product_id, status=422, error=str(bad), failed=variant_id or action
            )
        except grpc.aio.AioRpcError as failure:
            status, message = _refusal(page, failure)
            return await render_product(
                page, product_id, status=status, error=message, failed=variant_id or action
            )
        anchor = f"#variant-{variant_id}" if variant_id else ""
        return site.redirect(page, f"/admin/products/{product_id}?done={done}{anchor}")

    async def save_product(
        page: Page, catalog: CatalogServiceStub, product_id: str, key: str, form: Mapping[str, Any]
    ) -> None:
        title, slug = _text(form, "title"), _text(form, "slug")
        if not title:
            raise BadInput("Give the product a name.")
        if not SLUG.match(slug):
            raise BadInput("Slug: lowercase letters, digits and single hyphens only.")
        version = _text(form, "version")
        category_id = _text(form, "category_id")
        if category_id and not UUID.match(category_id):
            raise BadInput("Choose a category from the list.")
        await page.call(
            catalog.UpdateProduct,
            cat.UpdateProductRequest(
                idempotency_key=key,
                product=cat.Product(
                    id=product_id,
                    title=title,
                    slug=slug,
                    description=_text(form, "description"),
                    category_id=category_id,
                    version=whole_number(version, MAX_VERSION) or 0,
                ),
                update_mask=FieldMask(paths=["title", "slug", "description", "category_id"]),
            ),
        )

    async def update_variant(
        page: Page, catalog: CatalogServiceStub, variant_id: str, key: str, form: Mapping[str, Any]
    ) -> None:
        """The variant's name, SKU and options as the form has them; each refusal, of the form
        or of the catalog, said next to its field."""
        variant, version, sent = _variant_edit(form, variant_id)
        try:
            await page.call(
                catalog.UpdateVariant,
                cat.UpdateVariantRequest(
                    idempotency_key=key,
                    variant=variant,
                    update_mask=FieldMask(paths=["title", "sku", "options"]),
                    product_version=version,
                ),
            )
        except grpc.aio.AioRpcError as failure:
            if error_info_from_rpc_error(failure).reason == "CONFLICT":
                raise BadInput(
                    "The product was changed meanwhile: check the variant as it is now and "
                    "save again."
                ) from None
            fields = _variant_field_errors(failure)
            if not fields:
                raise
            raise VariantRefused(problem_from_rpc_error(failure).status, fields, sent) from None

    # --- CSV import -------------------------------------------------------------------------

    async def import_page(request: Request) -> Response:
        page = await site.page(request)
        if (away := _staff_redirect(site, page)) is not None:
            return away
        return render(
            page,
            "admin/product_import.html",
            upload_id=_new_key(),
            max_bytes=IMPORT_MAX_BYTES,
            max_rows=IMPORT_MAX_ROWS,
            max_variants=MAX_VARIANTS,
            batch=IMPORT_BATCH,
        )

    async def json_body(request: Request, page: Page, limit: int) -> dict[str, Any]:
        """A JSON call of the import's script: same origin, the session's CSRF header, bounded."""
        if not _same_origin_call(request):
            raise ImportRefusal(403, page.t("This request was sent from another site."))
        sent = request.headers.get("x-csrf-token", "")
        if not page.signed_in or not hmac.compare_digest(sent.encode(), page.csrf_token.encode()):
            raise ImportRefusal(403, page.t("Your session expired: reload the page and sign in."))
        raw = await request.body()
        if len(raw) > limit:
            raise ImportRefusal(413, page.t("The file is too large."))
        try:
            body = json.loads(raw)
        except ValueError:
            raise ImportRefusal(400, page.t("The request could not be read.")) from None
        if not isinstance(body, dict):
            raise ImportRefusal(400, page.t("The request could not be read."))
        return body

    async def import_validate(request: Request) -> Response:
        """Checks a whole CSV: its columns and every row, each error with its line; answers
        the good rows grouped by product."""
        page = await site.page(request)
        try:
            body = await json_body(request, page, IMPORT_MAX_BYTES * 2)
            text = body.get("csv")
            if not isinstance(text, str):
                raise ImportRefusal(400, page.t("No file was sent."))
            if len(text.encode()) > IMPORT_MAX_BYTES:
                raise ImportRefusal(
                    413, page.t("The file is over %(kib)s KiB.", kib=IMPORT_MAX_BYTES // 1024)
                )
            known = {c.slug for c in await categories(page)}
            checked = check_csv(text, known, IMPORT_MAX_ROWS)
        except ImportRefusal as refused:
            return JSONResponse({"detail": refused.message}, status_code=refused.status)
        except FileRefused as refused:
            return JSONResponse({"detail": refused.problem.said(page.t)}, status_code=422)
        return JSONResponse(
            {
                "columns": checked.columns,
                "rows": sum(len(group.rows) for group in checked.groups),
                "products": [
                    {
                        "line": group.line,
                        "product": group.product_cells,
                        "rows": [{"line": row.line, "cells": row.cells} for row in group.rows],
                    }
                    for group in checked.groups
                ],
                "errors": [
                    {"line": line, "error": _said(page, problems)}
                    for line, problems in checked.errors
                ],
            }
        )

    async def import_rows(request: Request) -> Response:
        """Imports a batch: shares of products, each with its first row's product columns (a
        product's rows may span batches), every row idempotently under keys from the upload
        id and its line; answers each row's result."""
        page = await site.page(request)
        try:
            # A batch holds rows of the file and each product's first row again, JSON-escaped.
            body = await json_body(request, page, IMPORT_MAX_BYTES * 4)
            upload_id = body.get("uploadId")
            if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
                raise ImportRefusal(400, page.t("The upload id is missing."))
            shares = _import_shares(body.get("products"))
            if shares is None:
                raise ImportRefusal(400, page.t("The request could not be read."))
            if not 1 <= sum(len(rows) for _, rows in shares) <= IMPORT_BATCH:
                raise ImportRefusal(
                    400, page.t("Send 1 to %(batch)s rows at a time.", batch=IMPORT_BATCH)
                )
            category_ids = {c.slug: c.id for c in await categories(page)}
        except ImportRefusal as refused:
            return JSONResponse({"detail": refused.message}, status_code=refused.status)
        results: list[dict[str, Any]] = []
        try:
            for first, rows in shares:
                results += await import_product(page, upload_id, first, rows, category_ids)
        except (ImportRefusal, WebRefusal) as refused:
            # The batch may be sent again as it is: its rows' keys make that harmless.
            return JSONResponse({"detail": refused.message}, status_code=refused.status)
        return JSONResponse({"results": results})

    async def import_product(
        page: Page, upload_id: str, first: Row, rows: list[Row], category_ids: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """One product's rows of a batch: the product found by its slug (a file imported
        again, or an earlier batch of this one) or created, then each row's variant."""
        checked = check_batch(first, rows, category_ids.keys())
        if checked.product is None:
            error = _said(page, checked.product_problems)
            return [_row_failed(row.line, error) for row in rows]
        fields = checked.product
        catalog = page.stub(CatalogServiceStub, "catalog")
        prefix = f"import:{upload_id}:{first.line}"
        category_id = category_ids.get(fields.category, "")
        try:
            product = await product_by_slug(page, fields.slug)
            if product is None:
                product = await page.call(
                    catalog.CreateProduct,
                    cat.CreateProductRequest(
                        idempotency_key=f"{prefix}:product",
                        title=fields.name,
                        slug=fields.slug,
                        description=fields.description,
                        category_id=category_id,
                    ),
                )
                notes = [page.t("Product %(slug)s created.", slug=product.slug)]
            else:
                notes = await update_product(page, prefix, product, fields, category_id)
        except grpc.aio.AioRpcError as failure:
            error = _import_failure(page, failure)
            return [_row_failed(row.line, error) for row in rows]
        variants = {variant.sku: variant for variant in product.variants}
        priced = any(variant.prices for variant in product.variants)
        results = []
        for row in checked.rows:
            if row.variant is None:
                results.append(_row_failed(row.line, _said(page, row.problems)))
                continue
            try:
                said = await import_variant(page, upload_id, product.id, row.variant, variants)
            except grpc.aio.AioRpcError as failure:
                results.append(_row_failed(row.line, _import_failure(page, failure)))
                continue
            priced = priced or bool(row.variant.prices)
            results.append(
                {
                    "line": row.line,
                    "ok": True,
                    "productId": product.id,
                    "slug": product.slug,
                    "message": said,
                }
            )
        after = []
        published = product.status == cat.PRODUCT_STATUS_PUBLISHED
        if fields.publish and not published and priced:
            # A product whose prices come in a later batch is published by that batch.
            after.append(await set_published(page, prefix, product, publish=True))
        elif fields.publish is False and published:
            after.append(await set_published(page, prefix, product, publish=False))
        if results:
            # What happened to the product is said once, with the batch's first row.
            said = "message" if results[0]["ok"] else "error"
            results[0][said] = " ".join([*notes, results[0][said], *after])
        return results

    async def product_by_slug(page: Page, slug: str) -> cat.Product | None:
        """Any product (drafts and archived too) with exactly this slug, or None."""
        catalog = page.stub(CatalogServiceStub, "catalog")
        found: cat.ListProductsResponse = await page.call(
            catalog.SearchProducts, cat.SearchProductsRequest(slug=slug, page_size=1)
        )
        return found.products[0] if found.products else None

    async def update_product(
        page: Page, prefix: str, product: cat.Product, fields: ProductFields, category_id: str
    ) -> list[str]:
        """An existing product takes the file's name, and its description and category when
        the file gives them; what changed, said."""
        wanted: dict[str, str] = {"title": fields.name}
        if fields.description:
            wanted["description"] = fields.description
        if category_id:
            wanted["category_id"] = category_id
        changed = [path for path, value in wanted.items() if getattr(product, path) != value]
        if not changed:
            return [page.t("Product %(slug)s exists.", slug=product.slug)]
        catalog = page.stub(CatalogServiceStub, "catalog")
        await page.call(
            catalog.UpdateProduct,
            cat.UpdateProductRequest(
                idempotency_key=f"{prefix}:update",
                product=cat.Product(
                    id=product.id,
                    title=fields.name,
                    description=fields.description,
                    category_id=category_id,
                ),
                update_mask=FieldMask(paths=changed),
            ),
        )
        columns = ", ".join(IMPORT_FIELD_COLUMNS[path] for path in changed)
        return [
            page.t("Product %(slug)s updated: %(columns)s.", slug=product.slug, columns=columns)
        ]

    async def import_variant(
        page: Page,
        upload_id: str,
        product_id: str,
        row: VariantRow,
        variants: Mapping[str, cat.Variant],
    ) -> str:
        """A row's variant added, or the existing one of its SKU given the row's options (and
        the name they make), prices (a currency left empty keeps its price) and stock; what
        was done, said."""
        catalog = page.stub(CatalogServiceStub, "catalog")
        prefix = f"import:{upload_id}:{row.line}"
        prices = dict(row.prices)
        existing = variants.get(row.sku)
        if existing is None:
            added = await page.call(
                catalog.CreateVariant,
                cat.CreateVariantRequest(
                    idempotency_key=f"{prefix}:variant",
                    product_id=product_id,
                    variant=cat.NewVariant(
                        sku=row.sku,
                        title=row.title,
                        options=dict(row.options),
                        prices=[cat.Money(amount_minor=a, currency=c) for c, a in row.prices],
                    ),
                ),
            )
            await set_stock(page, prefix, added.id, row.stock)
            return page.t("Variant %(sku)s added.", sku=row.sku)
        changes = []
        if row.options and dict(row.options) != dict(existing.options):
            await page.call(
                catalog.UpdateVariant,
                cat.UpdateVariantRequest(
                    idempotency_key=f"{prefix}:options",
                    variant=cat.Variant(id=existing.id, title=row.title, options=dict(row.options)),
                    update_mask=FieldMask(paths=["title", "options"]),
                ),
            )
            changes.append(page.t("options set to %(options)s", options=row.title))
        before = {price.currency: price.amount_minor for price in existing.prices}
        after = {**before, **prices}
        if prices and after != before:
            await page.call(
                catalog.SetPrices,
                cat.SetPricesRequest(
                    idempotency_key=f"{prefix}:prices",
                    variant_id=existing.id,
                    prices=[cat.Money(amount_minor=a, currency=c) for c, a in after.items()],
                ),
            )
            changes.append(page.t("prices updated"))
        elif prices:
            changes.append(page.t("prices unchanged"))
        if row.stock is not None:
            await set_stock(page, prefix, existing.id, row.stock)
            changes.append(page.t("stock set to %(stock)s", stock=row.stock))
        return page.t(
            "Variant %(sku)s exists: %(changes)s.",
            sku=row.sku,
            changes=", ".join(changes) or page.t("nothing to update"),
        )

    async def set_stock(page: Page, prefix: str, variant_id: str, on_hand: int | None) -> None:
        if on_hand is None:
            return
        catalog = page.stub(CatalogServiceStub, "catalog")
        await page.call(
            catalog.SetStock,
            cat.SetStockRequest(
                idempotency_key=f"{prefix}:stock", variant_id=variant_id, on_hand=on_hand
            ),
        )

    async def set_published(page: Page, prefix: str, product: cat.Product, publish: bool) -> str:
        """Publish `product`, or take it back to draft; what happened, in the row's words."""
        catalog = page.stub(CatalogServiceStub, "catalog")
        try:
            if publish:
                await page.call(
                    catalog.PublishProduct,
                    cat.PublishProductRequest(idempotency_key=f"{prefix}:publish", id=product.id),
                )
            else:
                await page.call(
                    catalog.UnpublishProduct,
                    cat.UnpublishProductRequest(
                        idempotency_key=f"{prefix}:unpublish", id=product.id
                    ),
                )
        except grpc.aio.AioRpcError as failure:
            reason = _import_failure(page, failure)
            if publish:
                return page.t("Not published: %(reason)s", reason=reason)
            return page.t("Not unpublished: %(reason)s", reason=reason)
        return page.t("Published.") if publish else page.t("Unpublished (a draft again).")

    return [
        Route("/admin/orders", orders_list, methods=["GET"]),
        Route("/admin/orders/{order_id}", order_detail, methods=["GET"]),
        Route("/admin/orders/{order_id}/{action}", order_action, methods=["POST"]),
        Route(
            "/admin/orders/{order_id}/returns/{return_id}/{decision}",
            return_decision,
            methods=["POST"],
        ),
        Route("/admin/returns", returns_queue, methods=["GET"]),
        Route("/admin/products", products_list, methods=["GET"]),
        Route("/admin/products/new", product_new, methods=["GET", "POST"]),
        Route("/admin/products/import", import_page, methods=["GET"]),
        Route("/admin/products/import/validate", import_validate, methods=["POST"]),
        Route("/admin/products/import/rows", import_rows, methods=["POST"]),
        Route("/admin/products/{product_id}", product_detail, methods=["GET"]),
        Route("/admin/products/{product_id}", product_action, methods=["POST"]),
        Route("/admin/products/{product_id}/{action}", product_action, methods=["POST"]),
        Route(
            "/admin/products/{product_id}/variants/{variant_id}/{action}",
            product_action,
            methods=["POST"],
        ),
    ]


def _when(page: Page) -> Any:
    """A Timestamp as the page's language writes a moment ("" when unset)."""

    def when(moment: Timestamp) -> str:
        if not moment.seconds and not moment.nanos:
            return ""
        return page.language.datetime(moment.ToDatetime(tzinfo=UTC))

    return when


def _crypto_text(amount: Any) -> str:
    """A crypto amount (base units + decimals) as a decimal with its asset."""
    if not amount.base_units:
        return ""
    value = Decimal(amount.base_units).scaleb(-int(amount.decimals)).normalize()
    return f"{value:f} {amount.asset}"


def _price_rows(variant: cat.Variant, currencies: Sequence[str]) -> list[tuple[str, str]]:
    """(currency, decimal) per price row: the variant's prices, then the shop's other
    currencies empty."""
    rows = [(p.currency, minor_to_input(p.amount_minor, p.currency)) for p in variant.prices]
    have = {c for c, _ in rows}
    rows += [(c, "") for c in currencies if c not in have]
    return rows


def _prices(form: Any) -> list[cat.Money]:
    """The price rows of the form (`currency` and `amount` pairs; an empty amount drops the
    currency), each parsed with its currency's exponent."""
    currencies, amounts = form.getlist("currency"), form.getlist("amount")
    if len(currencies) != len(amounts):
        raise BadInput("This form is incomplete: reload the page and try again.")
    prices: list[cat.Money] = []
    seen: set[str] = set()
    for currency, amount in zip(currencies, amounts, strict=True):
        code = str(currency).strip().upper()
        if not str(amount).strip():
            continue
        if code not in ISO_EXPONENTS:
            raise BadInput(f"{code or 'Currency'}: not a currency code (ISO 4217).")
        if code in seen:
            raise BadInput(f"{code}: one price per currency.")
        seen.add(code)
        prices.append(
            cat.Money(
                amount_minor=parse_minor(str(amount), code, f"Price in {code}"), currency=code
            )
        )
    return prices


SKU_RULE = "letters, digits, dots, hyphens and underscores (64 at most)."


def _is_sku(sku: str) -> bool:
    return bool(SKU.match(sku)) and len(sku) <= 64


def _options(text: str, label: str) -> dict[str, str]:
    """Options typed one per line as `name: value`."""
    options: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise BadInput(f"{label}, line {number}: write it as name: value.")
        options[name.strip()] = value.strip()
    return options


def _new_variant(form: Any) -> cat.NewVariant:
    sku, title = _text(form, "sku"), _text(form, "title")
    if not _is_sku(sku):
        raise BadInput(f"SKU: {SKU_RULE}")
    options = _options(_text(form, "options"), "Attributes")
    return cat.NewVariant(sku=sku, title=title or sku, options=options)


def _edit_values(variant: cat.Variant) -> dict[str, str]:
    """A variant's fields as its edit form shows them (options one per line)."""
    options = "\n".join(f"{name}: {value}" for name, value in sorted(variant.options.items()))
    return {"title": variant.title, "sku": variant.sku, "options": options}


def _variant_edit(form: Any, variant_id: str) -> tuple[cat.Variant, int, dict[str, str]]:
    """The variant edit form read: the variant's new fields, the product version the form
    was rendered at and what was sent; VariantRefused names every bad field."""
    sent = {name: _text(form, name) for name in ("title", "sku", "options")}
    fields: dict[str, str] = {}
    if not _is_sku(sent["sku"]):
        fields["sku"] = f"SKU: {SKU_RULE}"
    if not sent["title"]:
        fields["title"] = "Give the variant a name."
    elif len(sent["title"]) > 200:
        fields["title"] = "Name: 200 characters at most."
    options: dict[str, str] = {}
    try:
        options = _options(sent["options"], "Options")
    except BadInput as bad:
        fields["options"] = str(bad)
    if fields:
        raise VariantRefused(422, fields, sent)
    version = _text(form, "version")
    variant = cat.Variant(id=variant_id, sku=sent["sku"], title=sent["title"], options=options)
    return variant, whole_number(version, MAX_VERSION) or 0, sent


# What staff read next to a variant field the catalog refused, by the reason it gave.
_VARIANT_FIELD_REFUSALS = {
    ("ALREADY_EXISTS", "sku"): "Another variant already has this SKU.",
    ("ALREADY_EXISTS", "options"): "Another variant of this product has these options.",
}


def _variant_field_errors(failure: grpc.aio.AioRpcError) -> dict[str, str]:
    """The catalog's refusal of a variant edit by field (`sku`, `title`, `options`); empty
    when it names no field of the form."""
    info = error_info_from_rpc_error(failure)
    fields: dict[str, str] = {}
    named = info.metadata.get("field", "")
    if named.startswith("variant."):
        name = named.removeprefix("variant.")
        fields[name] = _VARIANT_FIELD_REFUSALS.get((info.reason, name), info.message)
    for violation in info.violations:
        name = violation.field.removeprefix("variant.").split("[", 1)[0].split(".", 1)[0]
        if name in ("sku", "title", "options"):
            fields.setdefault(name, violation.description)
    return fields


# --- the CSV import ---------------------------------------------------------------------------


class ImportRefusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _said(page: Page, problems: Sequence[Problem]) -> str:
    return " ".join(problem.said(page.t) for problem in problems)


def _row_failed(line: int, error: str) -> dict[str, Any]:
    return {"line": line, "ok": False, "error": error}


def _import_failure(page: Page, failure: grpc.aio.AioRpcError) -> str:
    """A row's refusal by the catalog, said; signed out or a busy shop stops the batch (it
    is sent again as it was)."""
    problem = problem_from_rpc_error(failure)
    if problem.status == 401:
        raise ImportRefusal(401, page.t("Your session expired: reload the page and sign in."))
    if problem.status >= 500:
        raise ImportRefusal(503, page.t("The shop is busy: try again in a moment."))
    return _refusal(page, failure)[1]


def _import_shares(value: Any) -> list[tuple[Row, list[Row]]] | None:
    """A batch's products as the script sends them (`line`, the first row's `product`
    cells, `rows` of `line` and `cells`), or None when it is not that shape."""
    if not isinstance(value, list) or len(value) > IMPORT_BATCH:
        return None
    shares = []
    for share in value:
        if not isinstance(share, dict):
            return None
        first, rows = _import_row(share.get("line"), share.get("product")), share.get("rows")
        if first is None or not isinstance(rows, list) or len(rows) > IMPORT_BATCH:
            return None
        read = [_import_row(r.get("line"), r.get("cells")) for r in rows if isinstance(r, dict)]
        checked = [row for row in read if row is not None]
        if len(checked) != len(rows):
            return None
        shares.append((first, checked))
    return shares


def _import_row(line: Any, cells: Any) -> Row | None:
    if not isinstance(line, int) or isinstance(line, bool) or not isinstance(cells, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in cells.items()):
        return None
    return Row(line, dict(cells))


def _same_origin_call(request: Request) -> bool:
    host = request.headers.get("host", "")
    origin = request.headers.get("origin") or request.headers.get("referer") or ""
    return bool(origin) and origin != "null" and urlsplit(origin).netloc == host

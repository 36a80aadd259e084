"""Storefront: cart, checkout, payment and the order page.

The cart and the orders live in the orders service; the browser holds only HttpOnly cookies:
the cart's token (the capability that names a guest cart) and, after a guest's checkout, the
order's access token in a cookie whose path is that order's pages, so it never appears in a URL
or a page. Every call carries the shopper's own credentials: the services decide who may see
what. Each mutating form carries an idempotency key rendered with it, so a retried post repeats
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from babel import Locale
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agora._proto.agora.chain.v1 import chain_pb2
from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub
from agora._proto.agora.orders.v1 import orders_pb2
from agora._proto.agora.orders.v1.orders_pb2_grpc import OrdersServiceStub
from agora._proto.agora.payments.v1 import payments_pb2
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.gateway.problem import Problem, problem_from_rpc_error
from agora.gateway.web.qr import qr_data_url
from agora.gateway.web.site import Page, Site, user_message

CART_COOKIE = "__Host-agora_cart"
# A guest order's access token; its path is the order's pages (`/orders/<id>`).
ORDER_COOKIE = "__Secure-agora_order"
CART_COOKIE_MAX_AGE_S = 7 * 24 * 3600
ORDER_COOKIE_MAX_AGE_S = 90 * 24 * 3600
# Tokens an order may be paid in besides its own currency (orders' CHAIN_PAY_CURRENCIES).
CHAIN_PAY_CURRENCIES = ("USDT", "AGT")
KEY_FIELD = "idempotency_key"
_KEYS = uuid.UUID("6f0c3b5e-2d4a-4f7e-9a51-0c8e7d3b1a42")
MAX_QUANTITY = 99

_O = orders_pb2
_P = payments_pb2
# Orders whose page keeps polling: the payment may still change them.
OPEN_STATUSES = frozenset({_O.ORDER_STATUS_PLACED, _O.ORDER_STATUS_AWAITING_PAYMENT})
ORDER_STATUS_LABELS = {
    _O.ORDER_STATUS_PLACED: "Placed",
    _O.ORDER_STATUS_AWAITING_PAYMENT: "Awaiting payment",
    _O.ORDER_STATUS_PAID: "Paid",
    _O.ORDER_STATUS_FULFILLED: "Packed",
    _O.ORDER_STATUS_SHIPPED: "Shipped",
    _O.ORDER_STATUS_DELIVERED: "Delivered",
    _O.ORDER_STATUS_CANCELLED: "Cancelled",
    _O.ORDER_STATUS_EXPIRED: "Expired",
    _O.ORDER_STATUS_REFUNDED: "Refunded",
}
ORDER_STATUS_TONES = {
    _O.ORDER_STATUS_PAID: "ok",
    _O.ORDER_STATUS_FULFILLED: "ok",
    _O.ORDER_STATUS_SHIPPED: "ok",
    _O.ORDER_STATUS_DELIVERED: "ok",
    _O.ORDER_STATUS_CANCELLED: "bad",
    _O.ORDER_STATUS_EXPIRED: "bad",
    _O.ORDER_STATUS_AWAITING_PAYMENT: "warn",
}
INVOICE_STATUS_LABELS = {
    _P.INVOICE_STATUS_NEW: "Waiting for your payment",
    _P.INVOICE_STATUS_PROCESSING: "Payment received, not complete yet",
    _P.INVOICE_STATUS_SETTLED: "Paid",
    _P.INVOICE_STATUS_EXPIRED: "Expired",
    _P.INVOICE_STATUS_INVALID: "Cancelled",
}


@dataclass(frozen=True)
class CountryForm:
    """What an address form asks in a country: the postal code's label and example, and the
    region's label (None: not asked) and whether it is required (as orders validates)."""

    postal_label: str
    postal_example: str
    region_label: str | None = None
    region_required: bool = False
    postal_autocomplete: str = "postal-code"


# The countries the shop ships to, with orders' address rules (`orders.domain.ADDRESS_RULES`).
COUNTRY_FORMS: Mapping[str, CountryForm] = {
    "DE": CountryForm("Postcode (PLZ)", "10115"),
    "AT": CountryForm("Postcode (PLZ)", "1010"),
    "CH": CountryForm("Postcode (PLZ)", "8001"),
    "FR": CountryForm("Postal code", "75001"),
    "NL": CountryForm("Postal code", "1012 AB"),
    "BE": CountryForm("Postal code", "1000"),
    "ES": CountryForm("Postal code", "28001"),
    "IT": CountryForm("Postal code (CAP)", "00118"),
    "GB": CountryForm("Postcode", "SW1A 1AA", region_label="County (optional)"),
    "US": CountryForm("ZIP code", "94103", region_label="State", region_required=True),
    "JP": CountryForm("Postal code", "100-0001", region_label="Prefecture", region_required=True),
}
DEFAULT_COUNTRY = "DE"
ADDRESS_FIELDS = ("email", "name", "line1", "line2", "city", "region", "postal_code", "country")
_FIELD_OF_VIOLATION = {
    "name": "name",
    "line1": "line1",
    "line2": "line2",
    "city": "city",
    "region": "region",
    "postalCode": "postal_code",
    "country": "country",
    "email": "email",
    "phone": "phone",
}


def derived_key(key: str, purpose: str) -> str:
    """A UUID for one step of a form's submission: the same form key gives the same UUID, so a
    retried post replays instead of repeating."""
    return str(uuid.uuid5(_KEYS, f"{purpose}:{key}"))


def form_key(form: FormData) -> str:
    """The idempotency key the form was rendered with (a fresh one when a form sent none)."""
    sent = form.get(KEY_FIELD)
    if isinstance(sent, str) and 8 <= len(sent) <= 64:
        return sent
    return str(uuid.uuid4())


def text(form: FormData, name: str, max_len: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:max_len] if isinstance(value, str) else ""


def _cookie(name: str, value: str, max_age: int, path: str = "/") -> tuple[bytes, bytes]:
    header = f"{name}={value}; Max-Age={max_age}; Path={path}; Secure; HttpOnly; SameSite=Lax"
    return (b"set-cookie", header.encode("latin-1"))


def country_names(page: Page) -> list[tuple[str, str]]:
    """The shipping countries as (code, name in the page's language), by name."""
    territories = Locale.parse(page.language.code).territories
    return sorted(((c, territories.get(c, c)) for c in COUNTRY_FORMS), key=lambda x: x[1])


class Checkout:
    """The handlers, sharing the site."""

    def __init__(self, site: Site) -> None:
        self.site = site

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def orders(page: Page) -> OrdersServiceStub:
        return page.stub(OrdersServiceStub, "orders")

    async def current_cart(self, page: Page, *, open_only: bool = True) -> orders_pb2.Cart | None:
        """The browser's open cart (or one it ordered, unless `open_only`), or None (no
        cookie, expired, or not theirs)."""
        token = page.request.cookies.get(CART_COOKIE, "")
        if not token or len(token) > 64:
            return None
        try:
            cart = await page.call(self.orders(page).GetCart, _O.GetCartRequest(cart_token=token))
        except grpc.aio.AioRpcError as error:
            if problem_from_rpc_error(error).status in (400, 403, 404, 410):
                return None
            raise
        return cart if cart.status == _O.CART_STATUS_OPEN or not open_only else None

    async def new_cart(self, page: Page, key: str) -> orders_pb2.Cart:
        """A cart in the page's currency (the signed-in customer's own, else a guest's),
        remembered in the browser's cart cookie."""
        cart: orders_pb2.Cart = await page.call(
            self.orders(page).CreateCart,
            _O.CreateCartRequest(currency=page.currency, idempotency_key=derived_key(key, "cart")),
        )
        page.set_cookies.append(_cookie(CART_COOKIE, cart.token, CART_COOKIE_MAX_AGE_S))
        return cart

    @staticmethod
    def order_token(page: Page) -> str:
        token = page.request.cookies.get(ORDER_COOKIE, "")
        return token if len(token) <= 128 else ""

    async def order(self, page: Page, order_id: str) -> orders_pb2.Order:
        """The order as its customer, its guest (cookie) or staff may see it: the orders
        service refuses anyone else (an error page)."""
        _require_uuid(order_id)
        return await page.call(
            self.orders(page).GetOrder,
            _O.GetOrderRequest(id=order_id, access_token=self.order_token(page)),
        )

    @staticmethod
    async def invoice_payment(
        page: Page, order: orders_pb2.Order
    ) -> payments_pb2.InvoicePayment | None:
        if not order.invoice_id:
            return None
        payments = page.stub(PaymentsServiceStub, "payments")
        payment: payments_pb2.InvoicePayment = await page.call(
            payments.GetInvoicePayment, _P.GetInvoicePaymentRequest(id=order.invoice_id)
        )
        return payment

    @staticmethod
    async def payment_options(
        page: Page, payment: payments_pb2.InvoicePayment | None
    ) -> chain_pb2.PaymentOptions | None:
        if payment is None or payment.pay_currency not in CHAIN_PAY_CURRENCIES:
            return None
        chain = page.stub(ChainServiceStub, "chain")
        options: chain_pb2.PaymentOptions = await page.call(
            chain.GetPaymentOptions, chain_pb2.GetPaymentOptionsRequest(invoice_id=payment.id)
        )
        return options

    def render(self, page: Page, template: str, status: int = 200, **context: Any) -> Response:
        return self.site.render(
            page,
            template,
            status=status,
            order_labels=ORDER_STATUS_LABELS,
            order_tones=ORDER_STATUS_TONES,
            invoice_labels=INVOICE_STATUS_LABELS,
            key_field=KEY_FIELD,
            orders_pb=orders_pb2,
            payments_pb=payments_pb2,
            new_key=str(uuid.uuid4()),
            **context,
        )

    # --- cart ----------------------------------------------------------------------------

    async def cart_page(self, request: Request) -> Response:
        page = await self.site.page(request)
        cart = await self.current_cart(page)
        notice = "added" if request.query_params.get("added") == "1" else ""
        return self.render_cart(page, cart, notice=notice)

    def render_cart(
        self,
        page: Page,
        cart: orders_pb2.Cart | None,
        *,
        notice: str = "",
        error: str = "",
        status: int = 200,
    ) -> Response:
        partial = page.request.headers.get("hx-request") == "true"
        template = "store/_checkout_cart.html" if partial else "store/cart.html"
        return self.render(page, template, status=status, cart=cart, notice=notice, error=error)

    async def add_item(self, request: Request) -> Response:
        """The product page's "Add to cart" (fields `variant_id`, `quantity`, `_csrf`, and
        optionally `product_id` and an idempotency key)."""
        page = await self.site.page(request)
        form = await self.site.form(page)
        key = form_key(form)
        variant_id = text(form, "variant_id", 64)
        product_id = text(form, "product_id", 64)
        quantity = _quantity(text(form, "quantity", 4) or "1")
        cart = await self.current_cart(page)
        if not _is_uuid(variant_id) or (product_id and not _is_uuid(product_id)):
            return self.render_cart(
                page, cart, error=page.t("This product could not be added."), status=400
            )
        if quantity is None:
            return self.render_cart(
                page, cart, error=page.t("Choose a quantity from 1 to 99."), status=400
            )
        if cart is None:
            cart = await self.new_cart(page, key)
        try:
            await page.call(
                self.orders(page).AddCartLine,
                _O.AddCartLineRequest(
                    cart_token=cart.token,
                    product_id=product_id,
                    variant_id=variant_id,
                    quantity=quantity,
                    idempotency_key=derived_key(key, "add"),
                ),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status not in (400, 409):
                raise
            message = page.t(
                "This product is not available in %(currency)s.", currency=cart.currency
            )
            return self.render_cart(page, cart, error=message, status=problem.status)
        return self.site.redirect(page, "/cart?added=1")

    async def update_line(self, request: Request) -> Response:
        page = await self.site.page(request)
        form = await self.site.form(page)
        variant_id = request.path_params["variant_id"]
        cart = await self.current_cart(page)
        if cart is None:
            return self.site.redirect(page, "/cart")
        _require_uuid(variant_id)
        key = form_key(form)
        remove = form.get("action") == "remove"
        quantity = _quantity(text(form, "quantity", 4))
        if not remove and quantity is None:
            return self.render_cart(
                page, cart, error=page.t("Choose a quantity from 1 to 99."), status=400
            )
        orders = self.orders(page)
        try:
            if remove:
                cart = await page.call(
                    orders.RemoveCartLine,
                    _O.RemoveCartLineRequest(
                        cart_token=cart.token, variant_id=variant_id, idempotency_key=key
                    ),
                )
            else:
                cart = await page.call(
                    orders.UpdateCartLine,
                    _O.UpdateCartLineRequest(
                        cart_token=cart.token,
                        variant_id=variant_id,
                        quantity=quantity or 1,
                        idempotency_key=key,
                    ),
                )
        except grpc.aio.AioRpcError as error:
            if problem_from_rpc_error(error).status not in (400, 409):
                raise
            return self.render_cart(
                page, cart, error=page.t("The cart could not be changed."), status=400
            )
        if page.request.headers.get("hx-request") == "true":
            return self.render_cart(page, cart, notice="updated")
        return self.site.redirect(page, "/cart")

    # --- checkout ------------------------------------------------------------------------

    async def checkout_page(self, request: Request) -> Response:
        page = await self.site.page(request)
        cart = await self.current_cart(page)
        if cart is None or not cart.lines:
            return self.site.redirect(page, "/cart")
        return await self.render_checkout(page, cart)

    async def render_checkout(
        self,
        page: Page,
        cart: orders_pb2.Cart,
        *,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        error: str = "",
        status: int = 200,
        payment_choice: str = "",
    ) -> Response:
        methods: list[orders_pb2.ShippingMethod] = []
        if cart.HasField("shipping_address") and cart.shipping_address.country:
            listed = await page.call(
                self.orders(page).ListShippingMethods,
                _O.ListShippingMethodsRequest(cart_token=cart.token),
            )
            methods = list(listed.methods)
        if values is None:
            values = _address_values(cart.shipping_address)
        country = values.get("country") or DEFAULT_COUNTRY
        return self.render(
            page,
            "store/checkout.html",
            status=status,
            cart=cart,
            methods=methods,
            values=values,
            errors=errors or {},
            error=error,
            country=country if country in COUNTRY_FORMS else DEFAULT_COUNTRY,
            country_forms=COUNTRY_FORMS,
            countries=country_names(page),
            pay_currencies=CHAIN_PAY_CURRENCIES,
            payment_choice=payment_choice or cart.currency,
            address_done=bool(cart.shipping_address.country),
        )

    async def address_fields(self, request: Request) -> Response:
        """The country's part of the address form (htmx swaps it in when the country
        changes), keeping what was typed."""
        page = await self.site.page(request)
        values = {name: request.query_params.get(name, "")[:200] for name in ADDRESS_FIELDS}
        country = values["country"] if values["country"] in COUNTRY_FORMS else DEFAULT_COUNTRY
        return self.render(
            page,
            "store/_checkout_region.html",
            values=values,
            errors={},
            country=country,
            country_forms=COUNTRY_FORMS,
        )

    async def save_address(self, request: Request) -> Response:
        page = await self.site.page(request)
        form = await self.site.form(page)
        cart = await self.current_cart(page)
        if cart is None or not cart.lines:
            return self.site.redirect(page, "/cart")
        key = form_key(form)
        values = {name: text(form, name) for name in ADDRESS_FIELDS}
        values["country"] = values["country"].upper()
        errors = {}
        if not page.signed_in and not values["email"]:
            errors["email"] = page.t("Enter your email address: we send the order there.")
        if values["country"] not in COUNTRY_FORMS:
            errors["country"] = page.t("Choose a country we ship to.")
        if errors:
            return await self.render_checkout(
                page,
                cart,
                values=values,
                errors=errors,
                status=400,
                error=page.t("Please correct the marked fields."),
            )
        address = _O.Address(
            name=values["name"],
            line1=values["line1"],
            line2=values["line2"],
            city=values["city"],
            region=values["region"] if COUNTRY_FORMS[values["country"]].region_label else "",
            postal_code=values["postal_code"],
            country=values["country"],
            email=values["email"],
        )
        orders = self.orders(page)
        try:
            cart = await page.call(
                orders.SetShippingAddress,
                _O.SetShippingAddressRequest(
                    cart_token=cart.token,
                    address=address,
                    idempotency_key=derived_key(key, "address"),
                ),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status != 400:
                raise
            return await self.render_checkout(
                page,
                cart,
                values=values,
                errors=field_errors(page, problem, values["country"]),
                status=400,
                error=page.t("Please correct the marked fields."),
            )
        await self._default_shipping(page, cart, key)
        return self.site.redirect(page, "/checkout#delivery")

    async def _default_shipping(self, page: Page, cart: orders_pb2.Cart, key: str) -> None:
        """The cheapest method for the new address, unless the chosen one is still offered."""
        orders = self.orders(page)
        listed = await page.call(
            orders.ListShippingMethods, _O.ListShippingMethodsRequest(cart_token=cart.token)
        )
        codes = [m.code for m in listed.methods]
        if codes and cart.shipping_method.code not in codes:
            await page.call(
                orders.SetShippingMethod,
                _O.SetShippingMethodRequest(
                    cart_token=cart.token,
                    code=codes[0],
                    idempotency_key=derived_key(key, "shipping"),
                ),
            )

    async def choose_shipping(self, request: Request) -> Response:
        """A shipping method chosen (htmx on change, or the form's "Update total" button):
        the totals with its price and tax."""
        page = await self.site.page(request)
        form = await self.site.form(page)
        cart = await self.current_cart(page)
        if cart is None or not cart.lines:
            return self.site.redirect(page, "/cart")
        cart = await self._set_method(page, cart, text(form, "shipping_method", 64), form_key(form))
        if page.request.headers.get("hx-request") == "true":
            return self.render(page, "store/_checkout_totals.html", cart=cart)
        return self.site.redirect(page, "/checkout#delivery")

    async def _set_method(
        self, page: Page, cart: orders_pb2.Cart, code: str, key: str
    ) -> orders_pb2.Cart:
        if not code or code == cart.shipping_method.code:
            return cart
        return await page.call(
            self.orders(page).SetShippingMethod,
            _O.SetShippingMethodRequest(
                cart_token=cart.token, code=code, idempotency_key=derived_key(key, f"ship:{code}")
            ),
        )

    async def place_order(self, request: Request) -> Response:
        page = await self.site.page(request)
        form = await self.site.form(page)
        # An ordered cart still in the browser: the answer to the first post was lost, and
        # the same key replays it (with the guest's access token).
        cart = await self.current_cart(page, open_only=False)
        if cart is None or not cart.lines:
            return self.site.redirect(page, "/cart")
        key = form_key(form)
        choice = text(form, "pay_currency", 10).upper()
        pay_currency = choice if choice in CHAIN_PAY_CURRENCIES else ""
        try:
            if cart.status == _O.CART_STATUS_OPEN:
                cart = await self._set_method(page, cart, text(form, "shipping_method", 64), key)
            order = await page.call(
                self.orders(page).PlaceOrder,
                _O.PlaceOrderRequest(
                    cart_token=cart.token,
                    pay_currency=pay_currency,
                    idempotency_key=derived_key(key, "place"),
                ),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if cart.order_id:
                return self.site.redirect(page, f"/orders/{cart.order_id}/pay")
            if problem.status not in (400, 409, 422):
                raise
            fresh = await self.current_cart(page) or cart
            return await self.render_checkout(
                page,
                fresh,
                error=placing_problem(page, problem),
                status=problem.status,
                payment_choice=choice,
            )
        if order.access_token:
            page.set_cookies.append(
                _cookie(
                    ORDER_COOKIE, order.access_token, ORDER_COOKIE_MAX_AGE_S, f"/orders/{order.id}"
                )
            )
        page.set_cookies.append(_cookie(CART_COOKIE, "", 0))
        return self.site.redirect(page, f"/orders/{order.id}/pay")

    # --- payment and the order -----------------------------------------------------------

    async def payment_page(self, request: Request) -> Response:
        page = await self.site.page(request)
        order = await self.order(page, request.path_params["order_id"])
        payment = await self.invoice_payment(page, order)
        options = await self.payment_options(page, payment)
        partial = page.request.headers.get("hx-request") == "true"
        return self.render(
            page,
            "store/_checkout_payment.html" if partial else "store/payment.html",
            order=order,
            payment=payment,
            options=options,
            qr=qr_data_url(options.eip681_uri) if options is not None else "",
            confirmations=payment.confirmations if payment else 0,
            on_pay_page=True,
            open_statuses=OPEN_STATUSES,
        )

    async def dev_pay(self, request: Request) -> Response:
        """Pays the order's invoice with the development provider (it refuses outside
        development)."""
        page = await self.site.page(request)
        form = await self.site.form(page)
        order = await self.order(page, request.path_params["order_id"])
        if not order.invoice_id:
            return self.site.redirect(page, f"/orders/{order.id}/pay")
        payments = page.stub(PaymentsServiceStub, "payments")
        try:
            await page.call(
                payments.DevPay,
                _P.DevPayRequest(
                    id=order.invoice_id,
                    action=_P.DEV_PAY_ACTION_PAY_FULL,
                    idempotency_key=derived_key(form_key(form), "pay"),
                ),
            )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status not in (400, 409, 410):
                raise
            return self.site.error_page(page, problem.status, user_message(page, problem))
        return self.site.redirect(page, f"/orders/{order.id}")

    async def order_page(self, request: Request) -> Response:
        page = await self.site.page(request)
        order = await self.order(page, request.path_params["order_id"])
        return await self._render_order(page, order, "store/order.html")

    async def order_status(self, request: Request) -> Response:
        """The order page's live part (polled by htmx until the order is settled)."""
        page = await self.site.page(request)
        order = await self.order(page, request.path_params["order_id"])
        return await self._render_order(page, order, "store/_checkout_status.html", partial=True)

    async def _render_order(
        self, page: Page, order: orders_pb2.Order, template: str, *, partial: bool = False
    ) -> Response:
        payment = await self.invoice_payment(page, order)
        live = _is_live(order, payment)
        return self.render(
            page,
            template,
            # htmx stops polling on 286: nothing will change without the shop's staff now.
            status=286 if partial and not live else 200,
            order=order,
            payment=payment,
            confirmations=payment.confirmations if payment else 0,
            live=live,
            on_pay_page=page.request.query_params.get("on") == "pay",
            open_statuses=OPEN_STATUSES,
        )


def _is_live(order: orders_pb2.Order, payment: payments_pb2.InvoicePayment | None) -> bool:
    """Whether the page should keep asking: the order still waits for its payment."""
    return order.status in OPEN_STATUSES


def _address_values(address: orders_pb2.Address) -> dict[str, str]:
    return {
        "email": address.email,
        "name": address.name,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country or DEFAULT_COUNTRY,
    }


def field_errors(page: Page, problem: Problem, country: str) -> dict[str, str]:
    """The orders service's field violations as messages next to the form's fields."""
    rules = COUNTRY_FORMS.get(country)
    errors: dict[str, str] = {}
    for violation in problem.errors:
        name = _FIELD_OF_VIOLATION.get(violation.field.rsplit(".", 1)[-1])
        if name is None or name in errors:
            continue
        if violation.description == "required":
            errors[name] = page.t("This field is required.")
        elif name == "postal_code" and rules is not None:
            errors[name] = page.t(
                "Enter a %(label)s like %(example)s.",
                label=page.t(rules.postal_label),
                example=rules.postal_example,
            )
        elif name == "region" and rules is not None and rules.region_label:
            errors[name] = page.t("Enter the %(label)s.", label=page.t(rules.region_label))
        elif name == "email":
            errors[name] = page.t("Enter a valid email address.")
        elif name == "country":
            errors[name] = page.t("Choose a country we ship to.")
        else:
            errors[name] = page.t("Check this field.")
    if not errors:
        errors["name"] = page.t("Check this field.")
    return errors


def placing_problem(page: Page, problem: Problem) -> str:
    """Why the order could not be placed, in the shopper's words."""
    if problem.shortages:
        return page.t("Some items are no longer in stock in the quantity you chose.")
    if problem.reason == "CART_CHANGED" or problem.preconditions:
        return page.t("Prices or availability changed. Please check your cart and try again.")
    if any(v.field.endswith("shippingMethod") for v in problem.errors):
        return page.t("Choose a shipping method.")
    if any("shippingAddress" in v.field for v in problem.errors):
        return page.t("Please enter your shipping address.")
    return page.t("The order could not be placed. Please check the details and try again.")


def _quantity(value: str) -> int | None:
    try:
        quantity = int(value)
    except ValueError:
        return None
    return quantity if 1 <= quantity <= MAX_QUANTITY else None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _require_uuid(value: str) -> None:
    if not _is_uuid(value):
        raise HTTPException(404)


def routes(site: Site) -> list[BaseRoute]:
    checkout = Checkout(site)
    return [
        Route("/cart", checkout.cart_page, methods=["GET"]),
        Route("/cart/items", checkout.add_item, methods=["POST"]),
        Route("/cart/lines/{variant_id}", checkout.update_line, methods=["POST"]),
        Route("/checkout", checkout.checkout_page, methods=["GET"]),
        Route("/checkout/address", checkout.save_address, methods=["POST"]),
        Route("/checkout/address-fields", checkout.address_fields, methods=["GET"]),
        Route("/checkout/shipping", checkout.choose_shipping, methods=["POST"]),
        Route("/checkout/place", checkout.place_order, methods=["POST"]),
        Route("/orders/{order_id}", checkout.order_page, methods=["GET"]),
        Route("/orders/{order_id}/status", checkout.order_status, methods=["GET"]),
        Route("/orders/{order_id}/pay", checkout.payment_page, methods=["GET"]),
        Route("/orders/{order_id}/pay", checkout.dev_pay, methods=["POST"]),
    ]

"""Checkout through the gateway against `agora up`, paid with the dev provider: cart → address
→ shipping → place order → invoice (attached by the saga) → payment → order state and stock.

The shopper is a guest (no token): the order is read with the access token PlaceOrder gave, the
invoice through its public payment view; staff (an admin's client) set up the catalog."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from agora_stack import INVOICE_EXPIRY_S, Stack
from checkout_support import (
    ADDRESS,
    eventually,
    key,
    new_variant,
    ok,
    order_status,
    pay,
    place_order,
    read_order,
    ready_cart,
    stock,
)


@pytest.fixture
def http(stack: Stack) -> httpx.Client:
    """Staff: the catalog, stock levels, full invoices."""
    with stack.client() as client:
        yield client


@pytest.fixture
def guest(stack: Stack) -> httpx.Client:
    """A shopper with no account and no token."""
    with stack.client(admin=False) as client:
        yield client


@pytest.fixture
def variant(http: httpx.Client) -> dict[str, Any]:
    """A fresh product with one variant priced in EUR and 5 in stock (created through the API)."""
    return new_variant(http)


def test_a_paid_order_commits_its_stock(
    http: httpx.Client, guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)
    assert stock(http, variant) == {"onHand": 5, "reserved": 2}

    ok(pay(guest, order, "PAY_FULL"))

    order_status(guest, order, "PAID")
    assert eventually(lambda: stock(http, variant), lambda s: s["reserved"] == 0) == {
        "onHand": 3,
        "reserved": 0,
    }


def test_a_partial_payment_then_the_rest_pays_the_order(
    guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)
    first = ok(pay(guest, order, "PAY_PARTIAL"))

    assert first["payment"]["status"] == "INVOICE_STATUS_PROCESSING"
    assert read_order(guest, order)["status"] == "ORDER_STATUS_AWAITING_PAYMENT"
    ok(pay(guest, order, "PAY_FULL"))
    order_status(guest, order, "PAID")


def test_an_unpaid_order_expires_and_releases_its_stock(
    http: httpx.Client, guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)

    order_status(guest, order, "EXPIRED")
    assert eventually(
        lambda: stock(http, variant), lambda s: s["reserved"] == 0, timeout_s=INVOICE_EXPIRY_S + 20
    ) == {"onHand": 5, "reserved": 0}


def test_a_declined_payment_changes_nothing(
    http: httpx.Client, guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)

    declined = ok(pay(guest, order, "DECLINE"))

    assert declined["declined"] is True
    assert read_order(guest, order)["status"] == "ORDER_STATUS_AWAITING_PAYMENT"
    assert stock(http, variant) == {"onHand": 5, "reserved": 2}


def test_a_late_payment_leaves_the_order_expired_and_the_invoice_flagged(
    http: httpx.Client, guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)
    order_status(guest, order, "EXPIRED")

    late = ok(pay(guest, order, "PAY_LATE"))
    invoice = ok(http.get(f"/v1/invoices/{order['invoiceId']}"))  # staff see it in full

    assert late["payment"]["status"] == "INVOICE_STATUS_EXPIRED"
    assert (invoice["status"], invoice["paidLate"]) == ("INVOICE_STATUS_EXPIRED", True)
    assert read_order(guest, order)["status"] == "ORDER_STATUS_EXPIRED"


def test_paying_a_settled_invoice_again_is_a_conflict(
    guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)
    ok(pay(guest, order, "PAY_FULL"))

    again = pay(guest, order, "PAY_FULL")

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["reason"] == "INVOICE_SETTLED"


def test_ordering_more_than_is_in_stock_is_409_with_the_available_quantity(
    http: httpx.Client, variant: dict[str, Any]
) -> None:
    token = ready_cart(http, variant, quantity=6)

    refused = http.post("/v1/orders", json={"cartToken": token, "idempotencyKey": key()})

    assert refused.status_code == 409, refused.text
    assert refused.json()["shortages"] == [
        {"subject": variant["id"], "requested": 6, "available": 5}
    ]
    assert stock(http, variant) == {"onHand": 5, "reserved": 0}


def test_a_guest_reaches_their_order_with_its_access_token_and_the_invoice_as_a_payment_view(
    guest: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(guest, variant)

    by_id_only = guest.get(f"/v1/orders/{order['id']}")
    wrong_token = guest.get(f"/v1/orders/{order['id']}", params={"accessToken": key() + key()})
    full_invoice = guest.get(f"/v1/invoices/{order['invoiceId']}")
    payment = ok(guest.get(f"/v1/invoices/{order['invoiceId']}/payment"))

    assert (by_id_only.status_code, wrong_token.status_code) == (404, 404)
    assert read_order(guest, order)["id"] == order["id"]
    assert full_invoice.status_code == 401
    assert payment["status"] == "INVOICE_STATUS_NEW"
    assert payment["due"]["asset"] == "EUR"
    assert order["id"] not in str(payment)
    assert ADDRESS["email"] not in str(payment)

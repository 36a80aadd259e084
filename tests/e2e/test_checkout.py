"""Checkout through the gateway against `agora up`, paid with the dev provider: cart → address
→ shipping → place order → invoice (attached by the saga) → payment → order state and stock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from agora_stack import INVOICE_EXPIRY_S, Stack

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "Hauptstr. 1",
    "city": "Berlin",
    "postalCode": "10115",
    "country": "DE",
    "email": "ada@example.com",
}


def key() -> str:
    return str(uuid.uuid4())


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def eventually(
    read: Callable[[], dict[str, Any]],
    holds: Callable[[dict[str, Any]], bool],
    timeout_s: float = 30,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if holds(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        time.sleep(0.1)


@pytest.fixture
def http(stack: Stack) -> httpx.Client:
    with stack.client() as client:
        yield client


@pytest.fixture
def variant(http: httpx.Client) -> dict[str, Any]:
    """A fresh product with one variant priced in EUR and 5 in stock (created through the API)."""
    slug = f"e2e-lamp-{key()[:8]}"
    product = ok(
        http.post(
            "/v1/products",
            json={
                "idempotencyKey": key(),
                "title": "E2E Lamp",
                "slug": slug,
                "variants": [
                    {
                        "sku": slug.upper(),
                        "title": "Default",
                        "prices": [{"amountMinor": "2500", "currency": "EUR"}],
                    }
                ],
            },
        )
    )
    ok(http.post(f"/v1/products/{product['id']}:publish", json={"idempotencyKey": key()}))
    chosen = product["variants"][0]
    ok(
        http.put(
            f"/v1/variants/{chosen['id']}/stock", json={"idempotencyKey": key(), "onHand": "5"}
        )
    )
    return {**chosen, "productId": product["id"]}


def place_order(http: httpx.Client, variant: dict[str, Any], quantity: int = 2) -> dict[str, Any]:
    token = ok(http.post("/v1/carts", json={"currency": "EUR", "idempotencyKey": key()}))["token"]
    ok(
        http.post(
            f"/v1/carts/{token}/lines",
            json={
                "productId": variant["productId"],
                "variantId": variant["id"],
                "quantity": quantity,
                "idempotencyKey": key(),
            },
        )
    )
    ok(
        http.put(
            f"/v1/carts/{token}/shipping-address", params={"idempotencyKey": key()}, json=ADDRESS
        )
    )
    ok(
        http.put(
            f"/v1/carts/{token}/shipping-method",
            json={"code": "de-standard", "idempotencyKey": key()},
        )
    )
    order = ok(http.post("/v1/orders", json={"cartToken": token, "idempotencyKey": key()}))
    return eventually(
        lambda: ok(http.get(f"/v1/orders/{order['id']}")), lambda o: bool(o.get("invoiceId"))
    )


def pay(http: httpx.Client, order: dict[str, Any], action: str, amount: str = "") -> httpx.Response:
    body = {"action": f"DEV_PAY_ACTION_{action}", "idempotencyKey": key()}
    if amount:
        body["amount"] = amount
    return http.post(f"/v1/invoices/{order['invoiceId']}/dev:pay", json=body)


def order_status(http: httpx.Client, order: dict[str, Any], status: str) -> dict[str, Any]:
    return eventually(
        lambda: ok(http.get(f"/v1/orders/{order['id']}")),
        lambda o: o["status"] == f"ORDER_STATUS_{status}",
    )


def stock(http: httpx.Client, variant: dict[str, Any]) -> dict[str, int]:
    level = ok(http.get(f"/v1/variants/{variant['id']}/stock"))
    return {name: int(level.get(name, 0)) for name in ("onHand", "reserved")}


def test_a_paid_order_commits_its_stock(http: httpx.Client, variant: dict[str, Any]) -> None:
    order = place_order(http, variant)
    assert stock(http, variant) == {"onHand": 5, "reserved": 2}

    ok(pay(http, order, "PAY_FULL"))

    order_status(http, order, "PAID")
    assert eventually(lambda: stock(http, variant), lambda s: s["reserved"] == 0) == {
        "onHand": 3,
        "reserved": 0,
    }


def test_a_partial_payment_then_the_rest_pays_the_order(
    http: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(http, variant)
    first = ok(pay(http, order, "PAY_PARTIAL"))

    assert first["invoice"]["status"] == "INVOICE_STATUS_PROCESSING"
    assert ok(http.get(f"/v1/orders/{order['id']}"))["status"] == "ORDER_STATUS_AWAITING_PAYMENT"
    ok(pay(http, order, "PAY_FULL"))
    order_status(http, order, "PAID")


def test_an_unpaid_order_expires_and_releases_its_stock(
    http: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(http, variant)

    order_status(http, order, "EXPIRED")
    assert eventually(
        lambda: stock(http, variant), lambda s: s["reserved"] == 0, timeout_s=INVOICE_EXPIRY_S + 20
    ) == {"onHand": 5, "reserved": 0}


def test_a_declined_payment_changes_nothing(http: httpx.Client, variant: dict[str, Any]) -> None:
    order = place_order(http, variant)

    declined = ok(pay(http, order, "DECLINE"))

    assert declined["declined"] is True
    assert ok(http.get(f"/v1/orders/{order['id']}"))["status"] == "ORDER_STATUS_AWAITING_PAYMENT"
    assert stock(http, variant) == {"onHand": 5, "reserved": 2}


def test_a_late_payment_leaves_the_order_expired_and_the_invoice_flagged(
    http: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(http, variant)
    order_status(http, order, "EXPIRED")

    late = ok(pay(http, order, "PAY_LATE"))

    assert (late["invoice"]["status"], late["invoice"]["paidLate"]) == (
        "INVOICE_STATUS_EXPIRED",
        True,
    )
    assert ok(http.get(f"/v1/orders/{order['id']}"))["status"] == "ORDER_STATUS_EXPIRED"


def test_paying_a_settled_invoice_again_is_a_conflict(
    http: httpx.Client, variant: dict[str, Any]
) -> None:
    order = place_order(http, variant)
    ok(pay(http, order, "PAY_FULL"))

    again = pay(http, order, "PAY_FULL")

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["reason"] == "INVOICE_SETTLED"


def test_ordering_more_than_is_in_stock_is_409_with_the_available_quantity(
    http: httpx.Client, variant: dict[str, Any]
) -> None:
    token = ok(http.post("/v1/carts", json={"currency": "EUR", "idempotencyKey": key()}))["token"]
    ok(
        http.post(
            f"/v1/carts/{token}/lines",
            json={
                "productId": variant["productId"],
                "variantId": variant["id"],
                "quantity": 6,
                "idempotencyKey": key(),
            },
        )
    )
    ok(
        http.put(
            f"/v1/carts/{token}/shipping-address", params={"idempotencyKey": key()}, json=ADDRESS
        )
    )
    ok(
        http.put(
            f"/v1/carts/{token}/shipping-method",
            json={"code": "de-standard", "idempotencyKey": key()},
        )
    )

    refused = http.post("/v1/orders", json={"cartToken": token, "idempotencyKey": key()})

    assert refused.status_code == 409, refused.text
    assert refused.json()["shortages"] == [
        {"subject": variant["id"], "requested": 6, "available": 5}
    ]
    assert stock(http, variant) == {"onHand": 5, "reserved": 0}

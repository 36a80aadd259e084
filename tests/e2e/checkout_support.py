"""Checkout steps through the gateway of a running `agora up`, as a guest shopper (the order read
with the access token PlaceOrder gave) and as staff (catalog and stock)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

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


def new_variant(http: httpx.Client, on_hand: int = 5, title: str = "E2E Lamp") -> dict[str, Any]:
    """A fresh published product titled `title` with one variant priced in EUR and `on_hand` in
    stock (through the API): the variant, with its product's `productId` and `productSlug`."""
    slug = f"e2e-lamp-{key()[:8]}"
    product = ok(
        http.post(
            "/v1/products",
            json={
                "idempotencyKey": key(),
                "title": title,
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
            f"/v1/variants/{chosen['id']}/stock",
            json={"idempotencyKey": key(), "onHand": str(on_hand)},
        )
    )
    return {**chosen, "productId": product["id"], "productSlug": product["slug"]}


def ready_cart(http: httpx.Client, variant: dict[str, Any], quantity: int = 2) -> str:
    """A cart's token, with `quantity` of `variant`, a Berlin address and standard shipping."""
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
    return str(token)


def place_order(http: httpx.Client, variant: dict[str, Any], quantity: int = 2) -> dict[str, Any]:
    """A guest order of a ready cart, once the saga attached its invoice."""
    token = ready_cart(http, variant, quantity)
    placed = ok(http.post("/v1/orders", json={"cartToken": token, "idempotencyKey": key()}))
    access = placed["accessToken"]
    order = eventually(lambda: read_order(http, placed, access), lambda o: bool(o.get("invoiceId")))
    return {**order, "accessToken": access}


def read_order(
    http: httpx.Client, order: dict[str, Any], access: str | None = None
) -> dict[str, Any]:
    """The guest order, read with its access token."""
    token = order["accessToken"] if access is None else access
    return ok(http.get(f"/v1/orders/{order['id']}", params={"accessToken": token}))


def pay(http: httpx.Client, order: dict[str, Any], action: str, amount: str = "") -> httpx.Response:
    body = {"action": f"DEV_PAY_ACTION_{action}", "idempotencyKey": key()}
    if amount:
        body["amount"] = amount
    return http.post(f"/v1/invoices/{order['invoiceId']}/dev:pay", json=body)


def order_status(http: httpx.Client, order: dict[str, Any], status: str) -> dict[str, Any]:
    return eventually(
        lambda: read_order(http, order), lambda o: o["status"] == f"ORDER_STATUS_{status}"
    )


def stock(http: httpx.Client, variant: dict[str, Any]) -> dict[str, int]:
    level = ok(http.get(f"/v1/variants/{variant['id']}/stock"))
    return {name: int(level.get(name, 0)) for name in ("onHand", "reserved")}

"""Fulfilment through the real gateway and every service: a customer pays over REST, staff
(the built-in role's permissions) fulfil the order in two parts, ship it and refund part of it;
the customer's own token is refused each of those steps."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from edge_stack import EdgeStack
from test_authorization_matrix import _bearer, _checkout, _invoice_of, _json, _variant


async def _paid(http: httpx.AsyncClient, order_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(300):
        found = await _json(await http.get(f"/v1/orders/{order_id}", headers=headers))
        if found["status"] == "ORDER_STATUS_PAID":
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the order was never paid")


def _body(**fields: Any) -> dict[str, Any]:
    return {"idempotencyKey": str(uuid.uuid4()), **fields}


async def test_staff_fulfil_ship_and_refund_a_paid_order_and_its_customer_may_not(
    edge: EdgeStack, mint_token: Callable[..., str]
) -> None:
    ada = str(uuid.uuid4())
    as_ada = {"Authorization": _bearer(mint_token, "customer", ada)}
    as_staff = {"Authorization": _bearer(mint_token, "staff", str(uuid.uuid4()))}
    as_admin = {"Authorization": _bearer(mint_token, "admin", str(uuid.uuid4()))}
    async with edge.client("198.18.120.1") as http:
        variant = await _variant(http, as_admin)
        order = await _checkout(http, variant, as_ada)
        invoice_id = await _invoice_of(http, order, as_ada)
        pay = _body(action="DEV_PAY_ACTION_PAY_FULL")
        await _json(await http.post(f"/v1/invoices/{invoice_id}/dev:pay", json=pay))
        paid = await _paid(http, order["id"], as_ada)
        at = f"/v1/admin/orders/{order['id']}"
        ship = _body(
            carrier="DHL", trackingNumber="00340434161094042557", trackingUrl="https://dhl.de/t"
        )
        total = int(paid["totals"]["total"]["amountMinor"])
        refund = _body(amount={"amountMinor": "100", "currency": "EUR"}, reason="late")

        refused = {
            "fulfil": await http.post(f"{at}:fulfil", headers=as_ada, json=_body()),
            "ship": await http.post(f"{at}:ship", headers=as_ada, json=ship),
            "refund": await http.post(f"{at}:refund", headers=as_ada, json=refund),
        }
        fulfilled = await _json(await http.post(f"{at}:fulfil", headers=as_staff, json=_body()))
        shipped = await _json(await http.post(f"{at}:ship", headers=as_staff, json=ship))
        again = await http.post(f"{at}:ship", headers=as_staff, json=ship | _body())
        replayed = await http.post(f"{at}:ship", headers=as_staff, json=ship)
        refunded = await _json(await http.post(f"{at}:refund", headers=as_staff, json=refund))
        seen_by_ada = await _json(await http.get(f"/v1/orders/{order['id']}", headers=as_ada))

    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    assert {r.json()["reason"] for r in refused.values()} == {"PERMISSION_MISSING"}
    assert fulfilled["status"] == "ORDER_STATUS_FULFILLED"
    assert fulfilled["lines"][0]["fulfilledQuantity"] == 1
    assert (shipped["status"], shipped["trackingUrl"]) == (
        "ORDER_STATUS_SHIPPED",
        "https://dhl.de/t",
    )
    assert again.status_code == 400  # FAILED_PRECONDITION: shipped already
    assert replayed.json() == shipped  # the same key: the first answer
    assert again.json()["detail"] == "the order is shipped and cannot be shipped"
    assert refunded["order"]["refunded"]["amountMinor"] == "100"
    assert refunded["refund"]["payAmount"] == {"baseUnits": "100", "asset": "EUR", "decimals": 2}
    assert total > 100
    assert (seen_by_ada["status"], seen_by_ada["trackingNumber"]) == (
        "ORDER_STATUS_SHIPPED",
        "00340434161094042557",
    )

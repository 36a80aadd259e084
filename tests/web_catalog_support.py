"""Tools of the admin orders and products pages' browser tests: staff's API client, a paid
order of a fresh product, CSV files, and waiting for the storefront's API to show a price."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from checkout_support import eventually, new_variant, ok, order_status, pay, place_order


def paid_order(staff: httpx.Client, guest: httpx.Client, quantity: int = 2) -> dict[str, Any]:
    """A guest's order of `quantity` of a fresh product (25.00 EUR each), paid in full."""
    variant = new_variant(staff, on_hand=quantity + 3)
    order = place_order(guest, variant, quantity)
    ok(pay(guest, order, "PAY_FULL"))
    return {**order_status(guest, order, "PAID"), "accessToken": order["accessToken"]}


def storefront_price(guest: httpx.Client, slug: str, currency: str = "EUR") -> int:
    """The first variant's price as the storefront's public API (cached by the gateway)
    answers it."""
    product = ok(guest.get(f"/v1/products/{slug}", params={"currency": currency}))
    prices = product["variants"][0].get("prices", [])
    return int(prices[0]["amountMinor"]) if prices else 0


def seconds_until_price(
    guest: httpx.Client, slug: str, amount_minor: int, timeout_s: float = 5.0
) -> float:
    """How long the public API took to answer `amount_minor` for the product, from now."""
    started = time.monotonic()
    eventually(
        lambda: {"price": storefront_price(guest, slug)},
        lambda seen: seen["price"] == amount_minor,
        timeout_s,
    )
    return time.monotonic() - started


def csv_file(directory: Path, name: str, lines: list[str]) -> Path:
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def products_matching(staff: httpx.Client, text: str) -> list[dict[str, Any]]:
    """Every product (any status) whose title, slug or SKU contains `text` (staff's search)."""
    found: list[dict[str, Any]] = ok(staff.get("/v1/admin/products", params={"q": text})).get(
        "products", []
    )
    return found

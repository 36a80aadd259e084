"""Customers for the account pages' browser tests: registered and verified through the API,
with an order of their own placed, paid and shipped (staff's steps through the API)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
from agora_stack import Stack
from checkout_support import eventually, key, new_variant, ok, pay, place_order
from playwright.sync_api import Page
from security_support import bearer, mint_token
from web_support import mail_text, wait_for_mail

PASSWORD = "a long and memorable passphrase"
VERIFY_LINK = re.compile(r"https?://\S+?(/account/verify\?token=[\w.~-]+)")
CUSTOMER_PERMISSIONS = ["orders:read:own", "support:read:own"]


@dataclass
class Customer:
    email: str
    password: str = PASSWORD
    user_id: str = ""


def unique_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def verification_path(stack: Stack, email: str) -> str:
    """The path of the link in the confirmation mail to `email` (the page that verifies)."""
    mail = wait_for_mail(stack.data_dir, email, "Confirm your email")
    found = VERIFY_LINK.search(mail_text(mail))
    assert found, mail_text(mail)
    return found.group(1)


def user_id_of(stack: Stack, email: str) -> str:
    with stack.client() as staff:
        users = ok(staff.get("/v1/auth/users", params={"emailPrefix": email}))["users"]
    (user,) = [u for u in users if u["email"] == email]
    return str(user["id"])


def verified_customer(stack: Stack) -> Customer:
    """A registered account whose email is confirmed (API register, mailed token)."""
    customer = Customer(unique_email("shopper"))
    with stack.client(admin=False) as http:
        ok(
            http.post(
                "/v1/auth/register",
                json={"email": customer.email, "password": PASSWORD, "idempotencyKey": key()},
            )
        )
        token = verification_path(stack, customer.email).split("token=", 1)[1]
        ok(http.post("/v1/auth/verify-email", json={"token": token, "idempotencyKey": key()}))
    customer.user_id = user_id_of(stack, customer.email)
    return customer


def shipped_order(stack: Stack, customer: Customer) -> dict[str, Any]:
    """An order of `customer` (placed with a token of theirs), paid, then fulfilled and shipped
    by staff with a carrier, tracking number and tracking link."""
    token = mint_token(customer.user_id, roles=["customer"], permissions=CUSTOMER_PERMISSIONS)
    own = {"Authorization": bearer(token)}
    with (
        stack.client() as staff,
        httpx.Client(base_url=stack.gateway, timeout=10, headers=own) as http,
    ):
        order = place_order(http, new_variant(staff), quantity=2)
        assert order["customerId"] == customer.user_id
        assert pay(http, order, "PAY_FULL").status_code == 200
        read = lambda: ok(http.get(f"/v1/orders/{order['id']}"))  # noqa: E731
        eventually(read, lambda o: o["status"] == "ORDER_STATUS_PAID")
        ok(staff.post(f"/v1/admin/orders/{order['id']}:fulfil", json={"idempotencyKey": key()}))
        ok(
            staff.post(
                f"/v1/admin/orders/{order['id']}:ship",
                json={
                    "idempotencyKey": key(),
                    "carrier": "DHL",
                    "trackingNumber": "JD0146000033",
                    "trackingUrl": "https://www.dhl.de/track?id=JD0146000033",
                },
            )
        )
        return eventually(read, lambda o: o["status"] == "ORDER_STATUS_SHIPPED")


def sign_in_with_form(page: Page, customer: Customer, next_path: str = "") -> None:
    """Email and password through the sign-in page (no second factor)."""
    page.goto("/account/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def confirm_code(secret: str) -> str:
    """A code of the previous TOTP step (still accepted), so a code of the current step is
    new for the sign-in that follows (auth refuses a step already used)."""
    return pyotp.TOTP(secret).at(time.time() - 30)


def wrong_code(secret: str) -> str:
    """Six digits no step near now has."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + 30 * shift) for shift in range(-3, 4)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)

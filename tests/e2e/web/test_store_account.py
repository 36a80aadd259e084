"""The customer account in a real browser: registration confirmed from the mail, sign-in with a
second factor, 2FA enrolment, sessions, order history with tracking, returns, and the support
chat streaming the assistant's answer about the customer's own order."""

from __future__ import annotations

import re
import time

import pyotp
from agora_stack import Stack
from playwright.sync_api import Browser, BrowserContext, Page, expect
from web_account_support import (
    PASSWORD,
    confirm_code,
    shipped_order,
    sign_in_with_form,
    unique_email,
    verification_path,
    verified_customer,
    wrong_code,
)
from web_support import check_page, mail_text, new_context, wait_for_mail

# The embedded model's first answer loads its context.
ANSWER_TIMEOUT_MS = 120_000


def test_a_shopper_registers_confirms_by_mail_enrols_2fa_and_signs_in_with_a_code(
    page: Page, stack: Stack
) -> None:
    email = unique_email("newcomer")
    page.goto("/account/register")
    expect(page.get_by_text("At least 12 characters")).to_be_visible()
    check_page(page, "account-register")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("too short")
    page.get_by_role("button", name="Create account").click()
    password_error = page.locator("#f-password-error")
    expect(password_error).to_contain_text("at least 12 characters")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()

    link = verification_path(stack, email)
    assert link.startswith("/account/verify?token=")
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("status")).to_contain_text(email)

    page.get_by_role("link", name="Sign in").last.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    check_page(page, "account-login")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.get_by_text(email)).to_be_visible()
    check_page(page, "account-overview")

    page.get_by_role("link", name="Security").click()
    page.get_by_role("button", name="Set up two-factor authentication").click()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_have_attribute(
        "src", re.compile(r"^data:image/svg\+xml;")
    )
    secret = page.locator("#totp-secret").inner_text().strip()
    check_page(page, "account-security-enrol")
    page.get_by_label("Enter the 6-digit code").fill(wrong_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    assert page.locator("#totp-secret").inner_text().strip() == secret  # the same enrolment
    page.get_by_label("Enter the 6-digit code").fill(confirm_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    codes = page.get_by_role("list", name="Recovery codes").locator("code")
    expect(codes).to_have_count(10)
    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    check_page(page, "account-security-recovery-codes")
    first_codes = set(codes.all_inner_texts())
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Get new recovery codes").click()
    expect(page.get_by_text("New recovery codes replace the old ones.")).to_be_visible()
    expect(codes).to_have_count(10)
    assert not set(codes.all_inner_texts()) & first_codes

    page.get_by_role("button", name="Sign out", exact=True).first.click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/account/orders")  # a page that needs a session: back here after signing in
    assert "/account/login?next=/account/orders" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    assert "mfa" not in page.url.lower()  # the challenge travels in the form only
    check_page(page, "account-login-code")

    page.get_by_label("Code from your authenticator app").fill(wrong_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not valid")
    expect(page.get_by_label("Code from your authenticator app")).to_have_attribute(
        "aria-invalid", "true"
    )
    # The next step's code (still in the window): the current step went to the new codes.
    page.get_by_label("Code from your authenticator app").fill(
        pyotp.TOTP(secret).at(time.time() + 30)
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["__Host-agora_access"]["httpOnly"]
    assert cookies["__Host-agora_access"]["secure"]
    assert not cookies["__Host-agora_csrf"]["httpOnly"]


def test_a_customer_follows_their_shipped_order_returns_items_and_asks_the_chat_about_it(
    page: Page, stack: Stack
) -> None:
    customer = verified_customer(stack)
    order = shipped_order(stack, customer)
    sign_in_with_form(page, customer, next_path="/account/orders")

    row = page.locator(f"tr[data-order-id='{order['id']}']")
    expect(row).to_contain_text("Shipped")
    expect(row).to_contain_text("DHL: JD0146000033")
    expect(row.get_by_role("link", name=re.compile("Track parcel"))).to_have_attribute(
        "href", "https://www.dhl.de/track?id=JD0146000033"
    )
    expect(row.get_by_role("link", name=order["id"][:8], exact=True)).to_have_attribute(
        "href", f"/orders/{order['id']}"
    )
    check_page(page, "account-orders")

    row.get_by_role("link", name=re.compile("Return items")).click()
    expect(page.get_by_text("No return requests for this order.")).to_be_visible()
    check_page(page, "account-return")
    page.get_by_label("E2E Lamp").fill("1")
    page.get_by_label("Why are you returning them?").fill("Too bright")
    page.get_by_role("button", name="Request return").click()
    expect(page.get_by_role("status")).to_contain_text("Your return request was sent")
    requests = page.locator("ul.returns > li")
    expect(requests).to_have_count(1)
    expect(requests.first).to_contain_text("Requested")
    expect(requests.first).to_contain_text("1 \N{MULTIPLICATION SIGN} E2E Lamp")

    page.goto("/account")
    launch = page.get_by_role("button", name="Chat with us")
    assert not [r for r in _loaded_scripts(page) if "/js/chat.js" in r]  # not loaded before use
    launch.click()
    panel = page.get_by_role("dialog", name="Support chat")
    expect(panel).to_be_visible()
    expect(page.get_by_label("Your message")).to_be_focused()
    expect(launch).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launch).to_be_focused()
    launch.click()
    page.get_by_label("Your message").fill("Where is my order?")
    page.get_by_role("button", name="Send").click()

    log = panel.get_by_role("log")
    expect(log.locator(".chat-msg.customer")).to_contain_text("Where is my order?")
    expect(log.locator(".chat-tool").first).to_contain_text(
        "Looking up your order", timeout=ANSWER_TIMEOUT_MS
    )
    answer = log.locator(".chat-msg.assistant[data-complete]").last
    expect(answer).to_contain_text("shipped", timeout=ANSWER_TIMEOUT_MS)
    expect(answer).to_contain_text(order["id"][:8])
    check_page(page, "account-chat-open")


def test_a_customer_signs_their_other_device_out_from_the_security_page(
    browser: Browser, page: Page, stack: Stack
) -> None:
    customer = verified_customer(stack)
    phone: BrowserContext = new_context(
        browser,
        stack.gateway,
        user_agent="Agora test phone",
        viewport={"width": 375, "height": 812},
    )
    try:
        other = phone.new_page()
        sign_in_with_form(other, customer)
        expect(other.get_by_role("heading", name="Your account")).to_be_visible()

        sign_in_with_form(page, customer, next_path="/account/security")
        sessions = page.locator("table.sessions tbody tr")
        expect(sessions).to_have_count(2)
        expect(page.locator("tr[data-current]")).to_contain_text("This device")
        phone_row = page.locator("tr:not([data-current])", has_text="Agora test phone")
        phone_row.get_by_role("button", name=re.compile("Sign out this device")).click()
        expect(page.get_by_role("status")).to_contain_text("The session was signed out.")
        expect(sessions).to_have_count(1)

        # The phone's refresh token is dead: its next page after the access token is dropped
        # asks it to sign in again.
        phone.clear_cookies(name="__Host-agora_access")
        other.goto("/account")
        assert "/account/login" in other.url
    finally:
        phone.close()


def test_a_guest_opening_the_chat_is_asked_to_sign_in(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Chat with us").click()
    panel = page.get_by_role("dialog", name="Support chat")
    expect(panel.get_by_role("link", name="Sign in")).to_be_focused()
    expect(panel.get_by_label("Your message")).to_be_hidden()


def _loaded_scripts(page: Page) -> list[str]:
    urls: list[str] = page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name)"
    )
    return urls


def test_a_customer_who_forgot_their_password_chooses_a_new_one_from_the_mailed_link(
    page: Page, stack: Stack
) -> None:
    customer = verified_customer(stack)
    page.goto("/account/login")
    page.get_by_role("link", name="Forgot your password?").click()
    check_page(page, "account-password-reset")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status")).to_contain_text("is on its way")

    mail = wait_for_mail(stack.data_dir, customer.email, "password")
    link = re.search(r"https?://\S+?(/account/password-reset\?token=[\w.~-]+)", mail_text(mail))
    assert link, mail_text(mail)
    page.goto(link.group(1))
    page.get_by_label("New password").fill("a brand new passphrase 2")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")

    customer.password = "a brand new passphrase 2"
    sign_in_with_form(page, customer)
    expect(page).to_have_url(re.compile("/account$"))
    # The link works once.
    page.goto(link.group(1))
    page.get_by_label("New password").fill("yet another passphrase 3")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("no longer valid")

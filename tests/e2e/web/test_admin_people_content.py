"""The admin space's people, content and support pages in a real browser: staff lock accounts
and end sessions, publish a banner with a Markdown preview, roll a page back, upload an image,
and take a customer's support conversation over live."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from agora_stack import Stack
from playwright.sync_api import Browser, BrowserContext, Page, expect
from security_support import bearer, mint_token
from web_people_support import (
    chat,
    eventually,
    handover_to,
    log_in,
    new_customer,
    png,
    refresh,
    spoken_by,
    staff_cookies,
)
from web_support import check_page

ADMIN = "admin@agora.localhost"
STAFF = "staff@agora.localhost"


@pytest.fixture(scope="module")
def signed_in(browser: Browser, stack: Stack) -> dict[str, list[Any]]:
    """The admin's and the staff member's session cookies, one sign-in each for the module."""
    return {
        email: staff_cookies(browser, stack.gateway, stack.data_dir, email)
        for email in (ADMIN, STAFF)
    }


def _confirm(page: Page, action: str) -> None:
    page.get_by_role("button", name=action).click()
    expect(page.get_by_role("heading", name="Please confirm")).to_be_visible()


def test_a_locked_customer_is_refused_at_sign_in_until_unlocked(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    with stack.client() as admin:
        customer = new_customer(stack.gateway, admin, stack.data_dir)
    context.add_cookies(signed_in[ADMIN])

    page.goto(f"/admin/customers?q={customer.email}")
    check_page(page, "admin-customers")
    page.get_by_role("link", name=customer.email).click()
    expect(page.get_by_role("heading", level=1, name=customer.email)).to_be_visible()
    check_page(page, "admin-user")
    _confirm(page, "Lock…")
    page.get_by_label("Reason").fill("Chargeback fraud under review")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_have_text("Account locked.")
    expect(page.locator(".people-facts .badge.bad")).to_have_text("Locked")
    refused = log_in(stack.gateway, customer)
    assert refused.json()["reason"] == "ACCOUNT_LOCKED", refused.text

    _confirm(page, "Unlock…")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("Account unlocked.")
    expect(page.locator(".people-facts .badge.ok")).to_have_text("Active")


def test_force_logout_ends_the_customers_sessions(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    with stack.client() as admin:
        customer = new_customer(stack.gateway, admin, stack.data_dir)
    tokens = log_in(stack.gateway, customer).json()["tokens"]
    context.add_cookies(signed_in[ADMIN])

    page.goto(f"/admin/users/{customer.id}")
    sessions = page.locator("dt:has-text('Live sessions') + dd")
    expect(sessions).to_have_text("1")
    _confirm(page, "Force logout…")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_have_text("Every session was ended.")
    expect(sessions).to_have_text("0")
    assert refresh(stack.gateway, tokens["refreshToken"]).status_code == 401


def test_staff_without_account_rights_see_the_services_refusal(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    with stack.client() as admin:
        customer = new_customer(stack.gateway, admin, stack.data_dir)
    context.add_cookies(signed_in[STAFF])

    page.goto("/admin/staff")
    expect(page.get_by_role("link", name=ADMIN)).to_be_visible()
    check_page(page, "admin-staff")
    page.goto(f"/admin/users/{customer.id}")
    _confirm(page, "Lock…")
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("alert")).to_contain_text("admin:users:write")
    expect(page.locator(".people-facts .badge.ok")).to_have_text("Active")


def test_the_staff_list_pages_through_every_staff_account_one_at_a_time(
    context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    context.add_cookies(signed_in[ADMIN])
    page.goto("/admin/staff")
    emails = page.get_by_role("table", name="Staff accounts").locator("tbody td:first-child a")
    expect(emails.first).to_be_visible()
    everyone = emails.all_inner_texts()
    assert len(everyone) >= 2, everyone

    page.goto("/admin/staff?size=1")
    pages = page.get_by_role("navigation", name="Pages of staff accounts")
    seen = [emails.inner_text()]
    while len(seen) < len(everyone):
        pages.get_by_role("link", name="Next page").click()
        expect(emails).to_have_count(1)
        expect(emails).not_to_have_text(seen[-1])
        seen.append(emails.inner_text())
        if len(seen) == 2:
            check_page(page, "admin-staff-second-page")
    assert sorted(seen) == sorted(everyone)
    expect(pages.get_by_role("link", name="Next page")).to_have_count(0)
    back = "Previous page" if len(seen) > 2 else "First page"
    pages.get_by_role("link", name=back).click()
    expect(emails).to_have_text(seen[-2])


def test_staff_publish_a_banner_written_in_markdown_and_the_shop_shows_it(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    tag = uuid.uuid4().hex[:8]
    title = f"Winter sale {tag}"
    context.add_cookies(signed_in[ADMIN])

    page.goto("/admin/content/new?kind=banner")
    check_page(page, "admin-content-editor")
    page.get_by_label("Title").fill(title)
    page.get_by_label(re.compile("^Slug")).fill(f"winter-sale-{tag}")
    expect(page.get_by_label("Placement")).to_have_value("home-hero")
    page.get_by_label("Link").fill("/products")
    page.get_by_label("Text (Markdown)").fill("Everything **half price** until Sunday")
    expect(page.locator("#preview strong")).to_have_text("half price")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("status")).to_have_text("Draft created.")
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_role("status")).to_have_text("Published.")

    def published() -> dict[str, str] | None:
        with stack.client(admin=False) as http:
            entries = http.get("/v1/content/banners/en/home-hero").json().get("entries", [])
        return next((e for e in entries if e["title"] == title), None)

    banner = eventually(published)
    assert "<strong>half price</strong>" in banner["bodyHtml"]
    page.goto("/")
    expect(page.get_by_text(title)).to_be_visible()

    page.goto("/admin/content?kind=banner&status=published")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    check_page(page, "admin-content")


def test_rolling_a_page_back_shows_the_old_text_on_the_shop(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    slug = f"shipping-{uuid.uuid4().hex[:8]}"
    with stack.client() as admin:
        created = admin.post(
            "/v1/admin/content",
            json={
                "kind": "CONTENT_KIND_PAGE",
                "locale": "en",
                "fields": {"slug": slug, "title": "Shipping", "bodyMarkdown": "We ship in 2 days."},
                "idempotencyKey": str(uuid.uuid4()),
            },
        )
        assert created.status_code == 200, created.text
        entry = created.json()
        changed = admin.put(
            f"/v1/admin/content/{entry['id']}",
            json={
                "expectedVersion": "1",
                "fields": {"slug": slug, "title": "Shipping", "bodyMarkdown": "We ship in 5 days."},
                "idempotencyKey": str(uuid.uuid4()),
            },
        )
        assert changed.status_code == 200, changed.text
        shown = admin.post(
            f"/v1/admin/content/{entry['id']}:publish",
            json={"expectedVersion": "2", "idempotencyKey": str(uuid.uuid4())},
        )
        assert shown.status_code == 200, shown.text

    def public_text(expected: str) -> str | None:
        with stack.client(admin=False) as http:
            answer = http.get(f"/v1/content/pages/en/{slug}")
        text = answer.json().get("bodyHtml", "") if answer.status_code == 200 else ""
        return text if expected in text else None

    eventually(lambda: public_text("5 days"))
    context.add_cookies(signed_in[ADMIN])
    page.goto(f"/admin/content/{entry['id']}")
    page.get_by_role("link", name="Compare with version 2").click()
    diff = page.locator(".content-diff")
    expect(diff.locator(".diff-del")).to_contain_text("We ship in 2 days.")
    expect(diff.locator(".diff-add")).to_contain_text("We ship in 5 days.")
    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page.get_by_role("status")).to_contain_text("Rolled back")
    expect(page.get_by_label("Text (Markdown)")).to_have_value("We ship in 2 days.")
    page.get_by_role("button", name="Publish version 3").click()
    expect(page.get_by_role("status")).to_have_text("Published.")

    assert "2 days" in eventually(lambda: public_text("2 days"))


def test_an_uploaded_image_shows_its_thumbnail_and_goes_into_the_text(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    context.add_cookies(signed_in[ADMIN])
    page.goto("/admin/content/new?kind=post")
    page.get_by_label("Image file").set_input_files(
        files=[{"name": "gradient.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.get_by_label("Description (alt text)").fill("A gradient")
    page.get_by_role("button", name="Upload").click()

    thumbnail = page.get_by_role("img", name="A gradient")
    expect(thumbnail).to_be_visible()
    expect(thumbnail).to_have_attribute("src", re.compile(r"^/v1/content/media/[0-9a-f]{64}/w320$"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    assert thumbnail.evaluate("img => img.naturalWidth") == 320
    expect(page.get_by_role("link", name="w960")).to_be_visible()

    page.get_by_role("button", name="Insert into the text").click()
    expect(page.get_by_label("Text (Markdown)")).to_have_value(
        re.compile(r"!\[A gradient\]\(/v1/content/media/[0-9a-f]{64}/w960\)")
    )
    expect(page.locator("#preview img")).to_have_attribute("alt", "A gradient")
    page.get_by_role("button", name="Use as the entry's image").click()
    image_field = page.get_by_label(re.compile(r"^Image \("))
    expect(image_field).to_have_value(re.compile(r"^[0-9a-f]{64}$"))


def test_staff_take_a_queued_conversation_over_and_their_reply_reaches_the_customer(
    stack: Stack, context: BrowserContext, page: Page, signed_in: dict[str, list[Any]]
) -> None:
    customer = bearer(
        mint_token(
            str(uuid.uuid4()),
            roles=["customer"],
            permissions=["orders:read:own", "support:read:own"],
        )
    )
    context.add_cookies(signed_in[ADMIN])

    with chat(stack.gateway, customer) as shopper:
        shopper.send({"start": {}})
        conversation_id = shopper.until(lambda frame: "started" in frame)["conversationId"]
        shopper.say("I want to talk to a person")
        shopper.until(handover_to("QUEUED"))

        page.goto("/admin/support")
        waiting = page.get_by_role("region", name="Waiting for a person, and taken over")
        expect(
            waiting.get_by_role("link", name=f"Conversation {conversation_id[:8]}")
        ).to_be_visible()
        check_page(page, "admin-support")
        waiting.get_by_role("link", name=f"Conversation {conversation_id[:8]}").click()
        expect(page.get_by_text("I want to talk to a person")).to_be_visible()
        check_page(page, "admin-conversation")
        page.get_by_role("button", name="Take over").click()
        expect(page.get_by_role("status")).to_contain_text("You took this conversation over")
        assert shopper.until(handover_to("STAFF"))["handover"]["reason"] == (
            "HANDOVER_REASON_TAKEN_OVER"
        )
        taken_at = len(shopper.frames)

        page.get_by_label("Your reply to the customer").fill("Hello, this is Anna from support.")
        page.get_by_role("button", name="Send").click()
        heard = shopper.until(spoken_by("STAFF"))["message"]
        assert heard["text"] == "Hello, this is Anna from support."

        shopper.say("Thanks Anna, where is my parcel?")
        expect(page.locator("#transcript")).to_contain_text("Thanks Anna, where is my parcel?")
        page.get_by_role("button", name="Close the conversation").click()
        expect(page.get_by_role("status")).to_have_text("Conversation closed.")
        shopper.until(handover_to("CLOSED"))
    after = shopper.frames[taken_at:]
    assert not [f for f in after if spoken_by("ASSISTANT")(f) or "delta" in f], after

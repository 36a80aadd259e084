"""The admin space's operations in a real browser, against `agora up`: a 2FA reset asked by one
staff member and approved by another (an administrator's is done at once), a reconciliation run
finding a payment the chain lacks, a banner scheduled seconds ahead, a report's PDF, a product
archived and restored, and return requests decided for the customer to see."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from agora_stack import Stack
from checkout_support import key, ok
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from pypdf import PdfReader
from security_support import bearer, mint_token
from web_account_support import (
    CUSTOMER_PERMISSIONS,
    shipped_order,
    sign_in_with_form,
    user_id_of,
    verified_customer,
)
from web_admin_ops_support import (
    account_with_role,
    credit_without_transfer,
    credited,
    enrol_staff_2fa,
    own_product,
    reload_until,
    usdt_invoice,
)
from web_dashboard_support import create_user, utc_today
from web_people_support import staff_cookies
from web_support import check_page, new_context, sign_in_through_api

ADMIN = "admin@agora.localhost"
# A role that may ask for 2FA resets but not do one (auth's `auth:totp:reset` stays with admins).
RESET_DESK = ["admin:users:read", "admin:users:write", "auth:users:read"]


@pytest.fixture(scope="module")
def admin_cookies(browser: Browser, stack: Stack) -> list[Any]:
    """The seeded admin's session cookies, one sign-in for the module."""
    return staff_cookies(browser, stack.gateway, stack.data_dir, ADMIN)


def _two_factor(page: Page) -> Locator:
    return page.locator("dt:has-text('2FA') + dd")


def test_a_2fa_reset_asked_by_one_staff_member_is_done_once_another_approves_it(
    browser: Browser,
    stack: Stack,
    context: BrowserContext,
    page: Page,
    admin_cookies: list[Any],
) -> None:
    member, member_password = create_user(stack, "staff")
    member_id = user_id_of(stack, member)
    enrol_staff_2fa(page, member, member_password)
    context.clear_cookies()
    desk, desk_password = account_with_role(stack, RESET_DESK)
    sign_in_through_api(context, desk, desk_password)

    page.goto(f"/admin/users/{member_id}")
    expect(_two_factor(page)).to_have_text("on")
    page.get_by_role("button", name="Reset 2FA…").click()
    page.get_by_label(re.compile("^Reason")).fill("Lost their phone")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("2FA reset requested.")
    waiting = page.get_by_role("region", name="2FA resets waiting for approval")
    expect(waiting).to_contain_text("Lost their phone")
    expect(waiting).to_contain_text("by you")
    # Four eyes: the requester is offered no approval of their own request...
    expect(waiting.get_by_role("button", name="Approve…")).to_have_count(0)
    expect(_two_factor(page)).to_have_text("on")
    check_page(page, "admin-user-2fa-reset-requested")
    with stack.client() as admin:
        resets = ok(admin.get("/v1/admin/users/totp-resets"))["resets"]
    (reset,) = [r for r in resets if r["userId"] == member_id]
    # ...and the service refuses it when asked anyway.
    page.goto(f"/admin/users/{member_id}?confirm=approve-reset&reset={reset['id']}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("cannot approve your own request")
    expect(_two_factor(page)).to_have_text("on")

    approver = new_context(browser, stack.gateway)
    try:
        approver.add_cookies(admin_cookies)
        second = approver.new_page()
        second.goto("/admin/staff")
        row = second.get_by_role("row").filter(has_text="Lost their phone")
        expect(row).to_contain_text(desk)  # who asked, by name
        check_page(second, "admin-staff-2fa-resets")
        row.get_by_role("link", name=member).click()
        expect(second.get_by_role("heading", name="Please confirm")).to_be_visible()
        second.get_by_role("button", name="Confirm").click()
        expect(second.get_by_role("status")).to_have_text("2FA reset done.")
        expect(_two_factor(second)).to_have_text("off")
        expect(
            second.get_by_role("region", name="2FA resets waiting for approval")
        ).to_contain_text("None.")
    finally:
        approver.close()

    context.clear_cookies()
    page.goto("/admin/login")
    page.get_by_label("Email").fill(member)
    page.get_by_label("Password").fill(member_password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")


def test_an_administrators_2fa_reset_is_done_at_once_and_says_so(
    stack: Stack, context: BrowserContext, page: Page, admin_cookies: list[Any]
) -> None:
    member, member_password = create_user(stack, "staff")
    member_id = user_id_of(stack, member)
    enrol_staff_2fa(page, member, member_password)
    context.clear_cookies()
    context.add_cookies(admin_cookies)

    page.goto(f"/admin/users/{member_id}")
    page.get_by_role("button", name="Reset 2FA…").click()
    page.get_by_label(re.compile("^Reason")).fill("New phone, old one wiped")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_have_text("2FA reset done.")
    expect(_two_factor(page)).to_have_text("off")
    expect(page.get_by_role("region", name="2FA resets waiting for approval")).to_contain_text(
        "None."
    )


def _tokens(base_units: str, decimals: int, symbol: str) -> str:
    whole = Decimal(base_units).scaleb(-decimals).normalize()
    return f"{whole:f} {symbol}"


def test_a_payment_credited_without_its_transfer_shows_as_a_mismatch_of_the_run(
    stack: Stack, context: BrowserContext, page: Page, admin_cookies: list[Any]
) -> None:
    options = usdt_invoice(stack)
    reference = credit_without_transfer(stack, options)
    credited(stack, options["invoiceId"], reference)
    context.add_cookies(admin_cookies)

    page.goto("/admin/reconciliation")
    page.get_by_role("button", name="Start a reconciliation run").click()
    expect(page).to_have_url(re.compile(r"/admin/reconciliation/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("run-status")).to_have_text("Completed")
    expect(page.get_by_text("Mismatches found")).to_be_visible()
    row = page.locator("#reconciliation-items tbody tr").filter(has_text=options["invoiceId"])
    expect(row).to_have_count(1)
    expect(row.get_by_role("rowheader")).to_have_text("Credited, not on chain")
    cells = row.get_by_role("cell")
    expect(cells.nth(1)).to_contain_text(reference.split(":")[1])
    expect(cells.nth(3)).to_have_text("")  # nothing on chain
    amount = options["amount"]
    expect(cells.nth(4)).to_have_text(
        _tokens(amount["baseUnits"], int(options["token"]["decimals"]), options["token"]["symbol"])
    )
    check_page(page, "admin-reconciliation-mismatch")

    run_path = page.url.removeprefix(stack.gateway)
    page.get_by_role("link", name="All reconciliation runs").click()
    listed = page.locator("#reconciliation-runs tbody tr").filter(
        has=page.locator(f'a[href="{run_path}"]')
    )
    expect(listed).to_have_class(re.compile("mismatch"))
    expect(listed.locator("td").nth(4).locator("strong")).to_be_visible()


def test_a_banner_scheduled_seconds_ahead_comes_and_goes_on_the_shop_by_itself(
    stack: Stack, context: BrowserContext, page: Page, admin_cookies: list[Any]
) -> None:
    title = f"Flash sale {uuid.uuid4().hex[:8]}"
    with stack.client() as admin:
        entry = ok(
            admin.post(
                "/v1/admin/content",
                json={
                    "kind": "CONTENT_KIND_BANNER",
                    "locale": "en",
                    "fields": {
                        "slug": f"flash-{uuid.uuid4().hex[:8]}",
                        "title": title,
                        "placement": "home-hero",
                        "bodyMarkdown": "Only today",
                    },
                    "idempotencyKey": key(),
                },
            )
        )
    context.add_cookies(admin_cookies)
    page.goto(f"/admin/content/{entry['id']}")
    # Seconds ahead: enough to look at the shop before, on a busy machine too.
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=8)
    ends = at + dt.timedelta(seconds=6)
    page.get_by_label(re.compile("^Publish at")).fill(at.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label(re.compile("^Unpublish at")).fill(ends.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Publish version 1").click()

    expect(page.get_by_role("status")).to_have_text("Scheduled.")
    shop = context.new_page()
    shop.goto("/")
    expect(shop.get_by_text(title)).to_have_count(0)
    versions = page.get_by_role("region", name="Versions")
    expect(versions.get_by_role("row").nth(1)).to_contain_text("scheduled")
    check_page(page, "admin-content-scheduled")

    reload_until(shop, "/", lambda p: p.get_by_text(title).count() > 0)
    expect(shop.get_by_text(title)).to_be_visible()
    page.reload()
    expect(versions.get_by_role("row").nth(1)).to_contain_text("shown")

    reload_until(shop, "/", lambda p: p.get_by_text(title).count() == 0)
    page.reload()
    expect(versions.get_by_role("row").nth(1)).to_contain_text("ended")
    expect(page.get_by_text("version 1 was shown until")).to_be_visible()


def test_a_report_downloads_as_a_pdf_with_its_title_and_total(
    context: BrowserContext, page: Page, admin_cookies: list[Any]
) -> None:
    context.add_cookies(admin_cookies)
    end = utc_today()
    start = end - dt.timedelta(days=364)
    totals = page.locator("#report-preview tfoot td")
    reload_until(
        page,
        f"/admin/reports?kind=sales-by-day&start={start}&end={end}&currency=EUR",
        lambda p: p.locator("#report-preview tfoot").count() > 0,
        timeout_s=60,
    )
    heading = page.locator("#preview-title").inner_text()
    title = heading.split(": ")[0]
    types = page.locator("#report-preview thead th").evaluate_all(
        "cells => cells.map(c => c.dataset.type)"
    )
    money_at = types.index("money")
    total = re.sub(r"[^0-9.\-]", "", totals.nth(money_at).inner_text())
    assert total, totals.all_inner_texts()

    with page.expect_download() as info:
        page.get_by_test_id("download-pdf").click()
    download = info.value
    assert download.suggested_filename == f"sales-by-day_{start}_{end}-provisional.pdf"
    with open(download.path(), "rb") as file:
        data = file.read()
    assert data.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert title in text, text[:500]
    assert total in text, (total, text[-800:])
    answer = page.request.get(page.get_by_test_id("download-pdf").get_attribute("href") or "")
    assert answer.headers["content-type"].startswith("application/pdf")


def test_an_archived_product_leaves_the_shop_until_restored_and_published_again(
    stack: Stack, context: BrowserContext, page: Page, admin_cookies: list[Any]
) -> None:
    title = f"Ops Teapot {uuid.uuid4().hex[:6]}"
    with stack.client() as staff:
        product = own_product(staff, title)
    search = f"/search?q={quote(title)}"
    found = f'#results a[href="/p/{product["slug"]}"]'
    shop = context.new_page()
    reload_until(shop, search, lambda p: p.locator(found).count() > 0)
    context.add_cookies(admin_cookies)
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"/admin/products/{product['id']}")
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("status")).to_have_text("The product is archived.")
    expect(page.locator("#product-status")).to_have_text("archived")
    check_page(page, "admin-product-archived")
    reload_until(shop, search, lambda p: p.locator(found).count() == 0)
    gone = shop.goto(f"/p/{product['slug']}")
    assert gone is not None
    assert gone.status == 404
    check_page(shop, "store-product-archived")

    page.get_by_role("button", name="Restore as draft").click()
    expect(page.get_by_role("status")).to_have_text("The product is restored (draft).")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#product-status")).to_have_text("published")
    reload_until(shop, search, lambda p: p.locator(found).count() > 0)
    back = shop.goto(f"/p/{product['slug']}")
    assert back is not None
    assert back.status == 200
    expect(shop.get_by_role("heading", level=1)).to_have_text(title)


def test_staff_approve_one_return_and_refuse_another_and_the_customer_sees_both(
    browser: Browser, stack: Stack, context: BrowserContext, page: Page, admin_cookies: list[Any]
) -> None:
    customer = verified_customer(stack)
    order = shipped_order(stack, customer)
    variant_id = order["lines"][0]["variantId"]
    own = {
        "Authorization": bearer(
            mint_token(customer.user_id, roles=["customer"], permissions=CUSTOMER_PERMISSIONS)
        )
    }
    with stack.client(admin=False) as http:
        for reason in ("Too bright", "Scratched"):
            ok(
                http.post(
                    f"/v1/orders/{order['id']}/returns",
                    headers=own,
                    json={
                        "idempotencyKey": key(),
                        "lines": [{"variantId": variant_id, "quantity": 1}],
                        "reason": reason,
                    },
                )
            )
    context.add_cookies(admin_cookies)

    page.goto("/admin/returns")
    cards = page.locator("ul.returns > li").filter(
        has=page.get_by_role("link", name=order["id"][:8], exact=True)
    )
    expect(cards).to_have_count(2)
    check_page(page, "admin-returns")
    approved = cards.filter(has_text="Too bright")
    approved.get_by_label("Note (optional)").fill("Send it back in its box")
    approved.get_by_role("button", name="Approve return").click()
    expect(page.get_by_role("status")).to_have_text("The return is approved.")
    refused = cards.filter(has_text="Scratched")
    refused.get_by_label("Why it is rejected").fill("Scratches from use are not covered")
    refused.get_by_role("button", name="Reject return").click()
    expect(page.get_by_role("status")).to_have_text("The return is rejected.")
    expect(cards).to_have_count(0)
    page.goto("/admin/returns?status=rejected")
    expect(cards.locator(".return-decision")).to_contain_text(
        re.compile("Rejected .+: Scratches from use are not covered")
    )

    shopper = new_context(browser, stack.gateway)
    try:
        mine = shopper.new_page()
        sign_in_with_form(mine, customer, next_path="/account/orders")
        expect(mine).to_have_url(re.compile("/account/orders$"))
        mine.goto(f"/account/orders/{order['id']}/return")
        requests = mine.locator("ul.returns > li")
        # "Rejected on Dec 4, 2026: …": staff's reason and the day they decided.
        decided_on = r"on [A-Z][a-z]{2} \d{1,2}, \d{4}: "
        expect(requests.filter(has_text="Too bright")).to_contain_text(
            re.compile(f"Approved {decided_on}Send it back in its box")
        )
        expect(requests.filter(has_text="Scratched")).to_contain_text(
            re.compile(f"Rejected {decided_on}Scratches from use are not covered")
        )
        check_page(mine, "account-returns-decided")
    finally:
        shopper.close()

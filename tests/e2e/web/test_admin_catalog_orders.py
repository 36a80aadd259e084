"""The admin space's orders and products pages in a real browser, against `agora up`: staff
move a paid order through fulfilment, shipping and a partial refund; change a price that the
storefront shows within a second; create, stock and publish a product; import products from a
CSV file with a live progress bar."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from agora_stack import Stack
from checkout_support import eventually, key, new_variant, ok, read_order
from playwright.sync_api import Browser, Page, expect
from web_catalog_support import (
    csv_file,
    paid_order,
    products_matching,
    seconds_until_price,
    storefront_price,
)
from web_support import check_page, new_context, sign_in_staff

ADMIN = "admin@agora.localhost"


@pytest.fixture
def staff_api(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture
def guest_api(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client(admin=False) as client:
        yield client


@pytest.fixture(scope="module")
def admin_state(browser: Browser, stack: Stack) -> Any:
    """The cookies of one admin sign-in, shared by the module's tests: signing in per test
    would reuse a TOTP code within its 30 s and meet the sign-in rate limit."""
    context = new_context(browser, stack.gateway)
    try:
        sign_in_staff(context, stack.data_dir, ADMIN)
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def admin_page(browser: Browser, stack: Stack, admin_state: Any) -> Iterator[Page]:
    """A page of a fresh browser profile holding the admin's session."""
    context = new_context(browser, stack.gateway, storage_state=admin_state)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_price_changed_on_the_product_page_shows_in_the_storefront_within_a_second(
    admin_page: Page, page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    variant = new_variant(staff_api)
    slug = variant["sku"].lower()
    assert storefront_price(guest_api, slug) == 2500  # now in the gateway's response cache
    admin_page.goto(f"/admin/products/{variant['productId']}")
    expect(admin_page.get_by_role("heading", level=1)).to_contain_text("E2E Lamp")
    check_page(admin_page, "admin-product-edit")

    admin_page.get_by_label(f"Price in EUR of {variant['sku']}").fill("19.99")
    admin_page.get_by_role("button", name="Save prices").click()

    expect(admin_page.get_by_role("status")).to_have_text("The prices were saved.")
    elapsed = seconds_until_price(guest_api, slug, 1999)
    print(f"the storefront's API showed the new price {elapsed:.3f} s after the save")
    assert elapsed < 1.0
    expect(admin_page.get_by_label(f"Price in EUR of {variant['sku']}")).to_have_value("19.99")
    # The shopper's product page (a guest's browser, prices in EUR).
    page.goto(f"/p/{slug}")
    expect(page.locator("main")).to_contain_text("€19.99", timeout=1000)


def test_a_price_with_more_decimals_than_its_currency_is_refused_on_the_page(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    variant = new_variant(staff_api)
    admin_page.goto(f"/admin/products/{variant['productId']}")

    admin_page.get_by_label(f"Price in EUR of {variant['sku']}").fill("19.999")
    admin_page.get_by_role("button", name="Save prices").click()

    expect(admin_page.get_by_role("alert")).to_contain_text("EUR has 2 decimal places at most")
    assert storefront_price(guest_api, variant["sku"].lower()) == 2500


def _sized_product(staff: httpx.Client, title: str) -> dict[str, Any]:
    """A published product with variants of sizes S and M, 25.00 EUR each (through the API)."""
    slug = f"sized-{uuid.uuid4().hex[:8]}"
    variants = [
        {
            "sku": f"{slug}-{size}".upper(),
            "title": size,
            "options": {"size": size},
            "prices": [{"amountMinor": "2500", "currency": "EUR"}],
        }
        for size in ("S", "M")
    ]
    product = ok(
        staff.post(
            "/v1/products",
            json={"idempotencyKey": key(), "title": title, "slug": slug, "variants": variants},
        )
    )
    ok(staff.post(f"/v1/products/{product['id']}:publish", json={"idempotencyKey": key()}))
    return dict(product)


def test_a_variant_edited_on_the_product_page_shows_on_the_storefront_and_a_clash_is_said(
    admin_page: Page, page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    product = _sized_product(staff_api, "Edited Shirt")
    medium = product["variants"][1]
    admin_page.goto(f"/admin/products/{product['id']}")

    admin_page.get_by_label(f"Options of {medium['sku']}").fill("size: S")
    admin_page.get_by_role("button", name="Save variant").nth(1).click()

    options = admin_page.get_by_label(f"Options of {medium['sku']}")
    expect(options).to_have_attribute("aria-invalid", "true")
    expect(admin_page.locator(f"#ve-options-{medium['id']}-error")).to_have_text(
        "Another variant of this product has these options."
    )
    check_page(admin_page, "admin-product-variant-refused")
    admin_page.get_by_label(f"Name of {medium['sku']}").fill("Large")
    options.fill("size: L")
    admin_page.get_by_role("button", name="Save variant").nth(1).click()

    expect(admin_page.get_by_role("status")).to_have_text("The variant was saved.")
    shown = eventually(
        lambda: ok(guest_api.get(f"/v1/products/{product['slug']}")),
        lambda found: found["variants"][1]["options"] == {"size": "L"},
        timeout_s=5,
    )
    assert shown["variants"][1]["title"] == "Large"
    page.goto(f"/p/{product['slug']}")
    expect(page.get_by_label("Large")).to_be_visible()
    expect(page.get_by_role("radio")).to_have_count(2)


def test_an_unpublished_product_leaves_the_storefront_search(
    admin_page: Page, page: Page, staff_api: httpx.Client
) -> None:
    word = f"withdrawn{uuid.uuid4().hex[:8]}"
    product = _sized_product(staff_api, f"Lantern {word}")
    page.goto(f"/search?q={word}")
    expect(page.get_by_role("link", name=f"Lantern {word}")).to_be_visible()
    admin_page.goto(f"/admin/products/{product['id']}")
    admin_page.once("dialog", lambda dialog: dialog.accept())

    admin_page.get_by_role("button", name="Unpublish").click()

    expect(admin_page.get_by_role("status")).to_have_text(
        "The product is unpublished: it is a draft again."
    )
    expect(admin_page.locator("#product-status")).to_have_text("draft")
    expect(admin_page.get_by_role("button", name="Publish")).to_be_visible()

    def search_page() -> dict[str, Any]:
        page.goto(f"/search?q={word}")
        return {"links": page.get_by_role("link", name=f"Lantern {word}").count()}

    eventually(search_page, lambda found: found["links"] == 0, timeout_s=5)


def test_staff_fulfil_then_ship_a_paid_order_and_it_shows_shipped_with_its_tracking_number(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    order = paid_order(staff_api, guest_api)
    admin_page.goto(f"/admin/orders/{order['id']}")
    expect(admin_page.locator("#order-status")).to_have_text("paid")
    check_page(admin_page, "admin-order")

    admin_page.get_by_role("button", name="Fulfil order").click()
    expect(admin_page.get_by_role("status")).to_have_text("The order is fulfilled.")
    expect(admin_page.locator("#order-status")).to_have_text("fulfilled")
    admin_page.get_by_label("Carrier").fill("DHL")
    admin_page.get_by_label("Tracking number").fill("00340434161094042557")
    admin_page.get_by_role("button", name="Ship order").click()

    expect(admin_page.get_by_role("status")).to_have_text("The order is shipped.")
    expect(admin_page.locator("#order-status")).to_have_text("shipped")
    expect(admin_page.locator("#tracking-number")).to_have_text("00340434161094042557")
    history = admin_page.locator(".history li")
    expect(history.last).to_contain_text("shipped")
    expect(history.first).to_contain_text("placed")
    shipped = read_order(guest_api, order)
    assert (shipped["status"], shipped["carrier"], shipped["trackingNumber"]) == (
        "ORDER_STATUS_SHIPPED",
        "DHL",
        "00340434161094042557",
    )


def test_staff_refund_part_of_a_paid_order_and_the_rest_stays_refundable(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    order = paid_order(staff_api, guest_api)
    total = int(order["totals"]["total"]["amountMinor"])
    admin_page.goto(f"/admin/orders/{order['id']}")

    admin_page.get_by_label("Amount (EUR)").fill("12.34")
    admin_page.get_by_role("button", name="Refund").click()

    expect(admin_page.get_by_role("status")).to_have_text("The refund was made.")
    expect(admin_page.locator("#order-refunded")).to_contain_text("12.34")
    expect(admin_page.get_by_label("Amount (EUR)")).to_have_value(f"{(total - 1234) / 100:.2f}")
    refunded = read_order(guest_api, order)
    assert refunded["status"] == "ORDER_STATUS_PAID"
    assert int(refunded["refunded"]["amountMinor"]) == 1234


def test_a_refund_beyond_what_is_left_is_refused_with_the_services_reason(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    order = paid_order(staff_api, guest_api)
    admin_page.goto(f"/admin/orders/{order['id']}")

    admin_page.get_by_label("Amount (EUR)").fill("100000.00")
    admin_page.get_by_role("button", name="Refund").click()

    expect(admin_page.get_by_role("alert")).to_contain_text("Not done")
    assert int(read_order(guest_api, order).get("refunded", {}).get("amountMinor", 0)) == 0
    admin_page.get_by_label("Amount (EUR)").fill("1,5")
    admin_page.get_by_role("button", name="Refund").click()
    expect(admin_page.get_by_role("alert")).to_contain_text("write a number like 12.50")


def test_the_orders_list_finds_a_paid_order_by_its_number_and_status(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    order = paid_order(staff_api, guest_api)
    admin_page.goto("/admin/orders")
    expect(admin_page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    check_page(admin_page, "admin-orders")

    admin_page.get_by_label("Search", exact=True).fill(order["id"])
    admin_page.get_by_label("Status", exact=True).select_option("paid")
    admin_page.get_by_role("button", name="Search").click()

    link = admin_page.get_by_role("link", name=order["id"][:8])
    expect(link).to_be_visible()
    assert "status=paid" in admin_page.url
    link.click()
    expect(admin_page.get_by_role("heading", level=1)).to_contain_text(order["id"][:8])


def test_the_orders_list_finds_an_order_on_the_utc_day_it_was_placed_and_not_a_month_before(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client
) -> None:
    order = paid_order(staff_api, guest_api)
    day = date.fromisoformat(order["placedAt"][:10])
    link = admin_page.get_by_role("link", name=order["id"][:8])
    admin_page.goto(f"/admin/orders?q={order['id']}")
    expect(link).to_be_visible()

    for first, last in ((day, day), (day - timedelta(days=30), day - timedelta(days=1))):
        admin_page.get_by_label("Placed from").fill(first.isoformat())
        admin_page.get_by_label("Placed to").fill(last.isoformat())
        admin_page.get_by_role("button", name="Search").click()
        expect(admin_page).to_have_url(re.compile(f"placed_to={last.isoformat()}"))
    expect(admin_page.get_by_text("No orders match.")).to_be_visible()
    expect(link).to_have_count(0)


def test_a_day_not_in_the_calendar_or_a_range_ending_before_it_starts_gets_a_400_page(
    admin_page: Page,
) -> None:
    answer = admin_page.goto("/admin/orders?placed_from=2026-02-30")
    assert answer is not None
    assert answer.status == 400
    expect(admin_page.get_by_role("alert")).to_have_text(
        "Placed from: write a day as YYYY-MM-DD (for example 2026-03-31)."
    )
    check_page(admin_page, "admin-orders-bad-day")
    answer = admin_page.goto("/admin/orders?placed_from=2026-03-02&placed_to=2026-03-01")
    assert answer is not None
    assert answer.status == 400
    expect(admin_page.get_by_role("alert")).to_have_text(
        "Placed to: a day on or after Placed from."
    )


def test_staff_create_a_product_add_a_priced_stocked_variant_and_publish_it(
    admin_page: Page, guest_api: httpx.Client
) -> None:
    slug = f"web-vase-{uuid.uuid4().hex[:8]}"
    admin_page.goto("/admin/products/new")
    admin_page.get_by_label("Name").fill("Web Vase")
    admin_page.get_by_label("Slug").fill(slug)
    admin_page.get_by_label("Description").fill("A vase made on the admin page.")
    admin_page.get_by_role("button", name="Create product").click()
    expect(admin_page.get_by_role("status")).to_have_text("The product was created.")

    admin_page.get_by_label("SKU").fill(slug.upper())
    admin_page.get_by_label("Attributes").fill("colour: blue")
    admin_page.get_by_role("button", name="Add variant").click()
    expect(admin_page.get_by_role("status")).to_have_text("The variant was added.")
    admin_page.get_by_label(f"Price in EUR of {slug.upper()}").fill("30")
    admin_page.get_by_role("button", name="Save prices").click()
    expect(admin_page.get_by_role("status")).to_have_text("The prices were saved.")
    admin_page.get_by_label("On hand").fill("7")
    admin_page.get_by_role("button", name="Save stock").click()
    expect(admin_page.get_by_role("status")).to_have_text("The stock was saved.")
    admin_page.get_by_role("button", name="Publish").click()

    expect(admin_page.locator("#product-status")).to_have_text("published")
    product = ok(guest_api.get(f"/v1/products/{slug}", params={"currency": "EUR"}))
    assert product["variants"][0]["prices"][0]["amountMinor"] == "3000"
    assert int(product["variants"][0]["available"]) == 7
    assert product["variants"][0]["options"] == {"colour": "blue"}


def test_the_products_list_filters_drafts_by_text(
    admin_page: Page, staff_api: httpx.Client
) -> None:
    word = f"draftlist{uuid.uuid4().hex[:8]}"
    ok(
        staff_api.post(
            "/v1/products", json={"idempotencyKey": key(), "title": f"Draft {word}", "slug": word}
        )
    )
    admin_page.goto("/admin/products")
    check_page(admin_page, "admin-products")

    admin_page.get_by_label("Search", exact=True).fill(word)
    admin_page.get_by_label("Status", exact=True).select_option("published")
    admin_page.get_by_role("button", name="Search").click()
    expect(admin_page.get_by_text("No products match.")).to_be_visible()
    admin_page.get_by_label("Status", exact=True).select_option("draft")

    expect(admin_page.get_by_role("link", name=f"Draft {word}")).to_be_visible()
    expect(admin_page).to_have_url(re.compile(r"status=draft"))


def test_a_three_row_csv_is_imported_with_the_progress_reaching_three_of_three(
    admin_page: Page, staff_api: httpx.Client, guest_api: httpx.Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    path = csv_file(
        tmp_path,
        "products.csv",
        [
            "sku,name,slug,price_EUR,price_USD,stock,publish",
            f"IMP-{tag}-1,Imported mug {tag},imp-{tag}-mug,12.50,13.90,40,yes",
            f'IMP-{tag}-2,"Imported bowl, large {tag}",imp-{tag}-bowl,8,,5,no',
            f"IMP-{tag}-3,Imported plate {tag},imp-{tag}-plate,4.99,5.49,0,yes",
        ],
    )
    admin_page.goto("/admin/products/import")
    check_page(admin_page, "admin-product-import")

    admin_page.get_by_label("CSV file").set_input_files(path)
    admin_page.get_by_role("button", name="Check and import").click()

    expect(admin_page.locator("#import-counts")).to_have_text(
        "3 of 3 rows processed: 3 imported, 0 failed."
    )
    expect(admin_page.locator("#import-bar")).to_have_attribute("aria-valuenow", "3")
    check_page(admin_page, "admin-product-import-done")
    found = {p["slug"]: p for p in products_matching(staff_api, f"imp-{tag}")}
    assert set(found) == {f"imp-{tag}-mug", f"imp-{tag}-bowl", f"imp-{tag}-plate"}
    assert found[f"imp-{tag}-bowl"]["status"] == "PRODUCT_STATUS_DRAFT"
    assert found[f"imp-{tag}-bowl"]["title"] == f"Imported bowl, large {tag}"
    assert storefront_price(guest_api, f"imp-{tag}-mug") == 1250
    assert storefront_price(guest_api, f"imp-{tag}-mug", "USD") == 1390


def test_a_csv_of_two_products_one_with_three_sizes_imports_once_and_again_without_duplicates(
    admin_page: Page, staff_api: httpx.Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    path = csv_file(
        tmp_path,
        "variants.csv",
        [
            "slug,name,description,publish,sku,option_size,price_eur,price_usd,stock",
            f"var-{tag}-tee,Tee {tag},Soft cotton.,yes,VAR-{tag}-S,S,19.00,21.00,5",
            f"var-{tag}-tee,,,,VAR-{tag}-M,M,19.00,21.00,7",
            f"var-{tag}-tee,,Soft cotton.,,VAR-{tag}-L,L,22.50,24.00,0",
            f"var-{tag}-cap,Cap {tag},,no,VAR-{tag}-CAP,,9.90,,3",
        ],
    )
    admin_page.goto("/admin/products/import")
    rows = admin_page.locator("#import-rows")
    for said in (
        f"Line 2: Product var-{tag}-tee created. Variant VAR-{tag}-S added. Published.",
        f"Line 4: Variant VAR-{tag}-L exists: prices unchanged, stock set to 0.",
    ):
        admin_page.get_by_label("CSV file").set_input_files(path)
        admin_page.get_by_role("button", name="Check and import").click()
        expect(rows).to_contain_text(said)
        expect(admin_page.locator("#import-messages")).to_contain_text(
            "Import finished: 4 imported, 0 failed."
        )
        expect(admin_page.locator("#import-counts")).to_have_text(
            "4 of 4 rows processed: 4 imported, 0 failed."
        )
        expect(admin_page.locator("#import-bar")).to_have_attribute("aria-valuenow", "4")
    changed = csv_file(
        tmp_path,
        "changed.csv",
        [
            "slug,name,description,publish,sku,option_size,price_eur,price_usd,stock",
            f"var-{tag}-tee,Tee {tag},Soft cotton.,no,VAR-{tag}-S,S,19.00,21.00,5",
            f"var-{tag}-tee,,,,VAR-{tag}-L,XL,22.50,24.00,0",
        ],
    )
    admin_page.get_by_label("CSV file").set_input_files(changed)
    admin_page.get_by_role("button", name="Check and import").click()
    expect(rows).to_contain_text("Unpublished (a draft again).")
    expect(rows).to_contain_text(
        f"Line 3: Variant VAR-{tag}-L exists: options set to XL, prices unchanged, stock set to 0."
    )

    found = {p["slug"]: p for p in products_matching(staff_api, f"var-{tag}")}
    assert set(found) == {f"var-{tag}-tee", f"var-{tag}-cap"}
    tee = found[f"var-{tag}-tee"]
    assert tee["status"] == "PRODUCT_STATUS_DRAFT"
    assert tee["description"] == "Soft cotton."
    variants = {
        v["sku"]: (
            v["options"],
            {p["currency"]: int(p["amountMinor"]) for p in v["prices"]},
            int(v.get("available", 0)),
        )
        for v in tee["variants"]
    }
    assert variants == {
        f"VAR-{tag}-S": ({"size": "S"}, {"EUR": 1900, "USD": 2100}, 5),
        f"VAR-{tag}-M": ({"size": "M"}, {"EUR": 1900, "USD": 2100}, 7),
        f"VAR-{tag}-L": ({"size": "XL"}, {"EUR": 2250, "USD": 2400}, 0),
    }
    assert [v["title"] for v in tee["variants"]] == ["S", "M", "XL"]
    assert [v["sku"] for v in found[f"var-{tag}-cap"]["variants"]] == [f"VAR-{tag}-CAP"]


def test_bad_csv_rows_and_a_contradicting_product_name_are_reported_with_their_lines(
    admin_page: Page, staff_api: httpx.Client, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    path = csv_file(
        tmp_path,
        "bad.csv",
        [
            "sku,name,slug,option_size,price_EUR",
            f"BAD-{tag}-1,Good row {tag},bad-{tag},,3.00",
            f'BAD-{tag}-2,Bad price {tag},,,"3,5"',
            f"BAD-{tag}-3,Good again {tag},,,4.00",
            f"BAD-{tag}-4,Other name {tag},bad-{tag},XL,5.00",
        ],
    )
    admin_page.goto("/admin/products/import")
    admin_page.get_by_label("CSV file").set_input_files(path)
    admin_page.get_by_role("button", name="Check and import").click()

    expect(admin_page.locator("#import-counts")).to_have_text(
        "2 of 2 rows processed: 2 imported, 0 failed."
    )
    expect(admin_page.locator("#import-rows")).to_contain_text("Line 3: price_EUR: write a number")
    expect(admin_page.locator("#import-rows")).to_contain_text(
        f"Line 5: name: “Other name {tag}” differs from line 2"
    )
    assert len(products_matching(staff_api, f"BAD-{tag}")) == 2


def test_a_csv_batch_sent_twice_imports_each_row_once_and_a_product_split_over_batches_is_one(
    admin_page: Page, staff_api: httpx.Client
) -> None:
    tag = uuid.uuid4().hex[:8]
    admin_page.goto("/admin/products/import")
    upload = admin_page.locator("#import-form").get_attribute("data-upload-id")

    def batch(line: int, size: str) -> list[dict[str, Any]]:
        cells = {"slug": f"twice-{tag}", "sku": f"TWICE-{tag}-{size}", "option_size": size}
        product = {"slug": f"twice-{tag}", "name": f"Twice {tag}"}
        return [{"line": 2, "product": product, "rows": [{"line": line, "cells": cells}]}]

    answers = admin_page.evaluate(
        """async ([uploadId, batches]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const answers = [];
            for (const products of batches) {
                answers.push(await fetch("/admin/products/import/rows", {method: "POST",
                    headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
                    body: JSON.stringify({uploadId, products})}).then(r => r.json()));
            }
            return answers;
        }""",
        [upload, [batch(2, "S"), batch(2, "S"), batch(3, "M")]],
    )
    results = [a["results"][0] for a in answers]
    assert all(result["ok"] for result in results)
    assert len({result["productId"] for result in results}) == 1
    (product,) = products_matching(staff_api, f"TWICE-{tag}")
    assert sorted(v["sku"] for v in product["variants"]) == [f"TWICE-{tag}-M", f"TWICE-{tag}-S"]

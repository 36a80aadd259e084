"""The admin space's sign-in (password, then TOTP; enrolment for staff without 2FA), the
dashboard's charts and live tiles against the analytics API, reports with their CSV download,
crypto reconciliation runs and the audit log, in a real browser."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pyotp
import pytest
from agora_stack import Stack
from checkout_support import new_variant, order_status, pay, place_order
from playwright.sync_api import Browser, Page, expect
from web_dashboard_support import (
    ADMIN,
    analytics,
    chart_data,
    create_user,
    downloaded_text,
    figure,
    staff_context,
    utc_today,
)
from web_support import check_page, dev_login, fresh_code


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture(scope="module")
def admin_state(browser: Browser, stack: Stack) -> dict[str, Any]:
    """One API sign-in of the seeded admin for the module (logins are rate limited, and a
    TOTP step works once)."""
    context = staff_context(browser, stack)
    try:
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def admin(browser: Browser, stack: Stack, admin_state: dict[str, Any]) -> Iterator[Page]:
    """A page of a browser signed in as the seeded admin."""
    context = browser.new_context(
        base_url=stack.gateway, storage_state=admin_state, viewport={"width": 1440, "height": 900}
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def seeded_sales(http: httpx.Client, start: dt.date, end: dt.date, **params: Any) -> dict[str, Any]:
    """The sales of the range once the seeded history reached the analytics."""
    deadline = time.monotonic() + 60
    while True:
        sales = analytics(
            http, "sales", startDate=start.isoformat(), endDate=end.isoformat(), **params
        )
        if figure(sales.get("total", {}), "ordersPaid") > 0:
            return sales
        assert time.monotonic() < deadline, f"no paid orders in the analytics: {sales}"
        time.sleep(0.5)


def test_staff_signs_in_with_password_then_a_totp_code_through_the_form(
    page: Page, stack: Stack
) -> None:
    password, secret = dev_login(stack.data_dir, ADMIN)
    page.goto("/admin/reports")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin/reports$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the admin space")
    check_page(page, "admin-login")

    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your two-factor code")
    check_page(page, "admin-login-2fa")
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("Code from your authenticator app").fill(fresh_code(secret))
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/admin/reports$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["__Host-agora_access"]["httpOnly"]

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/admin$"))


def test_a_wrong_password_is_refused_on_the_form(page: Page) -> None:
    # An unknown account: failed logins of the shared seeded admin would count towards its lockout.
    email = "nobody-at-all@example.com"
    page.goto("/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("did not work")
    expect(page.get_by_label("Email")).to_have_value(email)


def test_staff_without_2fa_enrols_right_after_the_password_and_sees_recovery_codes_once(
    page: Page, stack: Stack
) -> None:
    email, password = create_user(stack, "staff")
    page.goto("/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor sign-in")
    qr = page.get_by_role("img", name="QR code of your two-factor secret")
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    check_page(page, "admin-2fa-setup")
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in is on")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    check_page(page, "admin-2fa-recovery-codes")
    page.get_by_role("link", name="Continue to the admin space").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


def test_a_customer_without_staff_rights_gets_a_clear_403_page(page: Page, stack: Stack) -> None:
    email, password = create_user(stack, "customer")
    answer = page.context.request.post(
        "/v1/auth/login", data={"email": email, "password": password, "useCookies": True}
    )
    assert answer.ok, answer.text()
    response = page.goto("/admin")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("No access to this page")
    expect(page.get_by_role("alert")).to_contain_text(email)
    check_page(page, "admin-forbidden")


def test_dashboard_charts_draw_the_analytics_of_the_chosen_range(
    admin: Page, http: httpx.Client
) -> None:
    end = utc_today()
    start = end - dt.timedelta(days=364)
    query = {"startDate": start.isoformat(), "endDate": end.isoformat(), "granularity": "month"}
    seeded_sales(http, start, end)
    url = f"/admin?start={start}&end={end}&granularity=month"

    deadline = time.monotonic() + 30
    while True:  # the analytics may still fold late events between the two reads
        sales = analytics(http, "sales", **query)
        admin.goto(url)
        drawn = chart_data(admin, "chart-sales")
        expected = [figure(p, "revenueMinor") for p in sales["periods"]]
        if drawn["datasets"][0]["data"] == expected or time.monotonic() > deadline:
            break
    assert drawn["labels"] == [p["startDate"] for p in sales["periods"]]
    assert drawn["datasets"][0]["data"] == expected
    assert drawn["datasets"][1]["data"] == [figure(p, "ordersPaid") for p in sales["periods"]]
    assert sum(expected) > 0

    funnel = analytics(http, "funnel", **query)["total"]
    assert chart_data(admin, "chart-funnel")["datasets"][0]["data"] == [
        figure(funnel, "ordersPlaced"),
        figure(funnel, "ordersInvoiced"),
        figure(funnel, "ordersPaid"),
    ]
    top = analytics(
        http,
        "top-products",
        **{f"range.{k}": v for k, v in query.items()},
    )
    drawn_top = chart_data(admin, "chart-top-products")
    assert drawn_top["labels"] == [p.get("title") or p["productId"] for p in top["products"]]
    assert drawn_top["datasets"][0]["data"] == [figure(p, "units") for p in top["products"]]
    methods = analytics(http, "payment-methods", **query)
    assert chart_data(admin, "chart-payment-methods")["datasets"][0]["data"] == [
        figure(m, "orders") for m in methods["methods"]
    ]
    customers = analytics(http, "customers", **query)
    assert chart_data(admin, "chart-customers")["datasets"][0]["data"] == [
        figure(p, "newCustomers") for p in customers["periods"]
    ]
    # The same numbers as text, for those who cannot see the chart.
    admin.get_by_text("Revenue and paid orders as a table").click()
    table_rows = admin.locator("figure", has=admin.locator("#chart-sales")).locator("tbody tr")
    expect(table_rows).to_have_count(len(sales["periods"]))
    check_page(admin, "admin-dashboard")


def test_a_newly_paid_order_moves_the_revenue_tile_without_a_reload(
    admin: Page, stack: Stack, http: httpx.Client
) -> None:
    seeded_sales(http, utc_today() - dt.timedelta(days=364), utc_today())
    admin.goto("/admin")
    expect(admin.locator("#live-status")).to_have_attribute("data-live", "on")
    tile = admin.locator('[data-tile="revenue"]')
    before = tile.inner_text()
    admin.evaluate("() => { window.__sameDocument = true; }")

    with stack.client(admin=False) as guest:
        order = place_order(guest, new_variant(http))
        assert pay(guest, order, "PAY_FULL").status_code == 200
        order_status(guest, order, "PAID")

    expect(tile).not_to_have_text(before, timeout=30_000)
    assert admin.evaluate("() => window.__sameDocument === true")
    end = utc_today()
    total = analytics(
        http,
        "sales",
        startDate=(end - dt.timedelta(days=29)).isoformat(),
        endDate=end.isoformat(),
    )["total"]
    expected = f"€{figure(total, 'revenueMinor') / 100:,.2f}"
    expect(tile).to_have_text(expected, timeout=30_000)


def test_sales_report_previews_and_downloads_as_csv_matching_the_preview(
    admin: Page, http: httpx.Client
) -> None:
    end = utc_today()
    start = end - dt.timedelta(days=364)
    seeded_sales(http, start, end)
    admin.goto(f"/admin/reports?kind=sales-by-day&start={start}&end={end}")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Reports")
    expect(admin.get_by_test_id("report-status")).to_have_text("Provisional")
    columns = admin.locator("#report-preview thead th").evaluate_all(
        "cells => cells.map(c => [c.dataset.key, c.dataset.type])"
    )
    preview = admin.locator("#report-preview tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(c => c.dataset.raw))"
    )
    paid = [k for k, _ in columns].index("orders_paid")
    shown = next(row for row in preview if int(row[paid]) > 0)
    check_page(admin, "admin-reports")

    with admin.expect_download() as info:
        admin.get_by_test_id("download-csv").click()
    download = info.value
    assert download.suggested_filename.endswith("-provisional.csv")
    rows = list(csv.reader(io.StringIO(downloaded_text(download.path()))))
    # The file names money columns with their currency and writes amounts in major units.
    assert [re.sub(r"_eur$", "", h) for h in rows[0]] == [k for k, _ in columns]
    line = next(row for row in rows[1:] if row[0] == shown[0])
    for (_, kind), in_file, previewed in zip(columns, line, shown, strict=True):
        if kind == "money":
            assert Decimal(in_file) * 100 == Decimal(previewed), (in_file, previewed)
        else:
            assert in_file == previewed


def test_a_report_schedule_is_created_listed_and_stopped_from_the_reports_page(
    admin: Page,
) -> None:
    admin.goto("/admin/reports")
    schedules = admin.locator("#schedules tbody tr")
    before = schedules.count()
    admin.get_by_label("Report to mail").select_option("tax")
    admin.get_by_label("Every").select_option(label="Monthly")
    admin.get_by_role("button", name="Schedule").click()
    expect(admin).to_have_url(re.compile(r"/admin/reports#schedules$"))
    expect(schedules).to_have_count(before + 1)
    row = schedules.filter(has_text="Tax by country and rate").filter(has_text="Monthly")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Stop").click()
    expect(
        schedules.filter(has_text="Tax by country and rate").filter(has_text="Monthly")
    ).to_have_count(0)


def test_reconciliation_page_starts_a_run_and_lists_it(admin: Page) -> None:
    admin.goto("/admin/reconciliation")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Crypto reconciliation")
    check_page(admin, "admin-reconciliation")
    admin.get_by_role("button", name="Start a reconciliation run").click()
    expect(admin).to_have_url(re.compile(r"/admin/reconciliation/[0-9a-f-]{36}$"))
    expect(admin.get_by_test_id("run-status")).to_have_text(re.compile("Completed|Running"))
    run_url = admin.url
    check_page(admin, "admin-reconciliation-run")
    admin.get_by_role("link", name="All reconciliation runs").click()
    runs = admin.locator("#reconciliation-runs tbody tr")
    expect(runs.first.get_by_role("link")).to_have_attribute(
        "href", run_url.removeprefix(admin.url.split("/admin")[0])
    )


def test_audit_log_lists_entries_and_filters_by_action(admin: Page) -> None:
    admin.goto("/admin/audit")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Audit log")
    entries = admin.locator("#audit-entries tbody tr")
    expect(entries.first.locator("code").first).to_be_visible()
    check_page(admin, "admin-audit")

    admin.get_by_label("Action starts with").fill("auth.login")
    admin.get_by_role("button", name="Search").click()
    expect(admin).to_have_url(re.compile(r"action=auth\.login"))
    actions = admin.locator("#audit-entries tbody tr td:first-of-type code").all_inner_texts()
    assert actions
    assert all(a.startswith("auth.login") for a in actions), actions

"""The pages' shared layout in a real browser: strict CSP that the pages live with, language
and currency switch, error pages."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from web_support import check_page


def test_home_page_runs_its_scripts_under_a_strict_csp_without_violations(page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    answer = page.goto("/")
    assert answer is not None
    assert answer.status == 200
    csp = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "'nonce-" in csp
    page.wait_for_function("() => window.htmx !== undefined")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    check_page(page, "store-home")


def test_language_switch_translates_the_layout_and_sticks(page: Page) -> None:
    page.goto("/")
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("link", name="Warenkorb")).to_be_visible()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "de")


def test_unknown_page_is_a_404_page_in_the_shop_layout(page: Page) -> None:
    answer = page.goto("/no-such-page")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    check_page(page, "store-404")


def test_admin_space_sends_a_guest_to_its_sign_in(page: Page) -> None:
    page.goto("/admin")
    assert "/admin/login" in page.url

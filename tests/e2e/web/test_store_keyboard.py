"""The storefront with the keyboard alone: Tab, Shift+Tab, Enter, Space, Escape and the arrow
keys reach every control a purchase needs, the focused control always shows a focus ring, and
the support chat gives focus back to its launcher.

No test here clicks: `tab_to` presses Tab (or Shift+Tab) until the control has focus, so a
control the keyboard cannot reach fails the test that needs it."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from agora_stack import Stack
from playwright.sync_api import Locator, Page, expect
from web_browse_support import new_product
from web_support import check_page, sign_in_staff

from agora.gateway.web.i18n import Language

ENGLISH = Language("en", {})
# More Tab presses than any storefront page has stops before the control a test wants.
MAX_TABS = 120


def tab_to(page: Page, control: Locator, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab `backwards`) until `control` has focus; fails when it never does."""
    key = "Shift+Tab" if backwards else "Tab"
    target = control.element_handle()
    for _ in range(MAX_TABS):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press(key)
    reached = page.evaluate("() => document.activeElement?.outerHTML.slice(0, 120)")
    raise AssertionError(f"{key} never reaches {control}; focus is on {reached}")


# Whether `element`, focused, shows it: keyboard focus (:focus-visible) drawn as an outline of
# at least 2 px (the layout's focus ring; box shadows are decoration here, the chat button has one).
SHOWS_FOCUS = """element => {
    const style = getComputedStyle(element);
    return element.matches(':focus-visible') && style.outlineStyle !== 'none'
        && parseFloat(style.outlineWidth) >= 2;
}"""


def assert_focus_ring(page: Page) -> None:
    """The focused element shows a focus ring."""
    shown = page.evaluate(f"() => ({SHOWS_FOCUS})(document.activeElement)")
    assert shown, page.evaluate("() => document.activeElement.outerHTML.slice(0, 120)")


def tab_walk(page: Page) -> list[str]:
    """Tab through the whole page from its start; the visible controls Tab never reached or
    that showed no focus ring when it did (empty when every control is fine)."""
    page.evaluate("() => document.activeElement?.blur()")
    for _ in range(MAX_TABS * 2):
        page.keyboard.press("Tab")
        done = page.evaluate(
            f"""() => {{
                const element = document.activeElement;
                if (!element || element === document.body || element.dataset.tabbed) return true;
                element.dataset.tabbed = ({SHOWS_FOCUS})(element) ? 'ring' : 'no ring';
                return false;
            }}"""
        )
        if done:
            break
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(
                    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]')]
                .filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length
                    && getComputedStyle(e).visibility !== 'hidden')
                .filter(e => !(e.type === 'radio' && !e.checked && e.form
                    && e.form.querySelector(`input[type=radio][name="${e.name}"]:checked`)))
                .filter(e => e.dataset.tabbed !== 'ring')
                .map(e => `${e.dataset.tabbed || 'never reached'}: ${e.outerHTML.slice(0, 100)}`)"""
        )
    )


def type_into(page: Page, control: Locator, text: str) -> None:
    tab_to(page, control)
    page.keyboard.type(text)


@pytest.fixture
def kettle(stack: Stack) -> dict[str, Any]:
    """A product of this test with two variants in stock, found alone by its title."""
    with stack.client() as http:
        return new_product(
            http,
            f"Keyboard Kettle {uuid.uuid4().hex[:8]}",
            [("Red", {"EUR": 1500, "USD": 1700}, 5), ("Blue", {"EUR": 1900, "USD": 2100}, 5)],
        )


def test_the_skip_link_comes_first_shows_on_focus_and_moves_focus_to_the_content(
    page: Page,
) -> None:
    page.goto("/search")
    skip = page.get_by_role("link", name="Skip to content")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("main :focus")).to_have_count(1)


def test_the_admin_skip_link_comes_first_and_moves_focus_to_the_content(
    page: Page, stack: Stack
) -> None:
    sign_in_staff(page.context, stack.data_dir, "staff@agora.localhost")
    page.goto("/admin")
    skip = page.get_by_role("link", name="Skip to content")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_a_guest_searches_picks_a_variant_checks_out_and_pays_with_the_keyboard_only(
    page: Page, kettle: dict[str, Any]
) -> None:
    page.goto("/")
    search = page.get_by_label("Search products")
    tab_to(page, search)
    assert_focus_ring(page)
    page.keyboard.type(kettle["title"])
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link
    tab_to(page, page.locator("#results").get_by_role("link", name=kettle["title"]))
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(kettle["title"])

    red = page.get_by_role("radio", name=re.compile("^Red"))
    blue = page.get_by_role("radio", name=re.compile("^Blue"))
    tab_to(page, red)
    assert_focus_ring(page)
    page.keyboard.press("ArrowDown")
    expect(blue).to_be_checked()
    expect(page.locator("#buy-state .price")).to_have_text(ENGLISH.money(1900, "EUR"))
    expect(blue).to_be_focused()
    quantity = page.get_by_label("Quantity")
    tab_to(page, quantity)
    page.keyboard.press("ArrowUp")
    expect(quantity).to_have_value("2")
    tab_to(page, page.get_by_role("button", name="Add to cart"))
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cart"))
    expect(page.get_by_role("cell", name=re.compile(f"^{kettle['title']}"))).to_be_visible()
    expect(page.locator("[data-total]")).to_have_text(re.compile(r"38[.,]00"))
    tab_to(page, page.get_by_label(f"Quantity of {kettle['title']}"))
    page.keyboard.press("ArrowUp")
    update = page.get_by_role("button", name=f"Update {kettle['title']}")
    tab_to(page, update)
    page.keyboard.press("Enter")
    expect(page.locator("[data-total]")).to_have_text(re.compile(r"57[.,]00"))
    expect(update).to_be_focused()  # the cart was swapped in place, focus stayed

    tab_to(page, page.get_by_role("link", name="Checkout", exact=True))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    type_into(page, page.get_by_label("Email"), f"keys-{uuid.uuid4().hex[:8]}@example.com")
    type_into(page, page.get_by_label("Full name"), "Ada Lovelace")
    type_into(page, page.get_by_label("Street and house number"), "Hauptstr. 1")
    type_into(page, page.get_by_label("City"), "Berlin")
    type_into(page, page.get_by_label("Postcode (PLZ)"), "10115")
    tab_to(page, page.get_by_role("button", name="Continue to shipping"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="2. Shipping and payment")).to_be_visible()

    tab_to(page, page.get_by_role("radio").first)
    expect(page.get_by_role("radio").first).to_be_checked()
    tab_to(page, page.get_by_role("button", name="Place order"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/pay$"))

    pay = page.get_by_role("button", name=re.compile(r"^Pay .* now$"))
    expect(pay).to_be_visible()
    tab_to(page, pay)
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}$"))
    expect(page.locator("[data-order-status]")).to_have_text("Paid")


def test_focus_stays_in_place_when_htmx_swaps_a_listing_page_or_a_cart_line_away(
    page: Page, kettle: dict[str, Any]
) -> None:
    page.goto("/search")
    tab_to(page, page.get_by_role("link", name="Next page"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]page="))
    expect(page.locator("#results")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#results .product-card-title a").first).to_be_focused()

    page.goto(f"/p/{kettle['slug']}")
    tab_to(page, page.get_by_role("button", name="Add to cart"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cart"))
    tab_to(page, page.get_by_role("button", name=f"Remove {kettle['title']}"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(page.locator("#cart")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Continue shopping")).to_be_focused()


def test_tab_reaches_every_control_of_the_shops_pages_and_shows_where_it_is(
    page: Page, kettle: dict[str, Any]
) -> None:
    page.goto(f"/p/{kettle['slug']}")
    tab_to(page, page.get_by_role("button", name="Add to cart"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cart"))
    for path in (
        "/",
        f"/search?q={quote(kettle['title'])}",
        f"/p/{kettle['slug']}",
        "/cart",
        "/checkout",
        "/account/login",
    ):
        page.goto(path)
        assert tab_walk(page) == [], path
        expect(page.get_by_role("button", name="Chat with us")).to_have_attribute(
            "data-tabbed", "ring"
        )  # the walk went through to the page's last control


def test_the_chat_opens_and_closes_with_the_keyboard_and_gives_focus_back_to_its_launcher(
    page: Page,
) -> None:
    page.goto("/cart")
    launcher = page.get_by_role("button", name="Chat with us")
    panel = page.get_by_role("dialog", name="Support chat")
    tab_to(page, launcher)
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(panel.get_by_role("link", name="Sign in")).to_be_focused()
    check_page(page, "store-chat-open-keyboard")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Space")
    expect(panel).to_be_visible()
    close = panel.get_by_role("button", name="Close the chat")
    tab_to(page, close, backwards=True)
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_language_and_currency_switch_with_the_keyboard_and_a_price_filter_in_the_old_currency_goes(
    page: Page, kettle: dict[str, Any]
) -> None:
    page.goto(f"/search?q={quote(kettle['title'])}&min=10")
    language = page.get_by_label("Language")
    tab_to(page, language)
    assert_focus_ring(page)
    page.keyboard.type("Deutsch")
    expect(language).to_have_value("de")
    tab_to(page, page.get_by_role("button", name="Apply", exact=True))
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_label("Von", exact=True)).to_have_value("10")  # same currency: kept

    currency = page.get_by_label("Währung")
    tab_to(page, currency)
    page.keyboard.type("USD")
    expect(currency).to_have_value("USD")
    tab_to(page, page.get_by_role("button", name="Übernehmen"))
    page.keyboard.press("Enter")
    expect(page.locator("#results .notice")).to_have_text(
        "Preisfilter entfernt: Die Preise sind jetzt in USD"
    )
    expect(page.get_by_label("Von", exact=True)).to_have_value("")
    expect(page.get_by_label("Währung")).to_have_value("USD")
    expect(page.locator("#results .product-card-price")).to_have_text(
        "ab " + Language("de", {}).money(1700, "USD")
    )
    check_page(page, "store-search-price-cleared-de")

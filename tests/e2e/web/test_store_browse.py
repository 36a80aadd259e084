"""The storefront's browsing pages in a real browser: search, category listings with filters,
sorting and pages, the product page (variants, currencies, stock, also bought), content pages
and the home page, in English and German."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from agora_stack import Stack
from playwright.sync_api import Browser, Page, expect
from web_browse_support import new_category, new_product, ok, published_content
from web_support import check_page, new_context

from agora.gateway.web.i18n import Language

ENGLISH = Language("en", {})
SHELF_SIZE = 14


def price_of(product: dict[str, Any], currency: str) -> int:
    (price,) = [p for p in product["prices"] if p["currency"] == currency]
    return int(price["amountMinor"])


def card_titles(page: Page) -> list[str]:
    return page.locator("#results .product-card-title").all_inner_texts()


@pytest.fixture(scope="module")
def shelf(stack: Stack) -> dict[str, Any]:
    """A category of its own with 14 products: product n costs €(10 n).99 and every third is
    out of stock."""
    with stack.client() as http:
        category = new_category(http, f"Browse Shelf {uuid.uuid4().hex[:6]}")
        products = [
            new_product(
                http,
                f"Shelf Item {n:02d}",
                [("Default", {"EUR": n * 1000 + 99, "USD": n * 1100 + 99}, 0 if n % 3 == 0 else 9)],
                category_id=category["id"],
            )
            for n in range(1, SHELF_SIZE + 1)
        ]
    return {"category": category, "products": products}


def api_titles(stack: Stack, **params: Any) -> list[str]:
    with stack.client(admin=False) as http:
        answer = ok(http.get("/v1/products", params={"currency": "EUR", "pageSize": 12, **params}))
    return [p["title"] for p in answer["products"]]


def test_a_guest_searches_a_seeded_product_by_name_and_opens_it_from_the_results(
    page: Page, stack: Stack
) -> None:
    with stack.client(admin=False) as http:
        listed = ok(http.get("/v1/products", params={"pageSize": 50}))["products"]
    # A product of the demo data (other tests add products called "E2E …" as they run).
    seeded = next(p for p in listed if not p["slug"].startswith("e2e-"))
    page.goto("/")
    page.get_by_label("Search products").fill(seeded["title"])
    page.get_by_label("Search products").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))
    result = page.locator("#results").locator(f'a[href="/p/{seeded["slug"]}"]').first
    expect(result).to_be_visible()
    check_page(page, "store-search")
    result.click()
    expect(page).to_have_url(re.compile(f"/p/{seeded['slug']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(seeded["title"])
    check_page(page, "store-product")


def test_price_and_availability_filters_show_what_the_api_lists(
    page: Page, stack: Stack, shelf: dict[str, Any]
) -> None:
    slug = shelf["category"]["slug"]
    page.goto(f"/c/{slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text(shelf["category"]["name"])
    expect(page.locator("#results .product-card")).to_have_count(12)
    check_page(page, "store-category")
    page.get_by_label("From", exact=True).fill("30")
    page.get_by_label("To", exact=True).fill("100.5")
    page.get_by_label("In stock only").check()
    page.get_by_role("button", name="Apply filters").click()
    expected = api_titles(
        stack, category=slug, minPrice=3000, maxPrice=10050, inStock="true", sort="newest"
    )
    assert sorted(expected) == ["Shelf Item 04", "Shelf Item 05", "Shelf Item 07", "Shelf Item 08"]
    expect(page.locator("#results .product-card")).to_have_count(len(expected))
    assert card_titles(page) == expected
    expect(page).to_have_url(re.compile(r"min=30.*max=100\.5.*in_stock=1"))


def test_sorting_by_price_orders_the_cards_as_the_api_does(
    page: Page, stack: Stack, shelf: dict[str, Any]
) -> None:
    slug = shelf["category"]["slug"]
    page.goto(f"/c/{slug}")
    page.get_by_label("Sort by").select_option("price_asc")
    expect(page).to_have_url(re.compile(r"sort=price_asc"))
    expect(page.locator("#results .product-card-title").first).to_have_text("Shelf Item 01")
    prices = [
        int(p)
        for p in page.locator("#results [data-price-minor]").evaluate_all(
            "nodes => nodes.map(n => n.dataset.priceMinor)"
        )
    ]
    assert len(prices) == 12
    assert prices == sorted(prices)
    assert card_titles(page) == api_titles(stack, category=slug, sort="price_asc")


def test_pagination_moves_to_the_next_page_and_back(
    page: Page, stack: Stack, shelf: dict[str, Any]
) -> None:
    slug = shelf["category"]["slug"]
    with stack.client(admin=False) as http:
        first = ok(
            http.get("/v1/products", params={"category": slug, "currency": "EUR", "pageSize": 12})
        )
        second = ok(
            http.get(
                "/v1/products",
                params={
                    "category": slug,
                    "currency": "EUR",
                    "pageSize": 12,
                    "pageToken": first["nextPageToken"],
                },
            )
        )
    page.goto(f"/c/{slug}")
    expect(page.get_by_role("link", name="Previous page")).to_have_count(0)
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#results .product-card")).to_have_count(SHELF_SIZE - 12)
    assert card_titles(page) == [p["title"] for p in second["products"]]
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("#results .product-card")).to_have_count(12)
    assert card_titles(page) == [p["title"] for p in first["products"]]


def test_a_category_opened_from_the_navigation_lists_only_its_products_and_sorts_filters_and_pages(
    page: Page, stack: Stack, shelf: dict[str, Any]
) -> None:
    name, slug = shelf["category"]["name"], shelf["category"]["slug"]
    with stack.client() as http:
        stray = new_product(http, "Shelf Item Stray", [("Default", {"EUR": 2050}, 5)])
    page.goto("/")
    page.get_by_role("navigation", name="Categories").get_by_role(
        "link", name=name, exact=True
    ).click()
    expect(page).to_have_url(re.compile(f"/c/{slug}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(
        page.get_by_role("navigation", name="Categories").get_by_role("link", name=name)
    ).to_have_attribute("aria-current", "page")
    expect(page.locator("#results .product-card")).to_have_count(12)
    assert card_titles(page) == api_titles(stack, category=slug)
    expect(page.locator(f'#results a[href="/p/{stray["slug"]}"]')).to_have_count(0)

    page.get_by_label("Sort by").select_option("price_desc")
    expect(page).to_have_url(re.compile(f"/c/{slug}\\?.*sort=price_desc"))
    expect(page.locator("#results .product-card-title").first).to_have_text("Shelf Item 14")
    assert card_titles(page) == api_titles(stack, category=slug, sort="price_desc")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#results .product-card-title")).to_have_text(
        ["Shelf Item 02", "Shelf Item 01"]
    )
    expect(page).to_have_url(re.compile(r"sort=price_desc.*page="))

    page.get_by_label("To", exact=True).fill("80")
    page.get_by_label("In stock only").check()
    page.get_by_role("button", name="Apply filters").click()
    expected = api_titles(stack, category=slug, sort="price_desc", inStock="true", maxPrice=8000)
    assert expected == [f"Shelf Item {n:02d}" for n in (7, 5, 4, 2, 1)]
    expect(page.locator("#results .product-card-title")).to_have_text(expected)
    expect(page).to_have_url(re.compile(r"max=80&in_stock=1&sort=price_desc$"))
    check_page(page, "store-category-filtered")


def test_switching_currency_drops_a_price_filter_typed_in_the_old_one_and_says_so(
    page: Page, stack: Stack, shelf: dict[str, Any]
) -> None:
    slug = shelf["category"]["slug"]
    page.goto(f"/c/{slug}?sort=price_asc")
    page.get_by_label("From", exact=True).fill("20")
    page.get_by_label("To", exact=True).fill("60")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"min=20&max=60"))
    expect(page.locator("#results .product-card-title")).to_have_text(
        api_titles(stack, category=slug, sort="price_asc", minPrice=2000, maxPrice=6000)
    )
    page.get_by_label("Currency").select_option("USD")
    page.get_by_role("button", name="Apply", exact=True).click()

    notice = page.locator("#results").get_by_role("status")
    expect(notice).to_have_text("Price filter cleared: prices are now in USD")
    expect(page).to_have_url(re.compile(f"/c/{slug}\\?sort=price_asc&price_cleared=1$"))
    expect(page.get_by_label("From", exact=True)).to_have_value("")
    expect(page.get_by_label("To", exact=True)).to_have_value("")
    expect(page.get_by_role("group", name="Price (USD)")).to_be_visible()
    expect(page.locator("#results .product-card-title")).to_have_text(
        api_titles(stack, category=slug, sort="price_asc", currency="USD")
    )
    check_page(page, "store-category-price-cleared")

    page.get_by_label("From", exact=True).fill("50")
    page.get_by_role("button", name="Apply filters").click()
    expect(notice).to_have_count(0)
    expect(page.locator("#results .product-card-title")).to_have_text(
        api_titles(stack, category=slug, sort="price_asc", currency="USD", minPrice=5000)
    )


def test_bad_filters_get_a_400_page_saying_what_is_wrong(page: Page) -> None:
    answer = page.goto("/search?min=12.345")
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_role("alert")).to_have_text("Prices in EUR have at most 2 decimals.")
    answer = page.goto("/search?min=50&max=10")
    assert answer is not None
    assert answer.status == 400
    answer = page.goto("/search?page=not-a-token")
    assert answer is not None
    assert answer.status == 400
    expect(page.get_by_role("alert")).to_have_text("This page link is not valid any more.")


def test_product_page_shows_the_chosen_variants_price_in_the_chosen_currency_and_its_stock(
    page: Page, stack: Stack
) -> None:
    with stack.client() as http:
        product = new_product(
            http,
            f"Browse Lamp {uuid.uuid4().hex[:6]}",
            [
                ("Small", {"EUR": 1250, "USD": 1399}, 50),
                ("Large", {"EUR": 2250, "USD": 2499}, 3),
                ("Huge", {"EUR": 5000}, 0),
            ],
            description="A lamp for the browsing tests.",
        )
    with stack.client(admin=False) as http:
        in_usd = ok(http.get(f"/v1/products/{product['slug']}", params={"currency": "USD"}))
    page.goto(f"/p/{product['slug']}")
    price, stock = page.locator("#buy-state .price"), page.locator("#buy-state .stock")
    expect(price).to_have_text(ENGLISH.money(1250, "EUR"))
    expect(stock).to_have_text("In stock")
    form = page.locator("form.add-to-cart-form")
    assert form.get_attribute("action") == "/cart/items"
    assert form.get_attribute("method") == "post"
    expect(page.get_by_label("Quantity")).to_have_attribute("max", "99")
    expect(page.get_by_role("button", name="Add to cart", exact=True)).to_be_enabled()

    page.get_by_role("radio", name=re.compile("^Large")).check()
    expect(price).to_have_text(ENGLISH.money(2250, "EUR"))
    expect(stock).to_have_text("Low stock: only 3 left")
    expect(page).to_have_url(re.compile(r"variant_id="))
    check_page(page, "store-product-variant")

    page.get_by_label("Currency").select_option("USD")
    page.get_by_role("button", name="Apply").click()
    (large,) = [v for v in in_usd["variants"] if v["title"] == "Large"]
    expect(price).to_have_text(ENGLISH.money(price_of(large, "USD"), "USD"))
    expect(page.get_by_role("radio", name=re.compile("^Large"))).to_be_checked()

    page.get_by_role("radio", name=re.compile("^Huge")).check()
    expect(price).to_have_text("Not available in USD. Choose another currency to buy it.")
    expect(stock).to_have_text("Out of stock")
    expect(page.get_by_role("button", name="Add to cart")).to_have_count(0)


def test_customers_also_bought_shows_the_recommendations_the_api_gives(
    page: Page, stack: Stack
) -> None:
    with stack.client(admin=False) as http:
        seeded = ok(http.get("/v1/products", params={"pageSize": 1, "sort": "title"}))
        shown = seeded["products"][0]
        picks = ok(
            http.get(
                "/v1/recommendations",
                params={
                    "kind": "RECOMMENDATION_KIND_ALSO_BOUGHT",
                    "productId": shown["id"],
                    "limit": 4,
                },
            )
        )
        ids = [item["productId"] for item in picks.get("items", [])]
        assert ids, "the seeded shop recommends something for every product"
        listed = ok(http.get("/v1/products", params={"ids": ids, "currency": "EUR"}))
    by_id = {p["id"]: p["title"] for p in listed["products"]}
    page.goto(f"/p/{shown['slug']}")
    section = page.locator("section.also-bought")
    expect(section.get_by_role("heading", name="Customers also bought")).to_be_visible()
    expect(section.locator(".product-card-title")).to_have_text(
        [by_id[i] for i in ids if i in by_id]
    )


def test_pages_in_german_show_german_texts(browser: Browser, stack: Stack) -> None:
    context = new_context(browser, stack.gateway, locale="de-DE")
    try:
        page = context.new_page()
        page.goto("/search?in_stock=1")
        expect(page.get_by_role("heading", level=1)).to_have_text("Alle Produkte")
        expect(page.get_by_role("button", name="Filter anwenden")).to_be_visible()
        expect(page.get_by_label("Nur vorrätige Artikel")).to_be_visible()
        page.locator("#results .product-card-title a").first.click()
        expect(page.get_by_role("button", name="In den Warenkorb")).to_be_visible()
        expect(page.get_by_label("Menge")).to_be_visible()
        check_page(page, "store-product-de")
    finally:
        context.close()


def test_home_shows_a_banner_as_soon_as_it_is_published_and_the_published_menu(
    page: Page, stack: Stack
) -> None:
    suffix = uuid.uuid4().hex[:8]
    with stack.client() as http:
        about = published_content(
            http,
            "CONTENT_KIND_PAGE",
            {
                "slug": f"about-{suffix}",
                "title": f"About us {suffix}",
                "bodyMarkdown": "We are open **daily**.\n\n<script>alert(1)</script>",
            },
        )
        menu = _main_menu(http, f"/pages/about-{suffix}")
        page.goto("/")
        banner_title = f"Winter sale {suffix}"
        published_content(
            http,
            "CONTENT_KIND_BANNER",
            {
                "slug": f"sale-{suffix}",
                "title": banner_title,
                "placement": "home-hero",
                "linkUrl": f"/pages/about-{suffix}",
                "bodyMarkdown": "Everything *warm*.",
            },
        )
    page.goto("/")
    navigation = page.get_by_role("navigation", name="Main navigation")
    for item in menu:
        expect(navigation.get_by_role("link", name=item["label"], exact=True)).to_have_attribute(
            "href", item["url"]
        )
    expect(page.locator(".product-card")).not_to_have_count(0)
    check_page(page, "store-home-browse")
    page.get_by_role("link", name=banner_title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(about["fields"]["title"])
    expect(page.locator(".prose strong")).to_have_text("daily")
    expect(page.locator(".prose script")).to_have_count(0)
    check_page(page, "store-content-page")


def _main_menu(http: httpx.Client, url: str) -> list[dict[str, str]]:
    """The published English main menu's items: ours when there is none yet."""
    answer = http.get("/v1/content/menus/en/main")
    if answer.status_code == 404:
        entry = published_content(
            http,
            "CONTENT_KIND_MENU",
            {"slug": "main", "title": "Main", "menuItems": [{"label": "About us", "url": url}]},
        )
        items: list[dict[str, str]] = entry["fields"]["menuItems"]
        return items
    found: list[dict[str, str]] = ok(answer)["menuItems"]
    return found

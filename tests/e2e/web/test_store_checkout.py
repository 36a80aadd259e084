"""The storefront's cart, checkout, payment and order pages in a real browser against `agora up`:
a guest buys with the development provider, pays in USDT from a browser wallet on the embedded
chain, and sees how to pay in the shop token (QR code, EIP-681 link).

The e2e stack's invoices expire after 8 s (`INVOICE_EXPIRY_S`): the crypto test pays at once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from agora_stack import Stack
from playwright.sync_api import BrowserContext, Page, Route, expect
from web_checkout_support import (
    DevWallet,
    Product,
    add_to_cart_from_search,
    add_to_cart_on_product_page,
    guest_address_in_berlin,
    new_product,
)
from web_support import check_page

from agora.chain.contracts import dev_addresses
from agora.platform.embedded.anvil import dev_account

ORDER_PAGE = re.compile(r"/orders/([0-9a-f-]{36})$")
PAY_PAGE = re.compile(r"/orders/([0-9a-f-]{36})/pay$")


@pytest.fixture
def staff(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as client:
        yield client


@pytest.fixture
def product(staff: httpx.Client) -> Product:
    return new_product(staff)


def order_id_of(page: Page, pattern: re.Pattern[str]) -> str:
    found = pattern.search(page.url)
    assert found, page.url
    return found.group(1)


def place_order_paying(page: Page, product: Product, choice: str) -> str:
    """A guest's cart with `product`, the Berlin address, paying with `choice` (the payment
    radio's label): the order's id, once on its payment page."""
    add_to_cart_on_product_page(page, product)
    page.goto("/checkout")
    guest_address_in_berlin(page, f"guest-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label(choice).check()
    page.get_by_role("button", name="Place order").click()
    expect(page).to_have_url(PAY_PAGE)
    return order_id_of(page, PAY_PAGE)


def test_a_guest_finds_a_product_checks_out_and_pays_with_the_dev_provider(
    page: Page, context: BrowserContext, product: Product, stack: Stack
) -> None:
    add_to_cart_from_search(page, product)

    expect(page).to_have_url(re.compile(r"/cart(\?added=1)?$"))
    expect(page.get_by_role("status")).to_contain_text("Added to your cart")
    expect(page.get_by_role("cell", name=re.compile(f"^{product.title}"))).to_be_visible()
    cart_cookie = next(c for c in context.cookies() if c["name"] == "__Host-agora_cart")
    assert cart_cookie["httpOnly"]
    assert cart_cookie["secure"]
    assert page.evaluate("() => document.cookie").find("agora_cart") == -1
    check_page(page, "store-cart")

    # htmx: the quantity changes in place, the total follows.
    page.get_by_label(f"Quantity of {product.title}").fill("2")
    page.get_by_role("button", name=f"Update {product.title}").click()
    expect(page.get_by_role("status")).to_contain_text("Your cart was updated")
    expect(page.locator("[data-total]")).to_have_text(re.compile(r"50[.,]00"))

    page.get_by_role("link", name="Checkout").click()
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    # The address form asks what the chosen country needs, and shows the service's refusals.
    page.get_by_label("Country").select_option("US")
    expect(page.get_by_label("ZIP code")).to_be_visible()
    expect(page.get_by_label("State")).to_be_visible()
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Street and house number").fill("1 Market St")
    page.get_by_label("City").fill("San Francisco")
    page.get_by_label("ZIP code").fill("ABC")
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page.get_by_text("Enter a ZIP code like 94103.")).to_be_visible()
    expect(page.get_by_text("Enter the State.")).to_be_visible()
    expect(page.get_by_label("ZIP code")).to_have_attribute("aria-invalid", "true")
    check_page(page, "store-checkout-errors")

    page.get_by_label("Country").select_option("DE")
    expect(page.get_by_label("Postcode (PLZ)")).to_be_visible()
    expect(page.get_by_label("State")).to_have_count(0)
    page.get_by_label("Postcode (PLZ)").fill("10115")
    page.get_by_label("City").fill("Berlin")
    page.get_by_role("button", name="Continue to shipping").click()

    expect(page.get_by_role("heading", name="2. Shipping and payment")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Including VAT \(19 ?%\)")).first).to_be_visible()
    expect(page.get_by_role("radio").first).to_be_checked()  # the cheapest shipping method
    check_page(page, "store-checkout")
    page.get_by_role("button", name="Place order").click()

    expect(page).to_have_url(PAY_PAGE)
    order_id = order_id_of(page, PAY_PAGE)
    order_cookie = next(c for c in context.cookies() if c["name"] == "__Secure-agora_order")
    assert order_cookie["httpOnly"]
    assert order_cookie["path"] == f"/orders/{order_id}"
    assert order_cookie["value"] not in page.content()
    # Paid at once (the e2e stack's invoices expire after 8 s).
    page.get_by_role("button", name=re.compile(r"^Pay .* now$")).click()

    expect(page).to_have_url(ORDER_PAGE)
    expect(page.locator("[data-order-status]")).to_have_text("Paid")
    expect(page.get_by_role("cell", name=re.compile(f"^{product.title}"))).to_be_visible()
    expect(page.get_by_text("1 Market St")).to_be_visible()
    check_page(page, "store-order")
    # Nobody else reaches the order: another browser has no order cookie.
    stranger = page.context.browser.new_context(base_url=stack.gateway)  # type: ignore[union-attr]
    try:
        answer = stranger.new_page().goto(f"/orders/{order_id}")
        assert answer is not None
        assert answer.status == 404
    finally:
        stranger.close()


def test_a_shipped_order_shows_its_tracking(
    page: Page, product: Product, staff: httpx.Client
) -> None:
    order_id = place_order_paying(page, product, "Pay in EUR")
    page.get_by_role("button", name=re.compile(r"^Pay .* now$")).click()
    expect(page.locator("[data-order-status]")).to_have_text("Paid")

    for action, body in (
        ("fulfil", {}),
        (
            "ship",
            {
                "carrier": "DHL",
                "trackingNumber": "00340434161094042557",
                "trackingUrl": "https://www.dhl.de/track?id=00340434161094042557",
            },
        ),
    ):
        shipped = staff.post(
            f"/v1/admin/orders/{order_id}:{action}",
            json={"idempotencyKey": str(uuid.uuid4()), **body},
        )
        assert shipped.status_code == 200, shipped.text
    page.reload()

    expect(page.locator("[data-order-status]")).to_have_text("Shipped")
    expect(page.locator("[data-tracking]")).to_contain_text(
        "DHL, tracking number 00340434161094042557"
    )
    expect(page.get_by_role("link", name="Track your parcel")).to_have_attribute(
        "href", "https://www.dhl.de/track?id=00340434161094042557"
    )


def test_a_guest_pays_in_usdt_from_a_browser_wallet_and_sees_the_confirmations_live(
    page: Page, product: Product, stack: Stack
) -> None:
    wallet = DevWallet(dev_account(3), f"http://127.0.0.1:{stack.env['AGORA_ANVIL_PORT']}")
    wallet.install(page)
    order_id = place_order_paying(page, product, "Pay in USDT (crypto)")
    status = page.locator("#payment-status")
    expect(status.locator("[data-order-status]")).to_have_text("Awaiting payment")

    with wallet.blocks_on_demand():
        page.get_by_role("button", name="Pay with wallet").click()
        steps = page.locator("[data-wallet-steps]")
        expect(steps).to_contain_text(f"Connected: {wallet.account.address}")
        expect(steps).to_contain_text("Payment sent")
        (tx_hash,) = wallet.sent
        expect(steps).to_contain_text(tx_hash)

        wallet.mine(1)  # the transfer's block
        expect(status.locator("[data-confirmations]")).to_have_text("Confirmations: 1 of 2")
        wallet.mine(1)
        expect(status.locator("[data-order-status]")).to_have_text("Paid")
    check_page(page, "store-payment-usdt-paid")

    page.goto(f"/orders/{order_id}")
    expect(page.locator("[data-order-status]")).to_have_text("Paid")
    expect(page.locator("[data-payment-status]")).to_contain_text("Paid")
    check_page(page, "store-order-paid-usdt")


def test_paying_in_the_shop_token_shows_the_qr_code_and_the_eip681_link(
    page: Page, product: Product
) -> None:
    place_order_paying(page, product, "Pay with the shop token (AGT)")

    link = page.locator("[data-eip681]")
    expect(link).to_have_attribute(
        "href", re.compile(r"^ethereum:0x[0-9a-fA-F]{40}@31337/transfer\?")
    )
    href = link.get_attribute("href") or ""
    token = dev_addresses().token
    assert href.lower().startswith(f"ethereum:{token.lower()}@31337/transfer?address=0x")
    deposit = page.locator("[data-deposit-address]").inner_text()
    assert f"address={deposit}".lower() in href.lower()
    qr = page.get_by_role("img", name=re.compile(r"^QR code: pay .* AGT to 0x"))
    expect(qr).to_be_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml;")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    expect(page.locator("[data-amount-due]")).to_contain_text("AGT")
    check_page(page, "store-payment-agt")


def test_placing_again_after_the_answer_was_lost_gives_the_same_order_and_its_cookie(
    page: Page, context: BrowserContext, product: Product, stack: Stack
) -> None:
    add_to_cart_on_product_page(page, product)
    page.goto("/checkout")
    guest_address_in_berlin(page, "retry@example.com")
    placed: list[str] = []
    posted: list[str] = []

    def lose_the_answer(route: Route) -> None:
        answer = route.fetch(max_redirects=0)  # the shop places the order...
        placed.append(answer.headers["location"])
        posted.append(route.request.post_data or "")
        route.abort()  # ...and its answer never reaches the browser

    page.route("**/checkout/place", lose_the_answer)
    before = context.cookies()
    with page.expect_event("requestfailed"):
        page.get_by_role("button", name="Place order").click()
    context.clear_cookies()  # nothing of the lost answer reached the browser (not its cookies)
    context.add_cookies(before)  # type: ignore[arg-type]

    again = page.request.post(
        "/checkout/place",
        data=posted[0],
        headers={
            "Origin": stack.gateway,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )

    assert again.ok
    assert again.url.endswith(placed[0])
    (order_cookie,) = [c for c in context.cookies() if c["name"] == "__Secure-agora_order"]
    order_path = placed[0].removesuffix("/pay")
    assert order_cookie["path"] == order_path
    # The guest reaches it with the cookie of the replayed answer (in a new tab: the first one
    # is still showing the browser's error page for the lost answer).
    tab = context.new_page()
    answer = tab.goto(order_path)
    assert answer is not None
    assert answer.status == 200
    order_number = order_path.rsplit("/", 1)[-1][:8].upper()
    expect(tab.get_by_role("heading", level=1)).to_have_text(f"Order {order_number}")

"""The storefront checkout's browser tests' tools: a product of the test's own, putting it in the
cart as a shopper does, and a browser wallet (EIP-1193) that signs with a development key on the
stack's chain.

The wallet is the only stand-in: the page's script talks to `window.ethereum` as to any wallet;
its `request()` is forwarded to Python, which signs with anvil's development account and sends
the raw transaction to the stack's real node.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Page, expect
from web3 import Web3

PRICE_MINOR = 2500


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass(frozen=True)
class Product:
    id: str
    variant_id: str
    slug: str
    title: str


def new_product(http: httpx.Client, stock: int = 5) -> Product:
    """A published product of this test (one variant, 25.00 EUR, `stock` on hand), with a title
    no other product has, so a search finds it alone."""
    word = uuid.uuid4().hex[:10]
    slug = f"checkout-lamp-{word}"
    title = f"Checkout Lamp {word}"
    product = _ok(
        http.post(
            "/v1/products",
            json={
                "idempotencyKey": str(uuid.uuid4()),
                "title": title,
                "slug": slug,
                "variants": [
                    {
                        "sku": slug.upper(),
                        "title": "Default",
                        "prices": [{"amountMinor": str(PRICE_MINOR), "currency": "EUR"}],
                    }
                ],
            },
        )
    )
    _ok(
        http.post(
            f"/v1/products/{product['id']}:publish", json={"idempotencyKey": str(uuid.uuid4())}
        )
    )
    variant = product["variants"][0]
    _ok(
        http.put(
            f"/v1/variants/{variant['id']}/stock",
            json={"idempotencyKey": str(uuid.uuid4()), "onHand": str(stock)},
        )
    )
    return Product(product["id"], variant["id"], slug, title)


def add_to_cart_on_product_page(page: Page, product: Product, quantity: int = 1) -> None:
    """Open the product's page and add `quantity` to the cart with its form."""
    page.goto(f"/p/{product.slug}")
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile("/cart"))


def add_to_cart_from_search(page: Page, product: Product) -> None:
    """Search for the product, open its page from the results, press "Add to cart"."""
    answer = page.goto(f"/search?q={quote(product.title)}")
    assert answer is not None
    assert answer.status == 200
    page.locator(f'a[href="/p/{product.slug}"]').first.click()
    expect(page).to_have_url(re.compile(f"/p/{re.escape(product.slug)}"))
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(re.compile("/cart"))


def fill_address(page: Page, **fields: str) -> None:
    """Fill the checkout's address form by its labels."""
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)


def guest_address_in_berlin(page: Page, email: str) -> None:
    page.get_by_label("Country").select_option("DE")
    expect(page.get_by_label("Postcode (PLZ)")).to_be_visible()
    fill_address(
        page,
        Email=email,
        **{"Full name": "Ada Lovelace", "Street and house number": "Hauptstr. 1"},
        City="Berlin",
    )
    page.get_by_label("Postcode (PLZ)").fill("10115")
    page.get_by_role("button", name="Continue to shipping").click()
    expect(page.get_by_role("heading", name="2. Shipping and payment")).to_be_visible()


@dataclass
class DevWallet:
    """An EIP-1193 wallet for the page: `request()` answered in Python, transactions signed
    with `account` and sent to the node at `rpc_url`."""

    account: LocalAccount
    rpc_url: str
    sent: list[str] = field(default_factory=list)

    def web3(self) -> Web3:
        return Web3(Web3.HTTPProvider(self.rpc_url, request_kwargs={"timeout": 10}))

    def install(self, page: Page) -> None:
        page.expose_function("agoraTestWallet", self.request)
        page.add_init_script(
            """window.ethereum = {
                request: ({method, params}) => window.agoraTestWallet(method, params || []),
            };"""
        )

    def request(self, method: str, params: list[Any]) -> Any:
        w3 = self.web3()
        match method:
            case "eth_requestAccounts" | "eth_accounts":
                return [self.account.address]
            case "eth_chainId":
                return hex(w3.eth.chain_id)
            case "wallet_switchEthereumChain":
                assert int(params[0]["chainId"], 16) == w3.eth.chain_id, params
                return None
            case "eth_sendTransaction":
                return self._send(w3, params[0])
        raise ValueError(f"the test wallet does not do {method}: {json.dumps(params)}")

    def _send(self, w3: Web3, call: dict[str, str]) -> str:
        assert Web3.to_checksum_address(call["from"]) == self.account.address
        tx: dict[str, Any] = {
            "from": self.account.address,
            "to": Web3.to_checksum_address(call["to"]),
            "data": call["data"],
            "value": int(call.get("value", "0x0"), 16),
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(self.account.address, "pending"),
            "gasPrice": w3.eth.gas_price,
        }
        tx["gas"] = w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        signed = self.account.sign_transaction(tx)
        tx_hash = "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
        self.sent.append(tx_hash)
        return tx_hash

    def mine(self, blocks: int) -> None:
        self._node("anvil_mine", hex(blocks))

    @contextmanager
    def blocks_on_demand(self) -> Iterator[None]:
        """The node mines only when told (`mine`), not every second as `agora up` runs it, so
        a payment's confirmations come one by one."""
        self._node("evm_setIntervalMining", 0)
        try:
            yield
        finally:
            self._node("evm_setIntervalMining", 1)

    def _node(self, method: str, *params: object) -> None:
        answer = self.web3().provider.make_request(method, list(params))  # type: ignore[arg-type]
        assert "error" not in answer, answer

"""Crypto checkout end to end, as a user would: `agora up` (the embedded chain, payments' chain
provider, the development pegs), a checkout paying in USDT or AGT through the gateway, paid with
`agora chain pay` from a development wallet, confirmations by `agora chain mine`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import httpx
import pytest
from agora_stack import Stack, stack_environment
from checkout_support import eventually, key, new_variant, ok, read_order, ready_cart, stock
from crypto_checkout_support import (
    SETTLE_TIMEOUT_S,
    agora_chain,
    agt_balance,
    node,
    place_order_paying,
    register_wallet,
)
from eth_account import Account
from security_support import customer_token

from agora.chain.contracts import contract, dev_addresses, dev_deployer
from agora.chain.devnet import dev_treasury, dev_wallets
from agora.platform.embedded.anvil import DEV_TREASURY_INDEX, dev_account


@pytest.fixture(scope="module")
def crypto_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One `agora up` for the module, with the default invoice lifetime (15 minutes)."""
    data_dir = tmp_path_factory.mktemp("agora-up-crypto")
    env = stack_environment(data_dir)
    env.pop("AGORA_ORDERS_INVOICE_EXPIRY_S")
    running = Stack(data_dir, env)
    running.start()
    try:
        yield running
    finally:
        running.stop(check=False)


@pytest.fixture
def staff(crypto_stack: Stack) -> Iterator[httpx.Client]:
    with crypto_stack.client() as client:
        yield client


@pytest.fixture
def guest(crypto_stack: Stack) -> Iterator[httpx.Client]:
    with crypto_stack.client(admin=False) as client:
        yield client


def settled(crypto_stack: Stack, read: Any) -> dict[str, Any]:
    """The order once paid, mining blocks for its confirmations meanwhile."""

    def paid() -> dict[str, Any]:
        agora_chain(crypto_stack, "mine", "3")
        order: dict[str, Any] = read()
        return order

    return eventually(
        paid, lambda o: o["status"] == "ORDER_STATUS_PAID", timeout_s=SETTLE_TIMEOUT_S
    )


def test_a_customer_pays_in_usdt_by_transfer_and_gets_the_reward_once(
    crypto_stack: Stack, staff: httpx.Client
) -> None:
    variant = new_variant(staff)
    customer = str(uuid.uuid4())
    wallet = Account.create()
    auth = {"Authorization": f"Bearer {customer_token(customer)}"}
    with httpx.Client(base_url=crypto_stack.gateway, timeout=10, headers=auth) as http:
        assert register_wallet(http, wallet)["address"] == wallet.address
        order = place_order_paying(http, variant, "usdt")
        assert order["customerId"] == customer
        assert order["payCurrency"] == "USDT"
        invoice = ok(http.get(f"/v1/invoices/{order['invoiceId']}"))
        assert invoice["payCurrency"] == "USDT"
        assert invoice["provider"] == "chain"

        printed = agora_chain(
            crypto_stack, "pay", "--invoice", order["invoiceId"], "--wallet", "dev-1"
        )
        assert "USDT from dev-1 to 0x" in printed

        paid = settled(crypto_stack, lambda: ok(http.get(f"/v1/orders/{order['id']}")))
        assert paid["invoiceId"] == order["invoiceId"]
        assert eventually(lambda: stock(staff, variant), lambda s: s["reserved"] == 0) == {
            "onHand": 3,
            "reserved": 0,
        }

        rewards = eventually(
            lambda: ok(http.get("/v1/chain/me/rewards")),
            lambda r: any(x.get("minted") for x in r.get("rewards", [])),
            timeout_s=SETTLE_TIMEOUT_S,
        )
    (reward,) = rewards["rewards"]
    assert reward["orderId"] == order["id"]
    minted = int(reward["amount"]["baseUnits"])
    assert minted > 0
    # Once: the wallet was new, so it holds exactly the one reward.
    assert agt_balance(node(crypto_stack), wallet.address) == minted
    assert int(rewards["minted"]["baseUnits"]) == minted


def test_a_guest_pays_in_the_shop_token_through_the_router(
    crypto_stack: Stack, staff: httpx.Client, guest: httpx.Client
) -> None:
    variant = new_variant(staff)
    order = place_order_paying(guest, variant, "AGT")
    assert order["payCurrency"] == "AGT"
    w3 = node(crypto_stack)
    due = int(ok(guest.get(payment_options(order)))["amount"]["baseUnits"])
    treasury_before = agt_balance(w3, dev_treasury())

    printed = agora_chain(
        crypto_stack, "pay", "--invoice", order["invoiceId"], "--wallet", "dev-2", "--router"
    )
    assert "AGT from dev-2 through the router" in printed

    paid = settled(crypto_stack, lambda: read_order(guest, order))
    assert paid["status"] == "ORDER_STATUS_PAID"
    assert agt_balance(w3, dev_treasury()) >= treasury_before + due  # the router forwarded it
    assert eventually(lambda: stock(staff, variant), lambda s: s["reserved"] == 0) == {
        "onHand": 3,
        "reserved": 0,
    }


def test_a_guest_sees_what_paying_needs(
    crypto_stack: Stack, staff: httpx.Client, guest: httpx.Client
) -> None:
    variant = new_variant(staff)
    order = place_order_paying(guest, variant, "USDT")

    options = ok(guest.get(payment_options(order)))  # no token at all: a public route

    amount = options["amount"]["baseUnits"]
    usdt = dev_addresses().usdt
    assert options["token"]["address"].lower() == usdt.lower()
    assert options["token"]["symbol"] == "USDT"
    assert options["chainId"] == "31337"
    deposit = options["depositAddress"]
    expected_uri = f"ethereum:{usdt}@31337/transfer?address={deposit}&uint256={amount}"
    assert options["eip681Uri"].lower() == expected_uri.lower()
    assert options["qrSvg"].lstrip().startswith(("<svg", "<?xml"))
    assert options["routerAddress"].lower() == dev_addresses().router.lower()
    # PaymentRouter.pay(bytes32 invoice_id, address token, uint256 amount)
    calldata = options["routerCalldata"]
    assert options["routerInvoiceId"].removeprefix("0x") in calldata
    assert f"{int(amount):064x}" in calldata
    # The EUR total at the development pegs (USDT = 1 USD = 0.92 EUR), in USDT's 6 decimals.
    total_minor = int(order["totals"]["total"]["amountMinor"])
    assert abs(int(amount) - Fraction(total_minor * 10**4) / Fraction("0.92")) <= 1


def test_a_pay_currency_neither_the_orders_nor_a_token_is_refused(
    staff: httpx.Client, guest: httpx.Client
) -> None:
    variant = new_variant(staff)
    cart = ready_cart(guest, variant)

    body = {"cartToken": cart, "idempotencyKey": key(), "payCurrency": "BTC"}
    response = guest.post("/v1/orders", json=body)

    assert response.status_code == 400, response.text
    assert "payCurrency" in response.text
    assert stock(staff, variant) == {"onHand": 5, "reserved": 0}  # nothing was reserved


def payment_options(order: dict[str, Any]) -> str:
    return f"/v1/chain/invoices/{order['invoiceId']}/payment-options"


def _send(w3: Any, account: Any, call: Any) -> str:
    """A contract call signed by `account`, mined (status 1 asserted); its hash."""
    tx = call.build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)["status"] == 1
    return "0x" + bytes(tx_hash).hex()


def test_staff_refund_a_usdt_order_pay_the_payer_back_and_record_it(
    crypto_stack: Stack, staff: httpx.Client, guest: httpx.Client
) -> None:
    variant = new_variant(staff)
    order = place_order_paying(guest, variant, "USDT")
    agora_chain(crypto_stack, "pay", "--invoice", order["invoiceId"], "--wallet", "dev-4")
    settled(crypto_stack, lambda: read_order(guest, order))

    refunded = ok(
        staff.post(
            f"/v1/admin/orders/{order['id']}:refund",
            json={
                "idempotencyKey": key(),
                "amount": {"amountMinor": "1000", "currency": "EUR"},
                "reason": "one lamp came broken",
            },
        )
    )
    refund_id = refunded["refund"]["id"]
    instruction = eventually(
        lambda: staff.get(f"/v1/chain/refund-instructions/{refund_id}"),
        lambda r: r.status_code == 200,
        timeout_s=SETTLE_TIMEOUT_S,
    ).json()
    payer = dev_wallets()["dev-4"].address
    assert instruction["payTo"] == payer
    assert instruction["status"] == "REFUND_INSTRUCTION_STATUS_PENDING"
    assert instruction["orderId"] == order["id"]
    [paid_back] = ok(staff.get(f"/v1/invoices/{order['invoiceId']}"))["refunds"]
    amount = int(instruction["amount"]["baseUnits"])
    assert (paid_back["id"], paid_back["amount"]["baseUnits"]) == (refund_id, str(amount))

    # Staff pay it from the shop's treasury (topped up first by the USDT stand-in's owner).
    w3 = node(crypto_stack)
    usdt = contract(w3, "TestUSDT", dev_addresses().usdt)
    treasury = dev_account(DEV_TREASURY_INDEX)
    _send(w3, dev_deployer(), usdt.functions.mint(treasury.address, 2 * amount))
    short = _send(w3, treasury, usdt.functions.transfer(payer, amount - 1))
    refused = staff.post(
        f"/v1/chain/refund-instructions/{refund_id}:record-payment",
        json={"idempotencyKey": key(), "txHash": short},
    )
    assert (refused.status_code, refused.json()["reason"]) == (400, "AMOUNT_TOO_LOW")
    sent = _send(w3, treasury, usdt.functions.transfer(payer, amount))
    recorded = ok(
        staff.post(
            f"/v1/chain/refund-instructions/{refund_id}:record-payment",
            json={"idempotencyKey": key(), "txHash": sent},
        )
    )
    assert recorded["status"] == "REFUND_INSTRUCTION_STATUS_SENT"
    assert (recorded["txHash"], recorded["sentFrom"]) == (sent, treasury.address)
    pending = ok(
        staff.get(
            "/v1/chain/refund-instructions",
            params={"status": "REFUND_INSTRUCTION_STATUS_PENDING", "invoiceId": order["invoiceId"]},
        )
    )
    assert pending.get("instructions", []) == []


def test_a_reorg_that_drops_the_payment_flags_the_paid_order_until_it_is_paid_again(
    crypto_stack: Stack, staff: httpx.Client, guest: httpx.Client
) -> None:
    # Last in the module: it rewinds the shared chain to before its own payment.
    variant = new_variant(staff)
    order = place_order_paying(guest, variant, "USDT")
    w3 = node(crypto_stack)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    agora_chain(crypto_stack, "pay", "--invoice", order["invoiceId"], "--wallet", "dev-3")
    settled(crypto_stack, lambda: read_order(guest, order))

    # The blocks holding the transfer leave the chain; a longer branch without it replaces them.
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    agora_chain(crypto_stack, "mine", "30")

    at_risk = eventually(
        lambda: read_order(guest, order),
        lambda o: bool(o.get("paymentAtRisk")),
        timeout_s=SETTLE_TIMEOUT_S,
    )
    assert at_risk["status"] == "ORDER_STATUS_PAID"  # never unpaid: staff hold fulfilment

    agora_chain(crypto_stack, "pay", "--invoice", order["invoiceId"], "--wallet", "dev-3")
    eventually(
        lambda: (agora_chain(crypto_stack, "mine", "3"), read_order(guest, order))[1],
        lambda o: not o.get("paymentAtRisk"),
        timeout_s=SETTLE_TIMEOUT_S,
    )

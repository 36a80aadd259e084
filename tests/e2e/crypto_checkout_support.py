"""Crypto checkout through a running `agora up`: an order paying in a chain token, `agora chain …`
as a subprocess, the customer's wallet registered over the gateway, and balances read on the
embedded node."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
from agora_stack import Stack
from checkout_support import eventually, key, ok, read_order, ready_cart
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3 import Web3

from agora.chain.contracts import contract, dev_addresses

SETTLE_TIMEOUT_S = 60.0


def place_order_paying(
    http: httpx.Client, variant: dict[str, Any], pay_currency: str, *, quantity: int = 2
) -> dict[str, Any]:
    """An order of a ready cart paying in `pay_currency`, once the saga attached its invoice
    (`http` a guest's client or a signed-in customer's)."""
    token = ready_cart(http, variant, quantity)
    body = {"cartToken": token, "idempotencyKey": key(), "payCurrency": pay_currency}
    placed = ok(http.post("/v1/orders", json=body))
    access = placed.get("accessToken", "")

    def read() -> dict[str, Any]:
        if access:
            return read_order(http, placed, access)
        return ok(http.get(f"/v1/orders/{placed['id']}"))

    order = eventually(read, lambda o: bool(o.get("invoiceId")), timeout_s=SETTLE_TIMEOUT_S)
    return {**order, "accessToken": access}


def agora_chain(stack: Stack, *args: str) -> str:
    """`agora chain ARGS…` against the stack's node and gateway; its output (exit 0 asserted)."""
    done = subprocess.run(
        [sys.executable, "-m", "agora", "chain", *args],
        env={**stack.env, "COLUMNS": "250"},  # one line per message (rich wraps)
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def register_wallet(http: httpx.Client, account: LocalAccount) -> dict[str, Any]:
    """The signed-in customer proves they hold `account` (personal_sign) and registers it."""
    challenge = ok(http.post("/v1/chain/me/wallet-challenges", json={"address": account.address}))
    signed = account.sign_message(encode_defunct(text=challenge["message"]))
    return ok(
        http.put(
            "/v1/chain/me/wallet",
            json={
                "idempotencyKey": key(),
                "address": account.address,
                "nonce": challenge["nonce"],
                "signature": "0x" + bytes(signed.signature).hex(),
            },
        )
    )


def node(stack: Stack) -> Web3:
    return Web3(Web3.HTTPProvider(f"http://127.0.0.1:{stack.env['AGORA_ANVIL_PORT']}"))


def agt_balance(w3: Web3, address: str) -> int:
    token = contract(w3, "AgoraToken", dev_addresses().token)
    return int(token.functions.balanceOf(address).call())

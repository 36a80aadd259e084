"""Paying as a customer's wallet on a real anvil: a plain transfer of the non-bool USDT and of
AGT, and the router's approve-then-pay, whose InvoicePaid names the invoice."""

from __future__ import annotations

import uuid

import pytest
from anvil_support import Anvil
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import Web3
from web3.logs import DISCARD

from agora.chain.contracts import Deployment, contract
from agora.chain.devnet import (
    PaymentFailed,
    balances,
    dev_treasury,
    dev_wallets,
    pay_by_router,
    pay_by_transfer,
    prepare_devnet,
)
from agora.chain.domain import invoice_id_of, router_invoice_id

OPERATOR = "0x000000000000000000000000000000000000a11c"
DEPOSIT = "0x00000000000000000000000000000000DeAdBeef"


@pytest.fixture
def chain(anvil: Anvil) -> tuple[Web3, Deployment]:
    w3 = anvil.web3()
    return w3, prepare_devnet(w3, treasury=dev_treasury(), operator=OPERATOR)


def dev1() -> LocalAccount:
    key = dev_wallets()["dev-1"].private_key
    assert key is not None
    account: LocalAccount = Account.from_key(key)
    return account


def balance_of(w3: Web3, token: str, holder: str) -> int:
    held: int = contract(w3, "TestUSDT", token).functions.balanceOf(holder).call()
    return held


@pytest.mark.parametrize("which", ["usdt", "token"])
def test_a_transfer_moves_the_tokens_to_the_deposit_address(
    chain: tuple[Web3, Deployment], which: str
) -> None:
    w3, deployment = chain
    token = getattr(deployment, which)
    before = balance_of(w3, token, dev1().address)

    payment = pay_by_transfer(w3, dev1(), token, DEPOSIT, 12_345_678)

    assert balance_of(w3, token, Web3.to_checksum_address(DEPOSIT)) == 12_345_678
    assert balance_of(w3, token, dev1().address) == before - 12_345_678
    receipt = w3.eth.get_transaction_receipt(HexStr(payment.tx_hash))
    assert receipt["blockNumber"] == payment.block_number
    assert receipt["status"] == 1


def test_a_transfer_beyond_the_balance_is_refused_and_moves_nothing(
    chain: tuple[Web3, Deployment],
) -> None:
    w3, deployment = chain
    held = balances(w3, deployment, dev1().address).usdt

    with pytest.raises(PaymentFailed, match="insufficient balance"):
        pay_by_transfer(w3, dev1(), deployment.usdt, DEPOSIT, held + 1)

    assert balances(w3, deployment, dev1().address).usdt == held


@pytest.mark.parametrize("which", ["usdt", "token"])
def test_a_router_payment_names_the_invoice_and_pays_the_treasury(
    chain: tuple[Web3, Deployment], which: str
) -> None:
    w3, deployment = chain
    token = getattr(deployment, which)
    invoice = str(uuid.uuid4())
    before = balance_of(w3, token, dev_treasury())

    payment = pay_by_router(
        w3,
        dev1(),
        router=deployment.router,
        token=token,
        router_invoice_id=router_invoice_id(invoice),
        amount=5_000_000,
    )

    assert balance_of(w3, token, dev_treasury()) == before + 5_000_000
    router = contract(w3, "PaymentRouter", deployment.router)
    receipt = w3.eth.get_transaction_receipt(HexStr(payment.tx_hash))
    (paid,) = router.events.InvoicePaid().process_receipt(receipt, errors=DISCARD)
    assert invoice_id_of(paid.args.invoice_id) == invoice
    assert paid.args.payer == dev1().address
    assert paid.args.token == token
    assert paid.args.amount == 5_000_000
    assert payment.block_number == receipt["blockNumber"]


def test_a_second_router_payment_resets_the_usdt_allowance_first(
    chain: tuple[Web3, Deployment],
) -> None:
    w3, deployment = chain
    usdt = contract(w3, "TestUSDT", deployment.usdt)
    # A stale allowance left over: USDT refuses a new non-zero approve on top of it.
    tx = usdt.functions.approve(deployment.router, 7).transact({"from": dev1().address})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    before = balance_of(w3, deployment.usdt, dev_treasury())

    pay_by_router(
        w3,
        dev1(),
        router=deployment.router,
        token=deployment.usdt,
        router_invoice_id=router_invoice_id(str(uuid.uuid4())),
        amount=3_000_000,
    )

    assert balance_of(w3, deployment.usdt, dev_treasury()) == before + 3_000_000
    assert usdt.functions.allowance(dev1().address, deployment.router).call() == 0


def test_a_paused_usdt_refuses_the_router_payment(chain: tuple[Web3, Deployment]) -> None:
    w3, deployment = chain
    usdt = contract(w3, "TestUSDT", deployment.usdt)
    owner = deployment.deployer
    assert (
        w3.eth.wait_for_transaction_receipt(usdt.functions.pause().transact({"from": owner}))[
            "status"
        ]
        == 1
    )
    held = balances(w3, deployment, dev1().address).usdt

    with pytest.raises(PaymentFailed, match="paused"):
        pay_by_router(
            w3,
            dev1(),
            router=deployment.router,
            token=deployment.usdt,
            router_invoice_id=router_invoice_id(str(uuid.uuid4())),
            amount=1_000_000,
        )

    assert balances(w3, deployment, dev1().address).usdt == held


def test_amounts_outside_uint256_are_refused(chain: tuple[Web3, Deployment]) -> None:
    w3, deployment = chain
    with pytest.raises(ValueError, match="positive"):
        pay_by_transfer(w3, dev1(), deployment.usdt, DEPOSIT, 0)
    with pytest.raises(ValueError, match="positive"):
        pay_by_transfer(w3, dev1(), deployment.usdt, DEPOSIT, 2**256)

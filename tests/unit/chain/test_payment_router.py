"""PaymentRouter on a real EVM: pays with USDT (no bool) and AgoraToken, guards, events."""

from pathlib import Path

import pytest
import vyper
from chain_support import REVERTED, Chain
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

USDT = 10**6
E18 = 10**18
INVOICE = Web3.keccak(text="invoice-1")
HERE = Path(__file__).parent
ROUTER_SOURCE = HERE.parents[2] / "contracts" / "PaymentRouter.vy"


def _pay(chain: Chain, payer: str, token: str, amount: int, invoice: bytes = INVOICE):
    return chain.send(chain.router.functions.pay(invoice, token, amount), payer)


def test_pay_in_usdt_moves_funds_to_the_treasury_and_emits_invoice_paid(chain: Chain) -> None:
    chain.as_owner(chain.usdt.functions.mint(chain.alice, 50 * USDT))
    chain.send(chain.usdt.functions.approve(chain.router.address, 50 * USDT), chain.alice)

    receipt = _pay(chain, chain.alice, chain.usdt.address, 12_345_678)

    (paid,) = chain.router.events.InvoicePaid().process_receipt(receipt, errors=DISCARD)
    assert paid.args.invoice_id == INVOICE
    assert paid.args.payer == chain.alice
    assert paid.args.token == chain.usdt.address
    assert paid.args.amount == 12_345_678
    (transfer,) = chain.usdt.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert (transfer.args.sender, transfer.args.receiver) == (chain.alice, chain.treasury)
    assert chain.usdt.functions.balanceOf(chain.treasury).call() == 12_345_678
    assert chain.usdt.functions.balanceOf(chain.alice).call() == 50 * USDT - 12_345_678
    assert chain.usdt.functions.balanceOf(chain.router.address).call() == 0


def test_pay_in_the_shop_token(chain: Chain) -> None:
    chain.as_owner(chain.token.functions.set_minter(chain.owner, True))
    chain.as_owner(chain.token.functions.mint(chain.bob, 3 * E18))
    chain.send(chain.token.functions.approve(chain.router.address, 3 * E18), chain.bob)

    receipt = _pay(chain, chain.bob, chain.token.address, 2 * E18)

    (paid,) = chain.router.events.InvoicePaid().process_receipt(receipt, errors=DISCARD)
    assert (paid.args.payer, paid.args.token, paid.args.amount) == (
        chain.bob,
        chain.token.address,
        2 * E18,
    )
    assert chain.token.functions.balanceOf(chain.treasury).call() == 2 * E18
    assert chain.token.functions.balanceOf(chain.bob).call() == E18


def test_pay_reverts_without_allowance_or_when_usdt_refuses(chain: Chain) -> None:
    chain.as_owner(chain.usdt.functions.mint(chain.alice, 10 * USDT))
    with pytest.raises(REVERTED, match="insufficient allowance"):
        _pay(chain, chain.alice, chain.usdt.address, USDT)

    chain.send(chain.usdt.functions.approve(chain.router.address, 10 * USDT), chain.alice)
    chain.as_owner(chain.usdt.functions.pause())
    with pytest.raises(REVERTED, match="paused"):
        _pay(chain, chain.alice, chain.usdt.address, USDT)
    chain.as_owner(chain.usdt.functions.unpause())
    chain.as_owner(chain.usdt.functions.set_blacklisted(chain.alice, True))
    with pytest.raises(REVERTED, match="sender blacklisted"):
        _pay(chain, chain.alice, chain.usdt.address, USDT)
    assert chain.usdt.functions.balanceOf(chain.treasury).call() == 0


def test_zero_amount_zero_token_and_non_contract_token_refused(chain: Chain) -> None:
    with pytest.raises(REVERTED, match="zero amount"):
        _pay(chain, chain.alice, chain.usdt.address, 0)
    with pytest.raises(REVERTED, match="zero token"):
        _pay(chain, chain.alice, "0x" + "00" * 20, 1)
    # An account without code answers no data: default_return_value must not make it a payment.
    with pytest.raises(REVERTED):
        _pay(chain, chain.alice, chain.bob, 1)


def _deploy_source(chain: Chain, source: str, *args: object) -> Contract:
    built = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    factory = chain.w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
    receipt = chain.w3.eth.wait_for_transaction_receipt(
        factory.constructor(*args).transact({"from": chain.alice})
    )
    return chain.w3.eth.contract(address=receipt["contractAddress"], abi=built["abi"])


def _attack(chain: Chain, router: Contract) -> TxReceipt:
    """A hostile token whose transferFrom re-enters `router.pay` with the shop token."""
    hostile = _deploy_source(chain, (HERE / "ReentrantToken.vy").read_text(), router.address)
    chain.send(hostile.functions.mint(chain.alice, 100), chain.alice)
    chain.as_owner(chain.token.functions.mint(hostile.address, 10))
    chain.send(hostile.functions.arm(chain.token.address, 10), chain.alice)
    return chain.send(router.functions.pay(INVOICE, hostile.address, 10), chain.alice)


def test_reentrancy_through_a_hostile_token_is_refused(chain: Chain) -> None:
    chain.as_owner(chain.token.functions.set_minter(chain.owner, True))
    with pytest.raises(REVERTED) as refused:
        _attack(chain, chain.router)
    assert "amount not received" not in str(refused.value)
    assert chain.token.functions.balanceOf(chain.treasury).call() == 0

    # The same attack on the router without @nonreentrant pays two invoices in one call:
    # the revert above is the guard's doing.
    unguarded_source = ROUTER_SOURCE.read_text().replace("@nonreentrant\n", "")
    assert unguarded_source != ROUTER_SOURCE.read_text()
    unguarded = _deploy_source(chain, unguarded_source, chain.treasury, chain.alice)
    receipt = _attack(chain, unguarded)
    paid = unguarded.events.InvoicePaid().process_receipt(receipt, errors=DISCARD)
    assert [event.args.invoice_id for event in paid] == [Web3.keccak(text="re-entered"), INVOICE]


def test_set_treasury_only_by_the_owner_with_an_event(chain: Chain) -> None:
    with pytest.raises(REVERTED, match="not the owner"):
        chain.send(chain.router.functions.set_treasury(chain.alice), chain.alice)
    with pytest.raises(REVERTED, match="zero treasury"):
        chain.as_owner(chain.router.functions.set_treasury("0x" + "00" * 20))

    receipt = chain.as_owner(chain.router.functions.set_treasury(chain.bob))
    (event,) = chain.router.events.TreasuryChanged().process_receipt(receipt, errors=DISCARD)
    assert (event.args.previous_treasury, event.args.new_treasury) == (chain.treasury, chain.bob)
    assert chain.router.functions.treasury().call() == chain.bob

    chain.as_owner(chain.usdt.functions.mint(chain.alice, USDT))
    chain.send(chain.usdt.functions.approve(chain.router.address, USDT), chain.alice)
    _pay(chain, chain.alice, chain.usdt.address, USDT)
    assert chain.usdt.functions.balanceOf(chain.bob).call() == USDT

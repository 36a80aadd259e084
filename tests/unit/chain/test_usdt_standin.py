"""TestUSDT on a real EVM: no return values, pause, blacklist, owner-only controls."""

import pytest
from chain_support import REVERTED, Chain
from web3.logs import DISCARD

USDT = 10**6


def _fund(chain: Chain, to: str, amount: int) -> None:
    chain.as_owner(chain.usdt.functions.mint(to, amount))


def test_metadata_and_no_return_values(chain: Chain) -> None:
    usdt = chain.usdt.functions
    assert usdt.decimals().call() == 6
    assert usdt.symbol().call() == "USDT"
    abi = {entry.get("name"): entry for entry in chain.usdt.abi}
    # Like mainnet USDT: callers must not expect a bool.
    assert abi["transfer"]["outputs"] == []
    assert abi["transferFrom"]["outputs"] == []
    assert abi["approve"]["outputs"] == []


def test_mint_transfer_and_transfer_from(chain: Chain) -> None:
    usdt = chain.usdt.functions
    _fund(chain, chain.alice, 100 * USDT)
    assert usdt.totalSupply().call() == 100 * USDT

    receipt = chain.send(usdt.transfer(chain.bob, 30 * USDT), chain.alice)
    (event,) = chain.usdt.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert (event.args.sender, event.args.receiver, event.args.value) == (
        chain.alice,
        chain.bob,
        30 * USDT,
    )
    assert usdt.balanceOf(chain.alice).call() == 70 * USDT
    assert usdt.balanceOf(chain.bob).call() == 30 * USDT

    chain.send(usdt.approve(chain.bob, 20 * USDT), chain.alice)
    chain.send(usdt.transferFrom(chain.alice, chain.treasury, 15 * USDT), chain.bob)
    assert usdt.allowance(chain.alice, chain.bob).call() == 5 * USDT
    assert usdt.balanceOf(chain.treasury).call() == 15 * USDT
    with pytest.raises(REVERTED, match="insufficient allowance"):
        chain.send(usdt.transferFrom(chain.alice, chain.treasury, 6 * USDT), chain.bob)
    with pytest.raises(REVERTED, match="insufficient balance"):
        chain.send(usdt.transfer(chain.bob, 71 * USDT), chain.alice)


def test_approve_from_non_zero_to_non_zero_reverts_like_mainnet(chain: Chain) -> None:
    usdt = chain.usdt.functions
    chain.send(usdt.approve(chain.bob, 5), chain.alice)
    with pytest.raises(REVERTED, match="reset allowance to zero first"):
        chain.send(usdt.approve(chain.bob, 6), chain.alice)
    chain.send(usdt.approve(chain.bob, 0), chain.alice)
    chain.send(usdt.approve(chain.bob, 6), chain.alice)
    assert usdt.allowance(chain.alice, chain.bob).call() == 6


def test_paused_transfers_revert_until_unpaused(chain: Chain) -> None:
    usdt = chain.usdt.functions
    _fund(chain, chain.alice, 10 * USDT)
    chain.send(usdt.approve(chain.bob, 10 * USDT), chain.alice)
    receipt = chain.as_owner(usdt.pause())
    assert (
        chain.usdt.events.Paused().process_receipt(receipt, errors=DISCARD)[0].args.paused is True
    )
    assert usdt.paused().call() is True

    with pytest.raises(REVERTED, match="paused"):
        chain.send(usdt.transfer(chain.bob, USDT), chain.alice)
    with pytest.raises(REVERTED, match="paused"):
        chain.send(usdt.transferFrom(chain.alice, chain.bob, USDT), chain.bob)

    chain.as_owner(usdt.unpause())
    chain.send(usdt.transfer(chain.bob, USDT), chain.alice)
    assert usdt.balanceOf(chain.bob).call() == USDT


def test_blacklisted_sender_cannot_move_tokens(chain: Chain) -> None:
    usdt = chain.usdt.functions
    _fund(chain, chain.alice, 10 * USDT)
    chain.send(usdt.approve(chain.bob, 10 * USDT), chain.alice)
    receipt = chain.as_owner(usdt.set_blacklisted(chain.alice, True))
    (event,) = chain.usdt.events.BlacklistSet().process_receipt(receipt, errors=DISCARD)
    assert (event.args.account, event.args.blacklisted) == (chain.alice, True)

    with pytest.raises(REVERTED, match="sender blacklisted"):
        chain.send(usdt.transfer(chain.bob, USDT), chain.alice)
    with pytest.raises(REVERTED, match="sender blacklisted"):
        chain.send(usdt.transferFrom(chain.alice, chain.bob, USDT), chain.bob)
    assert usdt.balanceOf(chain.alice).call() == 10 * USDT

    chain.as_owner(usdt.set_blacklisted(chain.alice, False))
    chain.send(usdt.transfer(chain.bob, USDT), chain.alice)
    assert usdt.balanceOf(chain.bob).call() == USDT


@pytest.mark.parametrize(
    "call",
    [
        lambda chain: chain.usdt.functions.mint(chain.alice, 1),
        lambda chain: chain.usdt.functions.pause(),
        lambda chain: chain.usdt.functions.unpause(),
        lambda chain: chain.usdt.functions.set_blacklisted(chain.bob, True),
    ],
    ids=["mint", "pause", "unpause", "set_blacklisted"],
)
def test_owner_controls_refuse_anyone_else(chain: Chain, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(REVERTED, match="not the owner"):
        chain.send(call(chain), chain.alice)

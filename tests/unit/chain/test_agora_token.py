"""AgoraToken on a real EVM: ERC-20, the minter role and cap, burning, EIP-2612 permit."""

import pytest
from chain_support import REVERTED, Chain
from eth_account import Account
from web3.logs import DISCARD

from agora.chain.contracts import DEV_TOKEN_CAP, DEV_TOKEN_NAME

E18 = 10**18


def _grant_minter_and_mint(chain: Chain, to: str, amount: int) -> None:
    chain.as_owner(chain.token.functions.set_minter(chain.alice, True))
    chain.send(chain.token.functions.mint(to, amount), chain.alice)


def test_metadata_and_cap(chain: Chain) -> None:
    token = chain.token.functions
    assert token.name().call() == DEV_TOKEN_NAME
    assert token.symbol().call() == "AGT"
    assert token.decimals().call() == 18
    assert token.cap().call() == DEV_TOKEN_CAP
    assert token.totalSupply().call() == 0
    assert token.owner().call() == chain.owner


def test_only_minters_mint_and_owner_appoints_them(chain: Chain) -> None:
    with pytest.raises(REVERTED, match="not a minter"):
        chain.send(chain.token.functions.mint(chain.bob, E18), chain.alice)
    with pytest.raises(REVERTED, match="not the owner"):
        chain.send(chain.token.functions.set_minter(chain.alice, True), chain.alice)

    receipt = chain.as_owner(chain.token.functions.set_minter(chain.alice, True))
    (event,) = chain.token.events.MinterSet().process_receipt(receipt, errors=DISCARD)
    assert event.args.minter == chain.alice
    assert event.args.allowed is True

    receipt = chain.send(chain.token.functions.mint(chain.bob, 5 * E18), chain.alice)
    (transfer,) = chain.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert transfer.args.sender == "0x" + "00" * 20
    assert transfer.args.receiver == chain.bob
    assert transfer.args.value == 5 * E18
    assert chain.token.functions.balanceOf(chain.bob).call() == 5 * E18
    assert chain.token.functions.totalSupply().call() == 5 * E18

    chain.as_owner(chain.token.functions.set_minter(chain.alice, False))
    with pytest.raises(REVERTED, match="not a minter"):
        chain.send(chain.token.functions.mint(chain.bob, E18), chain.alice)


def test_mint_beyond_the_cap_reverts(chain: Chain) -> None:
    _grant_minter_and_mint(chain, chain.bob, DEV_TOKEN_CAP - 1)
    with pytest.raises(REVERTED, match="cap exceeded"):
        chain.send(chain.token.functions.mint(chain.bob, 2), chain.alice)
    chain.send(chain.token.functions.mint(chain.bob, 1), chain.alice)
    assert chain.token.functions.totalSupply().call() == DEV_TOKEN_CAP


def test_transfer_approve_transfer_from(chain: Chain) -> None:
    _grant_minter_and_mint(chain, chain.alice, 10 * E18)
    token = chain.token.functions

    receipt = chain.send(token.transfer(chain.bob, 3 * E18), chain.alice)
    (event,) = chain.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert (event.args.sender, event.args.receiver, event.args.value) == (
        chain.alice,
        chain.bob,
        3 * E18,
    )
    assert token.balanceOf(chain.alice).call() == 7 * E18
    assert token.balanceOf(chain.bob).call() == 3 * E18

    with pytest.raises(REVERTED, match="insufficient balance"):
        chain.send(token.transfer(chain.bob, 8 * E18), chain.alice)
    with pytest.raises(REVERTED, match="insufficient allowance"):
        chain.send(token.transferFrom(chain.alice, chain.bob, 1), chain.bob)

    chain.send(token.approve(chain.bob, 2 * E18), chain.alice)
    chain.send(token.transferFrom(chain.alice, chain.treasury, 2 * E18), chain.bob)
    assert token.allowance(chain.alice, chain.bob).call() == 0
    assert token.balanceOf(chain.treasury).call() == 2 * E18
    with pytest.raises(REVERTED, match="insufficient allowance"):
        chain.send(token.transferFrom(chain.alice, chain.bob, 1), chain.bob)


def test_burn_and_burn_from(chain: Chain) -> None:
    _grant_minter_and_mint(chain, chain.alice, 10 * E18)
    token = chain.token.functions

    receipt = chain.send(token.burn(4 * E18), chain.alice)
    (event,) = chain.token.events.Transfer().process_receipt(receipt, errors=DISCARD)
    assert event.args.receiver == "0x" + "00" * 20
    assert token.totalSupply().call() == 6 * E18

    with pytest.raises(REVERTED, match="insufficient allowance"):
        chain.send(token.burnFrom(chain.alice, E18), chain.bob)
    chain.send(token.approve(chain.bob, E18), chain.alice)
    chain.send(token.burnFrom(chain.alice, E18), chain.bob)
    assert token.balanceOf(chain.alice).call() == 5 * E18
    assert token.totalSupply().call() == 5 * E18
    with pytest.raises(REVERTED, match="insufficient balance"):
        chain.send(token.burn(6 * E18), chain.alice)


def _sign_permit(chain: Chain, key: bytes, spender: str, value: int, deadline: int) -> tuple:
    holder = Account.from_key(key)
    signed = Account.sign_typed_data(
        key,
        domain_data={
            "name": DEV_TOKEN_NAME,
            "version": "1",
            "chainId": chain.w3.eth.chain_id,
            "verifyingContract": chain.token.address,
        },
        message_types={
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ]
        },
        message_data={
            "owner": holder.address,
            "spender": spender,
            "value": value,
            "nonce": chain.token.functions.nonces(holder.address).call(),
            "deadline": deadline,
        },
    )
    return (
        holder.address,
        spender,
        value,
        deadline,
        signed.v,
        signed.r.to_bytes(32, "big"),
        signed.s.to_bytes(32, "big"),
    )


def test_permit_with_an_eth_account_signature(chain: Chain) -> None:
    holder = Account.create()
    _grant_minter_and_mint(chain, holder.address, 10 * E18)
    deadline = chain.w3.eth.get_block("latest")["timestamp"] + 3600
    args = _sign_permit(chain, holder.key, chain.bob, 7 * E18, deadline)

    # The holder never sends a transaction (holds no ether): bob submits the signature.
    receipt = chain.send(chain.token.functions.permit(*args), chain.bob)
    (approval,) = chain.token.events.Approval().process_receipt(receipt, errors=DISCARD)
    assert (approval.args.owner, approval.args.spender, approval.args.value) == (
        holder.address,
        chain.bob,
        7 * E18,
    )
    assert chain.token.functions.nonces(holder.address).call() == 1
    chain.send(chain.token.functions.transferFrom(holder.address, chain.bob, 7 * E18), chain.bob)
    assert chain.token.functions.balanceOf(chain.bob).call() == 7 * E18

    # Replaying the same signature: the nonce moved on, so it no longer recovers the holder.
    with pytest.raises(REVERTED, match="invalid signature"):
        chain.send(chain.token.functions.permit(*args), chain.bob)


def test_permit_expired_or_for_another_spender_reverts(chain: Chain) -> None:
    holder = Account.create()
    now = chain.w3.eth.get_block("latest")["timestamp"]
    expired = _sign_permit(chain, holder.key, chain.bob, E18, now - 1)
    with pytest.raises(REVERTED, match="permit expired"):
        chain.send(chain.token.functions.permit(*expired), chain.bob)

    owner, _, value, deadline, v, r, s = _sign_permit(chain, holder.key, chain.bob, E18, now + 60)
    with pytest.raises(REVERTED, match="invalid signature"):
        chain.send(
            chain.token.functions.permit(owner, chain.alice, value, deadline, v, r, s), chain.alice
        )
    assert chain.token.functions.allowance(holder.address, chain.alice).call() == 0
    assert chain.token.functions.nonces(holder.address).call() == 0


def test_domain_separator_binds_chain_id_and_contract(chain: Chain) -> None:
    from eth_abi import encode
    from web3 import Web3

    expected = Web3.keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                Web3.keccak(
                    text="EIP712Domain(string name,string version,uint256 chainId,"
                    "address verifyingContract)"
                ),
                Web3.keccak(text=DEV_TOKEN_NAME),
                Web3.keccak(text="1"),
                chain.w3.eth.chain_id,
                chain.token.address,
            ],
        )
    )
    assert chain.token.functions.DOMAIN_SEPARATOR().call() == expected


def test_ownership_transfer(chain: Chain) -> None:
    receipt = chain.as_owner(chain.token.functions.transfer_ownership(chain.alice))
    (event,) = chain.token.events.OwnershipTransferred().process_receipt(receipt, errors=DISCARD)
    assert (event.args.previous_owner, event.args.new_owner) == (chain.owner, chain.alice)
    chain.send(chain.token.functions.set_minter(chain.bob, True), chain.alice)
    assert chain.token.functions.is_minter(chain.bob).call() is True
    with pytest.raises(REVERTED, match="not the owner"):
        chain.as_owner(chain.token.functions.set_minter(chain.bob, False))

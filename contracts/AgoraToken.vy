# pragma version ~=0.4.3
"""
@title AgoraToken (AGT)
@notice The shop's ERC-20 token: 18 decimals, a supply cap fixed at deployment,
        minters appointed by the owner (the chain service mints loyalty rewards),
        burn / burnFrom, and EIP-2612 permit so a wallet can approve the payment
        router with a signature instead of a separate transaction.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC20Detailed

implements: IERC20
implements: IERC20Detailed

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event MinterSet:
    minter: indexed(address)
    allowed: bool

event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)

name: public(String[32])
symbol: public(String[16])
decimals: public(constant(uint8)) = 18
cap: public(immutable(uint256))

totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
is_minter: public(HashMap[address, bool])

# EIP-2612: one nonce per owner, consumed by each accepted permit (no replay).
nonces: public(HashMap[address, uint256])

_EIP712_DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_PERMIT_TYPEHASH: constant(bytes32) = keccak256(
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
VERSION: constant(String[1]) = "1"
# Signatures with s in the upper half of the curve order are the malleable twin of a
# valid one; refusing them makes each permit have exactly one accepted encoding.
# (secp256k1 order n) // 2 = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
_SECP256K1N_HALF: constant(uint256) = (
    57896044618658097711785492504343953926418782139537452191302581570759080747168
)
_NAME_HASH: immutable(bytes32)


@deploy
def __init__(name_: String[32], symbol_: String[16], cap_: uint256, owner_: address):
    assert cap_ > 0, "AgoraToken: zero cap"
    assert owner_ != empty(address), "AgoraToken: zero owner"
    self.name = name_
    self.symbol = symbol_
    cap = cap_
    _NAME_HASH = keccak256(name_)
    self.owner = owner_
    log OwnershipTransferred(previous_owner=empty(address), new_owner=owner_)


# --- ERC-20 -----------------------------------------------------------------


@external
def transfer(_to: address, _value: uint256) -> bool:
    self._transfer(msg.sender, _to, _value)
    return True


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    self._spend_allowance(_from, msg.sender, _value)
    self._transfer(_from, _to, _value)
    return True


@external
def approve(_spender: address, _value: uint256) -> bool:
    self._approve(msg.sender, _spender, _value)
    return True


# --- minting and burning ----------------------------------------------------


@external
def mint(to: address, amount: uint256) -> bool:
    assert self.is_minter[msg.sender], "AgoraToken: not a minter"
    assert to != empty(address), "AgoraToken: mint to zero address"
    supply: uint256 = self.totalSupply + amount
    assert supply <= cap, "AgoraToken: cap exceeded"
    self.totalSupply = supply
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)
    return True


@external
def burn(amount: uint256):
    self._burn(msg.sender, amount)


@external
def burnFrom(owner_: address, amount: uint256):
    self._spend_allowance(owner_, msg.sender, amount)
    self._burn(owner_, amount)


# --- roles -------------------------------------------------------------------


@external
def set_minter(minter: address, allowed: bool):
    assert msg.sender == self.owner, "AgoraToken: not the owner"
    assert minter != empty(address), "AgoraToken: zero minter"
    self.is_minter[minter] = allowed
    log MinterSet(minter=minter, allowed=allowed)


@external
def transfer_ownership(new_owner: address):
    assert msg.sender == self.owner, "AgoraToken: not the owner"
    assert new_owner != empty(address), "AgoraToken: zero owner"
    log OwnershipTransferred(previous_owner=self.owner, new_owner=new_owner)
    self.owner = new_owner


# --- EIP-2612 ----------------------------------------------------------------


@external
@view
def DOMAIN_SEPARATOR() -> bytes32:
    return self._domain_separator()


@external
def permit(
    owner_: address,
    spender: address,
    amount: uint256,
    deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
):
    assert block.timestamp <= deadline, "AgoraToken: permit expired"
    assert convert(s, uint256) <= _SECP256K1N_HALF, "AgoraToken: invalid signature"
    nonce: uint256 = self.nonces[owner_]
    struct_hash: bytes32 = keccak256(
        abi_encode(_PERMIT_TYPEHASH, owner_, spender, amount, nonce, deadline)
    )
    digest: bytes32 = keccak256(concat(b"\x19\x01", self._domain_separator(), struct_hash))
    signer: address = ecrecover(digest, v, r, s)
    # ecrecover answers the zero address for a garbage signature: never a valid owner.
    assert signer != empty(address) and signer == owner_, "AgoraToken: invalid signature"
    self.nonces[owner_] = nonce + 1
    self._approve(owner_, spender, amount)


# --- internals ---------------------------------------------------------------


@internal
@view
def _domain_separator() -> bytes32:
    # Computed per call (not cached) so a signature for one chain is never valid on a fork.
    return keccak256(
        abi_encode(
            _EIP712_DOMAIN_TYPEHASH, _NAME_HASH, keccak256(VERSION), chain.id, self
        )
    )


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "AgoraToken: transfer to zero address"
    balance: uint256 = self.balanceOf[sender]
    assert balance >= amount, "AgoraToken: insufficient balance"
    self.balanceOf[sender] = balance - amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)


@internal
def _approve(owner_: address, spender: address, amount: uint256):
    assert spender != empty(address), "AgoraToken: approve to zero address"
    self.allowance[owner_][spender] = amount
    log Approval(owner=owner_, spender=spender, value=amount)


@internal
def _spend_allowance(owner_: address, spender: address, amount: uint256):
    allowed: uint256 = self.allowance[owner_][spender]
    # The maximum allowance is "unlimited": never decreased, as in most ERC-20 tokens.
    if allowed != max_value(uint256):
        assert allowed >= amount, "AgoraToken: insufficient allowance"
        self._approve(owner_, spender, allowed - amount)


@internal
def _burn(owner_: address, amount: uint256):
    balance: uint256 = self.balanceOf[owner_]
    assert balance >= amount, "AgoraToken: insufficient balance"
    self.balanceOf[owner_] = balance - amount
    self.totalSupply -= amount
    log Transfer(sender=owner_, receiver=empty(address), value=amount)

# pragma version ~=0.4.3
"""
@title TestUSDT
@notice A development stand-in for mainnet USDT (TetherToken) that behaves like it where
        the shop's code can trip: 6 decimals; `transfer`, `transferFrom` and `approve`
        return NOTHING (callers must not expect a bool); `approve` from one non-zero
        allowance to another reverts; the owner can pause all transfers and blacklist a
        sender. The owner mints for development funding. Never deploy it to a real network.
"""

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

event Paused:
    paused: bool

event BlacklistSet:
    account: indexed(address)
    blacklisted: bool

name: public(constant(String[24])) = "Tether USD (test)"
symbol: public(constant(String[8])) = "USDT"
decimals: public(constant(uint8)) = 6

totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])

owner: public(address)
paused: public(bool)
is_blacklisted: public(HashMap[address, bool])


@deploy
def __init__(owner_: address):
    assert owner_ != empty(address), "TestUSDT: zero owner"
    self.owner = owner_


# --- ERC-20, without return values (like mainnet USDT) -------------------------


@external
def transfer(_to: address, _value: uint256):
    self._transfer(msg.sender, _to, _value)


@external
def transferFrom(_from: address, _to: address, _value: uint256):
    allowed: uint256 = self.allowance[_from][msg.sender]
    if allowed != max_value(uint256):
        assert allowed >= _value, "TestUSDT: insufficient allowance"
        self.allowance[_from][msg.sender] = allowed - _value
    self._transfer(_from, _to, _value)


@external
def approve(_spender: address, _value: uint256):
    # Mainnet USDT's guard against the approve race: set to zero before a new amount.
    assert _value == 0 or self.allowance[msg.sender][_spender] == 0, (
        "TestUSDT: reset allowance to zero first"
    )
    self.allowance[msg.sender][_spender] = _value
    log Approval(owner=msg.sender, spender=_spender, value=_value)


# --- owner controls -------------------------------------------------------------


@external
def mint(to: address, amount: uint256):
    self._only_owner()
    assert to != empty(address), "TestUSDT: mint to zero address"
    self.totalSupply += amount
    self.balanceOf[to] += amount
    log Transfer(sender=empty(address), receiver=to, value=amount)


@external
def pause():
    self._only_owner()
    self.paused = True
    log Paused(paused=True)


@external
def unpause():
    self._only_owner()
    self.paused = False
    log Paused(paused=False)


@external
def set_blacklisted(account: address, blacklisted: bool):
    self._only_owner()
    self.is_blacklisted[account] = blacklisted
    log BlacklistSet(account=account, blacklisted=blacklisted)


# --- internals ------------------------------------------------------------------


@internal
@view
def _only_owner():
    assert msg.sender == self.owner, "TestUSDT: not the owner"


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert not self.paused, "TestUSDT: paused"
    # Like mainnet USDT, the blacklist stops the tokens' holder (the sender).
    assert not self.is_blacklisted[sender], "TestUSDT: sender blacklisted"
    assert receiver != empty(address), "TestUSDT: transfer to zero address"
    balance: uint256 = self.balanceOf[sender]
    assert balance >= amount, "TestUSDT: insufficient balance"
    self.balanceOf[sender] = balance - amount
    self.balanceOf[receiver] += amount
    log Transfer(sender=sender, receiver=receiver, value=amount)

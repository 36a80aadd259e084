# pragma version ~=0.4.3
"""A hostile test token: while armed, its transferFrom re-enters the router's pay, paying a
second invoice with another token (so only the reentrancy guard can stop it)."""

from ethereum.ercs import IERC20

interface Router:
    def pay(invoice_id: bytes32, token: address, amount: uint256): nonpayable

balanceOf: public(HashMap[address, uint256])
router: public(address)
other_token: public(address)
armed: public(bool)


@deploy
def __init__(router_: address):
    self.router = router_


@external
def mint(to: address, amount: uint256):
    self.balanceOf[to] += amount


@external
def arm(other_token_: address, amount: uint256):
    self.other_token = other_token_
    self.armed = True
    assert extcall IERC20(other_token_).approve(self.router, amount)


@external
def transferFrom(_from: address, _to: address, _value: uint256) -> bool:
    self.balanceOf[_from] -= _value
    self.balanceOf[_to] += _value
    if self.armed:
        self.armed = False
        extcall Router(self.router).pay(keccak256("re-entered"), self.other_token, _value)
    return True

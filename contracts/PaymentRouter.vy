# pragma version ~=0.4.3
"""
@title PaymentRouter
@notice Pays a shop invoice from a connected wallet: `pay` moves `amount` of `token` from
        the payer straight to the treasury and emits `InvoicePaid`, which the chain
        service's watcher matches to the invoice. The router never holds funds.
        Works with tokens whose `transferFrom` returns nothing (mainnet USDT).
"""

from ethereum.ercs import IERC20

event InvoicePaid:
    invoice_id: indexed(bytes32)
    payer: indexed(address)
    token: address
    amount: uint256

event TreasuryChanged:
    previous_treasury: indexed(address)
    new_treasury: indexed(address)

owner: public(address)
treasury: public(address)


@deploy
def __init__(treasury_: address, owner_: address):
    assert treasury_ != empty(address), "PaymentRouter: zero treasury"
    assert owner_ != empty(address), "PaymentRouter: zero owner"
    self.owner = owner_
    self.treasury = treasury_
    log TreasuryChanged(previous_treasury=empty(address), new_treasury=treasury_)


@external
@nonreentrant
def pay(invoice_id: bytes32, token: address, amount: uint256):
    assert token != empty(address), "PaymentRouter: zero token"
    assert amount > 0, "PaymentRouter: zero amount"
    treasury: address = self.treasury
    before: uint256 = staticcall IERC20(token).balanceOf(treasury)
    # default_return_value: a token returning no data (USDT) counts as success; one that
    # returns false or reverts fails the payment.
    assert extcall IERC20(token).transferFrom(
        msg.sender, treasury, amount, default_return_value=True
    ), "PaymentRouter: transfer failed"
    # The event must state what the treasury received: a token that takes a fee or lies
    # about the transfer is refused rather than reported as a full payment.
    received: uint256 = staticcall IERC20(token).balanceOf(treasury) - before
    assert received == amount, "PaymentRouter: amount not received"
    log InvoicePaid(invoice_id=invoice_id, payer=msg.sender, token=token, amount=amount)


@external
@nonreentrant
def set_treasury(new_treasury: address):
    assert msg.sender == self.owner, "PaymentRouter: not the owner"
    assert new_treasury != empty(address), "PaymentRouter: zero treasury"
    log TreasuryChanged(previous_treasury=self.treasury, new_treasury=new_treasury)
    self.treasury = new_treasury

"""Refunds of on-chain payments as rules: whom a refund goes back to, and which transactions pay
it (every refusal with its reason)."""

from __future__ import annotations

import pytest

from agora.auth.domain import STAFF, SUPPORT, builtin_roles
from agora.chain.refund_rules import (
    AMOUNT_TOO_LOW,
    NO_TRANSFER,
    PAYER_UNKNOWN,
    TRANSFER_TOPIC,
    TX_FAILED,
    TX_NOT_FOUND,
    TX_PENDING,
    TX_UNCONFIRMED,
    WRONG_RECIPIENT,
    WRONG_TOKEN,
    ZERO_ADDRESS,
    CreditedTransfer,
    Receipt,
    RefundPaymentRefused,
    TokenTransfer,
    check_refund_payment,
    parse_reference,
    refund_payer,
    token_transfers,
)
from agora.platform.security.permissions import all_declared_permissions

TOKEN = "0x" + "aa" * 20
OTHER_TOKEN = "0x" + "bb" * 20
PAYER = "0x" + "11" * 20
SOMEONE = "0x" + "22" * 20
TX = "0x" + "ab" * 32


def transfer(sender: str, amount: int, block: int = 10, index: int = 0) -> CreditedTransfer:
    return CreditedTransfer(sender, amount, block, index)


def test_the_payer_is_the_sender_of_the_largest_credited_transfer() -> None:
    assert refund_payer([transfer(SOMEONE, 2), transfer(PAYER, 3), transfer(SOMEONE, 1)]) == PAYER


def test_of_equal_largest_transfers_the_earliest_sender_is_the_payer() -> None:
    later = transfer(SOMEONE, 5, block=11, index=0)
    earlier_in_block = transfer(PAYER, 5, block=10, index=3)
    last_in_block = transfer(SOMEONE, 5, block=10, index=4)
    assert refund_payer([later, last_in_block, earlier_in_block]) == PAYER


def test_a_mint_is_no_payer_and_without_a_payer_there_is_no_address() -> None:
    assert refund_payer([transfer(ZERO_ADDRESS, 9), transfer(PAYER.upper(), 1)]) == PAYER.lower()
    assert refund_payer([transfer(ZERO_ADDRESS, 9)]) == ""
    assert refund_payer([]) == ""


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        (f"31337:{TX}:4", (31337, TX, 4)),
        (f"1:{TX.upper().replace('0X', '0x')}:0", (1, TX, 0)),
        ("dev-payment-1", None),
        (f"x:{TX}:4", None),
        (f"1:{TX[:-2]}:4", None),
        (f"1:{TX}:-1", None),
        (f"1:{TX}:4:5", None),
    ],
)
def test_references_of_on_chain_payments_name_a_transfer(
    reference: str, parsed: tuple[int, str, int] | None
) -> None:
    assert parse_reference(reference) == parsed


def _word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def test_a_receipts_transfer_logs_are_read_and_other_logs_skipped() -> None:
    logs = [
        {
            "address": bytes.fromhex(TOKEN[2:]),
            "topics": [bytes.fromhex(TRANSFER_TOPIC[2:]), _word(SOMEONE), _word(PAYER)],
            "data": (1234).to_bytes(32, "big"),
        },
        {"address": TOKEN, "topics": [bytes(32)], "data": b""},  # another event
        {  # an approval-shaped log with Transfer's topic but no data word
            "address": TOKEN,
            "topics": [TRANSFER_TOPIC, _word(SOMEONE), _word(PAYER)],
            "data": "0x",
        },
    ]
    assert token_transfers(logs) == [TokenTransfer(TOKEN, SOMEONE, PAYER, 1234)]


def mined(*transfers: TokenTransfer, succeeded: bool = True, confirmations: int = 1) -> Receipt:
    return Receipt(
        known=True,
        mined=True,
        succeeded=succeeded,
        confirmations=confirmations,
        transfers=transfers,
    )


def refusal(receipt: Receipt, *, pay_to: str = PAYER, amount: int = 100) -> str:
    with pytest.raises(RefundPaymentRefused) as refused:
        check_refund_payment(
            receipt, token=TOKEN, pay_to=pay_to, amount=amount, confirmations_required=2
        )
    assert refused.value.reason != "FAILED_PRECONDITION"
    return refused.value.reason


def test_a_succeeded_transfer_of_the_token_to_the_payer_pays_the_refund() -> None:
    exact = TokenTransfer(TOKEN, SOMEONE, PAYER, 100)
    check_refund_payment(
        mined(exact, confirmations=2), token=TOKEN, pay_to=PAYER, amount=100,
        confirmations_required=2,
    )  # fmt: skip
    split = (TokenTransfer(TOKEN, SOMEONE, PAYER, 60), TokenTransfer(TOKEN, SOMEONE, PAYER, 45))
    check_refund_payment(
        mined(*split, confirmations=5), token=TOKEN.upper().replace("0X", "0x"),
        pay_to=PAYER, amount=100, confirmations_required=2,
    )  # fmt: skip


def test_every_other_transaction_is_refused_with_its_reason() -> None:
    paid = TokenTransfer(TOKEN, SOMEONE, PAYER, 100)
    assert refusal(Receipt(known=False, mined=False)) == TX_NOT_FOUND
    assert refusal(Receipt(known=True, mined=False)) == TX_PENDING
    assert refusal(mined(paid, succeeded=False, confirmations=3)) == TX_FAILED
    assert refusal(mined(paid, confirmations=1)) == TX_UNCONFIRMED
    assert refusal(mined(TokenTransfer(OTHER_TOKEN, SOMEONE, PAYER, 100), confirmations=2)) == (
        WRONG_TOKEN
    )
    assert refusal(mined(TokenTransfer(TOKEN, SOMEONE, SOMEONE, 100), confirmations=2)) == (
        WRONG_RECIPIENT
    )
    assert refusal(mined(confirmations=2)) == NO_TRANSFER
    assert refusal(mined(TokenTransfer(TOKEN, SOMEONE, PAYER, 99), confirmations=2)) == (
        AMOUNT_TOO_LOW
    )
    assert refusal(mined(paid, confirmations=2), pay_to="") == PAYER_UNKNOWN


def test_staff_read_and_record_crypto_refunds_and_support_does_neither() -> None:
    roles = builtin_roles(all_declared_permissions())
    refunds = {"chain:refunds:read", "chain:refunds:write"}
    assert refunds <= roles[STAFF].permissions
    assert not refunds & roles[SUPPORT].permissions
    assert "chain:write" not in roles[STAFF].permissions

"""Refunds of invoices paid on chain, as rules: whom a refund is owed to, and whether a
transaction staff sent pays it. Pure: no I/O (`refunds.py` reads the chain and the schema).

Staff pay refunds from the shop's wallet themselves (its keys stay cold); the chain service
only says what to send and checks, on chain, what was sent.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agora.platform.errors import FailedPrecondition

ZERO_ADDRESS = "0x" + "0" * 40
# keccak256("Transfer(address,address,uint256)"): the ERC-20 Transfer event's first topic.
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

# Why RecordRefundPayment refuses a transaction (the FAILED_PRECONDITION's reason).
TX_NOT_FOUND = "TX_NOT_FOUND"  # the node knows no such transaction
TX_PENDING = "TX_PENDING"  # known, not mined yet: record it again once it is
TX_UNCONFIRMED = "TX_UNCONFIRMED"  # mined, fewer confirmations than the network's lowest policy
TX_FAILED = "TX_FAILED"  # mined and reverted
WRONG_TOKEN = "WRONG_TOKEN"  # a Transfer to the payer, of another token
WRONG_RECIPIENT = "WRONG_RECIPIENT"  # a Transfer of the token, to someone else
NO_TRANSFER = "NO_TRANSFER"  # no Transfer of the token to the payer, nor anything near it
AMOUNT_TOO_LOW = "AMOUNT_TOO_LOW"  # the token to the payer, less than the refund
ALREADY_SENT = "ALREADY_SENT"  # the refund was paid by another transaction
TX_ALREADY_USED = "TX_ALREADY_USED"  # the transaction pays another refund
PAYER_UNKNOWN = "PAYER_UNKNOWN"  # no address to pay: staff settle it outside the service


class InstructionStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"


class RefundPaymentRefused(FailedPrecondition):
    """A transaction that does not (yet) pay a refund: `reason` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class CreditedTransfer:
    """A transfer credited to the invoice, as the watcher recorded it."""

    from_address: str
    amount: int
    block_number: int
    log_index: int


def refund_payer(credited: Iterable[CreditedTransfer]) -> str:
    """Whom a refund is paid to: the sender of the largest credited transfer, the earliest of
    equal ones (an invoice paid from several addresses goes back to its main payer). The zero
    address (a mint) sent nothing back-payable; '' when no payer is left."""
    candidates = [t for t in credited if t.from_address and t.from_address != ZERO_ADDRESS]
    if not candidates:
        return ""
    chosen = min(candidates, key=lambda t: (-t.amount, t.block_number, t.log_index))
    return chosen.from_address.lower()


def parse_reference(reference: str) -> tuple[int, str, int] | None:
    """`<chain_id>:<tx_hash>:<log_index>` (payments' reference of an on-chain payment), or
    None for anything else (a dev payment's id)."""
    parts = reference.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    tx_hash = parts[1].lower()
    if len(tx_hash) != 66 or not tx_hash.startswith("0x"):
        return None
    return int(parts[0]), tx_hash, int(parts[2])


@dataclass(frozen=True)
class TokenTransfer:
    """An ERC-20 Transfer log of a transaction."""

    token: str
    from_address: str
    to_address: str
    amount: int


def _hex(value: Any) -> str:
    """A log field (bytes, HexBytes or text) as lowercase 0x-hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value).lower()
    return text if text.startswith("0x") else "0x" + text


def _topic_address(topic: Any) -> str:
    return "0x" + _hex(topic)[-40:]


def token_transfers(logs: Sequence[Mapping[str, Any]]) -> list[TokenTransfer]:
    """The ERC-20 Transfer logs among a receipt's logs (others, and malformed ones, skipped)."""
    found = []
    for log in logs:
        topics = [_hex(t) for t in log.get("topics", ())]
        if len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
            continue
        data = _hex(log.get("data", b""))
        if len(data) != 66:
            continue
        found.append(
            TokenTransfer(
                token=_hex(log["address"]),
                from_address=_topic_address(topics[1]),
                to_address=_topic_address(topics[2]),
                amount=int(data, 16),
            )
        )
    return found


@dataclass(frozen=True)
class Receipt:
    """What the chain says of a transaction: mined or not, its outcome and Transfer logs."""

    known: bool
    mined: bool
    succeeded: bool = False
    confirmations: int = 0
    transfers: tuple[TokenTransfer, ...] = ()


def check_refund_payment(
    receipt: Receipt,
    *,
    token: str,
    pay_to: str,
    amount: int,
    confirmations_required: int,
) -> None:
    """Raise RefundPaymentRefused unless the transaction succeeded, has the confirmations, and
    moved at least `amount` of `token` to `pay_to` (its Transfer logs to `pay_to` summed)."""
    if not pay_to:
        raise RefundPaymentRefused(PAYER_UNKNOWN, "the refund has no address to pay")
    if not receipt.known:
        raise RefundPaymentRefused(TX_NOT_FOUND, "the chain knows no such transaction")
    if not receipt.mined:
        raise RefundPaymentRefused(TX_PENDING, "the transaction is not mined yet")
    if not receipt.succeeded:
        raise RefundPaymentRefused(TX_FAILED, "the transaction reverted")
    if receipt.confirmations < confirmations_required:
        raise RefundPaymentRefused(
            TX_UNCONFIRMED,
            f"{receipt.confirmations} of {confirmations_required} confirmations so far",
        )
    token, pay_to = token.lower(), pay_to.lower()
    paid = [t for t in receipt.transfers if t.token == token and t.to_address == pay_to]
    if not paid:
        if any(t.to_address == pay_to for t in receipt.transfers):
            raise RefundPaymentRefused(WRONG_TOKEN, f"it sends {pay_to} another token")
        if any(t.token == token for t in receipt.transfers):
            raise RefundPaymentRefused(
                WRONG_RECIPIENT, f"it sends the token to others, not {pay_to}"
            )
        raise RefundPaymentRefused(NO_TRANSFER, "it transfers no token")
    total = sum(t.amount for t in paid)
    if total < amount:
        raise RefundPaymentRefused(
            AMOUNT_TOO_LOW, f"it sends {total} base units, the refund is {amount}"
        )

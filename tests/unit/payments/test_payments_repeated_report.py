"""A chain report that tells nothing new (the `confirmed` event right after `detected`, same
confirmations) is recognised, so payments' consumer writes and announces nothing for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from agora.payments.conversion import Rate
from agora.payments.domain import (
    Invoice,
    InvoicePolicy,
    InvoiceStatus,
    NewInvoice,
    PaymentReport,
    is_repeated_report,
    open_invoice,
    receive_transfer,
    record_flagged,
    withdraw_payment,
)
from agora.platform.kernel.money import Money

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def invoice() -> Invoice:
    return open_invoice(
        NewInvoice("bench-1", Money(1_000_000, "USDT"), "USDT", "chain"),
        invoice_id="7b0e1a5c-8a53-4a8e-9a3c-2f0f5c2e6a11",
        rate=Rate("USDT", "USDT", Fraction(1), "identity", NOW),
        confirmations_required=1,
        policy=InvoicePolicy(),
        now=NOW,
    )


def report(confirmations: int = 1, amount: int = 1_000_000, ref: str = "tx-1") -> PaymentReport:
    return PaymentReport(ref, amount, confirmations, NOW + timedelta(seconds=5))


def test_the_same_report_again_is_repeated() -> None:
    settled = receive_transfer(invoice(), report()).invoice
    assert settled.status is InvoiceStatus.SETTLED
    assert is_repeated_report(settled, report())
    assert is_repeated_report(settled, report(confirmations=0))


def test_news_is_not_repeated() -> None:
    credited = receive_transfer(invoice(), report()).invoice
    assert not is_repeated_report(invoice(), report())  # unknown payment
    assert not is_repeated_report(credited, report(confirmations=2))  # more confirmations
    assert not is_repeated_report(credited, report(amount=5))  # another amount: the domain refuses
    assert not is_repeated_report(credited, report(ref="tx-2"))
    change = withdraw_payment(credited, "tx-1")
    assert change is not None
    assert not is_repeated_report(change.invoice, report())  # back on the chain: credited again


def test_a_flagged_payment_reported_again_is_repeated() -> None:
    flagged = record_flagged(invoice(), report(), ("WRONG_TOKEN",)).invoice
    assert is_repeated_report(flagged, report())
    assert not is_repeated_report(flagged, report(confirmations=3))

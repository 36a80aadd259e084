"""The reconciliation's comparison of the canonical chain with payments' ledger: one outcome
per reference, the counts and the alert."""

from __future__ import annotations

from agora.chain.domain import (
    BELOW_DUST,
    INVOICE_EXPIRED,
    ChainPayment,
    Counts,
    LedgerPayment,
    Outcome,
    SweepCheck,
    reconcile,
    sweep_cost,
    tally,
)

USDT = "0x" + "11" * 20
AGT = "0x" + "22" * 20


def on_chain(n: int, amount: int = 5_000_000, *, symbol: str = "USDT", flags=()) -> ChainPayment:
    return ChainPayment(
        reference=f"7:0x{n:064x}:0",
        invoice_id=f"inv-{n}",
        tx_hash=f"0x{n:064x}",
        block_number=100 + n,
        token=USDT if symbol == "USDT" else AGT,
        symbol=symbol,
        amount=amount,
        flags=tuple(flags),
    )


def credited(n: int, amount: int = 5_000_000, *, symbol: str = "USDT", status="credited"):
    return LedgerPayment(
        reference=f"7:0x{n:064x}:0",
        invoice_id=f"inv-{n}",
        symbol=symbol,
        amount=amount,
        credited=status == "credited",
        status=status,
    )


def outcomes(lines) -> list[tuple[Outcome, str]]:
    return [(line.outcome, line.invoice_id) for line in lines]


def test_the_same_payment_on_both_sides_is_matched() -> None:
    lines = reconcile([on_chain(1)], [credited(1)])
    assert outcomes(lines) == [(Outcome.MATCHED, "inv-1")]
    assert (lines[0].on_chain, lines[0].credited) == (5_000_000, 5_000_000)
    assert tally(lines) == Counts(matched=1)
    assert not tally(lines).has_mismatches


def test_a_clean_transfer_payments_never_credited_is_not_credited() -> None:
    lines = reconcile([on_chain(1), on_chain(2)], [credited(1)])
    assert outcomes(lines) == [(Outcome.MATCHED, "inv-1"), (Outcome.NOT_CREDITED, "inv-2")]
    assert lines[1].credited is None
    assert lines[1].on_chain == 5_000_000
    assert tally(lines).has_mismatches


def test_a_withdrawn_payment_still_on_the_chain_is_not_credited() -> None:
    lines = reconcile([on_chain(1)], [credited(1, status="withdrawn")])
    assert outcomes(lines) == [(Outcome.NOT_CREDITED, "inv-1")]
    assert "withdrawn" in lines[0].detail


def test_a_credited_payment_the_chain_lacks_is_not_on_chain() -> None:
    lines = reconcile([], [credited(3)])
    assert outcomes(lines) == [(Outcome.NOT_ON_CHAIN, "inv-3")]
    assert lines[0].tx_hash == f"0x{3:064x}"
    assert lines[0].credited == 5_000_000
    assert tally(lines) == Counts(not_on_chain=1)


def test_withdrawn_or_flagged_ledger_lines_the_chain_lacks_are_consistent() -> None:
    assert reconcile([], [credited(1, status="withdrawn"), credited(2, status="flagged")]) == []


def test_a_different_amount_is_an_amount_mismatch() -> None:
    lines = reconcile([on_chain(1, 4_000_000)], [credited(1, 5_000_000)])
    assert outcomes(lines) == [(Outcome.AMOUNT_MISMATCH, "inv-1")]
    assert (lines[0].on_chain, lines[0].credited) == (4_000_000, 5_000_000)
    assert tally(lines).amount_mismatch == 1


def test_another_token_is_a_token_mismatch_before_any_amount() -> None:
    lines = reconcile([on_chain(1, 7, symbol="AGT")], [credited(1, 5, symbol="USDT")])
    assert outcomes(lines) == [(Outcome.TOKEN_MISMATCH, "inv-1")]
    assert tally(lines).token_mismatch == 1


def test_a_flagged_transfer_nobody_credited_is_matched_and_one_credited_is_checked() -> None:
    refused = reconcile([on_chain(1, 10, flags=[BELOW_DUST])], [])
    assert outcomes(refused) == [(Outcome.MATCHED, "inv-1")]
    assert BELOW_DUST in refused[0].detail
    late = reconcile([on_chain(2, flags=[INVOICE_EXPIRED])], [credited(2)])  # payments' call
    assert outcomes(late) == [(Outcome.MATCHED, "inv-2")]


def test_sweeps_are_listed_and_a_confirmed_one_missing_on_chain_is_an_alert() -> None:
    landed = SweepCheck("s1", "inv-1", "0xaa", 120, USDT, "USDT", 9, "confirmed", True)
    lost = SweepCheck("s2", "inv-2", "0xbb", 121, USDT, "USDT", 9, "confirmed", False)
    waiting = SweepCheck("s3", "inv-3", "", None, USDT, "USDT", 9, "pending", False)
    lines = reconcile([], [], [landed, lost, waiting])
    assert [line.outcome for line in lines] == [Outcome.SWEEP, Outcome.NOT_ON_CHAIN, Outcome.SWEEP]
    assert lines[0].reference == "sweep:s1"
    assert lines[0].on_chain == 9
    counts = tally(lines)
    assert (counts.sweeps, counts.not_on_chain, counts.has_mismatches) == (2, 1, True)


def test_lines_follow_the_chain_then_the_ledger_and_a_reference_counts_once() -> None:
    lines = reconcile([on_chain(2), on_chain(1), on_chain(1)], [credited(9), credited(1)])
    assert outcomes(lines) == [
        (Outcome.MATCHED, "inv-1"),
        (Outcome.NOT_CREDITED, "inv-2"),
        (Outcome.NOT_ON_CHAIN, "inv-9"),
    ]


def test_sweep_gas_funding_tops_up_only_what_is_missing() -> None:
    assert sweep_cost(60_000, 10, 0) == 600_000
    assert sweep_cost(60_000, 10, 100_000) == 500_000
    assert sweep_cost(60_000, 10, 10**18) == 0

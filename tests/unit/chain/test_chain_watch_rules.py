"""The chain service's pure rules: amounts, policies, EIP-681, flags, confirmations, reorgs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from agora.chain.domain import (
    BELOW_DUST,
    CONFIRMED_EVENT,
    DETECTED_EVENT,
    INVOICE_EXPIRED,
    MALFORMED,
    REORGED_EVENT,
    UNKNOWN_CONTRACT,
    UNKNOWN_INVOICE,
    WRONG_TOKEN,
    Deposit,
    Kind,
    KnownToken,
    Observed,
    Policy,
    Speed,
    Status,
    WatchedDeposits,
    common_ancestor,
    confirmations,
    eip681_uri,
    match_transfer,
    parse_base_units,
    progressed,
    read_range,
    reorged,
    require_above_dust,
    rewind_to,
    sighted,
    updated_policy,
)
from agora.platform.errors import InvalidArgument

USDT = KnownToken("USDT", "0x" + "a" * 40, 6, 10_000)
AGT = KnownToken("AGT", "0x" + "b" * 40, 18, 10**16)
TOKENS = {USDT.address: USDT, AGT.address: AGT}
T0 = datetime(2026, 12, 1, tzinfo=UTC)
DEPOSIT = Deposit("0b1c2d3e-0000-4000-8000-000000000001", "0x" + "d" * 40, USDT.address, T0, 3)
POLICY = Policy(1, 2, 6, 1000)


def observed(**changes: object) -> Observed:
    log = Observed(
        tx_hash="0x" + "1" * 64,
        log_index=0,
        block_number=10,
        block_hash="0x" + "2" * 64,
        block_time=T0 - timedelta(minutes=1),
        kind=Kind.DEPOSIT,
        token=USDT.address,
        from_address="0x" + "f" * 40,
        to_address=DEPOSIT.address,
        amount=2_500_000,
    )
    return replace(log, **changes)  # type: ignore[arg-type]


def test_amounts_are_positive_uint256_integers() -> None:
    assert parse_base_units("1", "a") == 1
    assert parse_base_units(str(2**256 - 1), "a") == 2**256 - 1
    for bad in ("", "0", "-1", "1.5", "1e3", "٣", str(2**256), "9" * 79):
        with pytest.raises(InvalidArgument):
            parse_base_units(bad, "a")


def test_the_dust_limit_refuses_smaller_amounts() -> None:
    require_above_dust(10_000, 10_000, "USDT", "a")
    with pytest.raises(InvalidArgument):
        require_above_dust(9_999, 10_000, "USDT", "a")


def test_speed_picks_the_policys_confirmations_and_unspecified_is_medium() -> None:
    assert [POLICY.confirmations(s) for s in Speed] == [2, 1, 2, 6]


def test_a_policy_update_keeps_zeros_and_refuses_an_inverted_order() -> None:
    assert updated_policy(POLICY, low=0, medium=3, high=0, block_time_ms=0) == Policy(1, 3, 6, 1000)
    with pytest.raises(InvalidArgument):
        updated_policy(POLICY, low=7, medium=0, high=0, block_time_ms=0)


def test_the_eip681_uri_names_token_chain_recipient_and_amount() -> None:
    assert eip681_uri("0xT", 137, "0xD", 5) == "ethereum:0xT@137/transfer?address=0xD&uint256=5"


def test_a_matching_transfer_has_no_flags_and_the_invoices_confirmations() -> None:
    matched = match_transfer(observed(), tokens=TOKENS, deposit=DEPOSIT, default_required=2)
    assert (matched.invoice_id, matched.symbol, matched.flags) == (DEPOSIT.invoice_id, "USDT", ())
    assert matched.confirmations_required == 3


@pytest.mark.parametrize(
    ("log", "deposit", "flags"),
    [
        (observed(token=AGT.address, amount=10**18), DEPOSIT, (WRONG_TOKEN,)),
        (observed(amount=9_999), DEPOSIT, (BELOW_DUST,)),
        (observed(block_time=T0 + timedelta(seconds=1)), DEPOSIT, (INVOICE_EXPIRED,)),
        (observed(token="0x" + "c" * 40), DEPOSIT, (UNKNOWN_CONTRACT,)),
        (observed(), None, (UNKNOWN_INVOICE,)),
        (observed(kind=Kind.ROUTER, token="0x" + "c" * 40), DEPOSIT, (WRONG_TOKEN,)),
        (observed(malformed=True, amount=0), DEPOSIT, (MALFORMED, BELOW_DUST)),
    ],
)
def test_what_must_not_be_credited_is_flagged(
    log: Observed, deposit: Deposit | None, flags: tuple[str, ...]
) -> None:
    matched = match_transfer(log, tokens=TOKENS, deposit=deposit, default_required=2)
    assert matched.flags == flags
    if deposit is None:
        assert matched.confirmations_required == 2
        assert matched.invoice_id is None


def test_a_payment_on_the_expiry_instant_is_not_late() -> None:
    matched = match_transfer(
        observed(block_time=T0), tokens=TOKENS, deposit=DEPOSIT, default_required=2
    )
    assert matched.flags == ()


def test_confirmations_count_the_block_itself() -> None:
    assert confirmations(10, 10) == 1
    assert confirmations(15, 10) == 6
    assert confirmations(9, 10) == 0


def test_a_new_transfer_is_detected_then_confirmed_as_the_head_advances() -> None:
    log = observed()
    matched = match_transfer(log, tokens=TOKENS, deposit=DEPOSIT, default_required=2)
    first = sighted(1, log, matched, head=10, previous=None)
    assert first is not None
    assert first.events == (DETECTED_EVENT,)
    assert (first.record.status, first.record.confirmations) == (Status.DETECTED, 1)
    assert progressed(first.record, 10) is None  # same head: nothing
    second = progressed(first.record, 11)
    assert second is not None
    assert second.events == ()
    assert second.record.confirmations == 2
    third = progressed(second.record, 12)
    assert third is not None
    assert third.events == (CONFIRMED_EVENT,)
    assert third.record.status is Status.CONFIRMED
    assert progressed(third.record, 20) is None  # confirmed once
    assert sighted(1, log, matched, head=13, previous=Status.CONFIRMED) is None


def test_a_transfer_already_deep_enough_is_announced_once_as_confirmed() -> None:
    log = observed()
    matched = match_transfer(log, tokens=TOKENS, deposit=DEPOSIT, default_required=2)
    seen = sighted(1, log, matched, head=12, previous=None)
    assert seen is not None
    assert seen.events == (CONFIRMED_EVENT,)
    assert (seen.record.status, seen.record.confirmations) == (Status.CONFIRMED, 3)


def test_a_flagged_transfer_is_never_confirmed() -> None:
    log = observed(amount=1)
    matched = match_transfer(log, tokens=TOKENS, deposit=DEPOSIT, default_required=2)
    seen = sighted(1, log, matched, head=100, previous=None)
    assert seen is not None
    assert seen.events == (DETECTED_EVENT,)
    later = progressed(seen.record, 200)
    assert later is not None
    assert later.events == ()
    assert later.record.status is Status.DETECTED


def test_a_reorged_transfer_is_withdrawn_once_and_detected_again_when_it_reappears() -> None:
    log = observed()
    matched = match_transfer(log, tokens=TOKENS, deposit=DEPOSIT, default_required=1)
    seen = sighted(1, log, matched, head=12, previous=None)
    assert seen is not None
    assert seen.record.status is Status.CONFIRMED
    dropped = reorged(seen.record)
    assert dropped is not None
    assert dropped.events == (REORGED_EVENT,)
    assert dropped.record.status is Status.REORGED
    assert reorged(dropped.record) is None
    assert progressed(dropped.record, 50) is None
    back = sighted(1, replace(log, block_number=11), matched, head=13, previous=Status.REORGED)
    assert back is not None
    assert back.events == (CONFIRMED_EVENT,)


def test_the_common_ancestor_is_the_highest_stored_block_still_canonical() -> None:
    stored = {5: "a5", 8: "a8", 9: "a9", 10: "a10"}
    assert common_ancestor(stored, {10: "a10", 9: "a9", 8: "a8", 5: "a5"}) == 10
    assert common_ancestor(stored, {10: "b10", 9: "b9", 8: "a8", 5: "a5"}) == 8
    assert common_ancestor(stored, {10: None, 9: "b9", 8: "b8", 5: "a5"}) == 5
    assert common_ancestor(stored, {10: "b", 9: "b", 8: "b", 5: "b"}) is None


def test_a_reorg_deeper_than_the_window_rewinds_before_the_oldest_block_kept() -> None:
    assert rewind_to(8, [5, 8, 9], start_block=0) == 8
    assert rewind_to(None, [5, 8, 9], start_block=0) == 4
    assert rewind_to(None, [], start_block=3) == 2
    assert rewind_to(None, [1], start_block=3) == 2


def test_ranges_are_bounded_and_end_at_the_head() -> None:
    assert read_range(10, 10, 500) is None
    assert read_range(10, 9, 500) is None
    assert read_range(-1, 3, 500) == (0, 3)
    assert read_range(0, 10_000, 500) == (1, 500)


def _deposit(n: int, expires_at: datetime | None) -> Deposit:
    return Deposit(f"0b1c2d3e-0000-4000-8000-{n:012d}", f"0x{n:040x}", USDT.address, expires_at, 1)


def test_the_watched_set_adds_deposits_once_and_keeps_the_horizon_of_its_last_read() -> None:
    watched = WatchedDeposits(timedelta(days=7))
    assert (len(watched), watched.horizon) == (0, None)
    first, second = _deposit(1, T0), _deposit(2, None)
    watched.add([first, second], horizon=100)
    watched.add([second], horizon=120)  # read again: its transaction was above the horizon
    assert (len(watched), watched.horizon) == (2, 120)
    assert set(watched.addresses()) == {first.address, second.address}
    assert watched.of_address(first.address) == first
    assert watched.of_invoice(second.invoice_id) == second
    assert watched.of_address("0x" + "e" * 40) is None
    assert watched.of_invoice("0b1c2d3e-0000-4000-8000-999999999999") is None


def test_a_deposit_is_watched_until_the_late_window_after_its_expiry_and_one_without_forever() -> (
    None
):
    watched = WatchedDeposits(timedelta(days=7))
    early, late, endless = _deposit(1, T0), _deposit(2, T0 + timedelta(days=1)), _deposit(3, None)
    watched.add([late, endless, early], horizon=1)
    watched.forget_expired(T0 + timedelta(days=7) - timedelta(seconds=1))
    assert len(watched) == 3
    watched.forget_expired(T0 + timedelta(days=7))  # expired exactly the late window ago
    assert set(watched.addresses()) == {late.address, endless.address}
    assert watched.of_invoice(early.invoice_id) is None
    watched.forget_expired(T0 + timedelta(days=365))
    assert set(watched.addresses()) == {endless.address}

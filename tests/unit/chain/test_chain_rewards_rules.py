"""The loyalty rules: reward computation and its bounds, wallet challenges, mint settlement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agora.chain.loyalty import (
    ADDRESS_MISMATCH,
    CHALLENGE_NOT_YOURS,
    CHALLENGE_UNKNOWN,
    NONCE_USED,
    ONE_AGT,
    SIGNATURE_MISMATCH,
    ChainView,
    Challenge,
    ChallengeExpired,
    ChallengePolicy,
    MintStep,
    RewardRule,
    RewardStatus,
    WalletProofRefused,
    check_challenge,
    check_signer,
    ensure_claimable,
    ensure_may_open_challenge,
    open_challenge,
    order_reward,
    reward_totals,
    settle_mint,
    siwe_message,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument, ResourceExhausted
from agora.platform.kernel.money import MAX_AMOUNT_MINOR, Money

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CUSTOMER = "7a1e0f0e-5b1c-4c1a-9a55-1f0000000001"
ADDRESS = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
UNCAPPED = 10**40


def rule(bp: int = 100, price: int = 100, cap: int = UNCAPPED) -> RewardRule:
    return RewardRule(bp=bp, agt_price_minor={"EUR": price, "JPY": price}, max_per_order=cap)


def test_one_percent_of_100_eur_at_1_eur_per_agt_is_one_agt() -> None:
    assert order_reward(Money(10_000, "EUR"), rule()) == Money(ONE_AGT, "AGT")


def test_rewards_round_down_to_base_units() -> None:
    # 1 cent * 1 bp at 3 cents per AGT: 10^18 / 30_000 = 33_333_333_333_333.33…
    assert order_reward(Money(1, "EUR"), rule(bp=1, price=3)) == Money(33_333_333_333_333, "AGT")


def test_zero_total_or_zero_rate_earns_zero() -> None:
    assert order_reward(Money(0, "EUR"), rule()) == Money(0, "AGT")
    assert order_reward(Money(10_000, "EUR"), rule(bp=0)) == Money(0, "AGT")


def test_a_currency_without_an_agt_price_earns_nothing() -> None:
    assert order_reward(Money(10_000, "USD"), rule()) is None


def test_the_largest_order_at_the_full_rate_is_exact_and_capped() -> None:
    exact = order_reward(Money(MAX_AMOUNT_MINOR, "EUR"), rule(bp=10_000, price=1))
    assert exact == Money(MAX_AMOUNT_MINOR * ONE_AGT, "AGT")
    capped = order_reward(Money(MAX_AMOUNT_MINOR, "EUR"), rule(bp=10_000, price=1, cap=5))
    assert capped == Money(5, "AGT")


def test_an_order_total_out_of_range_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        order_reward(Money(MAX_AMOUNT_MINOR + 1, "EUR"), rule())
    with pytest.raises(InvalidArgument):
        order_reward(Money(-1, "EUR"), rule())


@pytest.mark.parametrize(
    ("bp", "prices", "cap"),
    [
        (-1, {"EUR": 100}, 1),
        (10_001, {"EUR": 100}, 1),
        (100, {"EUR": 0}, 1),
        (100, {"EUR": MAX_AMOUNT_MINOR + 1}, 1),
        (100, {"XXX": 100}, 1),
        (100, {"USDT": 100}, 1),
        (100, {"EUR": 100}, -1),
        (100, {"EUR": 100}, 2**256),
    ],
)
def test_a_rule_out_of_bounds_is_refused(bp: int, prices: dict[str, int], cap: int) -> None:
    with pytest.raises((ValueError, InvalidArgument)):
        RewardRule(bp=bp, agt_price_minor=prices, max_per_order=cap)


def test_totals_split_minted_from_everything_else() -> None:
    totals = reward_totals(
        {RewardStatus.MINTED: 5, RewardStatus.ACCRUED: 3, RewardStatus.MINTING: 2}
    )
    assert (totals.minted, totals.accrued) == (5, 5)


# --- challenges ------------------------------------------------------------------------------

POLICY = ChallengePolicy(domain="shop.example", uri="https://shop.example", chain_id=31337)


def challenge(**changes: object) -> Challenge:
    base = open_challenge(
        challenge_id="c1", customer_id=CUSTOMER, address=ADDRESS, policy=POLICY, now=NOW
    )
    return Challenge(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_the_message_is_eip_4361_text() -> None:
    text = siwe_message(challenge(), checksum_address="0xABC", nonce="n0nce1234")
    assert text.splitlines() == [
        "shop.example wants you to sign in with your Ethereum account:",
        "0xABC",
        "",
        "Register this address to receive the shop's loyalty rewards (AGT).",
        "",
        "URI: https://shop.example",
        "Version: 1",
        "Chain ID: 31337",
        "Nonce: n0nce1234",
        "Issued At: 2026-12-02T12:00:00Z",
        "Expiration Time: 2026-12-02T12:10:00Z",
    ]


def test_a_fresh_challenge_of_the_caller_for_the_address_passes() -> None:
    found = check_challenge(challenge(), customer_id=CUSTOMER, address=ADDRESS, now=NOW)
    assert found.id == "c1"


@pytest.mark.parametrize(
    ("found", "customer", "address", "reason"),
    [
        (None, CUSTOMER, ADDRESS, CHALLENGE_UNKNOWN),
        (challenge(), "someone-else", ADDRESS, CHALLENGE_NOT_YOURS),
        (challenge(), CUSTOMER, "0x" + "1" * 40, ADDRESS_MISMATCH),
        (challenge(used_at=NOW), CUSTOMER, ADDRESS, NONCE_USED),
    ],
)
def test_a_registration_is_refused_with_its_reason(
    found: Challenge | None, customer: str, address: str, reason: str
) -> None:
    with pytest.raises(WalletProofRefused) as refused:
        check_challenge(found, customer_id=customer, address=address, now=NOW)
    assert refused.value.reason == reason


def test_an_expired_challenge_is_refused() -> None:
    with pytest.raises(ChallengeExpired):
        check_challenge(
            challenge(), customer_id=CUSTOMER, address=ADDRESS, now=NOW + timedelta(minutes=10)
        )


def test_another_signer_is_refused() -> None:
    check_signer(ADDRESS.upper().replace("0X", "0x"), ADDRESS)
    with pytest.raises(WalletProofRefused) as refused:
        check_signer("0x" + "2" * 40, ADDRESS)
    assert refused.value.reason == SIGNATURE_MISMATCH


def test_open_challenges_are_bounded_per_customer() -> None:
    ensure_may_open_challenge([NOW] * 4, POLICY, NOW)
    with pytest.raises(ResourceExhausted):
        ensure_may_open_challenge([NOW] * 5, POLICY, NOW)


def test_claiming_needs_a_wallet() -> None:
    assert ensure_claimable(ADDRESS) == ADDRESS
    with pytest.raises(FailedPrecondition):
        ensure_claimable(None)


# --- mint settlement -------------------------------------------------------------------------


def view(
    status: int | None = None,
    block: int | None = None,
    head: int = 10,
    known: bool = False,
    account_nonce: int = 3,
) -> ChainView:
    return ChainView(status, block, head, known, account_nonce)


@pytest.mark.parametrize(
    ("seen", "attempts", "confirmations", "step"),
    [
        (view(1, 10, known=True), 1, 1, MintStep.MINTED),
        (view(1, 10, known=True), 1, 2, MintStep.WAIT),
        (view(1, 9, known=True), 1, 2, MintStep.MINTED),
        (view(0, 10, known=True), 1, 1, MintStep.RETRY),
        (view(0, 10, known=True), 5, 1, MintStep.GIVE_UP),
        (view(known=True), 1, 1, MintStep.WAIT),
        (view(account_nonce=3), 1, 1, MintStep.REBROADCAST),
        (view(account_nonce=4), 1, 1, MintStep.RESIGN),
    ],
)
def test_a_sent_mint_moves_on_from_what_the_chain_says(
    seen: ChainView, attempts: int, confirmations: int, step: MintStep
) -> None:
    decided = settle_mint(
        seen, nonce=3, attempts=attempts, max_attempts=5, confirmations=confirmations
    )
    assert decided is step

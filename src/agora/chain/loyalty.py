"""Loyalty rewards and wallet registration: the rules, pure (standard library, kernel, errors).

A paid order of a signed-in customer earns `reward_bp` basis points of its total, converted to
the shop token (AGT) at a configured price per currency (minor units of the currency per whole
AGT), rounded down to AGT base units and capped per order. A guest order earns nothing.

A customer proves they hold an address by signing a challenge (EIP-4361 "Sign-In with
Ethereum" text, EIP-191 personal_sign): single-use, short-lived, a few open at a time.

A reward is minted once: the mint is recorded as an intent (pending), then signed with a fixed
nonce and stored (sent) before it is broadcast; what the chain then says about that exact
transaction decides the next step (`settle_mint`), so a crash or a node outage at any point
repeats the same transaction rather than minting again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from agora.platform.errors import (
    FailedPrecondition,
    Gone,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
)
from agora.platform.kernel.money import MAX_AMOUNT_MINOR, MAX_TOKEN_AMOUNT, Money, fiat_currency

AGT = "AGT"
AGT_DECIMALS = 18
ONE_AGT = 10**AGT_DECIMALS
BASIS_POINTS = 10_000

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
NONCE = re.compile(r"^[0-9a-zA-Z]{8,64}$")
STATEMENT = "Register this address to receive the shop's loyalty rewards (AGT)."


# --- reward computation ----------------------------------------------------------------------


@dataclass(frozen=True)
class RewardRule:
    """`bp` basis points of an order's total, at `agt_price_minor[currency]` minor units of the
    currency per whole AGT, at most `max_per_order` AGT base units."""

    bp: int
    agt_price_minor: Mapping[str, int]
    max_per_order: int

    def __post_init__(self) -> None:
        if not 0 <= self.bp <= BASIS_POINTS:
            raise ValueError(f"reward basis points must be 0..{BASIS_POINTS}, got {self.bp}")
        for code, price in self.agt_price_minor.items():
            fiat_currency(code, "reward_agt_prices")
            if not 0 < price <= MAX_AMOUNT_MINOR:
                raise ValueError(f"AGT price in {code} must be 1..{MAX_AMOUNT_MINOR}, got {price}")
        if not 0 <= self.max_per_order <= MAX_TOKEN_AMOUNT:
            raise ValueError("max reward per order out of range")


def order_reward(total: Money, rule: RewardRule) -> Money | None:
    """The AGT an order of `total` earns (floor, capped); None when `total`'s currency has no
    AGT price (nothing can be earned in it)."""
    price = rule.agt_price_minor.get(total.currency)
    if price is None:
        return None
    if not 0 <= total.amount_minor <= MAX_AMOUNT_MINOR:
        raise InvalidArgument(f"order total out of range: {total.amount_minor}")
    base_units = total.amount_minor * rule.bp * ONE_AGT // (BASIS_POINTS * price)
    return Money(min(base_units, rule.max_per_order), AGT)


class RewardStatus(StrEnum):
    ACCRUED = "accrued"  # waiting for a wallet, or for a claim
    MINTING = "minting"  # in a mint not yet final
    MINTED = "minted"


def granted_status(has_wallet: bool) -> RewardStatus:
    """A new reward is minted at once to a registered wallet, else accrues."""
    return RewardStatus.MINTING if has_wallet else RewardStatus.ACCRUED


# --- wallet challenges -----------------------------------------------------------------------


@dataclass(frozen=True)
class ChallengePolicy:
    """Who signs what: the shop's domain and URI in the message, the chain, how long a
    challenge lives and how many a customer may hold open."""

    domain: str
    uri: str
    chain_id: int
    ttl: timedelta = timedelta(minutes=10)
    open_limit: int = 5


@dataclass(frozen=True)
class Challenge:
    """A challenge as stored (the nonce itself is not: only its digest)."""

    id: str
    customer_id: str
    address: str
    domain: str
    uri: str
    chain_id: int
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class WalletProofRefused(PermissionDenied):
    """A registration whose proof does not hold; `reason` says why (machine-readable)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ChallengeExpired(Gone):
    reason = "CHALLENGE_EXPIRED"


CHALLENGE_UNKNOWN = "CHALLENGE_UNKNOWN"
NONCE_USED = "NONCE_USED"
CHALLENGE_NOT_YOURS = "CHALLENGE_NOT_YOURS"
ADDRESS_MISMATCH = "ADDRESS_MISMATCH"
SIGNATURE_MISMATCH = "SIGNATURE_MISMATCH"
SIGNATURE_MALFORMED = "SIGNATURE_MALFORMED"
TOO_MANY_CHALLENGES = "TOO_MANY_CHALLENGES"
NO_WALLET = "NO_WALLET"


def require_address(value: str, path: str = "address") -> str:
    """A 0x-hex 20-byte address, lower-cased (INVALID_ARGUMENT naming `path` otherwise)."""
    if not ADDRESS.fullmatch(value):
        raise InvalidArgument.for_field(path, "must be 0x followed by 40 hex digits")
    return value.lower()


def require_nonce(value: str) -> str:
    if not NONCE.fullmatch(value):
        raise InvalidArgument.for_field("nonce", "must be 8 to 64 letters or digits")
    return value


def ensure_may_open_challenge(
    open_expiries: list[datetime], policy: ChallengePolicy, now: datetime
) -> None:
    """RESOURCE_EXHAUSTED when the customer already holds `open_limit` open challenges."""
    if len(open_expiries) >= policy.open_limit:
        refused = ResourceExhausted(
            f"at most {policy.open_limit} open wallet challenges: sign one or wait",
            retry_after_s=max((min(open_expiries) - now).total_seconds(), 1.0),
        )
        refused.reason = TOO_MANY_CHALLENGES
        raise refused


def open_challenge(
    *, challenge_id: str, customer_id: str, address: str, policy: ChallengePolicy, now: datetime
) -> Challenge:
    return Challenge(
        id=challenge_id,
        customer_id=customer_id,
        address=address.lower(),
        domain=policy.domain,
        uri=policy.uri,
        chain_id=policy.chain_id,
        issued_at=now,
        expires_at=now + policy.ttl,
    )


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def siwe_message(challenge: Challenge, *, checksum_address: str, nonce: str) -> str:
    """The EIP-4361 text the customer signs (`checksum_address`: the EIP-55 form, as required)."""
    return (
        f"{challenge.domain} wants you to sign in with your Ethereum account:\n"
        f"{checksum_address}\n\n"
        f"{STATEMENT}\n\n"
        f"URI: {challenge.uri}\n"
        "Version: 1\n"
        f"Chain ID: {challenge.chain_id}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {_rfc3339(challenge.issued_at)}\n"
        f"Expiration Time: {_rfc3339(challenge.expires_at)}"
    )


def check_challenge(
    challenge: Challenge | None, *, customer_id: str, address: str, now: datetime
) -> Challenge:
    """The challenge a registration answers, if it may: known, the caller's, for this address,
    never used, not expired (refused with a reason otherwise)."""
    if challenge is None:
        raise WalletProofRefused(CHALLENGE_UNKNOWN, "no such wallet challenge: create one")
    if challenge.customer_id != customer_id:
        raise WalletProofRefused(CHALLENGE_NOT_YOURS, "this challenge was made for someone else")
    if challenge.address != address.lower():
        raise WalletProofRefused(ADDRESS_MISMATCH, "the challenge names another address")
    if challenge.used_at is not None:
        raise WalletProofRefused(NONCE_USED, "this challenge was already used: create another")
    if now >= challenge.expires_at:
        raise ChallengeExpired("the wallet challenge expired: create another")
    return challenge


def check_signer(recovered: str, address: str) -> None:
    """The signature must be `address`'s."""
    if recovered.lower() != address.lower():
        raise WalletProofRefused(SIGNATURE_MISMATCH, "the signature is not the address's")


def ensure_claimable(wallet_address: str | None) -> str:
    if not wallet_address:
        refused = FailedPrecondition("register a wallet before claiming rewards")
        refused.reason = NO_WALLET
        raise refused
    return wallet_address


# --- minting ---------------------------------------------------------------------------------


class MintStatus(StrEnum):
    PENDING = "pending"  # recorded, not signed yet (or to be signed again)
    SENT = "sent"  # signed with a nonce and stored; broadcast at least once, or about to be
    MINTED = "minted"
    FAILED = "failed"  # gave up after max attempts; its rewards accrue again


@dataclass(frozen=True)
class ChainView:
    """What the node says about a sent mint's transaction."""

    receipt_status: int | None  # None: no receipt (not mined, or not on the canonical chain)
    receipt_block: int | None
    head_block: int
    known_to_node: bool  # the node has the transaction (in its pool or a block)
    account_nonce: int  # the operator's mined transaction count


class MintStep(StrEnum):
    WAIT = "wait"  # in the pool, or mined with too few confirmations
    MINTED = "minted"
    REBROADCAST = "rebroadcast"  # the node lost it: the same signed transaction again
    RESIGN = "resign"  # its nonce went to another transaction: sign anew (nothing was minted)
    RETRY = "retry"  # reverted: try again later with a new nonce
    GIVE_UP = "give_up"  # reverted too often: recorded as failed, rewards accrue again


def settle_mint(
    view: ChainView, *, nonce: int, attempts: int, max_attempts: int, confirmations: int
) -> MintStep:
    """The next step of a sent mint, from what the chain says about its transaction."""
    if view.receipt_status is not None and view.receipt_block is not None:
        if view.head_block - view.receipt_block + 1 < confirmations:
            return MintStep.WAIT
        if view.receipt_status == 1:
            return MintStep.MINTED
        return MintStep.RETRY if attempts < max_attempts else MintStep.GIVE_UP
    if view.known_to_node:
        return MintStep.WAIT
    if view.account_nonce > nonce:
        return MintStep.RESIGN
    return MintStep.REBROADCAST


def retry_delay(attempts: int) -> timedelta:
    """Back off a reverted mint: 10 s, 20 s, 40 s, … at most 10 minutes."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 600))


@dataclass(frozen=True)
class Mint:
    """One mint of AGT to a customer's wallet: a reward's, or a claim's accrued total."""

    id: str
    customer_id: str
    address: str
    amount: int
    status: MintStatus
    attempts: int = 0
    operator: str | None = None
    nonce: int | None = None
    tx_hash: str | None = None
    raw_tx: bytes | None = None
    block_number: int | None = None
    failure: str = ""


@dataclass(frozen=True)
class Reward:
    order_id: str
    customer_id: str
    amount: int
    status: RewardStatus
    created_at: datetime
    tx_hash: str = ""


@dataclass(frozen=True)
class RewardTotals:
    minted: int
    accrued: int  # not minted yet: waiting for a wallet or a claim, or being minted


def reward_totals(sums: Mapping[RewardStatus, int]) -> RewardTotals:
    """Totals from the sums of a customer's rewards per status."""
    minted = sums.get(RewardStatus.MINTED, 0)
    return RewardTotals(minted=minted, accrued=sum(sums.values()) - minted)

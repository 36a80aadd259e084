"""The chain service's rules. Pure: the standard library, `agora.platform.kernel` and
`agora.platform.errors` only (the import contract forbids grpc, sqlalchemy, asyncpg, nats and the
generated protos, even indirectly).
"""

from __future__ import annotations

import enum
import heapq
import uuid
from collections.abc import Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agora.platform.errors import InvalidArgument
from agora.platform.kernel.checks import require_id


def router_invoice_id(invoice_id: str) -> bytes:
    """The invoice id as PaymentRouter's `bytes32 invoice_id`: the UUID's 16 bytes, left-padded
    with zeros (as a number, the UUID's integer)."""
    return uuid.UUID(require_id(invoice_id, "invoice_id")).bytes.rjust(32, b"\x00")


def invoice_id_of(router_id: bytes) -> str | None:
    """The invoice id a router payment names, or None when the bytes32 is not one of ours."""
    if len(router_id) != 32 or any(router_id[:16]):
        return None
    return str(uuid.UUID(bytes=router_id[16:]))


def transfer_reference(chain_id: int, tx_hash: str, log_index: int) -> str:
    """A transfer's identity, and payments' reference of the payment it makes."""
    return f"{chain_id}:{tx_hash.lower()}:{log_index}"


# --- networks, tokens, payment options -------------------------------------------------------

MAX_UINT256 = 2**256 - 1
MAX_AMOUNT_DIGITS = 78


class Speed(enum.IntEnum):
    """How many confirmations a payment needs (the values of chain.v1.Speed)."""

    UNSPECIFIED = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


@dataclass(frozen=True, slots=True)
class Policy:
    """A network's confirmations per speed, and its block time."""

    low: int
    medium: int
    high: int
    block_time_ms: int

    def confirmations(self, speed: Speed) -> int:
        match speed:
            case Speed.LOW:
                return self.low
            case Speed.HIGH:
                return self.high
            case _:
                return self.medium


def updated_policy(
    current: Policy, *, low: int, medium: int, high: int, block_time_ms: int
) -> Policy:
    """`current` with the non-zero values given; confirmations must stay low <= medium <= high."""
    after = Policy(
        low=low or current.low,
        medium=medium or current.medium,
        high=high or current.high,
        block_time_ms=block_time_ms or current.block_time_ms,
    )
    if not after.low <= after.medium <= after.high:
        raise InvalidArgument.for_field(
            "confirmationsMedium", "confirmations must satisfy low <= medium <= high"
        )
    return after


def parse_base_units(text: str, path: str) -> int:
    """A token amount in base units: decimal digits, 1 .. 2**256-1."""
    if not text or len(text) > MAX_AMOUNT_DIGITS or not text.isascii() or not text.isdigit():
        raise InvalidArgument.for_field(path, "a positive integer in the token's base units")
    value = int(text)
    if not 0 < value <= MAX_UINT256:
        raise InvalidArgument.for_field(path, "between 1 and 2**256-1 base units")
    return value


def require_above_dust(amount: int, dust_limit: int, symbol: str, path: str) -> None:
    if amount < dust_limit:
        raise InvalidArgument.for_field(
            path, f"below the dust limit of {dust_limit} {symbol} base units"
        )


def eip681_uri(token: str, chain_id: int, deposit: str, amount: int) -> str:
    """EIP-681: an ERC-20 `transfer(deposit, amount)` on `token` of chain `chain_id`."""
    return f"ethereum:{token}@{chain_id}/transfer?address={deposit}&uint256={amount}"


# --- transfers: flags, confirmations, reorgs --------------------------------------------------

WRONG_TOKEN = "WRONG_TOKEN"
WRONG_CHAIN = "WRONG_CHAIN"
BELOW_DUST = "BELOW_DUST"
INVOICE_EXPIRED = "INVOICE_EXPIRED"
UNKNOWN_CONTRACT = "UNKNOWN_CONTRACT"
UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
MALFORMED = "MALFORMED"


class Kind(enum.IntEnum):
    """The values of chain.v1.TransferKind."""

    DEPOSIT = 1
    ROUTER = 2


class Status(enum.IntEnum):
    """The values of chain.v1.TransferStatus."""

    DETECTED = 1
    CONFIRMED = 2
    REORGED = 3


@dataclass(frozen=True, slots=True)
class KnownToken:
    symbol: str
    address: str  # lowercase 0x-hex
    decimals: int
    dust_limit: int


@dataclass(frozen=True, slots=True)
class Deposit:
    """What a payment of an invoice must match."""

    invoice_id: str
    address: str  # lowercase
    token: str  # lowercase token address
    expires_at: datetime | None
    confirmations_required: int


@dataclass
class WatchedDeposits:
    """The deposits whose addresses the watcher follows, kept in memory between passes: read
    in full once, then only those written by transactions at or above `horizon` (the database's
    oldest transaction still running at the previous read: anything older had committed, and
    was read, or rolled back); forgotten `late_window` after their invoice expired (late
    payments are still recorded until then). Deposits never change once created."""

    late_window: timedelta
    horizon: int | None = None  # None: nothing read yet
    _by_address: dict[str, Deposit] = field(default_factory=dict)
    _by_invoice: dict[str, Deposit] = field(default_factory=dict)
    _expiries: list[tuple[datetime, str]] = field(default_factory=list)  # a heap

    def __len__(self) -> int:
        return len(self._by_address)

    def add(self, deposits: Iterable[Deposit], horizon: int) -> None:
        """Watch `deposits` (those already watched are skipped) read at `horizon`."""
        for deposit in deposits:
            if deposit.invoice_id in self._by_invoice:
                continue
            self._by_address[deposit.address] = deposit
            self._by_invoice[deposit.invoice_id] = deposit
            if deposit.expires_at is not None:
                heapq.heappush(self._expiries, (deposit.expires_at, deposit.invoice_id))
        self.horizon = horizon

    def forget_expired(self, now: datetime) -> None:
        """Stop watching the deposits whose invoice expired `late_window` before `now`."""
        cutoff = now - self.late_window
        while self._expiries and self._expiries[0][0] <= cutoff:
            _, invoice_id = heapq.heappop(self._expiries)
            deposit = self._by_invoice.pop(invoice_id, None)
            if deposit is not None:
                self._by_address.pop(deposit.address, None)

    def addresses(self) -> KeysView[str]:
        return self._by_address.keys()

    def of_address(self, address: str) -> Deposit | None:
        return self._by_address.get(address)

    def of_invoice(self, invoice_id: str) -> Deposit | None:
        return self._by_invoice.get(invoice_id)


@dataclass(frozen=True, slots=True)
class Observed:
    """A log as read from the chain (addresses lowercase 0x-hex)."""

    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    block_time: datetime
    kind: Kind
    token: str
    from_address: str
    to_address: str
    amount: int
    router_invoice: bytes | None = None  # InvoicePaid's bytes32
    malformed: bool = False


@dataclass(frozen=True, slots=True)
class Matched:
    """What the watcher decided about an observed log."""

    invoice_id: str | None
    symbol: str
    flags: tuple[str, ...]
    confirmations_required: int


def match_transfer(
    log: Observed,
    *,
    tokens: Mapping[str, KnownToken],
    deposit: Deposit | None,
    default_required: int,
) -> Matched:
    """The invoice `log` pays and the reasons it must not be credited (no flags: it may be).
    `deposit` is the invoice the log names (by deposit address or router invoice id)."""
    flags: list[str] = []
    known = tokens.get(log.token)
    if log.malformed:
        flags.append(MALFORMED)
    if known is None:
        flags.append(UNKNOWN_CONTRACT if log.kind is Kind.DEPOSIT else WRONG_TOKEN)
    if deposit is None:
        flags.append(UNKNOWN_INVOICE)
    else:
        if known is not None and deposit.token != log.token:
            flags.append(WRONG_TOKEN)
        if deposit.expires_at is not None and log.block_time > deposit.expires_at:
            flags.append(INVOICE_EXPIRED)
    if known is not None and log.amount < known.dust_limit:
        flags.append(BELOW_DUST)
    return Matched(
        invoice_id=deposit.invoice_id if deposit else None,
        symbol=known.symbol if known else "",
        flags=tuple(dict.fromkeys(flags)),
        confirmations_required=deposit.confirmations_required if deposit else default_required,
    )


def confirmations(head: int, block_number: int) -> int:
    """Confirmations of a block at `head`: the block itself counts as one."""
    return max(0, head - block_number + 1)


def is_confirmed(flags: Sequence[str], confirmations_now: int, required: int) -> bool:
    """A transfer is confirmed (creditable) with no flags and its required confirmations."""
    return not flags and confirmations_now >= required


def common_ancestor(stored: Mapping[int, str], canonical: Mapping[int, str | None]) -> int | None:
    """The highest stored block whose hash the node still has at that height, or None when no
    stored block is canonical any more (a reorg deeper than the kept window)."""
    for number in sorted(stored, reverse=True):
        if canonical.get(number) == stored[number]:
            return number
    return None


def rewind_to(ancestor: int | None, stored: Iterable[int], start_block: int) -> int:
    """The checkpoint after a reorg: the common ancestor, else the block before the oldest one
    kept (everything kept is re-read), never before the network's start."""
    if ancestor is not None:
        return ancestor
    oldest = min(stored, default=start_block)
    return max(start_block - 1, oldest - 1)


def read_range(checkpoint: int, head: int, max_range: int) -> tuple[int, int] | None:
    """The next block range to read (inclusive), at most `max_range` blocks; None: caught up."""
    if head <= checkpoint:
        return None
    return checkpoint + 1, min(head, checkpoint + max_range)


@dataclass(frozen=True, slots=True)
class Network:
    chain_id: int
    name: str
    rpc_url: str
    policy: Policy
    treasury_address: str
    router_address: str
    checkpoint_block: int
    head_block: int
    version: int


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """A transfer as recorded: the observed log, what it was matched to, its state."""

    chain_id: int
    log: Observed
    matched: Matched
    confirmations: int
    status: Status

    @property
    def reference(self) -> str:
        return transfer_reference(self.chain_id, self.log.tx_hash, self.log.log_index)

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.chain_id, self.log.tx_hash, self.log.log_index)


@dataclass(frozen=True, slots=True)
class Sighting:
    """A transfer after a pass of the watcher and the events it gives (subjects in order)."""

    record: TransferRecord
    events: tuple[str, ...]


DETECTED_EVENT = "detected"
CONFIRMED_EVENT = "confirmed"
REORGED_EVENT = "reorged"


def sighted(
    chain_id: int, log: Observed, matched: Matched, head: int, previous: Status | None
) -> Sighting | None:
    """A log read from the chain: new (or back after a reorg) -> detected, or confirmed at
    once when it already has its confirmations (one event: `confirmed` carries everything
    `detected` would, so a consumer handles the transfer once); already recorded and live ->
    nothing (None)."""
    if previous in (Status.DETECTED, Status.CONFIRMED):
        return None
    count = confirmations(head, log.block_number)
    done = is_confirmed(matched.flags, count, matched.confirmations_required)
    record = TransferRecord(
        chain_id, log, matched, count, Status.CONFIRMED if done else Status.DETECTED
    )
    return Sighting(record, (CONFIRMED_EVENT,) if done else (DETECTED_EVENT,))


def progressed(record: TransferRecord, head: int) -> Sighting | None:
    """A detected transfer at a new head: its confirmations counted, confirmed once it has
    the required ones and no flags (None: nothing changed)."""
    if record.status is not Status.DETECTED:
        return None
    count = confirmations(head, record.log.block_number)
    if count == record.confirmations:
        return None
    done = is_confirmed(record.matched.flags, count, record.matched.confirmations_required)
    after = TransferRecord(
        record.chain_id,
        record.log,
        record.matched,
        count,
        Status.CONFIRMED if done else Status.DETECTED,
    )
    return Sighting(after, (CONFIRMED_EVENT,) if done else ())


def reorged(record: TransferRecord) -> Sighting | None:
    """A transfer whose block left the canonical chain (None: already marked)."""
    if record.status is Status.REORGED:
        return None
    after = TransferRecord(record.chain_id, record.log, record.matched, 0, Status.REORGED)
    return Sighting(after, (REORGED_EVENT,))


# --- reconciliation: the canonical chain against payments' ledger ----------------------------


class Outcome(enum.IntEnum):
    """The values of chain.v1.ReconciliationOutcome."""

    MATCHED = 1
    NOT_CREDITED = 2
    NOT_ON_CHAIN = 3
    AMOUNT_MISMATCH = 4
    TOKEN_MISMATCH = 5
    SWEEP = 6


MISMATCHES = frozenset(
    {Outcome.NOT_CREDITED, Outcome.NOT_ON_CHAIN, Outcome.AMOUNT_MISMATCH, Outcome.TOKEN_MISMATCH}
)


@dataclass(frozen=True, slots=True)
class ChainPayment:
    """A canonical log naming one of the shop's invoices (re-read from the node)."""

    reference: str
    invoice_id: str
    tx_hash: str
    block_number: int
    token: str
    symbol: str  # "" when the contract is not a known token
    amount: int
    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LedgerPayment:
    """A line of payments' crypto ledger."""

    reference: str
    invoice_id: str
    symbol: str  # the invoice's pay currency
    amount: int
    credited: bool
    status: str  # credited | withdrawn | flagged


@dataclass(frozen=True, slots=True)
class SweepCheck:
    """A sweep recorded in the period and what the node says of its transaction."""

    sweep_id: str
    invoice_id: str
    tx_hash: str
    block_number: int | None
    token: str
    symbol: str
    amount: int
    status: str  # pending | confirmed | failed
    on_chain: bool  # its transaction has a successful receipt on the canonical chain


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a reconciliation report."""

    outcome: Outcome
    invoice_id: str
    reference: str
    tx_hash: str
    block_number: int | None
    token: str
    symbol: str
    on_chain: int | None
    credited: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Counts:
    matched: int = 0
    not_credited: int = 0
    not_on_chain: int = 0
    amount_mismatch: int = 0
    token_mismatch: int = 0
    sweeps: int = 0

    @property
    def has_mismatches(self) -> bool:
        return bool(
            self.not_credited or self.not_on_chain or self.amount_mismatch or self.token_mismatch
        )


def _chain_line(c: ChainPayment, outcome: Outcome, credited: int | None, detail: str) -> Line:
    return Line(
        outcome,
        c.invoice_id,
        c.reference,
        c.tx_hash,
        c.block_number,
        c.token,
        c.symbol,
        c.amount,
        credited,
        detail,
    )


def reconcile(
    chain: Sequence[ChainPayment],
    ledger: Sequence[LedgerPayment],
    sweeps: Sequence[SweepCheck] = (),
) -> list[Line]:
    """Compare the canonical chain with payments' ledger for one period, reference by
    reference (chain lines in chain order, then the ledger's references the chain lacks, then
    the sweeps). A clean transfer payments did not credit is NOT_CREDITED; a credited one the
    chain lacks NOT_ON_CHAIN; a credited one of another token or amount TOKEN_/AMOUNT_MISMATCH.
    A transfer the chain flagged that payments did not credit either is MATCHED (both refuse
    it); a withdrawn or flagged ledger line the chain lacks is consistent and not reported."""
    by_reference = {p.reference: p for p in ledger}
    lines: list[Line] = []
    seen: set[str] = set()
    for c in sorted(chain, key=lambda p: (p.block_number, p.reference)):
        if c.reference in seen:
            continue
        seen.add(c.reference)
        entry = by_reference.get(c.reference)
        if entry is None or not entry.credited:
            if c.flags:
                why = "not creditable: " + " ".join(c.flags)
                held = entry.status if entry is not None else "absent"
                lines.append(_chain_line(c, Outcome.MATCHED, None, f"{why}; payments: {held}"))
            else:
                held = "no payment of it" if entry is None else f"its payment {entry.status}"
                lines.append(_chain_line(c, Outcome.NOT_CREDITED, None, f"payments has {held}"))
        elif entry.symbol != c.symbol:
            detail = f"credited as {entry.symbol}, on chain {c.symbol or 'an unknown token'}"
            lines.append(_chain_line(c, Outcome.TOKEN_MISMATCH, entry.amount, detail))
        elif entry.amount != c.amount:
            detail = f"credited {entry.amount}, on chain {c.amount}"
            lines.append(_chain_line(c, Outcome.AMOUNT_MISMATCH, entry.amount, detail))
        else:
            detail = "flags: " + " ".join(c.flags) if c.flags else ""
            lines.append(_chain_line(c, Outcome.MATCHED, entry.amount, detail))
    for entry in sorted(ledger, key=lambda p: p.reference):
        if entry.reference in seen or not entry.credited:
            continue
        seen.add(entry.reference)
        tx_hash = entry.reference.split(":")[1] if entry.reference.count(":") == 2 else ""
        lines.append(
            Line(
                Outcome.NOT_ON_CHAIN,
                entry.invoice_id,
                entry.reference,
                tx_hash,
                None,
                "",
                entry.symbol,
                None,
                entry.amount,
                "credited by payments, not on the canonical chain",
            )
        )
    for s in sweeps:
        recorded_done = s.status == "confirmed"
        outcome = Outcome.NOT_ON_CHAIN if recorded_done and not s.on_chain else Outcome.SWEEP
        detail = f"sweep {s.sweep_id} {s.status}"
        if outcome is Outcome.NOT_ON_CHAIN:
            detail += ", its transaction is not on the canonical chain"
        lines.append(
            Line(
                outcome,
                s.invoice_id,
                f"sweep:{s.sweep_id}",
                s.tx_hash,
                s.block_number,
                s.token,
                s.symbol,
                s.amount if s.on_chain else None,
                None,
                detail,
            )
        )
    return lines


def tally(lines: Iterable[Line]) -> Counts:
    counts = {outcome: 0 for outcome in Outcome}
    for line in lines:
        counts[line.outcome] += 1
    return Counts(
        matched=counts[Outcome.MATCHED],
        not_credited=counts[Outcome.NOT_CREDITED],
        not_on_chain=counts[Outcome.NOT_ON_CHAIN],
        amount_mismatch=counts[Outcome.AMOUNT_MISMATCH],
        token_mismatch=counts[Outcome.TOKEN_MISMATCH],
        sweeps=counts[Outcome.SWEEP],
    )


def sweep_cost(gas: int, max_fee_per_gas: int, eth_balance: int) -> int:
    """The wei a deposit address must receive before it can pay for its sweep (0: enough)."""
    return max(0, gas * max_fee_per_gas - eth_balance)

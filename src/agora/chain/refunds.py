"""Refunds of invoices paid on chain: the instruction recorded for each refund (`RefundInstructing`,
a consumer of payments' `payments.invoice.refunded`), and the staff RPCs (`RefundsRpc`, a mixin
of the chain servicer) that list instructions and record the transaction that paid one.

Nothing is sent automatically: the shop's keys stay cold. Staff pay the instruction (its
EIP-681 URI) from the shop's wallet and give the transaction hash; the service then reads the
transaction's receipt from the node and records it only when `refund_rules.check_refund_payment`
holds: one transaction pays one refund (a unique index), a refund is paid once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from web3 import AsyncWeb3

from agora._proto.agora.chain.v1 import chain_pb2 as pb
from agora._proto.agora.chain.v1 import events_pb2 as events
from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import events_pb2 as payments_events
from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora.chain import refund_store, store
from agora.chain.configuration import ChainConfig
from agora.chain.domain import KnownToken, eip681_uri
from agora.chain.events import PRODUCER, REFUND_INSTRUCTED, REFUND_SENT, record
from agora.chain.refund_rules import (
    ALREADY_SENT,
    TX_ALREADY_USED,
    InstructionStatus,
    Receipt,
    RefundPaymentRefused,
    check_refund_payment,
    parse_reference,
    refund_payer,
    token_transfers,
)
from agora.chain.translation import amount_pb, token_pb
from agora.platform.audit import record_audit
from agora.platform.bus.consumer import EventConsumer, live_only
from agora.platform.bus.envelope import decode
from agora.platform.db import session_factory
from agora.platform.errors import InvalidArgument, NotFound
from agora.platform.idempotency import idempotent_mutation
from agora.platform.kernel.checks import require_id
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.timestamps import optional_timestamp, timestamp

log = structlog.get_logger(__name__)

PAYMENTS_STREAM = "PAYMENTS"
INVOICE_REFUNDED = "payments.invoice.refunded"
REFUND_INSTRUCTING = "chain-refunds"
# payments' provider of on-chain invoices: only their refunds are paid back on chain.
CHAIN_PROVIDER = "chain"
_CREDITED = (ppb.PAYMENT_STATUS_CREDITED, ppb.PAYMENT_STATUS_UNSPECIFIED)
_STATUSES = {
    InstructionStatus.PENDING: pb.REFUND_INSTRUCTION_STATUS_PENDING,
    InstructionStatus.SENT: pb.REFUND_INSTRUCTION_STATUS_SENT,
}
_STATUS_OF_PB = {value: key for key, value in _STATUSES.items()}


def _checksum(address: str) -> str:
    return str(AsyncWeb3.to_checksum_address(address)) if address else ""


def instruction_pb(row: Any, token: KnownToken) -> pb.RefundInstruction:
    amount = int(row.amount)
    pay_to = _checksum(row.pay_to)
    token_address = _checksum(row.token_address)
    return pb.RefundInstruction(
        refund_id=row.refund_id,
        invoice_id=row.invoice_id,
        order_id=row.order_id,
        chain_id=row.chain_id,
        token=token_pb(row.chain_id, token),
        amount=amount_pb(amount, token.symbol, token.decimals),
        pay_to=pay_to,
        eip681_uri=eip681_uri(token_address, row.chain_id, pay_to, amount) if pay_to else "",
        status=_STATUSES[InstructionStatus(row.status)],
        reason=row.reason,
        tx_hash=row.tx_hash or "",
        block_number=row.block_number or 0,
        sent_from=_checksum(row.sent_from or ""),
        created_at=timestamp(row.created_at),
        sent_at=optional_timestamp(row.sent_at),
    )


def _known_token(config: ChainConfig, row: Any) -> KnownToken:
    for token in config.tokens:
        if token.address == row.token_address:
            return token
    # A token no longer configured: its symbol is kept, its decimals unknown.
    return KnownToken(row.symbol, row.token_address, 0, 0)


# --- recording instructions (the consumer of payments.invoice.refunded) ------------------------


async def instruct_refund(
    session: AsyncSession,
    refunded: payments_events.InvoiceRefunded,
    config: ChainConfig,
    now: datetime,
) -> bool:
    """Record the instruction of a refund of an invoice paid on chain, once per refund id, and
    announce it (chain.refund.instructed). False when there is nothing to record (another
    provider's invoice, an invoice of no deposit here, a refund already instructed)."""
    invoice, refund = refunded.invoice, refunded.refund
    if invoice.provider != CHAIN_PROVIDER:
        return False
    invoice_id = require_id(invoice.id, "invoice.id")
    refund_id = require_id(refund.id, "refund.id")
    deposit = await store.deposit_row(session, invoice_id)
    if deposit is None:
        log.warning("chain_refund_without_deposit", invoice_id=invoice_id, refund_id=refund_id)
        return False
    if deposit.symbol != invoice.pay_currency:
        raise ValueError(
            f"invoice {invoice_id} is paid in {invoice.pay_currency}, its deposit in "
            f"{deposit.symbol}"
        )
    amount = int(refund.amount.base_units)
    keys = _credited_keys(invoice.payments, deposit.chain_id)
    payer = refund_payer(await refund_store.credited_transfers(session, deposit.chain_id, keys))
    values = {
        "refund_id": refund_id,
        "invoice_id": invoice_id,
        "order_id": invoice.reference,
        "chain_id": deposit.chain_id,
        "symbol": deposit.symbol,
        "token_address": deposit.token_address,
        "amount": amount,
        "pay_to": payer,
        "status": InstructionStatus.PENDING.value,
        "reason": refund.reason,
        "created_at": now,
    }
    if not await refund_store.insert_instruction(session, values):
        return False
    row = await refund_store.instruction(session, refund_id)
    message = instruction_pb(row, _known_token(config, row))
    await record(
        session,
        REFUND_INSTRUCTED,
        events.RefundInstructed(instruction=message),
        aggregate_id=refund_id,
    )
    log.info("chain_refund_instructed", refund_id=refund_id, pay_to=payer, amount=amount)
    return True


def _credited_keys(payments: Sequence[ppb.Payment], chain_id: int) -> list[tuple[str, int]]:
    """(tx_hash, log_index) of the invoice's credited payments on `chain_id`."""
    keys = []
    for payment in payments:
        parsed = parse_reference(payment.reference)
        if payment.status in _CREDITED and parsed is not None and parsed[0] == chain_id:
            keys.append((parsed[1], parsed[2]))
    return keys


class RefundInstructing:
    """Records each refund's instruction (at most once per refund: the refund id is the key)."""

    name = REFUND_INSTRUCTING
    stream = PAYMENTS_STREAM
    filter_subjects = [INVOICE_REFUNDED]

    def __init__(self, config: ChainConfig) -> None:
        self._config = config

    async def handle(self, session: AsyncSession, envelope: EventEnvelope) -> None:
        refunded = decode(envelope, payments_events.InvoiceRefunded)
        await instruct_refund(session, refunded, self._config, utcnow())


def refund_consumers(
    js: JetStreamContext,
    sessions: async_sessionmaker[AsyncSession],
    config: ChainConfig,
    *,
    durable: str = REFUND_INSTRUCTING,
) -> list[EventConsumer]:
    """The durable consumer recording refund instructions."""
    handler = RefundInstructing(config)
    return [
        EventConsumer(
            js,
            sessions,
            stream=handler.stream,
            durable=durable,
            filter_subjects=handler.filter_subjects,
            # A seeded refund was never to be paid back on a chain: its history skips this.
            handler=live_only(handler.handle),
        )
    ]


# --- the RPCs --------------------------------------------------------------------------------


class ReceiptSource(Protocol):
    """The node, as recording a refund payment reads it (`sweeper.SweepChain` is one)."""

    async def head(self) -> int: ...

    async def receipt(self, tx_hash: str) -> Any | None: ...

    async def known(self, tx_hash: str) -> bool: ...


async def read_receipt(chain: ReceiptSource, tx_hash: str) -> tuple[Receipt, Any | None]:
    """What the node says of `tx_hash`, and its raw receipt (None: not mined)."""
    raw = await chain.receipt(tx_hash)
    if raw is None:
        return Receipt(known=await chain.known(tx_hash), mined=False), None
    head = await chain.head()
    block = int(raw["blockNumber"])
    receipt = Receipt(
        known=True,
        mined=True,
        succeeded=int(raw["status"]) == 1,
        confirmations=max(head - block + 1, 0),
        transfers=tuple(token_transfers(raw.get("logs", ()))),
    )
    return receipt, raw


class RefundsRpc:
    """ChainService's refund instructions (staff). A mixin: the servicer calls `init_refunds`."""

    _refunds_sessions: Any
    _refunds_reads: AsyncEngine
    _refunds_config: ChainConfig
    _refunds_chain: ReceiptSource

    def init_refunds(self, engine: AsyncEngine, config: ChainConfig, chain: ReceiptSource) -> None:
        self._refunds_sessions = session_factory(engine)
        self._refunds_reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._refunds_config = config
        self._refunds_chain = chain

    def _instruction_pb(self, row: Any) -> pb.RefundInstruction:
        return instruction_pb(row, _known_token(self._refunds_config, row))

    async def GetRefundInstruction(
        self, request: pb.GetRefundInstructionRequest, context: object
    ) -> pb.RefundInstruction:
        refund_id = require_id(request.refund_id, "refundId")
        async with self._refunds_reads.connect() as conn:
            row = await refund_store.instruction(conn, refund_id)
        if row is None:
            raise NotFound("refund instruction", refund_id)
        return self._instruction_pb(row)

    async def ListRefundInstructions(
        self, request: pb.ListRefundInstructionsRequest, context: object
    ) -> pb.ListRefundInstructionsResponse:
        status: InstructionStatus | None = None
        if request.status != pb.REFUND_INSTRUCTION_STATUS_UNSPECIFIED:
            if request.status not in _STATUS_OF_PB:
                raise InvalidArgument.for_field("status", "an unknown status")
            status = _STATUS_OF_PB[request.status]
        invoice_id = require_id(request.invoice_id, "invoiceId") if request.invoice_id else None
        size = page_size(request.page_size)
        query = f"refunds:{status or ''}:{invoice_id or ''}"
        position = decode_page_token(request.page_token, query, arity=2)
        before = None
        if position is not None:
            before = (datetime.fromisoformat(str(position[0])), str(position[1]))
        async with self._refunds_reads.connect() as conn:
            rows = await refund_store.instructions_page(
                conn, status=status, invoice_id=invoice_id, before=before, limit=size + 1
            )
        answer = pb.ListRefundInstructionsResponse(
            instructions=[self._instruction_pb(r) for r in rows[:size]]
        )
        if len(rows) > size:
            last = rows[size - 1]
            answer.next_page_token = encode_page_token(
                [last.created_at.isoformat(), last.refund_id], query
            )
        return answer

    async def RecordRefundPayment(
        self, request: pb.RecordRefundPaymentRequest, context: object
    ) -> pb.RefundInstruction:
        refund_id = require_id(request.refund_id, "refundId")
        tx_hash = _require_tx_hash(request.tx_hash)
        async with self._refunds_reads.connect() as conn:
            found = await refund_store.instruction(conn, refund_id)
            if found is None:
                raise NotFound("refund instruction", refund_id)
            network = await store.network(conn, found.chain_id)
            paying = await refund_store.instruction_paid_by(conn, found.chain_id, tx_hash)
        _refuse_other_payments(found, paying, tx_hash)
        raw: Any | None = None
        if found.status == InstructionStatus.PENDING:
            if found.chain_id != self._refunds_config.chain_id:
                raise InvalidArgument.for_field(
                    "refundId", f"the refund is paid on chain {found.chain_id}, not watched here"
                )
            receipt, raw = await read_receipt(self._refunds_chain, tx_hash)
            check_refund_payment(
                receipt,
                token=found.token_address,
                pay_to=found.pay_to,
                amount=int(found.amount),
                confirmations_required=network.policy.low,
            )

        async def change(session: AsyncSession) -> pb.RefundInstruction:
            current = await refund_store.instruction(session, refund_id, for_update=True)
            assert current is not None  # instructions are never deleted
            await refund_store.lock_transaction(session, current.chain_id, tx_hash)
            paying = await refund_store.instruction_paid_by(session, current.chain_id, tx_hash)
            _refuse_other_payments(current, paying, tx_hash)
            if current.status == InstructionStatus.SENT:
                return self._instruction_pb(current)  # recorded before: the same answer
            if raw is None:  # read as sent above, pending now: never (a send is final)
                raise RefundPaymentRefused(ALREADY_SENT, "the refund changed: try again")
            now = utcnow()
            await refund_store.mark_sent(
                session,
                refund_id,
                tx_hash=tx_hash,
                block_number=int(raw["blockNumber"]),
                sent_from=str(raw["from"]).lower(),
                now=now,
            )
            after = await refund_store.instruction(session, refund_id)
            message = self._instruction_pb(after)
            await record(
                session, REFUND_SENT, events.RefundSent(instruction=message), aggregate_id=refund_id
            )
            await record_audit(
                session,
                service=PRODUCER,
                action="refund_payment_recorded",
                target_type="refund_instruction",
                target_id=refund_id,
                before={"status": InstructionStatus.PENDING.value},
                after={"status": InstructionStatus.SENT.value, "tx_hash": tx_hash},
            )
            return message

        return await idempotent_mutation(
            self._refunds_sessions,
            operation="chain.RecordRefundPayment",
            request=request,
            response_type=pb.RefundInstruction,
            change=change,
            guest_capability=None,
            authorize_replay=None,
        )


def _refuse_other_payments(instruction: Any, paying: Any | None, tx_hash: str) -> None:
    """Refuse a transaction recorded for another refund, and a refund paid by another one."""
    if paying is not None and paying.refund_id != instruction.refund_id:
        raise RefundPaymentRefused(
            TX_ALREADY_USED, f"the transaction pays refund {paying.refund_id}"
        )
    if instruction.status == InstructionStatus.SENT and instruction.tx_hash != tx_hash:
        raise RefundPaymentRefused(ALREADY_SENT, f"the refund was paid by {instruction.tx_hash}")


def _require_tx_hash(value: str) -> str:
    text = value.lower()
    if (
        len(text) != 66
        or not text.startswith("0x")
        or any(c not in "0123456789abcdef" for c in text[2:])
    ):
        raise InvalidArgument.for_field("txHash", "must be 0x followed by 64 hex digits")
    return text

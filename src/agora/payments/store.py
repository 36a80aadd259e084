"""Persistence of payments in its own schema (SQLAlchemy 2 Core over asyncpg; the invoice hot
paths run raw asyncpg statements in the session's transaction).

Writes take the session of the caller's transaction, so the state change, the idempotency
record and the outbox event commit together. An invoice changes only under its row lock
(`SELECT … FOR UPDATE`), so two payments reported at once are applied one after the other and
neither is lost; the version check on update guards against any writer that forgot the lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.payments.currencies import Money, Rate
from agora.payments.domain import Invoice, InvoiceStatus, Payment, Refund
from agora.platform.db import driver_connection
from agora.platform.errors import Conflict, NotFound

Db = AsyncConnection | AsyncSession

metadata = sa.MetaData()
_ID = UUID(as_uuid=False)
_AMOUNT = sa.Numeric(78, 0)
_RATIO = sa.Numeric()

exchange_rates = sa.Table(
    "exchange_rates",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("base", sa.Text, nullable=False),
    sa.Column("quote", sa.Text, nullable=False),
    sa.Column("numerator", _RATIO, nullable=False),
    sa.Column("denominator", _RATIO, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("price_amount", sa.BigInteger, nullable=False),
    sa.Column("price_currency", sa.Text, nullable=False),
    sa.Column("pay_currency", sa.Text, nullable=False),
    sa.Column("rate_numerator", _RATIO, nullable=False),
    sa.Column("rate_denominator", _RATIO, nullable=False),
    sa.Column("rate_source", sa.Text, nullable=False),
    sa.Column("rate_as_of", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due", _AMOUNT, nullable=False),
    sa.Column("tolerance_bp", sa.Integer, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("confirmations_required", sa.Integer, nullable=False),
    sa.Column("pay_to", sa.Text, nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("paid_partial", sa.Boolean, nullable=False),
    sa.Column("paid_late", sa.Boolean, nullable=False),
    sa.Column("paid_over", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
)

invoice_payments = sa.Table(
    "invoice_payments",
    metadata,
    sa.Column("invoice_id", _ID, primary_key=True),
    sa.Column("reference", sa.Text, primary_key=True),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("confirmations", sa.Integer, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("late", sa.Boolean, nullable=False),
)

invoice_refunds = sa.Table(
    "invoice_refunds",
    metadata,
    sa.Column("id", _ID, primary_key=True),
    sa.Column("invoice_id", _ID, nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def _number(value: int) -> Decimal:
    return Decimal(value)


# --- exchange rates --------------------------------------------------------------------------


async def add_rates(session: AsyncSession, rates: Iterable[Rate]) -> list[Rate]:
    """Record `rates` (history is kept); an already imported (pair, source, time) is skipped.
    Returns the rates that were new."""
    added: list[Rate] = []
    for rate in rates:
        inserted = await session.execute(
            insert(exchange_rates)
            .values(
                base=rate.base,
                quote=rate.quote,
                numerator=_number(rate.value.numerator),
                denominator=_number(rate.value.denominator),
                source=rate.source,
                as_of=rate.as_of,
            )
            .on_conflict_do_nothing(index_elements=["base", "quote", "source", "as_of"])
            .returning(exchange_rates.c.id)
        )
        if inserted.first() is not None:
            added.append(rate)
    return added


async def latest_rate(db: Db, base: str, quote: str) -> Rate | None:
    """The most recent rate recorded for base/quote (this direction only), if any."""
    row = (
        await db.execute(
            sa.select(exchange_rates)
            .where(exchange_rates.c.base == base, exchange_rates.c.quote == quote)
            .order_by(exchange_rates.c.as_of.desc(), exchange_rates.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    value = Fraction(int(row.numerator), int(row.denominator))
    return Rate(row.base, row.quote, value, row.source, row.as_of)


# --- invoices --------------------------------------------------------------------------------


async def insert_invoice(
    session: AsyncSession, invoice: Invoice, *, pay_to: str, memo: str
) -> None:
    raw = await driver_connection(session)
    await raw.execute(
        _INSERT_INVOICE,
        invoice.id,
        invoice.reference,
        invoice.price.amount_minor,
        invoice.price.currency,
        invoice.pay_currency,
        _number(invoice.rate.value.numerator),
        _number(invoice.rate.value.denominator),
        invoice.rate.source,
        invoice.rate.as_of,
        _number(invoice.due),
        invoice.tolerance_bp,
        invoice.provider,
        invoice.confirmations_required,
        pay_to,
        memo,
        invoice.expires_at,
        invoice.created_at,
        invoice.status.value,
        invoice.paid_partial,
        invoice.paid_late,
        invoice.paid_over,
        invoice.version,
        invoice.customer_id,
    )


async def save_invoice(session: AsyncSession, before: Invoice, after: Invoice) -> None:
    """Write what changed from `before` to `after`: status, flags, payments, refunds (one
    statement; nothing is written when the invoice is no longer at `before`'s version)."""
    changed = [p for p in after.payments if p not in before.payments]
    refunds = after.refunds[len(before.refunds) :]
    raw = await driver_connection(session)
    updated = await raw.fetchval(
        _SAVE_INVOICE,
        after.id,
        before.version,
        after.status.value,
        after.paid_partial,
        after.paid_late,
        after.paid_over,
        after.version,
        [p.reference for p in changed],
        [_number(p.amount) for p in changed],
        [p.confirmations for p in changed],
        [p.received_at for p in changed],
        [p.late for p in changed],
        [r.id for r in refunds],
        [_number(r.amount) for r in refunds],
        [r.reason for r in refunds],
        [r.created_at for r in refunds],
    )
    if not updated:
        raise Conflict(f"invoice {after.id} changed concurrently; retry")


# Raw statements (asyncpg's prepared-statement cache): every invoice change runs them.
_INSERT_INVOICE = """
    INSERT INTO invoices (
        id, reference, price_amount, price_currency, pay_currency, rate_numerator,
        rate_denominator, rate_source, rate_as_of, due, tolerance_bp, provider,
        confirmations_required, pay_to, memo, expires_at, created_at, status, paid_partial,
        paid_late, paid_over, version, customer_id, updated_at
    ) VALUES (
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
        $20, $21, $22, $23, now()
    )
"""
_SAVE_INVOICE = """
    WITH updated AS (
        UPDATE invoices SET status = $3, paid_partial = $4, paid_late = $5, paid_over = $6,
            version = $7, updated_at = now()
        WHERE id = $1 AND version = $2
        RETURNING id
    ), paid AS (
        INSERT INTO invoice_payments (invoice_id, reference, amount, confirmations, received_at,
                                      late)
        SELECT updated.id, p.* FROM updated, unnest(
            $8::text[], $9::numeric[], $10::int[], $11::timestamptz[], $12::bool[]
        ) AS p
        ON CONFLICT (invoice_id, reference) DO UPDATE SET confirmations = excluded.confirmations
    ), refunded AS (
        INSERT INTO invoice_refunds (id, invoice_id, amount, reason, created_at)
        SELECT r.id, updated.id, r.amount, r.reason, r.created_at FROM updated, unnest(
            $13::uuid[], $14::numeric[], $15::text[], $16::timestamptz[]
        ) AS r (id, amount, reason, created_at)
    )
    SELECT count(*) FROM updated
"""
_INVOICE_COLUMNS = """
    id, reference, status, price_amount, price_currency, pay_currency, rate_numerator,
    rate_denominator, rate_source, rate_as_of, due, tolerance_bp, provider,
    confirmations_required, pay_to, memo, paid_partial, paid_late, paid_over, version,
    expires_at, created_at, customer_id
"""
_INVOICE = f"SELECT {_INVOICE_COLUMNS} FROM invoices WHERE id = $1"
_INVOICE_FOR_UPDATE = f"{_INVOICE} FOR UPDATE"
# An invoice's payments ('p') and refunds ('r'), each in the order the domain keeps them.
_PAYMENTS_AND_REFUNDS = """
    SELECT 'p' AS kind, reference AS ref, amount, confirmations, received_at AS at, late,
        '' AS reason
    FROM invoice_payments WHERE invoice_id = $1
    UNION ALL
    SELECT 'r', id::text, amount, 0, created_at, false, reason
    FROM invoice_refunds WHERE invoice_id = $1
    ORDER BY kind, at, ref
"""


async def _payments_of(db: Db, ids: Sequence[str]) -> dict[str, list[Payment]]:
    found: dict[str, list[Payment]] = {i: [] for i in ids}
    rows = await db.execute(
        sa.select(invoice_payments)
        .where(invoice_payments.c.invoice_id.in_(ids))
        .order_by(invoice_payments.c.received_at, invoice_payments.c.reference)
    )
    for row in rows:
        found[row.invoice_id].append(
            Payment(row.reference, int(row.amount), row.confirmations, row.received_at, row.late)
        )
    return found


async def _refunds_of(db: Db, ids: Sequence[str]) -> dict[str, list[Refund]]:
    found: dict[str, list[Refund]] = {i: [] for i in ids}
    rows = await db.execute(
        sa.select(invoice_refunds)
        .where(invoice_refunds.c.invoice_id.in_(ids))
        .order_by(invoice_refunds.c.created_at, invoice_refunds.c.id)
    )
    for row in rows:
        found[row.invoice_id].append(Refund(row.id, int(row.amount), row.reason, row.created_at))
    return found


def _invoice(row: Mapping[str, Any], payments: list[Payment], refunds: list[Refund]) -> Invoice:
    rate = Rate(
        row["price_currency"],
        row["pay_currency"],
        Fraction(int(row["rate_numerator"]), int(row["rate_denominator"])),
        row["rate_source"],
        row["rate_as_of"],
    )
    return Invoice(
        id=str(row["id"]),
        reference=row["reference"],
        status=InvoiceStatus(row["status"]),
        price=Money(row["price_amount"], row["price_currency"]),
        pay_currency=row["pay_currency"],
        rate=rate,
        due=int(row["due"]),
        tolerance_bp=row["tolerance_bp"],
        provider=row["provider"],
        confirmations_required=row["confirmations_required"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        payments=tuple(payments),
        refunds=tuple(refunds),
        paid_partial=row["paid_partial"],
        paid_late=row["paid_late"],
        paid_over=row["paid_over"],
        version=row["version"],
        customer_id=row["customer_id"],
    )


async def _complete(db: Db, rows: Sequence[Any]) -> list[tuple[Invoice, Any]]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    payments, refunds = await _payments_of(db, ids), await _refunds_of(db, ids)
    return [(_invoice(row._mapping, payments[row.id], refunds[row.id]), row) for row in rows]


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice with how to pay it (the provider's instructions are kept beside it)."""

    invoice: Invoice
    pay_to: str
    memo: str


async def invoice_by_id(db: Db, invoice_id: str, *, for_update: bool = False) -> InvoiceRecord:
    """The invoice; `for_update` locks it first, so the payments and refunds read after it are
    the ones the previous holder of the lock committed."""
    raw = await driver_connection(db)
    row = await raw.fetchrow(_INVOICE_FOR_UPDATE if for_update else _INVOICE, invoice_id)
    if row is None:
        raise NotFound("invoice", invoice_id)
    payments: list[Payment] = []
    refunds: list[Refund] = []
    for x in await raw.fetch(_PAYMENTS_AND_REFUNDS, row["id"]):
        if x["kind"] == "p":
            payments.append(
                Payment(x["ref"], int(x["amount"]), x["confirmations"], x["at"], x["late"])
            )
        else:
            refunds.append(Refund(x["ref"], int(x["amount"]), x["reason"], x["at"]))
    return InvoiceRecord(_invoice(row, payments, refunds), row["pay_to"], row["memo"])


async def invoices_by_reference(db: Db, reference: str) -> list[InvoiceRecord]:
    rows = (
        await db.execute(
            sa.select(invoices)
            .where(invoices.c.reference == reference)
            .order_by(invoices.c.created_at, invoices.c.id)
        )
    ).all()
    return [InvoiceRecord(inv, row.pay_to, row.memo) for inv, row in await _complete(db, rows)]


_paid_so_far = (
    sa.select(sa.func.coalesce(sa.func.sum(invoice_payments.c.amount), 0))
    .where(invoice_payments.c.invoice_id == invoices.c.id)
    .scalar_subquery()
)
# ceil(due * (10000 - tolerance) / 10000), as `Invoice.accepted_minimum` computes it.
_accepted_minimum = sa.func.ceil(invoices.c.due * (10_000 - invoices.c.tolerance_bp) / 10_000)


async def invoices_past_due(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[InvoiceRecord]:
    """Open invoices past their expiry, locked; rows another worker holds are skipped."""
    rows = (
        await session.execute(
            sa.select(invoices)
            .where(
                invoices.c.status.in_([InvoiceStatus.NEW.value, InvoiceStatus.PROCESSING.value]),
                invoices.c.expires_at <= now,
                # Paid in full, an invoice waits for its confirmations instead of expiring.
                _paid_so_far < _accepted_minimum,
            )
            .order_by(invoices.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [InvoiceRecord(inv, row.pay_to, row.memo) for inv, row in await _complete(session, rows)]

"""Loads and saves payments' invoices and exchange rates, with statements built from
`tables.py`. It decides nothing: the domain does, and the store writes what it decided.

Writes take the session of the caller's transaction, so the state change, the idempotency
record and the outbox event commit together. An invoice changes only under its row lock
(`SELECT … FOR UPDATE`), so two payments reported at once are applied one after the other and
neither is lost; the version check on update guards against any writer that forgot the lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from agora.payments.conversion import Rate
from agora.payments.domain import (
    BASIS_POINTS,
    EXPIRABLE,
    Invoice,
    InvoiceRecord,
    InvoiceStatus,
    LedgerEntry,
    Payment,
    PaymentStatus,
    Refund,
)
from agora.payments.tables import exchange_rates, invoice_payments, invoice_refunds, invoices
from agora.platform.db import driver_connection
from agora.platform.errors import Conflict, NotFound
from agora.platform.kernel.money import Money

Db = AsyncConnection | AsyncSession
_Children = tuple[list[Payment], list[Refund]]


def invoice_row(
    invoice: Invoice, *, pay_to: str, memo: str, updated_at: datetime
) -> tuple[Any, ...]:
    """The invoice's row, in the column order of `tables.invoices`."""
    return (
        invoice.id,
        invoice.reference,
        invoice.status.value,
        invoice.price.amount_minor,
        invoice.price.currency,
        invoice.pay_currency,
        Decimal(invoice.rate.value.numerator),
        Decimal(invoice.rate.value.denominator),
        invoice.rate.source,
        invoice.rate.as_of,
        Decimal(invoice.due),
        invoice.tolerance_bp,
        invoice.provider,
        invoice.confirmations_required,
        pay_to,
        memo,
        invoice.paid_partial,
        invoice.paid_late,
        invoice.paid_over,
        invoice.version,
        invoice.expires_at,
        invoice.created_at,
        updated_at,
        invoice.customer_id,
        invoice.chain_id,
        invoice.token_address,
        invoice.router_address,
    )


def payment_row(invoice_id: str, p: Payment) -> tuple[Any, ...]:
    """A payment's row, in the column order of `tables.invoice_payments`."""
    return (
        invoice_id,
        p.reference,
        Decimal(p.amount),
        p.confirmations,
        p.received_at,
        p.late,
        p.status.value,
        " ".join(p.flags),
    )


def refund_row(invoice_id: str, r: Refund) -> tuple[Any, ...]:
    """A refund's row, in the column order of `tables.invoice_refunds`."""
    return (r.id, invoice_id, Decimal(r.amount), r.reason, r.created_at)


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
                numerator=Decimal(rate.value.numerator),
                denominator=Decimal(rate.value.denominator),
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


# --- invoices: the hot path ------------------------------------------------------------------
# Every invoice change (CreateInvoice, each payment, cancel, refund) runs these, so they run
# as SQL on the raw asyncpg connection of the session's transaction (asyncpg keeps them
# prepared): compiled once from `tables` where Core can say it, written out where it cannot.


_ASYNCPG = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


def _asyncpg_sql(statement: sa.ClauseElement) -> str:
    """`statement` (built from `tables`) as the asyncpg SQL it compiles to, `$n` parameters in
    the column order of its table."""
    return str(statement.compile(dialect=_ASYNCPG))


_INSERT_INVOICE = _asyncpg_sql(sa.insert(invoices))
_INVOICE = _asyncpg_sql(sa.select(invoices).where(invoices.c.id == sa.bindparam("id")))
# One statement for the changes of many invoices (one each): the versioned updates, upserted
# payments, new refunds (a batch of on-chain transfers saves all its invoices with it).
_SAVE_INVOICES = f"""
    WITH updated AS (
        UPDATE {invoices.fullname} AS i SET status = c.status, paid_partial = c.paid_partial,
            paid_late = c.paid_late, paid_over = c.paid_over, version = c.version,
            updated_at = now()
        FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bool[], $5::bool[], $6::bool[],
                    $7::bigint[])
            AS c (id, seen_version, status, paid_partial, paid_late, paid_over, version)
        WHERE i.id = c.id AND i.version = c.seen_version
        RETURNING i.id
    ), paid AS (
        INSERT INTO {invoice_payments.fullname} (invoice_id, reference, amount, confirmations,
                                                 received_at, late, status, flags)
        SELECT p.* FROM unnest(
            $8::uuid[], $9::text[], $10::numeric[], $11::int[], $12::timestamptz[], $13::bool[],
            $14::text[], $15::text[]
        ) AS p (invoice_id, reference, amount, confirmations, received_at, late, status, flags)
        WHERE p.invoice_id IN (SELECT id FROM updated)
        ON CONFLICT (invoice_id, reference) DO UPDATE SET confirmations = excluded.confirmations,
            status = excluded.status, flags = excluded.flags
    ), refunded AS (
        INSERT INTO {invoice_refunds.fullname} (id, invoice_id, amount, reason, created_at)
        SELECT r.* FROM unnest(
            $16::uuid[], $17::uuid[], $18::numeric[], $19::text[], $20::timestamptz[]
        ) AS r (id, invoice_id, amount, reason, created_at)
        WHERE r.invoice_id IN (SELECT id FROM updated)
    )
    SELECT count(*) FROM updated
"""
# Invoices locked (in id order, so two transactions locking overlapping sets cannot deadlock),
# with their payments and refunds, in one round trip (the record-payment hot path: each batch
# of on-chain transfer events runs it). The children are read in the statement's snapshot,
# taken before the locks were granted: they are the current ones only if no change committed
# while this statement waited for a lock. Every change of payments or refunds bumps the
# invoice's version under this lock (`save_invoices`), so `seen_version` (the version in that
# snapshot) differing from the locked row's says to read them again.
_LOCKED_INVOICES = f"""
    WITH locked AS MATERIALIZED (
        SELECT * FROM {invoices.fullname} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE
    )
    SELECT locked.*,
        (SELECT seen.version FROM {invoices.fullname} AS seen WHERE seen.id = locked.id)
            AS seen_version,
        ARRAY(
            SELECT ROW(p.reference, p.amount, p.confirmations, p.received_at, p.late, p.status,
                       p.flags)
            FROM {invoice_payments.fullname} AS p WHERE p.invoice_id = locked.id
            ORDER BY p.received_at, p.reference
        ) AS payments,
        ARRAY(
            SELECT ROW(r.id::text, r.amount, r.reason, r.created_at)
            FROM {invoice_refunds.fullname} AS r WHERE r.invoice_id = locked.id
            ORDER BY r.created_at, r.id::text
        ) AS refunds
    FROM locked
"""
# The payments ('p') and refunds ('r') of invoices, each in the order the domain keeps them.
_PAYMENTS_AND_REFUNDS = f"""
    SELECT invoice_id, 'p' AS kind, reference AS ref, amount, confirmations,
        received_at AS at, late, '' AS reason, status, flags
    FROM {invoice_payments.fullname} WHERE invoice_id = ANY($1::uuid[])
    UNION ALL
    SELECT invoice_id, 'r', id::text, amount, 0, created_at, false, reason, '', ''
    FROM {invoice_refunds.fullname} WHERE invoice_id = ANY($1::uuid[])
    ORDER BY kind, at, ref
"""


async def insert_invoice(
    session: AsyncSession, invoice: Invoice, *, pay_to: str, memo: str
) -> None:
    raw = await driver_connection(session)
    row = invoice_row(invoice, pay_to=pay_to, memo=memo, updated_at=invoice.created_at)
    await raw.execute(_INSERT_INVOICE, *row)


async def save_invoice(session: AsyncSession, before: Invoice, after: Invoice) -> None:
    """Write what changed from `before` to `after`: status, flags, payments, refunds (one
    statement; nothing is written when the invoice is no longer at `before`'s version)."""
    await save_invoices(session, [(before, after)])


async def save_invoices(session: AsyncSession, changes: Sequence[tuple[Invoice, Invoice]]) -> None:
    """`save_invoice` for many `(before, after)`, one per invoice, in one statement: all are
    written, or CONFLICT when any is no longer at its `before` version."""
    ids = [after.id for _, after in changes]
    if len(set(ids)) != len(ids):
        raise ValueError("one change per invoice: pass the first `before` and the last `after`")
    paid: list[tuple[str, Payment]] = []
    refunded: list[tuple[str, Refund]] = []
    for before, after in changes:
        unchanged = set(before.payments)
        paid.extend((after.id, p) for p in after.payments if p not in unchanged)
        refunded.extend((after.id, r) for r in after.refunds[len(before.refunds) :])
    raw = await driver_connection(session)
    updated = await raw.fetchval(
        _SAVE_INVOICES,
        ids,
        [before.version for before, _ in changes],
        [after.status.value for _, after in changes],
        [after.paid_partial for _, after in changes],
        [after.paid_late for _, after in changes],
        [after.paid_over for _, after in changes],
        [after.version for _, after in changes],
        [invoice_id for invoice_id, _ in paid],
        [p.reference for _, p in paid],
        [Decimal(p.amount) for _, p in paid],
        [p.confirmations for _, p in paid],
        [p.received_at for _, p in paid],
        [p.late for _, p in paid],
        [p.status.value for _, p in paid],
        [" ".join(p.flags) for _, p in paid],
        [r.id for _, r in refunded],
        [invoice_id for invoice_id, _ in refunded],
        [Decimal(r.amount) for _, r in refunded],
        [r.reason for _, r in refunded],
        [r.created_at for _, r in refunded],
    )
    if updated != len(changes):
        named = ids[0] if len(ids) == 1 else f"of {len(ids)}"
        raise Conflict(f"invoice {named} changed concurrently; retry")


async def invoice_by_id(db: Db, invoice_id: str, *, for_update: bool = False) -> InvoiceRecord:
    """The invoice; `for_update` locks it first, so the payments and refunds read after it are
    the ones the previous holder of the lock committed."""
    if for_update:
        locked = await invoices_for_update(db, [invoice_id])
        if not locked:
            raise NotFound("invoice", invoice_id)
        [record] = locked.values()
        return record
    raw = await driver_connection(db)
    row = await raw.fetchrow(_INVOICE, invoice_id)
    if row is None:
        raise NotFound("invoice", invoice_id)
    invoice_id = str(row["id"])
    children = await _payments_and_refunds(raw, [invoice_id])
    return _record(row, *children[invoice_id])


async def invoices_for_update(db: Db, invoice_ids: Iterable[str]) -> dict[str, InvoiceRecord]:
    """The invoices of `invoice_ids` that exist, by id, locked (in id order) with their current
    payments and refunds, in one round trip (two when a change committed while it waited)."""
    raw = await driver_connection(db)
    rows = await raw.fetch(_LOCKED_INVOICES, list(invoice_ids))
    found: dict[str, InvoiceRecord] = {}
    stale: list[Mapping[str, Any]] = []
    for row in rows:
        if row["seen_version"] != row["version"]:
            stale.append(row)
            continue
        payments = [
            Payment(
                ref,
                int(amount),
                confirmations,
                at,
                late,
                PaymentStatus(status),
                tuple(flags.split()),
            )
            for ref, amount, confirmations, at, late, status, flags in row["payments"]
        ]
        refunds = [
            Refund(ref, int(amount), reason, at) for ref, amount, reason, at in row["refunds"]
        ]
        record = _record(row, payments, refunds)
        found[record.invoice.id] = record
    if stale:
        children = await _payments_and_refunds(raw, [str(row["id"]) for row in stale])
        for row in stale:
            record = _record(row, *children[str(row["id"])])
            found[record.invoice.id] = record
    return found


async def _payments_and_refunds(
    raw: asyncpg.Connection, ids: Sequence[str]
) -> dict[str, _Children]:
    """The payments and refunds of each invoice of `ids`, in one round trip."""
    found: dict[str, _Children] = {i: ([], []) for i in ids}
    for x in await raw.fetch(_PAYMENTS_AND_REFUNDS, ids):
        payments, refunds = found[str(x["invoice_id"])]
        if x["kind"] == "p":
            payments.append(
                Payment(
                    x["ref"],
                    int(x["amount"]),
                    x["confirmations"],
                    x["at"],
                    x["late"],
                    PaymentStatus(x["status"]),
                    tuple(x["flags"].split()),
                )
            )
        else:
            refunds.append(Refund(x["ref"], int(x["amount"]), x["reason"], x["at"]))
    return found


# --- invoices: lists -------------------------------------------------------------------------


def _record(
    row: Mapping[str, Any], payments: list[Payment], refunds: list[Refund]
) -> InvoiceRecord:
    rate = Rate(
        row["price_currency"],
        row["pay_currency"],
        Fraction(int(row["rate_numerator"]), int(row["rate_denominator"])),
        row["rate_source"],
        row["rate_as_of"],
    )
    invoice = Invoice(
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
        chain_id=row["chain_id"],
        token_address=row["token_address"],
        router_address=row["router_address"],
    )
    return InvoiceRecord(invoice, row["pay_to"], row["memo"])


async def _records(db: Db, statement: sa.Select[Any]) -> list[InvoiceRecord]:
    """The invoices `statement` selects, each with its payments and refunds."""
    rows = (await db.execute(statement)).all()
    if not rows:
        return []
    found = await _payments_and_refunds(await driver_connection(db), [row.id for row in rows])
    return [_record(row._mapping, *found[row.id]) for row in rows]


async def invoices_by_reference(db: Db, reference: str) -> list[InvoiceRecord]:
    return await _records(
        db,
        sa.select(invoices)
        .where(invoices.c.reference == reference)
        .order_by(invoices.c.created_at, invoices.c.id),
    )


_paid_so_far = (
    sa.select(sa.func.coalesce(sa.func.sum(invoice_payments.c.amount), 0))
    .where(
        invoice_payments.c.invoice_id == invoices.c.id,
        invoice_payments.c.status == PaymentStatus.CREDITED.value,
    )
    .scalar_subquery()
)
# `Invoice.accepted_minimum` in SQL: ceil(due * (BASIS_POINTS - tolerance) / BASIS_POINTS).
_accepted_minimum = sa.func.ceil(
    invoices.c.due * (BASIS_POINTS - invoices.c.tolerance_bp) / BASIS_POINTS
)


async def expiry_candidates(
    session: AsyncSession, *, now: datetime, limit: int
) -> list[InvoiceRecord]:
    """Invoices `domain.expire` would accept at `now` (expirable, past their expiry, not paid
    up to their accepted minimum), oldest expiry first, locked; rows another worker holds are
    skipped. A paid invoice waiting for confirmations is left out, so it never fills a batch."""
    return await _records(
        session,
        sa.select(invoices)
        .where(
            invoices.c.status.in_([status.value for status in EXPIRABLE]),
            invoices.c.expires_at <= now,
            _paid_so_far < _accepted_minimum,
        )
        .order_by(invoices.c.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True),
    )


# --- the reconciliation ledger ---------------------------------------------------------------


async def ledger_page(
    db: Db,
    *,
    provider: str,
    since: datetime,
    until: datetime,
    after: tuple[datetime, str, str] | None,
    limit: int,
) -> list[LedgerEntry]:
    """Payments of `provider`'s invoices received in [since, until), by (time, invoice,
    reference), after the position `after`; at most `limit`."""
    p, i = invoice_payments, invoices
    statement = (
        sa.select(p, i.c.pay_currency, i.c.pay_to)
        .join(i, i.c.id == p.c.invoice_id)
        .where(i.c.provider == provider, p.c.received_at >= since, p.c.received_at < until)
        .order_by(p.c.received_at, p.c.invoice_id, p.c.reference)
        .limit(limit)
    )
    if after is not None:
        at, invoice_id, reference = after
        statement = statement.where(
            sa.tuple_(p.c.received_at, p.c.invoice_id, p.c.reference)
            > sa.tuple_(
                sa.literal(at), sa.cast(sa.literal(invoice_id), i.c.id.type), sa.literal(reference)
            )
        )
    rows = (await db.execute(statement)).all()
    return [
        LedgerEntry(
            str(r.invoice_id),
            r.pay_currency,
            r.pay_to,
            Payment(
                r.reference,
                int(r.amount),
                r.confirmations,
                r.received_at,
                r.late,
                PaymentStatus(r.status),
                tuple(r.flags.split()),
            ),
        )
        for r in rows
    ]

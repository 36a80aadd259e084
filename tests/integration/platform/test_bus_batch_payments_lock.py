"""The batched chain-transfer consumer's hot path: payments' locked invoice load reads the
invoices and their payments in one round trip, and reads them again when a change committed while
it waited for a lock (so a payment credited meanwhile is never lost)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.payments import store
from agora.payments.conversion import Rate
from agora.payments.domain import (
    InvoicePolicy,
    NewInvoice,
    PaymentReport,
    open_invoice,
    receive_payment,
)
from agora.platform.db import create_engine, session_factory, transaction
from agora.platform.kernel.money import Money
from agora.platform.migrations import migrate


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate("payments", database_url)
    created = create_engine(database_url, "payments", pool_size=4)
    yield created
    await created.dispose()


async def _invoice(engine: AsyncEngine) -> str:
    now = datetime.now(UTC)
    invoice = open_invoice(
        NewInvoice(f"order-{uuid.uuid4().hex[:8]}", Money(2000, "EUR"), "USDT", "dev"),
        invoice_id=str(uuid.uuid4()),
        rate=Rate("EUR", "USDT", Fraction(1), "staff", now),
        confirmations_required=1,
        policy=InvoicePolicy(),
        now=now,
    )
    async with transaction(session_factory(engine)) as session:
        await store.insert_invoice(session, invoice, pay_to="dev", memo="")
    return invoice.id


async def _pay(engine: AsyncEngine, invoice_id: str, reference: str) -> None:
    async with transaction(session_factory(engine)) as session:
        current = await store.invoice_by_id(session, invoice_id, for_update=True)
        report = PaymentReport(reference, 1_000_000, 0, datetime.now(UTC))
        change = receive_payment(current.invoice, report)
        await store.save_invoice(session, current.invoice, change.invoice)


async def test_a_locked_load_sees_its_payments_in_one_statement(engine: AsyncEngine) -> None:
    invoice_id = await _invoice(engine)
    await _pay(engine, invoice_id, "tx-1")
    await _pay(engine, invoice_id, "tx-2")

    async with transaction(session_factory(engine)) as session:
        locked = await store.invoice_by_id(session, invoice_id, for_update=True)
        plain = await store.invoice_by_id(session, invoice_id)

    assert [p.reference for p in locked.invoice.payments] == ["tx-1", "tx-2"]
    assert locked == plain
    assert locked.invoice.version == 3


async def test_a_payment_committed_while_waiting_for_the_lock_is_seen(
    engine: AsyncEngine,
) -> None:
    invoice_id = await _invoice(engine)
    sessions = session_factory(engine)
    async with transaction(sessions) as holder:
        current = await store.invoice_by_id(holder, invoice_id, for_update=True)
        report = PaymentReport("tx-first", 1_000_000, 0, datetime.now(UTC))
        await store.save_invoice(
            holder, current.invoice, receive_payment(current.invoice, report).invoice
        )
        waiter = asyncio.create_task(_locked_after_wait(engine, invoice_id))
        await _until_waiting_for_a_lock(engine)
    # The holder committed: the waiter's snapshot predates tx-first, its lock does not.

    found = await waiter
    assert [p.reference for p in found.invoice.payments] == ["tx-first"]
    assert found.invoice.version == 2


async def test_a_batch_lock_sees_what_committed_while_it_waited_for_any_of_its_invoices(
    engine: AsyncEngine,
) -> None:
    waited_for, free = await _invoice(engine), await _invoice(engine)
    await _pay(engine, free, "tx-earlier")
    sessions = session_factory(engine)
    async with transaction(sessions) as holder:
        current = await store.invoice_by_id(holder, waited_for, for_update=True)
        report = PaymentReport("tx-first", 1_000_000, 0, datetime.now(UTC))
        await store.save_invoice(
            holder, current.invoice, receive_payment(current.invoice, report).invoice
        )
        waiter = asyncio.create_task(_all_locked_after_wait(engine, [free, waited_for]))
        await _until_waiting_for_a_lock(engine)

    found = await waiter
    assert [p.reference for p in found[waited_for].invoice.payments] == ["tx-first"]
    assert [p.reference for p in found[free].invoice.payments] == ["tx-earlier"]
    assert (found[waited_for].invoice.version, found[free].invoice.version) == (2, 2)


async def _all_locked_after_wait(
    engine: AsyncEngine, invoice_ids: list[str]
) -> dict[str, store.InvoiceRecord]:
    async with transaction(session_factory(engine)) as session:
        return await store.invoices_for_update(session, invoice_ids)


async def _locked_after_wait(engine: AsyncEngine, invoice_id: str) -> store.InvoiceRecord:
    async with transaction(session_factory(engine)) as session:
        return await store.invoice_by_id(session, invoice_id, for_update=True)


async def _until_waiting_for_a_lock(engine: AsyncEngine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    for _ in range(200):
        async with engine.connect() as connection:
            if (await connection.execute(waiting)).scalar_one():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the second transaction never waited for the invoice's lock")

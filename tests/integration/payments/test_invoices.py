"""Invoices through the real gRPC API on real PostgreSQL: locked rates, dev payments, expiry,
refunds, idempotency, concurrency, events in the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from payments_support import (
    TIMEOUT_S,
    create_invoice,
    dev_pay,
    error_of,
    invoice_request,
    key,
    outbox_subjects,
    set_rate,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.payments.domain import PaymentReport
from agora.payments.jobs import InvoiceExpiry
from agora.payments.service import PaymentsService

FULL, PARTIAL, OVER, LATE, DECLINE = (
    pb.DEV_PAY_ACTION_PAY_FULL,
    pb.DEV_PAY_ACTION_PAY_PARTIAL,
    pb.DEV_PAY_ACTION_PAY_OVER,
    pb.DEV_PAY_ACTION_PAY_LATE,
    pb.DEV_PAY_ACTION_DECLINE,
)


@pytest.fixture(scope="module", autouse=True)
async def eur_usdt(payments: PaymentsServiceStub) -> None:
    await set_rate(payments, "EUR", "USDT", "1.0823")


async def test_an_invoice_in_euros_paid_in_usdt_locks_the_staff_rate_and_due_is_exact(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    invoice = await create_invoice(payments, amount_minor=1999)
    assert invoice.status == pb.INVOICE_STATUS_NEW
    assert (invoice.rate.rate, invoice.rate.source) == ("1.0823", "staff")
    assert (invoice.due.base_units, invoice.due.asset, invoice.due.decimals) == (
        "21635177",
        "USDT",
        6,
    )
    assert invoice.instructions.pay_to == f"dev://invoices/{invoice.id}"
    expires_in = invoice.expires_at.ToDatetime(UTC) - invoice.created_at.ToDatetime(UTC)
    assert expires_in == timedelta(minutes=15)
    await set_rate(payments, "EUR", "USDT", "2")
    again = await payments.GetInvoice(pb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S)
    assert again.due.base_units == "21635177"  # the rate stays locked
    assert await outbox_subjects(payments_engine, invoice.id) == ["payments.invoice.created"]
    await set_rate(payments, "EUR", "USDT", "1.0823")


async def test_paying_in_full_settles_and_records_the_events(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    invoice = await create_invoice(payments)
    paid = await dev_pay(payments, invoice.id, FULL)
    assert paid.invoice.status == pb.INVOICE_STATUS_SETTLED
    assert paid.invoice.paid.base_units == invoice.due.base_units
    assert [p.reference for p in paid.invoice.payments] == [paid.payment_reference]
    assert await outbox_subjects(payments_engine, invoice.id) == [
        "payments.invoice.created",
        "payments.payment.received",
        "payments.invoice.settled",
    ]


async def test_partial_then_complete_goes_processing_then_settled(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    invoice = await create_invoice(payments)
    half = await dev_pay(payments, invoice.id, PARTIAL)
    assert half.invoice.status == pb.INVOICE_STATUS_PROCESSING
    assert int(half.invoice.paid.base_units) == int(invoice.due.base_units) // 2
    rest = await dev_pay(payments, invoice.id, FULL)
    assert rest.invoice.status == pb.INVOICE_STATUS_SETTLED
    assert rest.invoice.paid.base_units == invoice.due.base_units
    assert (await outbox_subjects(payments_engine, invoice.id))[1:] == [
        "payments.payment.received",
        "payments.invoice.processing",
        "payments.payment.received",
        "payments.invoice.settled",
    ]


async def test_underpayment_within_the_tolerance_settles(payments: PaymentsServiceStub) -> None:
    invoice = await create_invoice(payments, tolerance_bp=100)
    short = int(invoice.due.base_units) * 99 // 100 + 1
    assert int(invoice.accepted_minimum.base_units) <= short < int(invoice.due.base_units)
    paid = await dev_pay(payments, invoice.id, PARTIAL, short)
    assert paid.invoice.status == pb.INVOICE_STATUS_SETTLED
    assert paid.invoice.paid_partial is False


async def test_overpayment_settles_flagged_paid_over(payments: PaymentsServiceStub) -> None:
    invoice = await create_invoice(payments)
    paid = await dev_pay(payments, invoice.id, OVER)
    assert (paid.invoice.status, paid.invoice.paid_over) == (pb.INVOICE_STATUS_SETTLED, True)


async def test_a_partly_paid_invoice_expires_flagged_paid_partial(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine, invoice_expiry: InvoiceExpiry
) -> None:
    invoice = await create_invoice(payments, expires_in_seconds=1)
    await dev_pay(payments, invoice.id, PARTIAL)
    later = datetime.now(UTC) + timedelta(seconds=2)
    assert await invoice_expiry.run_batch(later) >= 1
    expired = await payments.GetInvoice(pb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S)
    assert (expired.status, expired.paid_partial) == (pb.INVOICE_STATUS_EXPIRED, True)
    assert (await outbox_subjects(payments_engine, invoice.id))[-1] == "payments.invoice.expired"
    code, info = await error_of(dev_pay(payments, invoice.id, FULL))
    assert (code, info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "EXPIRED")  # 410


async def test_paying_late_expires_the_invoice_flagged_paid_late(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    invoice = await create_invoice(payments)
    late = await dev_pay(payments, invoice.id, LATE)
    assert (late.invoice.status, late.invoice.paid_late) == (pb.INVOICE_STATUS_EXPIRED, True)
    assert late.invoice.payments[0].late is True
    assert (await outbox_subjects(payments_engine, invoice.id))[1:] == [
        "payments.payment.received",
        "payments.invoice.expired",
    ]


async def test_a_declined_payment_changes_nothing_and_is_announced(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    invoice = await create_invoice(payments)
    declined = await dev_pay(payments, invoice.id, DECLINE)
    assert declined.declined is True
    assert (declined.invoice.status, declined.invoice.version) == (pb.INVOICE_STATUS_NEW, 1)
    assert (await outbox_subjects(payments_engine, invoice.id))[-1] == "payments.payment.declined"


async def test_paying_a_settled_invoice_is_a_409_conflict(payments: PaymentsServiceStub) -> None:
    invoice = await create_invoice(payments)
    await dev_pay(payments, invoice.id, FULL)
    code, info = await error_of(dev_pay(payments, invoice.id, FULL))
    assert (code, info.reason) == (grpc.StatusCode.ABORTED, "INVOICE_SETTLED")


async def test_an_unknown_currency_is_a_400_naming_it(payments: PaymentsServiceStub) -> None:
    code, info = await error_of(create_invoice(payments, pay_currency="DOGE"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in info.violations] == ["payCurrency"]
    assert "DOGE" in info.message


async def test_a_missing_rate_is_a_failed_precondition(payments: PaymentsServiceStub) -> None:
    code, info = await error_of(create_invoice(payments, currency="KWD", pay_currency="AGT"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.metadata == {"base": "KWD", "quote": "AGT"}


async def test_the_same_idempotency_key_gives_the_same_invoice_and_one_event(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    request = invoice_request()
    raced = await asyncio.gather(
        payments.CreateInvoice(request, timeout=TIMEOUT_S),
        payments.CreateInvoice(request, timeout=TIMEOUT_S),
        return_exceptions=True,
    )
    # A duplicate arriving while the first runs is told so (ABORTED) rather than kept waiting.
    made = [r for r in raced if isinstance(r, pb.Invoice)]
    assert all(
        isinstance(r, grpc.aio.AioRpcError) and r.code() == grpc.StatusCode.ABORTED
        for r in raced
        if not isinstance(r, pb.Invoice)
    )
    first = await payments.CreateInvoice(request, timeout=TIMEOUT_S)
    assert all(m == first for m in made)
    listed = await payments.ListInvoices(
        pb.ListInvoicesRequest(reference=request.reference), timeout=TIMEOUT_S
    )
    assert [i.id for i in listed.invoices] == [first.id]
    assert await outbox_subjects(payments_engine, first.id) == ["payments.invoice.created"]


async def test_refunds_partial_then_full_and_never_more_than_paid(
    payments: PaymentsServiceStub, payments_engine: AsyncEngine
) -> None:
    invoice = await create_invoice(payments)
    await dev_pay(payments, invoice.id, FULL)
    due = int(invoice.due.base_units)

    def refund(amount: int) -> pb.RefundInvoiceRequest:
        return pb.RefundInvoiceRequest(
            idempotency_key=key(), id=invoice.id, amount=str(amount), reason="returned"
        )

    first = await payments.RefundInvoice(refund(1000), timeout=TIMEOUT_S)
    assert (first.refund.amount.base_units, first.invoice.refunded.base_units) == ("1000", "1000")
    code, _ = await error_of(payments.RefundInvoice(refund(due), timeout=TIMEOUT_S))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    rest = await payments.RefundInvoice(refund(due - 1000), timeout=TIMEOUT_S)
    assert rest.invoice.refunded.base_units == str(due)
    assert rest.invoice.status == pb.INVOICE_STATUS_SETTLED
    assert (await outbox_subjects(payments_engine, invoice.id)).count(
        "payments.invoice.refunded"
    ) == 2


async def test_a_cancelled_invoice_is_invalid_and_takes_no_payment(
    payments: PaymentsServiceStub,
) -> None:
    invoice = await create_invoice(payments)
    cancelled = await payments.CancelInvoice(
        pb.CancelInvoiceRequest(idempotency_key=key(), id=invoice.id), timeout=TIMEOUT_S
    )
    assert cancelled.status == pb.INVOICE_STATUS_INVALID
    code, _ = await error_of(dev_pay(payments, invoice.id, FULL))
    assert code == grpc.StatusCode.FAILED_PRECONDITION


async def test_concurrent_payments_on_one_invoice_are_all_counted(
    payments: PaymentsServiceStub, payments_service: PaymentsService
) -> None:
    invoice = await create_invoice(payments, amount_minor=100_000)
    now = datetime.now(UTC)
    reports = [PaymentReport(f"tx-{i}", 1000, 1, now) for i in range(20)]
    await asyncio.gather(*(payments_service.record_payment(invoice.id, r) for r in reports))
    found = await payments.GetInvoice(pb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S)
    assert (found.paid.base_units, len(found.payments)) == ("20000", 20)
    assert found.version == 21
    assert found.status == pb.INVOICE_STATUS_PROCESSING


async def test_a_provider_reports_confirmations_later_and_the_invoice_settles(
    payments: PaymentsServiceStub, payments_service: PaymentsService
) -> None:
    invoice = await create_invoice(payments)
    due, now = int(invoice.due.base_units), datetime.now(UTC)
    seen = await payments_service.record_payment(invoice.id, PaymentReport("tx-a", due, 0, now))
    assert seen.status.value == "processing"
    confirmed = await payments_service.record_payment(
        invoice.id, PaymentReport("tx-a", due, 1, now)
    )
    assert (confirmed.status.value, len(confirmed.payments)) == ("settled", 1)


async def test_ecb_rates_are_imported_from_a_file_with_their_source_and_day(
    payments: PaymentsServiceStub,
) -> None:
    imported = await payments.ImportEcbRates(
        pb.ImportEcbRatesRequest(idempotency_key=key()), timeout=TIMEOUT_S
    )
    assert {(r.quote, r.rate, r.source) for r in imported.rates} >= {("USD", "1.1316", "ecb")}
    again = await payments.ImportEcbRates(
        pb.ImportEcbRatesRequest(idempotency_key=key()), timeout=TIMEOUT_S
    )
    assert len(again.rates) == len(imported.rates)
    gbp_usd = await payments.GetExchangeRate(
        pb.GetExchangeRateRequest(base="GBP", quote="USD"), timeout=TIMEOUT_S
    )
    assert gbp_usd.source == "ecb+cross"
    assert gbp_usd.rate == "18860/14183"  # 1.1316 / 0.85098, exact
    assert gbp_usd.as_of.ToDatetime(UTC) == datetime(2025, 5, 2, tzinfo=UTC)


async def test_currencies_are_listed_with_their_exponents(payments: PaymentsServiceStub) -> None:
    listed = await payments.ListCurrencies(pb.ListCurrenciesRequest(), timeout=TIMEOUT_S)
    exponents = {c.code: (c.exponent, c.crypto) for c in listed.currencies}
    assert len(exponents) == len(listed.currencies)
    assert exponents["JPY"] == (0, False)
    assert exponents["KWD"] == (3, False)
    assert exponents["AGT"] == (18, True)

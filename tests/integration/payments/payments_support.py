"""Factories for the payments integration tests: rates and invoices made through the API,
dev payments, outbox lookups straight from the database."""

from __future__ import annotations

import uuid

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.events.v1.envelope_pb2 import EventEnvelope
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.platform.rpc.status import ErrorInfo, error_info_from_rpc_error

TIMEOUT_S = 10.0


def key() -> str:
    return str(uuid.uuid4())


def order_reference() -> str:
    return f"order-{uuid.uuid4().hex[:10]}"


async def set_rate(payments: PaymentsServiceStub, base: str, quote: str, rate: str) -> None:
    await payments.SetExchangeRate(
        pb.SetExchangeRateRequest(idempotency_key=key(), base=base, quote=quote, rate=rate),
        timeout=TIMEOUT_S,
    )


def invoice_request(
    amount_minor: int = 1999,
    *,
    currency: str = "EUR",
    pay_currency: str = "USDT",
    reference: str | None = None,
    expires_in_seconds: int | None = None,
    tolerance_bp: int | None = None,
) -> pb.CreateInvoiceRequest:
    request = pb.CreateInvoiceRequest(
        idempotency_key=key(),
        reference=reference or order_reference(),
        price=Money(amount_minor=amount_minor, currency=currency),
        pay_currency=pay_currency,
    )
    if expires_in_seconds is not None:
        request.expires_in_seconds = expires_in_seconds
    if tolerance_bp is not None:
        request.payment_tolerance_bp = tolerance_bp
    return request


async def create_invoice(payments: PaymentsServiceStub, **options: object) -> pb.Invoice:
    return await payments.CreateInvoice(invoice_request(**options), timeout=TIMEOUT_S)  # type: ignore[arg-type]


async def dev_pay(
    payments: PaymentsServiceStub, invoice_id: str, action: int, amount: int | None = None
) -> pb.DevPayResponse:
    return await payments.DevPay(
        pb.DevPayRequest(
            idempotency_key=key(),
            id=invoice_id,
            action=action,  # type: ignore[arg-type]
            amount="" if amount is None else str(amount),
        ),
        timeout=TIMEOUT_S,
    )


async def error_of(call: object) -> tuple[grpc.StatusCode, ErrorInfo]:
    """The status code and details of an awaited call that must fail."""
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code(), error_info_from_rpc_error(error)
    raise AssertionError("the call succeeded")


async def outbox_subjects(engine: AsyncEngine, aggregate_id: str) -> list[str]:
    """Subjects of the events recorded for `aggregate_id` and not yet relayed, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT payload FROM outbox ORDER BY seq"))
        subjects = []
        for (payload,) in rows:
            envelope = EventEnvelope.FromString(bytes(payload))
            if envelope.aggregate_id == aggregate_id:
                subjects.append(envelope.subject)
        return subjects

"""The payments part of `agora seed`: the invoice of every planned order that got one, with its
payment and refund, made by the payments domain as CreateInvoice, DevPay, the expiry loop,
CancelInvoice and RefundInvoice would have made them, then written by COPY.

An order's invoice is opened when it starts awaiting payment (`steps[0]`): its price is the
order's total (`SeedOrder.total_minor`, computed by the orders domain; payments never imports
orders) payable in the order's own currency, so the locked rate is the identity rate (1, source
`identity`, as `resolve_rate` gives it) and `due` is the price. It lives the configured invoice
lifetime (`AGORA_PAYMENTS_INVOICE_TTL_S`; orders asks for its `invoice_expiry_s`, 900 s by
default in both). Then, by the order's outcome:

- awaiting_payment: new;
- paid and beyond, refunded: settled by one confirmed dev payment of `due` at `steps[1]`
  (which must come before the invoice expires); refunded orders also get their refund, of the
  order's refunded amount (the whole total when the plan says 0) at the last step;
- expired after invoicing: expired at `steps[1]` (not before the invoice's expiry);
- cancelled after invoicing: invalid (the orders saga cancels the invoice of a cancelled order).

Orders placed, cancelled or expired before any invoice have none. Each step's events go to the
outbox as the live code records them (`InvoiceCreated`; `PaymentReceived` with the statuses it
entered; `InvoiceRefunded`; `InvoiceExpired`, `InvoiceInvalid`), at the step's time and marked
`seeded`, as for orders (see `agora.orders.seeding`): read models elsewhere see them, the
orders saga skips them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

import asyncpg

from agora._proto.agora.payments.v1 import events_pb2 as events
from agora.payments import store, tables
from agora.payments.conversion import Rate
from agora.payments.domain import (
    Invoice,
    InvoiceChange,
    InvoicePolicy,
    InvoiceRecord,
    InvoiceStatus,
    NewInvoice,
    PaymentReport,
    Refund,
    cancel,
    expire,
    open_invoice,
    receive_payment,
    refund,
    with_refund,
)
from agora.payments.events import (
    INVOICE_CREATED,
    INVOICE_REFUNDED,
    PAYMENT_RECEIVED,
    PRODUCER,
    invoice_events,
)
from agora.payments.providers import DevProvider, PaymentInstructions
from agora.payments.rates import IDENTITY
from agora.payments.settings import PaymentsSettings
from agora.payments.translation import invoice_pb, refund_pb
from agora.platform.kernel.money import Money
from agora.platform.seeding import (
    HistoricalEvent,
    OutboxRow,
    Progress,
    SeedOrder,
    SeedPlan,
    built_ahead,
    clean_outbox,
    outbox_rows,
    paused_collector,
    seed_id,
    write_outbox,
)

SERVICE = "payments"
BATCH = 10_000
REFUND_REASON = "refunded to the customer"
_SETTLED_OUTCOMES = frozenset({"paid", "fulfilled", "shipped", "delivered", "refunded"})


class _SeededHistory:
    """The dev provider's recorder while seeding: payments are written as rows, never
    reported, so a report here is a bug."""

    async def record_payment(self, invoice_id: str, report: PaymentReport) -> Invoice:
        raise RuntimeError(f"seeding does not record payments (invoice {invoice_id})")


def invoiced(order: SeedOrder) -> bool:
    """Whether the order got an invoice: it reached awaiting_payment."""
    if order.outcome == "placed":
        return False
    return order.outcome not in ("cancelled", "expired") or len(order.steps) == 2


@dataclass(frozen=True)
class InvoiceStep:
    """A change of a seeded invoice: the invoice after it, when, and what the live code
    announced (`subject` of the first event and the statuses entered; a payment's reference, a
    refund)."""

    invoice: Invoice
    at: datetime
    subject: str = ""
    entered: tuple[InvoiceStatus, ...] = ()
    payment_reference: str = ""
    refund: Refund | None = None


def seeded_invoice(
    order: SeedOrder, profile: str, policy: InvoicePolicy
) -> tuple[Invoice, datetime]:
    """The order's invoice as the payments domain leaves it, and when it last changed."""
    last = invoice_steps(order, profile, policy)[-1]
    return last.invoice, last.at


def invoice_steps(order: SeedOrder, profile: str, policy: InvoicePolicy) -> list[InvoiceStep]:
    """The changes of the order's invoice, from its creation on, as the payments domain makes
    them."""
    if order.total_minor <= 0:
        raise ValueError(
            f"order {order.id} has no total_minor: fill it with agora.orders.seeding.with_totals"
        )
    created_at = order.steps[0]
    code = order.currency
    invoice = open_invoice(
        NewInvoice(
            reference=order.id,
            price=Money(order.total_minor, code),
            pay_currency=code,
            provider=DevProvider.name,
            customer_id=order.customer_id,
        ),
        invoice_id=order.invoice_id,
        rate=Rate(code, code, Fraction(1), IDENTITY, created_at),
        confirmations_required=DevProvider.confirmations_required,
        policy=policy,
        now=created_at,
    )
    steps = [InvoiceStep(invoice, created_at, INVOICE_CREATED)]

    def changed(change: InvoiceChange, at: datetime, **announced: Any) -> Invoice:
        steps.append(InvoiceStep(change.invoice, at, entered=change.entered, **announced))
        return change.invoice

    if order.outcome in _SETTLED_OUTCOMES:
        paid_at = order.steps[1]
        report = PaymentReport(
            _payment_reference(profile, order),
            invoice.due,
            DevProvider.confirmations_required,
            paid_at,
        )
        invoice = changed(
            receive_payment(invoice, report),
            paid_at,
            subject=PAYMENT_RECEIVED,
            payment_reference=report.reference,
        )
        if invoice.status is not InvoiceStatus.SETTLED:
            raise ValueError(
                f"order {order.id} is paid at {paid_at.isoformat()}, after its invoice expired "
                f"at {invoice.expires_at.isoformat()}"
            )
        if order.outcome == "refunded":
            refunded_at = order.steps[-1]
            made = refund(
                invoice,
                refund_id=seed_id(profile, "refund", order.id),
                amount=order.refunded_minor or invoice.paid,
                reason=REFUND_REASON,
                now=refunded_at,
            )
            steps.append(
                InvoiceStep(with_refund(invoice, made), refunded_at, INVOICE_REFUNDED, refund=made)
            )
    elif order.outcome == "expired":
        changed(expire(invoice, order.steps[1]), order.steps[1])
    elif order.outcome == "cancelled":
        changed(cancel(invoice), order.steps[1])
    return steps


def step_events(step: InvoiceStep, record: InvoiceRecord) -> list[HistoricalEvent]:
    """The events the live code records for `step` (`record`: the invoice's payment
    instructions), as `payments.events.invoice_events` builds them."""
    message = invoice_pb(record, step.invoice)
    first: list[tuple[str, Any]] = []
    if step.subject == INVOICE_CREATED:
        first.append((INVOICE_CREATED, events.InvoiceCreated(invoice=message)))
    elif step.subject == PAYMENT_RECEIVED:
        payment = next(p for p in message.payments if p.reference == step.payment_reference)
        first.append((PAYMENT_RECEIVED, events.PaymentReceived(invoice=message, payment=payment)))
    elif step.subject == INVOICE_REFUNDED and step.refund is not None:
        refunded = refund_pb(step.refund, step.invoice.pay_currency)
        first.append((INVOICE_REFUNDED, events.InvoiceRefunded(invoice=message, refund=refunded)))
    return [
        HistoricalEvent(p.subject, p.event, p.aggregate_id, step.at, p.aggregate_version)
        for p in invoice_events(first, step.entered, message)
    ]


def _payment_reference(profile: str, order: SeedOrder) -> str:
    """A dev payment's reference (`dev-<hex>`), the same in every run of the profile."""
    return f"dev-{uuid.UUID(seed_id(profile, 'payment', order.id)).hex}"


def invoice_rows(
    invoice: Invoice, instructions: PaymentInstructions, updated_at: datetime
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The invoice's row in `invoices` and its rows in `invoice_payments` and
    `invoice_refunds`, as the store writes them."""
    row = store.invoice_row(
        invoice, pay_to=instructions.pay_to, memo=instructions.memo, updated_at=updated_at
    )
    payments = [store.payment_row(invoice.id, p) for p in invoice.payments]
    refunds = [store.refund_row(invoice.id, r) for r in invoice.refunds]
    return row, payments, refunds


Rows = list[tuple[Any, ...]]


def build_batch(
    orders: Sequence[SeedOrder], context: tuple[str, InvoicePolicy]
) -> tuple[Rows, Rows, Rows, list[OutboxRow]]:
    """The `invoices`, `invoice_payments`, `invoice_refunds` and `outbox` rows of `orders`'
    invoices (`context`: the plan's profile and the invoice policy)."""
    return asyncio.run(_build_batch(orders, *context))


async def _build_batch(
    orders: Sequence[SeedOrder], profile: str, policy: InvoicePolicy
) -> tuple[Rows, Rows, Rows, list[OutboxRow]]:
    provider = DevProvider(_SeededHistory())
    invoices: Rows = []
    payments: Rows = []
    refunds: Rows = []
    announced: list[HistoricalEvent] = []
    for order in orders:
        steps = invoice_steps(order, profile, policy)
        invoice, updated_at = steps[-1].invoice, steps[-1].at
        instructions = await provider.create_payment_request(invoice)
        row, paid, refunded = invoice_rows(invoice, instructions, updated_at)
        invoices.append(row)
        payments.extend(paid)
        refunds.extend(refunded)
        record = InvoiceRecord(invoice, instructions.pay_to, instructions.memo)
        for step in steps:
            announced.extend(step_events(step, record))
    return invoices, payments, refunds, outbox_rows(PRODUCER, announced, profile)


# Copied in this order; deleted children first, each by its key to the invoice.
_SEEDED = (tables.invoices, tables.invoice_payments, tables.invoice_refunds)
_DELETED = (
    (tables.invoice_refunds, "invoice_id"),
    (tables.invoice_payments, "invoice_id"),
    (tables.invoices, "id"),
)


class PaymentsSeeder:
    """Writes the invoices of a plan's orders, with their payments and refunds, by COPY."""

    service = SERVICE

    def __init__(self, policy: InvoicePolicy | None = None, *, batch_size: int = BATCH) -> None:
        self._policy = policy
        self._batch_size = batch_size

    async def write(
        self, conn: asyncpg.Connection, plan: SeedPlan, progress: Progress
    ) -> dict[str, int]:
        """Write the invoices; rows of an earlier run of the same plan are replaced.

        Batches are built in worker processes while the previous one is copied."""
        policy = self._policy or PaymentsSettings().invoice_policy()
        await self.clean(conn, plan)
        written = {table.name: 0 for table in _SEEDED}
        orders = [order for order in plan.orders if invoiced(order)]
        size = self._batch_size
        batches = [orders[start : start + size] for start in range(0, len(orders), size)]
        with paused_collector():
            built = aclosing(built_ahead(build_batch, batches, (plan.profile, policy)))
            async with built as batches_built:
                async for *batch, outbox in batches_built:
                    for table, rows in zip(_SEEDED, batch, strict=True):
                        columns = [column.name for column in table.c]
                        await conn.copy_records_to_table(table.name, records=rows, columns=columns)
                        written[table.name] += len(rows)
                    written["events"] = written.get("events", 0) + await write_outbox(conn, outbox)
                    progress("invoices", len(batch[0]))
        return written

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        """Delete the invoices of the plan's orders with their payments and refunds, and their
        unpublished events."""
        ids = [order.invoice_id for order in plan.orders if order.invoice_id]
        deleted: dict[str, int] = {"events": await clean_outbox(conn, plan.profile)}
        for table, key in _DELETED:
            statement = f"DELETE FROM {table.name} WHERE {key} = ANY($1::uuid[])"
            status = await conn.execute(statement, ids)
            deleted[table.name] = int(status.split()[-1])
        return deleted


SEEDER = PaymentsSeeder()

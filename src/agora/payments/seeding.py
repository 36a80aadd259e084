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

Orders placed, cancelled or expired before any invoice have none. As for orders (see
`agora.orders.seeding`), seeded invoices are history: nothing goes to the outbox.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from datetime import datetime
from fractions import Fraction
from typing import Any

import asyncpg

from agora.payments import store, tables
from agora.payments.conversion import Rate
from agora.payments.domain import (
    Invoice,
    InvoicePolicy,
    InvoiceStatus,
    NewInvoice,
    PaymentReport,
    cancel,
    expire,
    open_invoice,
    receive_payment,
    refund,
    with_refund,
)
from agora.payments.providers import DevProvider, PaymentInstructions
from agora.payments.rates import IDENTITY
from agora.payments.settings import PaymentsSettings
from agora.platform.kernel.money import Money
from agora.platform.seeding import (
    Progress,
    SeedOrder,
    SeedPlan,
    built_ahead,
    paused_collector,
    seed_id,
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


def seeded_invoice(
    order: SeedOrder, profile: str, policy: InvoicePolicy
) -> tuple[Invoice, datetime]:
    """The order's invoice as the payments domain leaves it, and when it last changed."""
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
    if order.outcome in _SETTLED_OUTCOMES:
        paid_at = order.steps[1]
        report = PaymentReport(
            _payment_reference(profile, order),
            invoice.due,
            DevProvider.confirmations_required,
            paid_at,
        )
        invoice = receive_payment(invoice, report).invoice
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
            return with_refund(invoice, made), refunded_at
        return invoice, paid_at
    if order.outcome == "expired":
        return expire(invoice, order.steps[1]).invoice, order.steps[1]
    if order.outcome == "cancelled":
        return cancel(invoice).invoice, order.steps[1]
    return invoice, created_at


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
) -> tuple[Rows, Rows, Rows]:
    """The `invoices`, `invoice_payments` and `invoice_refunds` rows of `orders`' invoices
    (`context`: the plan's profile and the invoice policy)."""
    return asyncio.run(_build_batch(orders, *context))


async def _build_batch(
    orders: Sequence[SeedOrder], profile: str, policy: InvoicePolicy
) -> tuple[Rows, Rows, Rows]:
    provider = DevProvider(_SeededHistory())
    invoices: Rows = []
    payments: Rows = []
    refunds: Rows = []
    for order in orders:
        invoice, updated_at = seeded_invoice(order, profile, policy)
        instructions = await provider.create_payment_request(invoice)
        row, paid, refunded = invoice_rows(invoice, instructions, updated_at)
        invoices.append(row)
        payments.extend(paid)
        refunds.extend(refunded)
    return invoices, payments, refunds


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
                async for batch in batches_built:
                    for table, rows in zip(_SEEDED, batch, strict=True):
                        columns = [column.name for column in table.c]
                        await conn.copy_records_to_table(table.name, records=rows, columns=columns)
                        written[table.name] += len(rows)
                    progress("invoices", len(batch[0]))
        return written

    async def clean(self, conn: asyncpg.Connection, plan: SeedPlan) -> dict[str, int]:
        """Delete the invoices of the plan's orders with their payments and refunds."""
        ids = [order.invoice_id for order in plan.orders if order.invoice_id]
        deleted: dict[str, int] = {}
        for table, key in _DELETED:
            statement = f"DELETE FROM {table.name} WHERE {key} = ANY($1::uuid[])"
            status = await conn.execute(statement, ids)
            deleted[table.name] = int(status.split()[-1])
        return deleted


SEEDER = PaymentsSeeder()

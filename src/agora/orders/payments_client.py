"""What orders asks of the payments service, over its gRPC API (generated stubs only: orders
never imports payments' code): an invoice for an order, and cancelling it.

Every call's idempotency key derives from the order, so the saga may repeat a call after a
crash or a redelivery and get the same invoice back instead of a second one.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora._proto.agora.types.v1.money_pb2 import Money
from agora.orders.aggregate import Order
from agora.orders.catalog_client import raise_for_call
from agora.platform.errors import FailedPrecondition, Gone

PaymentsStubSource = Callable[[], PaymentsServiceStub]


class Payments:
    """The payments service, reached through a stub taken afresh per call (its channel follows
    discovery or `AGORA_PAYMENTS_ADDRESS`)."""

    def __init__(
        self, stub: PaymentsStubSource, *, invoice_expiry_s: int, timeout_s: float = 5.0
    ) -> None:
        self._stub = stub
        self._invoice_expiry_s = invoice_expiry_s
        self._timeout_s = timeout_s

    async def create_invoice(self, order: Order) -> str:
        """The id of the order's invoice: its total, payable in the order's currency; the
        order's customer (none for a guest) is the one who may read it in full.

        An outage raises `Unavailable` (retried by the consumer without limit); a refusal
        (INVALID_ARGUMENT, FAILED_PRECONDITION) comes back as that domain error.
        """
        request = ppb.CreateInvoiceRequest(
            idempotency_key=f"orders:{order.id}:invoice",
            reference=order.id,
            price=Money(amount_minor=order.total_minor, currency=order.placed.currency),
            pay_currency=order.placed.currency,
            expires_in_seconds=self._invoice_expiry_s,
            customer_id=order.placed.customer_id,
        )
        try:
            invoice: ppb.Invoice = await self._stub().CreateInvoice(
                request, timeout=self._timeout_s
            )
        except grpc.aio.AioRpcError as error:
            raise_for_call(error, "payments")
        return invoice.id

    async def cancel_invoice(self, order_id: str, invoice_id: str) -> None:
        """Stop the invoice of an order that ended unpaid from taking any more money; an
        invoice already settled, expired or cancelled stays as it is."""
        request = ppb.CancelInvoiceRequest(
            idempotency_key=f"orders:{order_id}:cancel-invoice", id=invoice_id
        )
        try:
            await self._stub().CancelInvoice(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            try:
                raise_for_call(error, "payments")
            except (FailedPrecondition, Gone):
                return

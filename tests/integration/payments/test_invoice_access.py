"""An invoice in full (its order reference, its customer) is for its customer and staff; anyone
holding its id sees only what paying needs (the payment view). Refusals speak the API's words."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from payments_support import TIMEOUT_S, create_invoice, error_of, invoice_request, key
from security_support import customer_token, mint_token, with_token

from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.platform.rpc.server import GrpcServer


@pytest.fixture(scope="module")
async def anonymous(payments_server: GrpcServer) -> AsyncIterator[PaymentsServiceStub]:
    """Payments called with no token (unless a call sets one)."""
    async with grpc.aio.insecure_channel(payments_server.address) as channel:
        yield PaymentsServiceStub(channel)


async def customers_invoice(payments: PaymentsServiceStub, customer_id: str) -> pb.Invoice:
    request = invoice_request(currency="EUR", pay_currency="EUR")
    request.customer_id = customer_id
    return await payments.CreateInvoice(request, timeout=TIMEOUT_S)


async def test_anyone_with_the_id_sees_only_the_payment_view(
    payments: PaymentsServiceStub, anonymous: PaymentsServiceStub
) -> None:
    invoice = await customers_invoice(payments, str(uuid.uuid4()))

    view = await anonymous.GetInvoicePayment(
        pb.GetInvoicePaymentRequest(id=invoice.id), timeout=TIMEOUT_S
    )
    code, _ = await error_of(
        anonymous.GetInvoice(pb.GetInvoiceRequest(id=invoice.id), timeout=TIMEOUT_S)
    )

    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert (view.id, view.status, view.due, view.expires_at) == (
        invoice.id,
        pb.INVOICE_STATUS_NEW,
        invoice.due,
        invoice.expires_at,
    )
    assert view.instructions == invoice.instructions
    assert set(pb.InvoicePayment.DESCRIPTOR.fields_by_name).isdisjoint(
        {"reference", "customer_id", "payments", "refunds"}
    )
    assert invoice.reference.encode() not in view.SerializeToString()


async def test_the_full_invoice_is_for_its_customer_and_staff_only(
    payments: PaymentsServiceStub, anonymous: PaymentsServiceStub
) -> None:
    owner = str(uuid.uuid4())
    invoice = await customers_invoice(payments, owner)
    guests = await create_invoice(payments, currency="EUR", pay_currency="EUR")
    request = pb.GetInvoiceRequest(id=invoice.id)
    as_owner = with_token(customer_token(owner))
    as_other = with_token(customer_token(str(uuid.uuid4())))
    support = with_token(mint_token(roles=["support"], permissions=["payments:invoices:read"]))

    mine = await anonymous.GetInvoice(request, metadata=as_owner, timeout=TIMEOUT_S)
    by_staff = await anonymous.GetInvoice(request, metadata=support, timeout=TIMEOUT_S)
    others, _ = await error_of(anonymous.GetInvoice(request, metadata=as_other, timeout=TIMEOUT_S))
    guest_read, _ = await error_of(
        anonymous.GetInvoice(
            pb.GetInvoiceRequest(id=guests.id), metadata=as_other, timeout=TIMEOUT_S
        )
    )

    assert (mine.reference, mine.customer_id) == (invoice.reference, owner)
    assert by_staff.reference == invoice.reference
    assert (others, guest_read) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)


async def test_a_dev_payment_answers_others_with_the_payment_view_only(
    payments: PaymentsServiceStub, anonymous: PaymentsServiceStub
) -> None:
    invoice = await customers_invoice(payments, str(uuid.uuid4()))

    paid = await anonymous.DevPay(
        pb.DevPayRequest(idempotency_key=key(), id=invoice.id, action=pb.DEV_PAY_ACTION_PAY_FULL),
        timeout=TIMEOUT_S,
    )

    assert not paid.HasField("invoice")
    assert (paid.payment.id, paid.payment.status) == (invoice.id, pb.INVOICE_STATUS_SETTLED)
    assert paid.payment.paid == invoice.due


async def test_paying_a_cancelled_invoice_says_it_is_cancelled_and_cannot_be_paid(
    payments: PaymentsServiceStub,
) -> None:
    invoice = await create_invoice(payments, currency="EUR", pay_currency="EUR")
    await payments.CancelInvoice(
        pb.CancelInvoiceRequest(idempotency_key=key(), id=invoice.id), timeout=TIMEOUT_S
    )

    code, info = await error_of(
        payments.DevPay(
            pb.DevPayRequest(
                idempotency_key=key(), id=invoice.id, action=pb.DEV_PAY_ACTION_PAY_FULL
            ),
            timeout=TIMEOUT_S,
        )
    )

    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info.message == "the invoice is cancelled and cannot be paid"
    assert info.metadata == {"status": "INVOICE_STATUS_INVALID"}

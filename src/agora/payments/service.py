"""The payments gRPC servicer: translates protobuf to domain calls and back.

Reads run on autocommit connections. Each mutation is one transaction holding its idempotency
record, its state change and its outbox events; an invoice is changed only under its row lock.
Payment providers report payments through `record_payment` (the `PaymentRecorder` side).

A declined dev payment is not an error: the invoice is unchanged, the response says
`declined`, and a `payments.payment.declined` event tells the orders service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from agora._proto.agora.payments.v1 import events_pb2 as events
from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1 import payments_pb2_grpc
from agora.payments import store
from agora.payments.conversion import Rate, parse_rate
from agora.payments.domain import (
    MAX_REFERENCE_LENGTH,
    Invoice,
    InvoicePolicy,
    InvoiceRecord,
    PaymentReport,
    cancel,
    open_invoice,
    receive_payment,
    refund,
    validate_new_invoice,
    with_refund,
)
from agora.payments.events import (
    INVOICE_CREATED,
    INVOICE_REFUNDED,
    PAYMENT_DECLINED,
    PAYMENT_RECEIVED,
    RATE_CHANGED,
    record,
    record_invoice_event,
    record_invoice_events,
    record_statuses_entered,
)
from agora.payments.onchain import CHAIN
from agora.payments.providers import (
    DEV,
    Declined,
    DevProvider,
    PaymentInstructions,
    ProviderContext,
    payment_providers,
)
from agora.payments.rates import (
    STAFF,
    RateProvider,
    is_recorded_source,
    parse_ecb_rates,
    read_ecb_document,
)
from agora.payments.translation import (
    crypto_payment_pb,
    currencies_pb,
    currency_code,
    dev_action,
    invoice_payment_pb,
    invoice_pb,
    new_invoice,
    parse_amount,
    rate_pb,
    refund_pb,
)
from agora.platform.db import session_factory, transaction
from agora.platform.errors import FailedPrecondition, InvalidArgument, NotFound
from agora.platform.idempotency import Capability, idempotent_mutation
from agora.platform.kernel.checks import require_id, require_text
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import currency
from agora.platform.kernel.paging import decode_page_token, encode_page_token, page_size
from agora.platform.rpc.timestamps import datetime_of
from agora.platform.security.principal import Principal, current_principal

ResponseT = TypeVar("ResponseT", bound=Message)
Change = Callable[[AsyncSession], Awaitable[ResponseT]]
INVOICES_READ = "payments:invoices:read"


@dataclass(frozen=True)
class PaymentsConfig:
    """The service's choices: providers enabled, defaults of new invoices, the ECB source."""

    providers: list[str]
    default_provider: str = DEV
    policy: InvoicePolicy = field(default_factory=InvoicePolicy)
    ecb_source: str | None = None


async def _locked_invoice(session: AsyncSession, invoice_id: str) -> InvoiceRecord:
    """The invoice `invoice_id` names, locked for the rest of the transaction."""
    return await store.invoice_by_id(session, require_id(invoice_id, "id"), for_update=True)


def _with_terms(invoice: Invoice, instructions: PaymentInstructions) -> Invoice:
    """The invoice with what its provider decided for it: confirmations, chain and token."""
    if instructions.confirmations_required is None:
        return invoice
    return replace(
        invoice,
        confirmations_required=instructions.confirmations_required,
        chain_id=instructions.chain_id,
        token_address=instructions.token_address,
        router_address=instructions.router_address,
    )


def may_see_in_full(principal: Principal, invoice: pb.Invoice) -> bool:
    """An invoice in full (its order reference, its customer) is for staff and its customer."""
    return principal.can(INVOICES_READ) or principal.owns(invoice.customer_id)


class PaymentsService(payments_pb2_grpc.PaymentsServiceServicer):
    """PaymentsService over the payments schema reached through `engine`."""

    def __init__(
        self,
        engine: AsyncEngine,
        rates: RateProvider,
        config: PaymentsConfig,
        provider_context: ProviderContext | None = None,
    ) -> None:
        self._sessions = session_factory(engine)
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._rates = rates
        self._config = config
        self.providers = payment_providers(config.providers, self, provider_context)

    async def _mutate(
        self,
        operation: str,
        request: Any,
        response_type: type[ResponseT],
        change: Change[ResponseT],
        *,
        guest_invoice: str | None,
    ) -> ResponseT:
        """One transaction: claim the idempotency key, make the change, record its events.

        A guest's key is scoped to `guest_invoice`, the invoice id they act on (None: a call
        only staff or services make). Authorization is by permission (the interceptor checks
        it on every call, replays included) or by holding the invoice id, which the scope
        already requires of a replay."""
        return await idempotent_mutation(
            self._sessions,
            operation=f"payments.{operation}",
            request=request,
            response_type=response_type,
            change=change,
            guest_capability=None
            if guest_invoice is None
            else Capability("invoice", guest_invoice),
            authorize_replay=None,
        )

    # --- providers report payments here ---------------------------------------------------

    async def record_payment(self, invoice_id: str, report: PaymentReport) -> Invoice:
        """Apply a provider's payment report in a transaction of its own."""
        async with transaction(self._sessions) as session:
            current = await store.invoice_by_id(session, invoice_id, for_update=True)
            after, _ = await self._apply_payment(session, current, report)
            return after

    async def _apply_payment(
        self, session: AsyncSession, current: InvoiceRecord, report: PaymentReport
    ) -> tuple[Invoice, pb.Invoice]:
        change = receive_payment(current.invoice, report)
        after = change.invoice
        await store.save_invoice(session, current.invoice, after)
        message = invoice_pb(current, after)
        payment = next(p for p in message.payments if p.reference == report.reference)
        received = events.PaymentReceived(invoice=message, payment=payment)
        await record_invoice_events(
            session, [(PAYMENT_RECEIVED, received)], change.entered, message
        )
        return after, message

    # --- invoices -------------------------------------------------------------------------

    async def CreateInvoice(self, request: pb.CreateInvoiceRequest, context: object) -> pb.Invoice:
        async def change(session: AsyncSession) -> pb.Invoice:
            new = new_invoice(request, self._config.default_provider)
            validate_new_invoice(new, self._config.policy)
            provider = self.providers.get(new.provider)
            if provider is None:
                raise InvalidArgument.for_field(
                    "provider", f"payment provider {new.provider!r} is not enabled"
                )
            provider.check_pay_currency(new.pay_currency)
            rate = await self._rates.rate(new.price.currency, new.pay_currency)
            if not is_recorded_source(rate.source):
                await store.add_rates(session, [rate])  # every rate used is kept, with its source
            invoice = open_invoice(
                new,
                invoice_id=str(uuid.uuid4()),
                rate=rate,
                confirmations_required=provider.confirmations_required,
                policy=self._config.policy,
                now=utcnow(),
            )
            instructions = await provider.create_payment_request(invoice)
            invoice = _with_terms(invoice, instructions)
            await store.insert_invoice(
                session, invoice, pay_to=instructions.pay_to, memo=instructions.memo
            )
            message = invoice_pb(InvoiceRecord(invoice, instructions.pay_to, instructions.memo))
            created = events.InvoiceCreated(invoice=message)
            await record_invoice_event(session, INVOICE_CREATED, created, message)
            return message

        return await self._mutate("CreateInvoice", request, pb.Invoice, change, guest_invoice=None)

    async def GetInvoice(self, request: pb.GetInvoiceRequest, context: object) -> pb.Invoice:
        invoice_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            found = invoice_pb(await store.invoice_by_id(conn, invoice_id))
        if not may_see_in_full(current_principal(), found):
            raise NotFound("invoice", invoice_id)  # as if absent: nothing told to others
        return found

    async def GetInvoicePayment(
        self, request: pb.GetInvoicePaymentRequest, context: object
    ) -> pb.InvoicePayment:
        invoice_id = require_id(request.id, "id")
        async with self._reads.connect() as conn:
            return invoice_payment_pb(invoice_pb(await store.invoice_by_id(conn, invoice_id)))

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: object
    ) -> pb.ListInvoicesResponse:
        reference = require_text(request.reference, "reference", max_len=MAX_REFERENCE_LENGTH)
        async with self._reads.connect() as conn:
            found = await store.invoices_by_reference(conn, reference.strip())
        return pb.ListInvoicesResponse(invoices=[invoice_pb(r) for r in found])

    async def CancelInvoice(self, request: pb.CancelInvoiceRequest, context: object) -> pb.Invoice:
        async def change(session: AsyncSession) -> pb.Invoice:
            current = await _locked_invoice(session, request.id)
            cancelled = cancel(current.invoice)
            await store.save_invoice(session, current.invoice, cancelled.invoice)
            message = invoice_pb(current, cancelled.invoice)
            await record_statuses_entered(session, cancelled.entered, message)
            return message

        return await self._mutate(
            "CancelInvoice", request, pb.Invoice, change, guest_invoice=request.id
        )

    async def RefundInvoice(
        self, request: pb.RefundInvoiceRequest, context: object
    ) -> pb.RefundInvoiceResponse:
        async def change(session: AsyncSession) -> pb.RefundInvoiceResponse:
            current = await _locked_invoice(session, request.id)
            made = refund(
                current.invoice,
                refund_id=str(uuid.uuid4()),
                amount=parse_amount(request.amount, "amount"),
                reason=request.reason,
                now=utcnow(),
            )
            after = with_refund(current.invoice, made)
            await store.save_invoice(session, current.invoice, after)
            message = invoice_pb(current, after)
            refund_message = refund_pb(made, after.pay_currency)
            refunded = events.InvoiceRefunded(invoice=message, refund=refund_message)
            await record_invoice_event(session, INVOICE_REFUNDED, refunded, message)
            return pb.RefundInvoiceResponse(invoice=message, refund=refund_message)

        return await self._mutate(
            "RefundInvoice", request, pb.RefundInvoiceResponse, change, guest_invoice=request.id
        )

    # --- the crypto ledger (reconciliation) ----------------------------------------------------

    async def ListCryptoPayments(
        self, request: pb.ListCryptoPaymentsRequest, context: object
    ) -> pb.ListCryptoPaymentsResponse:
        size = page_size(request.page_size)
        since = datetime_of(request.since) if request.HasField("since") else None
        until = datetime_of(request.until) if request.HasField("until") else utcnow()
        if since is None:
            raise InvalidArgument.for_field("since", "required")
        if until <= since:
            raise InvalidArgument.for_field("until", "must be after since")
        # Without `until` the window ends at each page's now: pages keep following new payments.
        end = until.isoformat() if request.HasField("until") else "now"
        query = f"crypto:{since.isoformat()}:{end}"
        position = decode_page_token(request.page_token, query, arity=3)
        after = None
        if position is not None:
            at, invoice_id, reference = (str(part) for part in position)
            after = (datetime.fromisoformat(at), invoice_id, reference)
        async with self._reads.connect() as conn:
            found = await store.ledger_page(
                conn, provider=CHAIN, since=since, until=until, after=after, limit=size + 1
            )
        response = pb.ListCryptoPaymentsResponse(
            payments=[crypto_payment_pb(entry) for entry in found[:size]]
        )
        if len(found) > size:
            last = found[size - 1]
            response.next_page_token = encode_page_token(
                [last.payment.received_at.isoformat(), last.invoice_id, last.payment.reference],
                query,
            )
        return response

    # --- the dev provider -----------------------------------------------------------------

    async def DevPay(self, request: pb.DevPayRequest, context: object) -> pb.DevPayResponse:
        dev = self.providers.get(DEV)
        if not isinstance(dev, DevProvider):
            raise FailedPrecondition("the dev payment provider is not enabled")
        action = dev_action(request.action)
        amount = parse_amount(request.amount, "amount") if request.amount else None

        async def change(session: AsyncSession) -> pb.DevPayResponse:
            current = await _locked_invoice(session, request.id)
            if current.invoice.provider != DEV:
                raise FailedPrecondition("the invoice is not paid through the dev provider")
            outcome = dev.simulate(current.invoice, action, amount, utcnow())
            if isinstance(outcome, Declined):
                message = invoice_pb(current)
                declined = events.PaymentDeclined(invoice=message, reason=outcome.reason)
                await record_invoice_event(session, PAYMENT_DECLINED, declined, message)
                return pb.DevPayResponse(invoice=message, declined=True)
            _, message = await self._apply_payment(session, current, outcome)
            return pb.DevPayResponse(invoice=message, payment_reference=outcome.reference)

        response = await self._mutate(
            "DevPay", request, pb.DevPayResponse, change, guest_invoice=request.id
        )
        # The answer as stored serves every retry; who sees the full invoice is decided per call.
        shown = pb.DevPayResponse()
        shown.CopyFrom(response)
        shown.payment.CopyFrom(invoice_payment_pb(response.invoice))
        if not may_see_in_full(current_principal(), response.invoice):
            shown.ClearField("invoice")
        return shown

    # --- currencies and rates -------------------------------------------------------------

    async def ListCurrencies(
        self, request: pb.ListCurrenciesRequest, context: object
    ) -> pb.ListCurrenciesResponse:
        return pb.ListCurrenciesResponse(currencies=currencies_pb())

    async def GetExchangeRate(
        self, request: pb.GetExchangeRateRequest, context: object
    ) -> pb.ExchangeRate:
        base, quote = currency_code(request.base), currency_code(request.quote)
        return rate_pb(await self._rates.rate(base, quote))

    async def SetExchangeRate(
        self, request: pb.SetExchangeRateRequest, context: object
    ) -> pb.ExchangeRate:
        async def change(session: AsyncSession) -> pb.ExchangeRate:
            base = currency(currency_code(request.base), "base").code
            quote = currency(currency_code(request.quote), "quote").code
            if base == quote:
                raise InvalidArgument.for_field("quote", "must differ from base")
            rate = Rate(base, quote, parse_rate(request.rate), STAFF, utcnow())
            await store.add_rates(session, [rate])
            message = rate_pb(rate)
            await record(
                session,
                RATE_CHANGED,
                events.ExchangeRateChanged(rates=[message]),
                aggregate_id=f"{base}/{quote}",
                version=0,
            )
            return message

        return await self._mutate(
            "SetExchangeRate", request, pb.ExchangeRate, change, guest_invoice=None
        )

    async def ImportEcbRates(
        self, request: pb.ImportEcbRatesRequest, context: object
    ) -> pb.ImportEcbRatesResponse:
        source = self._config.ecb_source
        if not source:
            raise FailedPrecondition("no ECB source is configured (AGORA_PAYMENTS_ECB_SOURCE)")
        published = parse_ecb_rates(await read_ecb_document(source))

        async def change(session: AsyncSession) -> pb.ImportEcbRatesResponse:
            added = await store.add_rates(session, published)
            if added:
                await record(
                    session,
                    RATE_CHANGED,
                    events.ExchangeRateChanged(rates=[rate_pb(r) for r in added]),
                    aggregate_id="ecb",
                    version=0,
                )
            return pb.ImportEcbRatesResponse(rates=[rate_pb(r) for r in published])

        return await self._mutate(
            "ImportEcbRates", request, pb.ImportEcbRatesResponse, change, guest_invoice=None
        )

"""Payment providers: one small interface, chosen per invoice, registered by entry point.

A provider tells the payer how to pay an invoice (`create_payment_request`) and later reports
what it sees through the `PaymentRecorder` it was given: each payment with its reference
(a transaction hash), amount and confirmations, any number of times as confirmations grow. So
payments may be asynchronous, partial, over or late, as on-chain USDT and token payments are.

Built in: `dev`, like Saleor's dummy gateway, whose payments are simulated through the DevPay
API. Others register under the `agora.payment_providers` entry-point group as a factory
`(PaymentRecorder) -> PaymentProvider`.
"""

from __future__ import annotations

import importlib.metadata
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Protocol

from agora.payments.domain import Invoice, InvoiceStatus, PaymentReport, ensure_payable
from agora.platform.errors import InvalidArgument

ENTRY_POINT_GROUP = "agora.payment_providers"
DEV = "dev"


@dataclass(frozen=True)
class PaymentInstructions:
    """How to pay: where (`pay_to`: an address, a URI, a page) and with which memo.

    A provider that decides the confirmations per invoice (the chain's policy for the amount)
    says so in `confirmations_required`; an on-chain one also names the chain, token contract
    and router a payment must use."""

    pay_to: str
    memo: str = ""
    confirmations_required: int | None = None
    chain_id: int = 0
    token_address: str = ""
    router_address: str = ""


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may need besides its recorder: stubs of other services (taken afresh per
    call: channels follow discovery) and the call timeout."""

    stub: Callable[[str, Callable[[Any], Any]], Any] | None = None
    timeout_s: float = 5.0
    settings: Mapping[str, str] = field(default_factory=dict)


class PaymentRecorder(Protocol):
    """The service side of a provider: where its payment reports go."""

    async def record_payment(self, invoice_id: str, report: PaymentReport) -> Invoice:
        """Apply `report` to the invoice (a new payment or more confirmations); idempotent."""
        ...


class PaymentProvider(ABC):
    """A way to get paid."""

    name: str
    # Confirmations a payment needs before it counts towards settlement.
    confirmations_required: int = 1

    def __init__(self, recorder: PaymentRecorder) -> None:
        self.recorder = recorder

    def check_pay_currency(self, pay_currency: str) -> None:
        """INVALID_ARGUMENT when the provider cannot take `pay_currency` (default: any)."""
        return None

    @abstractmethod
    async def create_payment_request(self, invoice: Invoice) -> PaymentInstructions:
        """Prepare the invoice's payment (a deposit address, a payment page) and say how."""


class DevAction(Enum):
    PAY_FULL = "pay_full"
    PAY_PARTIAL = "pay_partial"
    PAY_OVER = "pay_over"
    PAY_LATE = "pay_late"
    DECLINE = "decline"


@dataclass(frozen=True)
class Declined:
    reason: str


class DevProvider(PaymentProvider):
    """Simulated payments, confirmed at once, for development and tests only."""

    name = DEV
    confirmations_required = 1

    async def create_payment_request(self, invoice: Invoice) -> PaymentInstructions:
        # The memo names the invoice, never the order: payers see it on the public payment view.
        return PaymentInstructions(pay_to=f"dev://invoices/{invoice.id}", memo=invoice.id)

    def simulate(
        self, invoice: Invoice, action: DevAction, amount: int | None, now: datetime
    ) -> PaymentReport | Declined:
        """The payment `action` makes now: 409 on a settled invoice, 410 on an expired one
        (except PAY_LATE, which is late on purpose)."""
        if action is DevAction.PAY_LATE:
            if invoice.status is not InvoiceStatus.EXPIRED:
                # Settled or invalid invoices refuse it; the clock does not matter here.
                ensure_payable(invoice, min(now, invoice.expires_at - timedelta(microseconds=1)))
            late = max(now, invoice.expires_at)
            return self._report(max(invoice.due - invoice.paid, 0) or invoice.due, late)
        ensure_payable(invoice, now)
        outstanding = max(invoice.due - invoice.paid, 1)
        match action:
            case DevAction.PAY_FULL:
                return self._report(outstanding, now)
            case DevAction.PAY_PARTIAL:
                partial = amount if amount is not None else max(outstanding // 2, 1)
                return self._report(_positive(partial), now)
            case DevAction.PAY_OVER:
                extra = amount if amount is not None else max(invoice.due // 100, 1)
                return self._report(outstanding + _positive(extra), now)
            case DevAction.DECLINE:
                return Declined("the dev provider declined the payment, as asked")

    def _report(self, amount: int, at: datetime) -> PaymentReport:
        return PaymentReport(f"dev-{uuid.uuid4().hex}", amount, self.confirmations_required, at)


def _positive(amount: int) -> int:
    if amount <= 0:
        raise InvalidArgument.for_field("amount", "must be positive")
    return amount


ProviderFactory = Callable[..., PaymentProvider]
BUILT_IN: Mapping[str, ProviderFactory] = {DEV: DevProvider}


def payment_providers(
    names: list[str], recorder: PaymentRecorder, context: ProviderContext | None = None
) -> dict[str, PaymentProvider]:
    """The providers `names` enables, from entry points first, then the built-in ones. A factory
    marked `needs_context` is called as `(recorder, context)`, others as `(recorder)`."""
    registered = {e.name: e for e in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    found: dict[str, PaymentProvider] = {}
    for name in names:
        if name in registered:
            factory: ProviderFactory = registered[name].load()
        elif name in BUILT_IN:
            factory = BUILT_IN[name]
        else:
            raise ValueError(f"unknown payment provider {name!r}")
        if getattr(factory, "needs_context", False):
            found[name] = factory(recorder, context or ProviderContext())
        else:
            found[name] = factory(recorder)
    return found

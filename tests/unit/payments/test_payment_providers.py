"""The dev payment provider's simulated payments, provider and settings choices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from agora.payments.conversion import Rate
from agora.payments.domain import (
    Invoice,
    InvoicePolicy,
    InvoiceSettled,
    InvoiceStatus,
    NewInvoice,
    PaymentReport,
    expire,
    open_invoice,
    receive_payment,
)
from agora.payments.providers import Declined, DevAction, DevProvider, payment_providers
from agora.payments.settings import PaymentsSettings
from agora.platform.errors import FailedPrecondition, Gone, InvalidArgument
from agora.platform.kernel.money import Money
from agora.platform.settings import PlatformSettings

NOW = datetime(2025, 5, 2, 12, 0, tzinfo=UTC)


class Recorder:
    async def record_payment(self, invoice_id: str, report: PaymentReport) -> Invoice:
        raise AssertionError("the dev provider reports through DevPay only")


DEV = DevProvider(Recorder())


def invoice() -> Invoice:
    return open_invoice(
        NewInvoice("order-9", Money(1000, "EUR"), "USDT", "dev"),
        invoice_id="inv-9",
        rate=Rate("EUR", "USDT", Fraction(1), "db", NOW),
        confirmations_required=1,
        policy=InvoicePolicy(),
        now=NOW,
    )


def simulate(current: Invoice, action: DevAction, amount: int | None = None) -> PaymentReport:
    report = DEV.simulate(current, action, amount, NOW)
    assert isinstance(report, PaymentReport)
    return report


async def test_dev_instructions_point_at_the_invoice() -> None:
    instructions = await DEV.create_payment_request(invoice())
    assert (instructions.pay_to, instructions.memo) == ("dev://invoices/inv-9", "inv-9")


def test_pay_full_pays_what_is_still_due_confirmed() -> None:
    opened = invoice()
    half = receive_payment(opened, PaymentReport("p", 4_000_000, 1, NOW)).invoice
    report = simulate(half, DevAction.PAY_FULL)
    assert (report.amount, report.confirmations) == (opened.due - 4_000_000, 1)
    assert report.reference.startswith("dev-")


def test_pay_partial_pays_half_by_default_or_the_amount_given() -> None:
    assert simulate(invoice(), DevAction.PAY_PARTIAL).amount == invoice().due // 2
    assert simulate(invoice(), DevAction.PAY_PARTIAL, 7).amount == 7
    with pytest.raises(InvalidArgument):
        simulate(invoice(), DevAction.PAY_PARTIAL, 0)


def test_pay_over_pays_one_percent_more_by_default() -> None:
    assert simulate(invoice(), DevAction.PAY_OVER).amount == invoice().due * 101 // 100
    assert simulate(invoice(), DevAction.PAY_OVER, 5).amount == invoice().due + 5


def test_pay_late_arrives_at_or_after_expiry() -> None:
    report = simulate(invoice(), DevAction.PAY_LATE)
    assert report.at == invoice().expires_at
    late = receive_payment(invoice(), report).invoice
    assert (late.status, late.paid_late) == (InvoiceStatus.EXPIRED, True)


def test_pay_late_to_an_already_expired_invoice() -> None:
    expired = expire(invoice(), NOW + timedelta(hours=1)).invoice
    assert simulate(expired, DevAction.PAY_LATE).amount == invoice().due


def test_decline_changes_nothing() -> None:
    assert isinstance(DEV.simulate(invoice(), DevAction.DECLINE, None, NOW), Declined)


def test_paying_a_settled_invoice_is_409_and_an_expired_one_410() -> None:
    settled = replace(invoice(), status=InvoiceStatus.SETTLED)
    for action in DevAction:
        with pytest.raises(InvoiceSettled):
            DEV.simulate(settled, action, None, NOW)
    expired = expire(invoice(), NOW + timedelta(hours=1)).invoice
    with pytest.raises(Gone):
        simulate(expired, DevAction.PAY_FULL)


def test_an_invalid_invoice_takes_no_dev_payment() -> None:
    invalid = replace(invoice(), status=InvoiceStatus.INVALID)
    with pytest.raises(FailedPrecondition):
        simulate(invalid, DevAction.PAY_LATE)


def test_providers_are_found_by_name() -> None:
    found = payment_providers(["dev"], Recorder())
    assert isinstance(found["dev"], DevProvider)
    with pytest.raises(ValueError, match="nope"):
        payment_providers(["nope"], Recorder())


@pytest.mark.parametrize(
    ("env", "configured", "enabled"),
    [("dev", None, ["dev"]), ("test", None, ["dev"]), ("dev", False, []), ("test", True, ["dev"])],
)
def test_the_dev_provider_is_on_by_default_outside_production(
    env: str, configured: bool | None, enabled: list[str]
) -> None:
    platform = PlatformSettings(env=env)
    assert PaymentsSettings(dev_provider=configured).enabled_providers(platform) == enabled


def test_the_dev_provider_is_off_by_default_and_refused_in_production() -> None:
    platform = PlatformSettings(env="prod", database_url="postgresql://x/y", nats_url="nats://x")
    assert PaymentsSettings().enabled_providers(platform) == []
    with pytest.raises(ValueError, match="refused"):
        PaymentsSettings(dev_provider=True).enabled_providers(platform)


def test_new_invoices_live_and_tolerate_underpayment_as_configured() -> None:
    policy = PaymentsSettings(invoice_ttl_s=60, payment_tolerance_bp=25).invoice_policy()
    assert (policy.ttl, policy.tolerance_bp) == (timedelta(seconds=60), 25)

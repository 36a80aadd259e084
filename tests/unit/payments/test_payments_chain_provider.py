"""The `chain` payment provider: what it asks the chain service, how it reads the answer, the
pay currencies it takes, and a clean UNAVAILABLE (real gRPC, nothing listening) when the chain
service is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.payments.conversion import Rate
from agora.payments.domain import Invoice, InvoicePolicy, NewInvoice, PaymentReport, open_invoice
from agora.payments.onchain import ChainProvider, instructions_from, payment_options_request
from agora.payments.providers import ProviderContext, payment_providers
from agora.platform.errors import FailedPrecondition, InvalidArgument, Unavailable
from agora.platform.kernel.money import Money
from agora.platform.net import free_port
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.timestamps import datetime_of

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
INVOICE_ID = "7b0e1a5c-8a53-4a8e-9a3c-2f0f5c2e6a11"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


class Recorder:
    async def record_payment(self, invoice_id: str, report: PaymentReport) -> Invoice:
        raise AssertionError("the chain provider reports through events, not here")


def invoice(pay_currency: str = "AGT") -> Invoice:
    return open_invoice(
        NewInvoice("order-1", Money(1999, "EUR"), pay_currency, "chain"),
        invoice_id=INVOICE_ID,
        rate=Rate("EUR", pay_currency, Fraction(100), "peg", NOW),
        confirmations_required=1,
        policy=InvoicePolicy(),
        now=NOW,
    )


def test_the_request_names_the_invoice_its_token_and_the_due_in_base_units() -> None:
    agt = invoice("AGT")
    request = payment_options_request(agt, speed=cpb.SPEED_HIGH, chain_id=31337)
    assert request.invoice_id == INVOICE_ID
    assert request.symbol == "AGT"
    # 19.99 EUR at 100 AGT per EUR: 1999 AGT, 18 decimals.
    assert request.amount == CryptoAmount(base_units=str(1999 * 10**18), asset="AGT", decimals=18)
    assert datetime_of(request.expires_at) == agt.expires_at
    assert (request.speed, request.chain_id) == (cpb.SPEED_HIGH, 31337)


def options(current: Invoice, **changes: object) -> cpb.PaymentOptions:
    answer = cpb.PaymentOptions(
        invoice_id=current.id,
        chain_id=31337,
        token=cpb.Token(chain_id=31337, symbol=current.pay_currency, address=TOKEN, decimals=18),
        amount=CryptoAmount(base_units=str(current.due), asset=current.pay_currency, decimals=18),
        deposit_address="0x1111111111111111111111111111111111111111",
        eip681_uri=f"ethereum:{TOKEN}@31337/transfer?address=0x11&uint256={current.due}",
        router_address="0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        confirmations_required=12,
    )
    for name, value in changes.items():
        setattr(answer, name, value)
    return answer


def test_the_answer_gives_the_deposit_address_the_uri_and_the_invoices_confirmations() -> None:
    current = invoice()
    found = instructions_from(current, options(current))
    assert found.pay_to == "0x1111111111111111111111111111111111111111"
    assert found.memo.startswith(f"ethereum:{TOKEN}@31337/transfer?")
    assert (found.confirmations_required, found.chain_id, found.token_address) == (12, 31337, TOKEN)
    assert found.router_address == "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


@pytest.mark.parametrize(
    "changes",
    [
        {"invoice_id": "00000000-0000-0000-0000-000000000000"},
        {"deposit_address": ""},
    ],
)
def test_an_answer_about_something_else_is_refused(changes: dict[str, object]) -> None:
    current = invoice()
    with pytest.raises(FailedPrecondition):
        instructions_from(current, options(current, **changes))


def test_an_answer_for_another_amount_or_token_is_refused() -> None:
    current = invoice()
    answer = options(current)
    answer.amount.base_units = "1"
    with pytest.raises(FailedPrecondition):
        instructions_from(current, answer)
    answer = options(current)
    answer.token.symbol = "USDT"
    with pytest.raises(FailedPrecondition):
        instructions_from(current, answer)


@pytest.fixture
async def channels_to_nowhere() -> AsyncIterator[ServiceChannels]:
    channels = ServiceChannels(
        Resolver(static={"chain": f"127.0.0.1:{free_port()}"}), timeout_s=2, max_attempts=2
    )
    yield channels
    await channels.close()


def provider(channels: ServiceChannels, **settings: str) -> ChainProvider:
    context = ProviderContext(stub=channels.stub, timeout_s=2, settings=settings)
    [found] = payment_providers(["chain"], Recorder(), context).values()
    assert isinstance(found, ChainProvider)
    return found


async def test_only_usdt_and_agt_are_taken(channels_to_nowhere: ServiceChannels) -> None:
    chain = provider(channels_to_nowhere)
    chain.check_pay_currency("USDT")
    chain.check_pay_currency("AGT")
    with pytest.raises(InvalidArgument) as error:
        await chain.create_payment_request(invoice("EUR"))
    assert error.value.violations[0].field == "payCurrency"


async def test_the_chain_service_down_is_unavailable_with_a_retry(
    channels_to_nowhere: ServiceChannels,
) -> None:
    with pytest.raises(Unavailable) as error:
        await provider(channels_to_nowhere, chain_speed="low").create_payment_request(invoice())
    assert error.value.retry_after_s > 0


def test_the_provider_needs_channels_and_a_known_speed(
    channels_to_nowhere: ServiceChannels,
) -> None:
    with pytest.raises(ValueError, match="channels"):
        ChainProvider(Recorder(), ProviderContext())
    with pytest.raises(ValueError, match="speed"):
        provider(channels_to_nowhere, chain_speed="warp")

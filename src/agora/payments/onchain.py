"""The `chain` payment provider: invoices paid in USDT or the shop token (AGT) on an EVM chain.

Creating an invoice asks the chain service for its payment options (CreatePaymentOptions,
idempotent per invoice): a deposit address of its own, the EIP-681 URI of a plain transfer, the
router call for a connected wallet, and the confirmations the chain's policy requires for the
amount. The instructions' `pay_to` is the deposit address, the memo the EIP-681 URI; anyone
holding the invoice id gets the rest (QR code, router calldata) from the chain service's public
GetPaymentOptions. Payments arrive as `chain.transfer.*` events (consumers.py).
"""

from __future__ import annotations

from typing import Any

import grpc

from agora._proto.agora.chain.v1 import chain_pb2 as cpb
from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub
from agora._proto.agora.types.v1.money_pb2 import CryptoAmount
from agora.payments.domain import Invoice
from agora.payments.providers import (
    PaymentInstructions,
    PaymentProvider,
    PaymentRecorder,
    ProviderContext,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument, Unavailable
from agora.platform.kernel.money import currency
from agora.platform.rpc.status import raise_for_rpc_error
from agora.platform.rpc.timestamps import timestamp

CHAIN = "chain"
CHAIN_SERVICE = "chain"
PAY_CURRENCIES = frozenset({"USDT", "AGT"})
SPEEDS = {
    "": cpb.SPEED_UNSPECIFIED,
    "low": cpb.SPEED_LOW,
    "medium": cpb.SPEED_MEDIUM,
    "high": cpb.SPEED_HIGH,
}
RETRY_AFTER_S = 2.0
_TRANSIENT = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)


def payment_options_request(
    invoice: Invoice, *, speed: int = cpb.SPEED_UNSPECIFIED, chain_id: int = 0
) -> cpb.CreatePaymentOptionsRequest:
    """What the chain service is asked for `invoice`: its due in the token's base units."""
    return cpb.CreatePaymentOptionsRequest(
        invoice_id=invoice.id,
        symbol=invoice.pay_currency,
        amount=CryptoAmount(
            base_units=str(invoice.due),
            asset=invoice.pay_currency,
            decimals=currency(invoice.pay_currency).exponent,
        ),
        expires_at=timestamp(invoice.expires_at),
        speed=speed,  # type: ignore[arg-type]
        chain_id=chain_id,
    )


def instructions_from(invoice: Invoice, options: cpb.PaymentOptions) -> PaymentInstructions:
    """How to pay `invoice`, from the chain's answer (which must be about this invoice, in its
    token, for its due)."""
    if (
        options.invoice_id != invoice.id
        or options.token.symbol != invoice.pay_currency
        or options.amount.base_units != str(invoice.due)
        or not options.deposit_address
    ):
        raise FailedPrecondition(
            "the chain service answered with payment options of another invoice or amount",
            metadata={"invoice_id": invoice.id},
        )
    return PaymentInstructions(
        pay_to=options.deposit_address,
        memo=options.eip681_uri,
        confirmations_required=options.confirmations_required,
        chain_id=options.chain_id,
        token_address=options.token.address,
        router_address=options.router_address,
    )


class ChainProvider(PaymentProvider):
    """Payments on an EVM chain, through the chain service."""

    name = CHAIN
    needs_context = True
    # Only a default: each invoice gets the chain's answer for its amount.
    confirmations_required = 1

    def __init__(self, recorder: PaymentRecorder, context: ProviderContext) -> None:
        super().__init__(recorder)
        if context.stub is None:
            raise ValueError("the chain payment provider needs channels to the chain service")
        self._stub: Any = context.stub
        self._timeout_s = context.timeout_s
        speed = context.settings.get("chain_speed", "")
        if speed not in SPEEDS:
            raise ValueError(f"unknown chain speed {speed!r}: low | medium | high")
        self._speed = SPEEDS[speed]
        self._chain_id = int(context.settings.get("chain_id", "0") or 0)

    def check_pay_currency(self, pay_currency: str) -> None:
        if pay_currency not in PAY_CURRENCIES:
            raise InvalidArgument.for_field(
                "payCurrency", f"the chain provider takes {' or '.join(sorted(PAY_CURRENCIES))}"
            )

    async def create_payment_request(self, invoice: Invoice) -> PaymentInstructions:
        self.check_pay_currency(invoice.pay_currency)
        request = payment_options_request(invoice, speed=self._speed, chain_id=self._chain_id)
        try:
            stub: ChainServiceStub = self._stub(CHAIN_SERVICE, ChainServiceStub)
            options = await stub.CreatePaymentOptions(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as error:
            if error.code() in _TRANSIENT:
                raise Unavailable(
                    f"the chain service is unavailable: {error.code().name}",
                    retry_after_s=RETRY_AFTER_S,
                ) from error
            raise_for_rpc_error(error)
        return instructions_from(invoice, options)

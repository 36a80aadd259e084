"""The services the chain service calls, over their gRPC APIs (generated stubs only): payments'
crypto ledger, which reconciliation compares with the chain."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc

from agora._proto.agora.payments.v1 import payments_pb2 as ppb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.chain.domain import LedgerPayment
from agora.platform.errors import Unavailable
from agora.platform.rpc.status import raise_for_rpc_error
from agora.platform.rpc.timestamps import timestamp

PaymentsStubSource = Callable[[], PaymentsServiceStub]
TRANSIENT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)
PAGE_SIZE = 100
MAX_PAGES = 100_000  # 10 million lines: a bound, never reached by a shop of this size
_STATUSES = {
    ppb.PAYMENT_STATUS_CREDITED: "credited",
    ppb.PAYMENT_STATUS_WITHDRAWN: "withdrawn",
    ppb.PAYMENT_STATUS_FLAGGED: "flagged",
}
_MAX_DIGITS = 78


def ledger_payment(p: ppb.CryptoPayment) -> LedgerPayment:
    units = p.amount.base_units
    amount = int(units) if units.isdigit() and len(units) <= _MAX_DIGITS else 0
    status = _STATUSES.get(p.status, "unknown")
    return LedgerPayment(
        reference=p.reference,
        invoice_id=p.invoice_id,
        symbol=p.pay_currency,
        amount=amount,
        credited=status == "credited",
        status=status,
    )


class Payments:
    """Payments' crypto ledger, through a stub taken afresh per call (its channel follows
    discovery)."""

    def __init__(self, stub: PaymentsStubSource, *, timeout_s: float = 10.0) -> None:
        self._stub = stub
        self._timeout_s = timeout_s

    async def crypto_payments(self, since: datetime, until: datetime) -> list[LedgerPayment]:
        """Every on-chain payment payments received in [since, until), all pages."""
        found: list[LedgerPayment] = []
        token = ""
        for _ in range(MAX_PAGES):
            request = ppb.ListCryptoPaymentsRequest(
                since=timestamp(since),
                until=timestamp(until),
                page_size=PAGE_SIZE,
                page_token=token,
            )
            try:
                page: ppb.ListCryptoPaymentsResponse = await self._stub().ListCryptoPayments(
                    request, timeout=self._timeout_s
                )
            except grpc.aio.AioRpcError as error:
                if error.code() in TRANSIENT_CODES:
                    raise Unavailable(f"payments is unavailable: {error.code().name}") from error
                raise_for_rpc_error(error)
            found.extend(ledger_payment(p) for p in page.payments)
            token = page.next_page_token
            if not token:
                return found
        raise Unavailable("payments' ledger has more pages than reconciliation reads")

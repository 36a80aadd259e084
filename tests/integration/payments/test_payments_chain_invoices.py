"""Creating invoices with live rates and the `chain` provider, served for real: the rate of a
Binance-format ticker (a local server speaking exactly that protocol) is locked on the invoice
and recorded with its source; the chain provider takes only USDT and AGT, and with the chain
service unreachable the call is a clean UNAVAILABLE that a retry with the same key may repeat.
The crypto ledger is readable by the chain service's token, not by others."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import grpc
import nats
import pytest
import sqlalchemy as sa
from payments_support import TIMEOUT_S, error_of, invoice_request
from security_support import (
    SecurityFiles,
    authorization_interceptor,
    authorized_channel,
    service_identity,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from agora._proto.agora.payments.v1 import payments_pb2 as pb
from agora._proto.agora.payments.v1.payments_pb2_grpc import PaymentsServiceStub
from agora.payments.bootstrap import compose
from agora.payments.settings import PaymentsSettings
from agora.platform.kernel.clock import utcnow
from agora.platform.net import free_port
from agora.platform.rpc.client import ServiceChannels
from agora.platform.rpc.discovery import Resolver
from agora.platform.rpc.server import GrpcServer
from agora.platform.rpc.timestamps import timestamp
from agora.platform.runtime import Backends
from agora.platform.settings import PlatformSettings


class Binance(BaseHTTPRequestHandler):
    """GET /api/v3/ticker/price?symbol=EURUSDT as Binance answers it (400 for an unknown one)."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        symbol = parse_qs(url.query).get("symbol", [""])[0]
        if url.path == "/api/v3/ticker/price" and symbol == "EURUSDT":
            status, body = 200, {"symbol": "EURUSDT", "price": "1.07250000"}
        else:
            status, body = 400, {"code": -1121, "msg": "Invalid symbol."}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ticker_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Binance)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
async def chain_payments(
    payments_engine: AsyncEngine,
    database_url: str,
    nats_url: str,
    security_files: SecurityFiles,
    ticker_url: str,
) -> AsyncIterator[tuple[PaymentsServiceStub, str]]:
    """Payments with the chain provider and `ticker,peg,db` rates; the chain service listed at
    an address where nothing listens."""
    platform = PlatformSettings(database_url=database_url, nats_url=nats_url, env="test")
    settings = PaymentsSettings(
        providers=["chain"],
        rate_provider="ticker,peg,db",
        ticker_url=ticker_url,
        rate_pegs="USDT=1 USD;AGT=0.01 EUR",
    )
    connection = await nats.connect(nats_url)
    channels = ServiceChannels(
        Resolver(static={"chain": f"127.0.0.1:{free_port()}"}), timeout_s=2, max_attempts=2
    )
    parts = compose(Backends(platform, payments_engine, connection.jetstream(), channels), settings)
    # With the chain provider, payments follows the chain's transfers.
    assert [getattr(c, "durable", None) for c in parts.consumers] == ["payments-chain-transfers"]
    server = GrpcServer(
        "payments",
        "127.0.0.1",
        free_port(),
        authorization=authorization_interceptor(security_files),
    )
    for servicer in parts.servicers:
        server.add(servicer.add_to_server, servicer.implementation)
    await server.start()
    channel = authorized_channel(server.address)
    yield PaymentsServiceStub(channel), server.address
    await channel.close()
    await server.stop(0)
    await channels.close()
    await connection.close()


async def test_a_ticker_rate_is_locked_on_the_invoice_and_recorded_with_its_source(
    chain_payments: tuple[PaymentsServiceStub, str], payments_engine: AsyncEngine
) -> None:
    payments, _ = chain_payments
    request = invoice_request(1000, pay_currency="USDT")
    request.provider = "dev"
    created = await payments.CreateInvoice(request, timeout=TIMEOUT_S)
    assert (created.rate.rate, created.rate.source) == ("1.0725", "ticker:127.0.0.1")
    assert created.due.base_units == "10725000"  # 10.00 EUR in USDT base units
    async with payments_engine.connect() as conn:
        recorded = (
            await conn.execute(
                sa.text(
                    "SELECT count(*) FROM exchange_rates WHERE base = 'EUR' AND quote = 'USDT' "
                    "AND source = 'ticker:127.0.0.1' AND as_of = :as_of"
                ),
                {"as_of": created.rate.as_of.ToDatetime().replace(tzinfo=utcnow().tzinfo)},
            )
        ).scalar_one()
    assert recorded == 1


async def test_a_pegged_token_is_priced_through_its_peg(
    chain_payments: tuple[PaymentsServiceStub, str],
) -> None:
    payments, _ = chain_payments
    request = invoice_request(1000, pay_currency="AGT")
    request.provider = "dev"
    created = await payments.CreateInvoice(request, timeout=TIMEOUT_S)
    assert (created.rate.rate, created.rate.source) == ("100", "peg")
    assert created.due.base_units == str(1000 * 10**18)


async def test_the_chain_provider_takes_only_usdt_and_agt(
    chain_payments: tuple[PaymentsServiceStub, str],
) -> None:
    payments, _ = chain_payments
    request = invoice_request(1000, pay_currency="EUR")
    request.provider = "chain"
    code, info = await error_of(payments.CreateInvoice(request, timeout=TIMEOUT_S))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "payCurrency" in str(info)


async def test_the_chain_service_down_makes_a_clean_unavailable_and_the_retry_is_safe(
    chain_payments: tuple[PaymentsServiceStub, str],
) -> None:
    payments, _ = chain_payments
    request = invoice_request(1000, pay_currency="USDT")
    request.provider = "chain"
    for _ in range(2):  # the same idempotency key: nothing was stored, the retry fails alike
        code, _ = await error_of(payments.CreateInvoice(request, timeout=TIMEOUT_S))
        assert code == grpc.StatusCode.UNAVAILABLE
    found = await payments.ListInvoices(
        pb.ListInvoicesRequest(reference=request.reference), timeout=TIMEOUT_S
    )
    assert list(found.invoices) == []


async def test_the_crypto_ledger_is_for_the_chain_service_and_staff_only(
    chain_payments: tuple[PaymentsServiceStub, str],
) -> None:
    payments, _ = chain_payments
    request = pb.ListCryptoPaymentsRequest(page_size=5)
    # A window before any payment (other tests' payments may be in the last minute).
    request.since.CopyFrom(timestamp(utcnow() - timedelta(days=2)))
    request.until.CopyFrom(timestamp(utcnow() - timedelta(days=1)))
    chain_token = (("authorization", "Bearer " + service_identity("chain").token()),)
    answer = await payments.ListCryptoPayments(request, metadata=chain_token, timeout=TIMEOUT_S)
    assert list(answer.payments) == []
    orders_token = (("authorization", "Bearer " + service_identity("orders").token()),)
    code, _ = await error_of(
        payments.ListCryptoPayments(request, metadata=orders_token, timeout=TIMEOUT_S)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, _ = await error_of(
        payments.ListCryptoPayments(pb.ListCryptoPaymentsRequest(), timeout=TIMEOUT_S)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT

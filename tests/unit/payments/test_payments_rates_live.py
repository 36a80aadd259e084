"""Live rate sources: an exchange's price ticker in Binance's format (served by a real HTTP
server on a loopback port, speaking exactly that protocol), configured pegs crossed through fiat
rates, and a chain of providers where the first answer wins."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from agora.payments.rates import (
    ChainedRates,
    EcbRates,
    PegRates,
    TickerRates,
    is_recorded_source,
    parse_pegs,
    parse_ticker,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument, Unavailable
from agora.platform.net import free_port

SAMPLE = Path(__file__).with_name("eurofxref-sample.xml")  # EUR/USD 1.1316
PRICES = {"EURUSDT": "1.0823", "AGTUSDT": "0.0125", "GBPUSDT": "1e3"}


class Binance(BaseHTTPRequestHandler):
    """GET /api/v3/ticker/price?symbol=EURUSDT -> {"symbol":"EURUSDT","price":"1.0823"}; an
    unknown symbol is HTTP 400 {"code":-1121,"msg":"Invalid symbol."}, as Binance answers."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        symbol = parse_qs(url.query).get("symbol", [""])[0]
        if url.path == "/slow/api/v3/ticker/price":
            time.sleep(1.0)
        if url.path == "/broken/api/v3/ticker/price":
            self._answer(503, {"code": -1001, "msg": "Internal error"})
        elif url.path.endswith("/api/v3/ticker/price") and symbol in PRICES:
            self._answer(200, {"symbol": symbol, "price": PRICES[symbol]})
        else:
            self._answer(400, {"code": -1121, "msg": "Invalid symbol."})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client gave up
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ticker_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Binance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


# --- the ticker -----------------------------------------------------------------------------


def test_a_ticker_answer_is_parsed_exactly() -> None:
    assert parse_ticker(b'{"symbol":"EURUSDT","price":"0.92340000"}', "EURUSDT") == Fraction(
        9234, 10000
    )


@pytest.mark.parametrize(
    "document",
    [
        b'{"symbol":"EURUSDT","price":0.9234}',
        b'{"symbol":"EURUSDT","price":"1e3"}',
        b'{"symbol":"EURUSDT","price":"-1"}',
        b'{"symbol":"EURUSDT","price":"0"}',
        b'{"symbol":"USDTEUR","price":"1.1"}',
        b"[]",
        b"not json",
    ],
)
def test_a_ticker_answer_that_is_not_an_exact_positive_price_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidArgument):
        parse_ticker(document, "EURUSDT")


async def test_the_ticker_gives_a_pair_as_listed_or_inverted(ticker_url: str) -> None:
    ticker = TickerRates(ticker_url)
    direct = await ticker.rate("EUR", "USDT")
    assert (direct.value, direct.source) == (Fraction(10823, 10000), "ticker:127.0.0.1")
    inverse = await ticker.rate("USDT", "AGT")
    assert inverse.value == Fraction(10000, 125)


async def test_the_ticker_crosses_through_eur_only_what_it_lists(ticker_url: str) -> None:
    with pytest.raises(FailedPrecondition):
        await TickerRates(ticker_url).rate("EUR", "JPY")


async def test_an_unreadable_price_from_the_ticker_is_unavailable(ticker_url: str) -> None:
    with pytest.raises(Unavailable):
        await TickerRates(ticker_url).rate("GBP", "USDT")


async def test_an_unreachable_failing_or_slow_ticker_is_unavailable(ticker_url: str) -> None:
    with pytest.raises(Unavailable):
        await TickerRates(f"http://127.0.0.1:{free_port()}", timeout_s=1).rate("EUR", "USDT")
    with pytest.raises(Unavailable):
        await TickerRates(f"{ticker_url}/broken").rate("EUR", "USDT")
    with pytest.raises(Unavailable):
        await TickerRates(f"{ticker_url}/slow", timeout_s=0.2).rate("EUR", "USDT")


# --- pegs -----------------------------------------------------------------------------------


def test_pegs_are_read_from_their_setting() -> None:
    assert parse_pegs("USDT=1 USD; AGT=0.01 eur;") == {
        "USDT": (Fraction(1), "USD"),
        "AGT": (Fraction(1, 100), "EUR"),
    }


@pytest.mark.parametrize(
    "text", ["USDT=1", "USDT 1 USD", "USDT=1 USDT", "XXX=1 USD", "USDT=-1 USD"]
)
def test_a_malformed_peg_is_refused(text: str) -> None:
    with pytest.raises((ValueError, InvalidArgument)):
        parse_pegs(text)


async def test_a_peg_answers_its_own_pair_and_crosses_through_fiat_rates() -> None:
    pegs = PegRates(parse_pegs("USDT=1 USD;AGT=0.01 EUR"), EcbRates(str(SAMPLE)))
    assert (await pegs.rate("AGT", "EUR")).value == Fraction(1, 100)
    assert (await pegs.rate("EUR", "AGT")).value == 100
    eur_usdt = await pegs.rate("EUR", "USDT")
    assert (eur_usdt.value, eur_usdt.source) == (Fraction(11316, 10000), "ecb+peg")
    agt_usdt = await pegs.rate("AGT", "USDT")
    assert agt_usdt.value == Fraction(11316, 1000000)
    assert (await pegs.rate("EUR", "USD")).source == "ecb"  # no peg involved


async def test_a_peg_without_a_fiat_rate_to_cross_is_no_rate() -> None:
    pegs = PegRates(parse_pegs("USDT=1 USD"), EcbRates(str(SAMPLE)))
    with pytest.raises(FailedPrecondition):
        await pegs.rate("USDT", "AGT")


# --- chains ---------------------------------------------------------------------------------


async def test_a_chain_takes_the_first_answer(ticker_url: str) -> None:
    pegs = PegRates(parse_pegs("USDT=1 USD"), EcbRates(str(SAMPLE)))
    chain = ChainedRates([TickerRates(ticker_url), pegs])
    assert (await chain.rate("EUR", "USDT")).source == "ticker:127.0.0.1"
    assert (await chain.rate("USD", "USDT")).source == "peg"  # the ticker lists no USDTUSD


async def test_a_chain_passes_an_unreachable_ticker_by_and_says_unavailable_if_none_answers() -> (
    None
):
    down = TickerRates(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    pegs = PegRates(parse_pegs("USDT=1 USD"), EcbRates(str(SAMPLE)))
    assert (await ChainedRates([down, pegs]).rate("EUR", "USDT")).source == "ecb+peg"
    with pytest.raises(Unavailable):
        await ChainedRates([down, pegs]).rate("EUR", "AGT")
    with pytest.raises(FailedPrecondition):
        await ChainedRates([pegs]).rate("EUR", "AGT")


def test_only_rates_of_live_sources_are_recorded_when_used() -> None:
    assert is_recorded_source("staff")
    assert is_recorded_source("ecb+staff+cross")
    assert not is_recorded_source("ticker:api.binance.com")
    assert not is_recorded_source("ecb+peg")

"""Rates: the ECB reference-rate XML (from a file and over real HTTP), inverse and cross rates,
and the providers chosen by name."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agora.payments.conversion import Rate
from agora.payments.rates import (
    DirectLookup,
    EcbRates,
    parse_ecb_rates,
    read_ecb_document,
    resolve_rate,
)
from agora.platform.errors import FailedPrecondition, InvalidArgument, Unavailable
from agora.platform.net import free_port

SAMPLE = Path(__file__).with_name("eurofxref-sample.xml")
DAY = datetime(2025, 5, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def ecb_url() -> Iterator[str]:
    """The sample served by a real HTTP server on a loopback port."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(SAMPLE.parent))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/{SAMPLE.name}"
    server.shutdown()
    server.server_close()


def test_the_ecb_document_gives_eur_rates_of_known_currencies_dated_by_its_day() -> None:
    rates = parse_ecb_rates(SAMPLE.read_bytes())
    assert [(r.base, r.quote, r.value) for r in rates] == [
        ("EUR", "USD", Fraction("1.1316")),
        ("EUR", "JPY", Fraction("163.90")),
        ("EUR", "GBP", Fraction("0.85098")),
        ("EUR", "CHF", Fraction("0.9355")),
    ]
    assert {(r.source, r.as_of) for r in rates} == {("ecb", DAY)}


@pytest.mark.parametrize("document", [b"<not xml", b"<Envelope><Cube/></Envelope>"])
def test_a_document_without_rates_is_refused(document: bytes) -> None:
    with pytest.raises(InvalidArgument):
        parse_ecb_rates(document)


async def test_ecb_rates_are_read_from_a_file_and_crossed_through_eur() -> None:
    rates = EcbRates(str(SAMPLE))
    usd_jpy = await rates.rate("USD", "JPY")
    assert usd_jpy.value == Fraction("163.90") / Fraction("1.1316")
    assert (usd_jpy.source, usd_jpy.as_of) == ("ecb+cross", DAY)
    inverse = await rates.rate("USD", "EUR")
    assert inverse.value == 1 / Fraction("1.1316")


async def test_ecb_rates_are_fetched_over_http(ecb_url: str) -> None:
    assert (await read_ecb_document(ecb_url)) == SAMPLE.read_bytes()
    assert (await EcbRates(ecb_url).rate("EUR", "GBP")).value == Fraction("0.85098")


async def test_an_unreachable_source_is_unavailable(ecb_url: str) -> None:
    with pytest.raises(Unavailable):
        await read_ecb_document(ecb_url.replace(SAMPLE.name, "missing.xml"))
    with pytest.raises(Unavailable):
        await read_ecb_document(str(SAMPLE.with_name("missing.xml")))


def lookup(*known: Rate) -> DirectLookup:
    table = {(r.base, r.quote): r for r in known}

    async def direct(base: str, quote: str) -> Rate | None:
        return table.get((base, quote))

    return direct


async def test_a_direct_rate_wins_over_a_cross_rate() -> None:
    direct = Rate("USD", "GBP", Fraction(3, 4), "staff", DAY)
    via_eur = lookup(
        direct,
        Rate("EUR", "USD", Fraction(2), "ecb", DAY),
        Rate("EUR", "GBP", Fraction(1), "ecb", DAY),
    )
    assert await resolve_rate("USD", "GBP", via_eur) == direct


async def test_a_cross_rate_is_as_old_as_its_oldest_leg_and_names_both_sources() -> None:
    older = datetime(2025, 5, 1, tzinfo=UTC)
    found = await resolve_rate(
        "USDT",
        "JPY",
        lookup(
            Rate("EUR", "USDT", Fraction(11, 10), "staff", DAY),
            Rate("JPY", "EUR", Fraction(1, 160), "ecb", older),
        ),
    )
    assert found.value == Fraction(160) / Fraction(11, 10)
    assert (found.source, found.as_of) == ("ecb+staff+cross", older)


async def test_a_currency_in_itself_is_worth_one() -> None:
    found = await resolve_rate("EUR", "EUR", lookup())
    assert (found.value, found.source) == (Fraction(1), "identity")


async def test_a_missing_rate_is_a_failed_precondition_naming_the_pair() -> None:
    with pytest.raises(FailedPrecondition) as error:
        await resolve_rate("GBP", "AGT", lookup(Rate("EUR", "GBP", Fraction(1), "ecb", DAY)))
    assert error.value.metadata == {"base": "GBP", "quote": "AGT"}


async def test_an_unknown_currency_is_named() -> None:
    with pytest.raises(InvalidArgument) as error:
        await resolve_rate("EUR", "DOGE", lookup())
    assert [v.field for v in error.value.violations] == ["quote"]

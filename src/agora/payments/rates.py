"""Where exchange rates come from: one small interface, chosen by configuration.

Built in: `db` (rates staff set through the API, and imported ECB rates, with their history),
`ecb` (the ECB daily reference-rate XML, `eurofxref-daily.xml`, read from a file or URL at each
lookup), `ticker` (an exchange's price ticker in Binance's format, `GET
/api/v3/ticker/price?symbol=EURUSDT` -> `{"symbol":"EURUSDT","price":"0.9234"}`) and `peg`
(configured pegs such as `USDT=1 USD;AGT=0.01 EUR`, crossed through the `db` rates where the
peg's currency is not the one asked for). Others register under the `agora.rate_providers`
entry-point group as a factory `(RateProviderContext) -> RateProvider`. A comma-separated list
(`ticker,peg,db`) asks each in turn and takes the first answer.

A pair missing as such is found inverted (USD/EUR from EUR/USD) or crossed through EUR (the
ECB publishes EUR-based rates only).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from agora.payments import store
from agora.payments.conversion import Rate, parse_rate
from agora.platform.errors import FailedPrecondition, InvalidArgument, Unavailable
from agora.platform.kernel.clock import utcnow
from agora.platform.kernel.money import currency, is_currency

ENTRY_POINT_GROUP = "agora.rate_providers"
PIVOT = "EUR"
ECB = "ecb"
STAFF = "staff"
IDENTITY = "identity"
FETCH_TIMEOUT_S = 10.0
_ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"

DirectLookup = Callable[[str, str], Awaitable[Rate | None]]


class RateProvider(Protocol):
    """Gives the current rate of a currency pair, with its source and time."""

    async def rate(self, base: str, quote: str) -> Rate:
        """One `base` in `quote`; FAILED_PRECONDITION when no rate is known."""
        ...


@dataclass(frozen=True)
class RateProviderContext:
    """What a provider factory may use."""

    engine: AsyncEngine
    ecb_source: str | None = None
    ticker_url: str | None = None
    pegs: str | None = None
    ticker_timeout_s: float = 5.0


RateProviderFactory = Callable[[RateProviderContext], RateProvider]


async def resolve_rate(base: str, quote: str, direct: DirectLookup) -> Rate:
    """base/quote from `direct` lookups: as recorded, inverted, or crossed through EUR."""
    base, quote = currency(base, "base").code, currency(quote, "quote").code
    if base == quote:
        return Rate(base, quote, Fraction(1), IDENTITY, utcnow())
    found = await _one_way(base, quote, direct)
    if found is not None:
        return found
    if PIVOT not in (base, quote):
        from_pivot = await _one_way(PIVOT, base, direct)
        to_quote = await _one_way(PIVOT, quote, direct)
        if from_pivot is not None and to_quote is not None:
            return _cross(base, quote, from_pivot, to_quote)
    raise FailedPrecondition(
        f"no exchange rate from {base} to {quote}", metadata={"base": base, "quote": quote}
    )


async def _one_way(base: str, quote: str, direct: DirectLookup) -> Rate | None:
    found = await direct(base, quote)
    if found is not None:
        return found
    inverse = await direct(quote, base)
    return inverse.inverted() if inverse is not None else None


def _cross(base: str, quote: str, pivot_base: Rate, pivot_quote: Rate) -> Rate:
    sources = sorted({pivot_base.source, pivot_quote.source})
    return Rate(
        base,
        quote,
        pivot_quote.value / pivot_base.value,
        "+".join(sources) + "+cross",
        min(pivot_base.as_of, pivot_quote.as_of),
    )


class DatabaseRates:
    """Rates recorded in the payments schema: the latest one of each pair wins."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def rate(self, base: str, quote: str) -> Rate:
        async with self._reads.connect() as conn:

            async def direct(b: str, q: str) -> Rate | None:
                return await store.latest_rate(conn, b, q)

            return await resolve_rate(base, quote, direct)


def parse_ecb_rates(document: bytes) -> list[Rate]:
    """EUR-based rates from the ECB reference-rate XML (`<Cube time=…>` holding
    `<Cube currency='USD' rate='1.0823'/>`), dated midnight UTC of the reference day."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as error:
        raise InvalidArgument(f"not ECB reference-rate XML: {error}") from None
    rates: list[Rate] = []
    for day in root.iter(f"{_ECB_NAMESPACE}Cube"):
        if "time" not in day.attrib:
            continue
        as_of = datetime.combine(date.fromisoformat(day.attrib["time"]), time(), UTC)
        for cube in day.findall(f"{_ECB_NAMESPACE}Cube"):
            quote = cube.attrib.get("currency", "")
            if not is_currency(quote):
                continue  # a currency payments does not handle
            rates.append(Rate(PIVOT, quote, parse_rate(cube.attrib.get("rate", "")), ECB, as_of))
    if not rates:
        raise InvalidArgument("the ECB document holds no rates of known currencies")
    return rates


async def read_ecb_document(source: str) -> bytes:
    """The ECB XML from an http(s) URL or a file path."""
    if source.startswith(("http://", "https://")):
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_S) as client:
                response = await client.get(source)
                response.raise_for_status()
                return response.content
        except httpx.HTTPError as error:
            raise Unavailable(f"cannot fetch the ECB rates: {error}", retry_after_s=60) from None
    try:
        return await asyncio.to_thread(Path(source).read_bytes)
    except OSError as error:
        raise Unavailable(
            f"cannot read the ECB rates: {error.strerror}", retry_after_s=60
        ) from None


class EcbRates:
    """Rates straight from the ECB document (no database), re-read at each lookup."""

    def __init__(self, source: str) -> None:
        self._source = source

    async def rate(self, base: str, quote: str) -> Rate:
        published = {
            (r.base, r.quote): r for r in parse_ecb_rates(await read_ecb_document(self._source))
        }

        async def direct(b: str, q: str) -> Rate | None:
            return published.get((b, q))

        return await resolve_rate(base, quote, direct)


def database_rates(context: RateProviderContext) -> RateProvider:
    return DatabaseRates(context.engine)


def ecb_rates(context: RateProviderContext) -> RateProvider:
    if not context.ecb_source:
        raise ValueError("the ecb rate provider needs AGORA_PAYMENTS_ECB_SOURCE")
    return EcbRates(context.ecb_source)


# --- live sources: an exchange's ticker, configured pegs, a chain of providers -----------------

TICKER = "ticker"
PEG = "peg"
MAX_PEG_DEPTH = 4
_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")
_DECIMAL = re.compile(r"[0-9]{1,30}(\.[0-9]{1,30})?")


def is_recorded_source(source: str) -> bool:
    """Whether a rate of `source` is already in the rates table (staff's, imported ones, and
    their crosses); rates from a ticker or a peg are recorded when used."""
    return not any(part == PEG or part.startswith(TICKER) for part in source.split("+"))


def parse_ticker(document: bytes, symbol: str) -> Fraction:
    """The price in a ticker answer `{"symbol":"EURUSDT","price":"0.9234"}` (exact: the decimal
    string, never a float)."""
    try:
        data = json.loads(document)
    except ValueError:
        raise InvalidArgument("the ticker's answer is not JSON") from None
    if not isinstance(data, dict) or data.get("symbol") != symbol:
        raise InvalidArgument(f"the ticker's answer is not about {symbol}")
    price = data.get("price")
    if not isinstance(price, str) or not _DECIMAL.fullmatch(price):
        raise InvalidArgument("the ticker's price is not a decimal string")
    return parse_rate(price)


class TickerRates:
    """Rates from an exchange's public price ticker (Binance's `/api/v3/ticker/price`): pair
    `EUR/USDT` is symbol `EURUSDT`, or the inverse of `USDTEUR`; an unknown symbol (HTTP 400)
    is no rate; an unreachable or failing ticker is UNAVAILABLE."""

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self._url = base_url.rstrip("/") + "/api/v3/ticker/price"
        self._timeout_s = timeout_s
        self._source = f"{TICKER}:{httpx.URL(base_url).host}"

    async def rate(self, base: str, quote: str) -> Rate:
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:

            async def direct(b: str, q: str) -> Rate | None:
                return await self._price(client, b, q)

            return await resolve_rate(base, quote, direct)

    async def _price(self, client: httpx.AsyncClient, base: str, quote: str) -> Rate | None:
        symbol = f"{base}{quote}"
        if not _SYMBOL.fullmatch(symbol):
            return None
        try:
            response = await client.get(self._url, params={"symbol": symbol})
        except httpx.HTTPError as error:
            raise Unavailable(
                f"cannot reach the price ticker: {error!r}", retry_after_s=5
            ) from None
        if response.status_code in (400, 404):
            return None  # the exchange lists no such symbol
        if response.status_code != 200:
            raise Unavailable(
                f"the price ticker answered HTTP {response.status_code}", retry_after_s=5
            )
        try:
            value = parse_ticker(response.content, symbol)
        except InvalidArgument as error:
            raise Unavailable(f"unreadable price ticker: {error}", retry_after_s=5) from None
        return Rate(base, quote, value, self._source, utcnow())


def parse_pegs(text: str) -> dict[str, tuple[Fraction, str]]:
    """`USDT=1 USD;AGT=0.01 EUR` as {code: (value, anchor)}: one USDT is 1 USD."""
    pegs: dict[str, tuple[Fraction, str]] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        code, equals, rest = item.partition("=")
        parts = rest.split()
        if not equals or len(parts) != 2:
            raise ValueError(f"a peg reads CODE=VALUE ANCHOR, not {item.strip()!r}")
        pegged = currency(code.strip().upper(), "peg").code
        anchor = currency(parts[1].upper(), "peg anchor").code
        if pegged == anchor:
            raise ValueError(f"{pegged} cannot be pegged to itself")
        pegs[pegged] = (parse_rate(parts[0]), anchor)
    return pegs


class PegRates:
    """Configured pegs (`USDT=1 USD`), crossed through `others` (the `db` rates) when the anchor
    is not the currency asked for: EUR/USDT is 1 / (USD/EUR from `others`)."""

    def __init__(self, pegs: Mapping[str, tuple[Fraction, str]], others: RateProvider) -> None:
        self._pegs = dict(pegs)
        self._others = others

    async def rate(self, base: str, quote: str) -> Rate:
        return await self._rate(currency(base, "base").code, currency(quote, "quote").code, 0)

    async def _rate(self, base: str, quote: str, depth: int) -> Rate:
        if base == quote:
            return Rate(base, quote, Fraction(1), IDENTITY, utcnow())
        if depth > MAX_PEG_DEPTH:
            raise FailedPrecondition(f"pegs of {base} and {quote} go round in circles")
        if base in self._pegs:
            value, anchor = self._pegs[base]
            peg = Rate(base, anchor, value, PEG, utcnow())
            if anchor == quote:
                return peg
            onward = await self._rate(anchor, quote, depth + 1)
            sources = "+".join(sorted({PEG, *onward.source.split("+")} - {IDENTITY}))
            return Rate(base, quote, value * onward.value, sources, onward.as_of)
        if quote in self._pegs:
            return (await self._rate(quote, base, depth + 1)).inverted()
        return await self._others.rate(base, quote)


class ChainedRates:
    """Asks each provider in turn; the first answer wins. When none answers: UNAVAILABLE if one
    was unreachable, else FAILED_PRECONDITION (no rate known anywhere)."""

    def __init__(self, providers: Sequence[RateProvider]) -> None:
        if not providers:
            raise ValueError("a chain of rate providers needs at least one")
        self._providers = list(providers)

    async def rate(self, base: str, quote: str) -> Rate:
        unavailable: Unavailable | None = None
        missing: FailedPrecondition | None = None
        for provider in self._providers:
            try:
                return await provider.rate(base, quote)
            except Unavailable as error:
                unavailable = error
            except FailedPrecondition as error:
                missing = error
        if unavailable is not None:
            raise unavailable
        assert missing is not None
        raise missing


def ticker_rates(context: RateProviderContext) -> RateProvider:
    if not context.ticker_url:
        raise ValueError("the ticker rate provider needs AGORA_PAYMENTS_TICKER_URL")
    return TickerRates(context.ticker_url, timeout_s=context.ticker_timeout_s)


def peg_rates(context: RateProviderContext) -> RateProvider:
    if not context.pegs:
        raise ValueError("the peg rate provider needs AGORA_PAYMENTS_RATE_PEGS")
    return PegRates(parse_pegs(context.pegs), DatabaseRates(context.engine))


BUILT_IN: Mapping[str, RateProviderFactory] = {
    "db": database_rates,
    "ecb": ecb_rates,
    TICKER: ticker_rates,
    PEG: peg_rates,
}


def rate_provider(name: str, context: RateProviderContext) -> RateProvider:
    """The provider registered as `name` (entry point first, then the built-in ones); a
    comma-separated list of names is a chain of them, asked in turn."""
    names = [n.strip() for n in name.split(",") if n.strip()]
    if len(names) > 1:
        return ChainedRates([_one_provider(n, context) for n in names])
    return _one_provider(names[0] if names else name, context)


def _one_provider(name: str, context: RateProviderContext) -> RateProvider:
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            factory: RateProviderFactory = entry.load()
            return factory(context)
    if name not in BUILT_IN:
        raise ValueError(f"unknown rate provider {name!r}")
    return BUILT_IN[name](context)

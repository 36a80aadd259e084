"""Where exchange rates come from: one small interface, chosen by configuration.

Built in: `db` (rates staff set through the API, and imported ECB rates, with their history) and
`ecb` (the ECB daily reference-rate XML, `eurofxref-daily.xml`, read from a file or URL at each
lookup). Others register under the `agora.rate_providers` entry-point group as a factory
`(RateProviderContext) -> RateProvider`.

A pair missing as such is found inverted (USD/EUR from EUR/USD) or crossed through EUR (the
ECB publishes EUR-based rates only).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
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


BUILT_IN: Mapping[str, RateProviderFactory] = {"db": database_rates, "ecb": ecb_rates}


def rate_provider(name: str, context: RateProviderContext) -> RateProvider:
    """The provider registered as `name` (entry point first, then the built-in ones)."""
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            factory: RateProviderFactory = entry.load()
            return factory(context)
    if name not in BUILT_IN:
        raise ValueError(f"unknown rate provider {name!r}")
    return BUILT_IN[name](context)

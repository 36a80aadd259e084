"""Languages of the web pages: message catalogs and money, numbers and dates per locale.

English is the source language: a template says `{{ _("Add to cart") }}` and the message itself
is the key. The other locales' catalogs are gettext `.po` files under
`locales/<locale>/LC_MESSAGES/` (one file per area, read with Babel and merged at startup, so
there is no compile step). A message missing from a catalog shows in English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from agora.platform.kernel.money import CRYPTO_DECIMALS, ISO_EXPONENTS

LOCALES_DIR = Path(__file__).parent / "locales"
SOURCE_LOCALE = "en"
# Crypto amounts show at most this many decimals (AGT has 18; nobody reads them all).
CRYPTO_DISPLAY_DECIMALS = 6


def read_catalogs(directory: Path = LOCALES_DIR) -> dict[str, dict[str, str]]:
    """Every locale's translations, `{locale: {message: translation}}`, from its `.po` files
    (untranslated and fuzzy entries left out)."""
    catalogs: dict[str, dict[str, str]] = {}
    for po_file in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        locale = po_file.parent.parent.name
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        messages = catalogs.setdefault(locale, {})
        for message in catalog:
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
                messages[message.id] = str(message.string)
    return catalogs


@dataclass(frozen=True)
class Language:
    """One locale of the pages: its translations and its ways of writing amounts and dates."""

    code: str
    messages: Mapping[str, str]

    @property
    def name(self) -> str:
        """The language's own name ("Deutsch"), for the language switch."""
        return (Locale.parse(self.code).get_display_name(self.code) or self.code).capitalize()

    def gettext(self, message: str, **values: object) -> str:
        """`message` in this language; `%(name)s` placeholders filled from `values`."""
        text = self.messages.get(message, message)
        return text % values if values else text

    def money(self, amount_minor: int, currency: str) -> str:
        """An amount in minor (fiat) or base (crypto) units, written the locale's way."""
        if currency in CRYPTO_DECIMALS:
            value = Decimal(amount_minor).scaleb(-CRYPTO_DECIMALS[currency])
            shown = value.quantize(Decimal(1).scaleb(-CRYPTO_DISPLAY_DECIMALS)).normalize()
            text = format_decimal(shown, format="#,##0.00####", locale=self.code)
            return f"{text} {currency}"
        exponent = ISO_EXPONENTS.get(currency, 2)
        return format_currency(Decimal(amount_minor).scaleb(-exponent), currency, locale=self.code)

    def number(self, value: int | float | Decimal) -> str:
        return format_decimal(value, locale=self.code)

    def datetime(self, moment: dt.datetime, style: str = "medium") -> str:
        return format_datetime(moment, style, locale=self.code)

    def date(self, moment: dt.datetime | dt.date, style: str = "medium") -> str:
        return format_date(moment, style, locale=self.code)


def languages(codes: tuple[str, ...], directory: Path = LOCALES_DIR) -> dict[str, Language]:
    """The pages' languages, in `codes` order (the first is the default)."""
    catalogs = read_catalogs(directory)
    return {code: Language(code, catalogs.get(code, {})) for code in codes}


def negotiate(accept_language: str, offered: tuple[str, ...]) -> str:
    """The offered locale the `Accept-Language` header prefers (the first offered one when
    it names none of them)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().lower().split("-")[0]
        if language in offered and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else offered[0]

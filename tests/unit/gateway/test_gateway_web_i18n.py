"""The pages' languages: negotiation, catalogs, money per locale; no open redirects."""

from __future__ import annotations

import pytest

from agora.gateway.web.i18n import languages, negotiate
from agora.gateway.web.site import safe_next


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9", "en"),
        ("fr;q=1,de;q=0.5,en;q=0.7", "en"),
        ("de;q=0", "en"),
        ("", "en"),
        ("de;q=abc,en", "en"),
    ],
)
def test_the_preferred_offered_language_wins(header: str, chosen: str) -> None:
    assert negotiate(header, ("en", "de")) == chosen


def test_german_catalog_translates_and_falls_back_to_english() -> None:
    german = languages(("en", "de"))["de"]

    assert german.gettext("Cart") == "Warenkorb"
    assert german.gettext("A message nobody translated") == "A message nobody translated"
    assert german.gettext("Too many attempts. Please wait %(s)s seconds.", s=3).endswith(
        "3 Sekunden."
    )


def test_money_is_written_the_locales_way_from_minor_units() -> None:
    langs = languages(("en", "de"))

    assert langs["en"].money(123456, "EUR") == "€1,234.56"
    assert langs["de"].money(123456, "EUR") == "1.234,56\xa0€"
    assert langs["en"].money(1500, "JPY") == "¥1,500"
    assert langs["en"].money(12_500_000, "USDT") == "12.50 USDT"
    assert langs["en"].money(10**18 + 5 * 10**17, "AGT") == "1.50 AGT"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/orders/1?x=2", "/orders/1?x=2"),
        ("//evil.test/", "/"),
        ("https://evil.test/", "/"),
        ("/\\evil.test", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_only_paths_of_this_site_are_followed_after_a_form(target: str, safe: str) -> None:
    assert safe_next(target) == safe

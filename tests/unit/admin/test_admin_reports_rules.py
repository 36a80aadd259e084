"""The reports' rules without I/O: periods closing after the grace, the period a schedule mails
next, file names, folding grouped rows with conversion, totals, checksum, CSV text, the PDF."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from pypdf import PdfReader

from agora.admin.analytics import Converter, Query, RateBook, RateQuote
from agora.admin.analytics import Granularity as G
from agora.admin.reports import (
    SPECS,
    Cadence,
    Group,
    ReportKind,
    Tally,
    csv_chunks,
    decimal_text,
    file_name,
    fold_groups,
    is_closed,
    last_closed_period,
    parse_format,
    parse_request,
)
from agora.admin.reports_pdf import PdfReport, render_pdf
from agora.admin.reports_schedules import schedule_fields
from agora.platform.errors import InvalidArgument

DAY = timedelta(days=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_period_closes_only_once_its_end_is_more_than_the_grace_in_the_past() -> None:
    end = date(2026, 5, 31)
    assert not is_closed(end, at("2026-06-01T00:00:00"), DAY)
    assert not is_closed(end, at("2026-06-02T00:00:00"), DAY)
    assert is_closed(end, at("2026-06-02T00:00:01"), DAY)
    assert is_closed(end, at("2026-06-01T00:00:01"), timedelta(0))


@pytest.mark.parametrize(
    ("cadence", "now", "expected"),
    [
        (Cadence.DAILY, "2026-06-03T00:00:01", ("2026-06-01", "2026-06-01")),
        (Cadence.DAILY, "2026-06-03T00:00:00", ("2026-05-31", "2026-05-31")),
        # Monday 2026-06-08: the week to Sunday 06-07 closes a day later.
        (Cadence.WEEKLY, "2026-06-09T00:00:01", ("2026-06-01", "2026-06-07")),
        (Cadence.WEEKLY, "2026-06-09T00:00:00", ("2026-05-25", "2026-05-31")),
        (Cadence.MONTHLY, "2026-06-02T00:00:01", ("2026-05-01", "2026-05-31")),
        (Cadence.MONTHLY, "2026-06-02T00:00:00", ("2026-04-01", "2026-04-30")),
        (Cadence.MONTHLY, "2026-03-15T12:00:00", ("2026-02-01", "2026-02-28")),
    ],
)
def test_a_schedule_mails_the_latest_closed_day_week_or_month(
    cadence: Cadence, now: str, expected: tuple[str, str]
) -> None:
    start, end = last_closed_period(cadence, at(now), DAY)
    assert (start.isoformat(), end.isoformat()) == expected
    assert is_closed(end, at(now), DAY)
    assert not is_closed(end + DAY, at(now), DAY) or cadence is not Cadence.DAILY


def test_file_names_carry_kind_period_and_provisional() -> None:
    start, end = date(2026, 5, 1), date(2026, 5, 31)
    assert file_name(ReportKind.TAX, start, end, False, "pdf") == "tax_2026-05-01_2026-05-31.pdf"
    assert (
        file_name(ReportKind.SALES_BY_DAY, start, end, True, "csv")
        == "sales-by-day_2026-05-01_2026-05-31-provisional.csv"
    )


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        (("weekly-sales", "2026-01-01", "2026-01-31", ""), "kind"),
        (("tax", "2026-02-01", "2026-01-31", ""), "end_date"),
        (("tax", "2020-01-01", "2026-01-31", ""), "end_date"),
        (("tax", "2026-01-01", "2026-01-31", "EURO"), "currency"),
        (("tax", "2026-01-01", "2026-13-01", ""), "end_date"),
    ],
)
def test_a_bad_request_names_its_field(fields: tuple[str, str, str, str], path: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_request(*fields, reporting="EUR")
    assert path in str(raised.value.violations)


def test_only_csv_and_pdf_are_formats() -> None:
    assert parse_format("").value == "csv"
    with pytest.raises(InvalidArgument):
        parse_format("xlsx")


async def _each(items: Iterable[Group]) -> AsyncIterator[Group]:
    for item in items:
        yield item


def _converter(converted: bool, currency: str = "EUR") -> Converter:
    query = Query(date(2026, 5, 1), date(2026, 5, 31), G.DAY, currency, converted)
    quotes = [RateQuote("EUR", "USD", Fraction(11, 10), at("2026-04-01T00:00:00"))]
    return Converter(query, RateBook(currency, quotes))


async def test_groups_fold_per_key_converting_each_day_and_currency_group() -> None:
    d1, d2 = date(2026, 5, 1), date(2026, 5, 2)
    groups = [
        Group(("a",), d1, "EUR", (1, 2), (1000,)),
        Group(("a",), d2, "USD", (1, 1), (1101,)),  # 1101 / 1.1 = 1000.9… → 1001
        Group(("b",), d1, "USD", (3, 3), (3,)),  # 3 / 1.1 = 2.72… → 3
        Group(("c",), d1, "JPY", (1, 1), (500,)),  # no rate: counted, its money left out
    ]
    converter = _converter(True)
    folded = [row async for row in fold_groups(_each(groups), converter)]
    assert folded == [(("a",), [2, 3], [2001]), (("b",), [3, 3], [3]), (("c",), [1, 1], [0])]
    assert converter.unconverted == {"JPY"}
    only_eur = [row async for row in fold_groups(_each(groups), _converter(False))]
    assert only_eur == [(("a",), [1, 2], [1000])]


def test_the_tally_sums_the_summed_columns_and_checksums_the_rows() -> None:
    spec = SPECS[ReportKind.SALES_BY_COUNTRY]
    first, second = Tally(spec), Tally(spec)
    rows = [["DE", "2", "3", "1999"], ["FR", "1", "1", "501"], ["AT", "4", "9", "7000"]]
    for row in rows:
        first.add(row)
        second.add(row)
    assert first.totals() == ["Total", "7", "13", "9500"]
    assert first.count == 3
    assert first.checksum == second.checksum
    second.add(["IT", "0", "0", "0"])
    assert first.checksum != second.checksum
    assert first.chart_points() == [("AT", 7000), ("DE", 1999), ("FR", 501)]


async def test_csv_has_a_header_decimal_money_and_a_totals_row_across_chunks() -> None:
    spec = SPECS[ReportKind.SALES_BY_COUNTRY]
    rows = [[f"C{n:04d}", "1", "2", str(n * 101)] for n in range(2000)]

    async def each() -> AsyncIterator[list[str]]:
        for row in rows:
            yield row

    tally = Tally(spec)
    chunks = [c async for c in csv_chunks(spec, "EUR", each(), tally, chunk_bytes=4096)]
    assert len(chunks) > 5
    parsed = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert parsed[0] == ["country", "orders_paid", "units", "revenue_eur"]
    assert parsed[1] == ["C0000", "1", "2", "0.00"]
    assert parsed[-1] == [
        "Total",
        "2000",
        "4000",
        decimal_text(sum(n * 101 for n in range(2000)), "EUR"),
    ]
    assert len(parsed) == 2002
    assert decimal_text(12345, "JPY") == "12345"
    assert decimal_text(-5, "KWD") == "-0.005"
    assert (decimal_text(-1234, "EUR"), decimal_text(5, "EUR")) == ("-12.34", "0.05")


def test_the_pdf_has_the_totals_the_provisional_banner_and_paginates() -> None:
    spec = SPECS[ReportKind.SALES_BY_COUNTRY]
    tally = Tally(spec)
    rows = [[f"C{n:03d}", "1", "2", str(10_000 + n)] for n in range(300)]
    for row in rows:
        tally.add(row)
    pdf = render_pdf(
        PdfReport(
            spec=spec,
            start=date(2026, 6, 1),
            end=date(2026, 6, 30),
            currency="EUR",
            provisional=True,
            generated_at=at("2026-06-15T10:00:00"),
            rows=rows,
            totals=tally.totals(),
            row_count=tally.count,
            chart=tally.chart_points(),
        )
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Provisional" in text
    assert "Sales by country" in text
    assert decimal_text(sum(10_000 + n for n in range(300)), "EUR") in text
    assert f"Page {len(reader.pages)}" in text


def test_a_schedule_needs_a_known_kind_formats_cadence_and_recipients() -> None:
    def check(kind: str, start: str, end: str, currency: str) -> object:
        return parse_request(kind, start, end, currency, reporting="EUR")

    ok = schedule_fields(
        "tax", ["pdf", "csv", "pdf"], Cadence.MONTHLY, "", ["u1", "u1"], check=check
    )
    assert [f.value for f in ok.formats] == ["pdf", "csv"]
    assert ok.recipient_ids == ("u1",)
    for args, path in [
        (("nope", ["csv"], Cadence.DAILY, "", ["u"]), "kind"),
        (("tax", [], Cadence.DAILY, "", ["u"]), "formats"),
        (("tax", ["doc"], Cadence.DAILY, "", ["u"]), "formats[0]"),
        (("tax", ["csv"], None, "", ["u"]), "cadence"),
        (("tax", ["csv"], Cadence.DAILY, "XYZ", ["u"]), "currency"),
        (("tax", ["csv"], Cadence.DAILY, "", []), "recipientIds"),
    ]:
        with pytest.raises(InvalidArgument) as raised:
            schedule_fields(*args, check=check)  # type: ignore[arg-type]
        assert path in str(raised.value.violations)

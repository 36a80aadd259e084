"""The reports' rules: which reports exist and their columns, what a valid request is, when a
period is closed (and so frozen), how grouped rows fold into a report's rows, totals, checksum,
file names and CSV text, and which period a schedule mails next.

Pure: the standard library, `agora.admin.analytics` (the query parsing and money conversion
the analytics use, so a report and the analytics agree), `agora.platform.kernel` and
`agora.platform.errors` only. Rows arrive grouped and sorted by their key from the store and
leave one at a time, so a report of any size is folded in bounded memory.
"""

from __future__ import annotations

import csv
import enum
import hashlib
import heapq
import io
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from agora.admin.analytics import Converter, Query, convert_minor, parse_query
from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import CURRENCIES

DEFAULT_PREVIEW_ROWS = 100
# A PDF lists at most this many rows (the CSV has them all): a longer table is no reading.
PDF_MAX_ROWS = 2000
CHART_BARS = 12


class ReportKind(enum.StrEnum):
    SALES_BY_DAY = "sales-by-day"
    SALES_BY_PRODUCT = "sales-by-product"
    SALES_BY_CATEGORY = "sales-by-category"
    SALES_BY_COUNTRY = "sales-by-country"
    TAX = "tax"
    INVENTORY_VALUATION = "inventory-valuation"
    PAYMENTS_REFUNDS = "payments-refunds"
    CRYPTO_RECONCILIATION = "crypto-reconciliation"
    CUSTOMERS = "customers"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    PDF = "pdf"


MEDIA_TYPES: Mapping[ExportFormat, str] = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.PDF: "application/pdf",
}


class Cadence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class CellType(enum.StrEnum):
    TEXT = "text"
    DATE = "date"
    INTEGER = "integer"
    MONEY = "money"
    BASIS_POINTS = "basis_points"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    type: CellType = CellType.TEXT
    # Added up in the totals row.
    summed: bool = False


def _text(key: str, label: str) -> Column:
    return Column(key, label)


def _count(key: str, label: str) -> Column:
    return Column(key, label, CellType.INTEGER, summed=True)


def _money(key: str, label: str) -> Column:
    return Column(key, label, CellType.MONEY, summed=True)


@dataclass(frozen=True)
class Chart:
    """The chart of a report's main series: a line over its rows in order, or bars of the
    largest values (labelled by `label_key`)."""

    label_key: str
    value_key: str
    line: bool = False


@dataclass(frozen=True)
class ReportSpec:
    title: str
    columns: tuple[Column, ...]
    chart: Chart

    def index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)


SPECS: Mapping[ReportKind, ReportSpec] = {
    ReportKind.SALES_BY_DAY: ReportSpec(
        "Sales by day",
        (
            Column("date", "Date", CellType.DATE),
            _count("orders_placed", "Orders placed"),
            _count("orders_paid", "Orders paid"),
            _money("revenue", "Revenue"),
            Column("average_order_value", "Average order", CellType.MONEY),
            _count("units", "Units"),
            _count("refunds", "Refunds"),
            _money("refunded", "Refunded"),
            _count("returns_requested", "Returns requested"),
        ),
        Chart("date", "revenue", line=True),
    ),
    ReportKind.SALES_BY_PRODUCT: ReportSpec(
        "Sales by product",
        (
            _text("product_id", "Product"),
            _text("title", "Title"),
            _text("category_id", "Category"),
            _count("units", "Units"),
            _count("orders", "Orders"),
            _money("revenue", "Revenue"),
        ),
        Chart("title", "revenue"),
    ),
    ReportKind.SALES_BY_CATEGORY: ReportSpec(
        "Sales by category",
        (
            _text("category_id", "Category"),
            _text("name", "Name"),
            _count("units", "Units"),
            _count("orders", "Orders"),
            _money("revenue", "Revenue"),
        ),
        Chart("name", "revenue"),
    ),
    ReportKind.SALES_BY_COUNTRY: ReportSpec(
        "Sales by country",
        (
            _text("country", "Country"),
            _count("orders_paid", "Orders paid"),
            _count("units", "Units"),
            _money("revenue", "Revenue"),
        ),
        Chart("country", "revenue"),
    ),
    ReportKind.TAX: ReportSpec(
        "Tax collected by country and rate",
        (
            _text("country", "Country"),
            Column("tax_rate_bp", "Rate (bp)", CellType.BASIS_POINTS),
            _text("prices_include_tax", "Prices include tax"),
            _count("orders_paid", "Orders paid"),
            _money("net", "Net"),
            _money("tax", "Tax"),
            _money("gross", "Gross"),
        ),
        Chart("country", "tax"),
    ),
    ReportKind.INVENTORY_VALUATION: ReportSpec(
        "Inventory valuation at selling price",
        (
            _text("variant_id", "Variant"),
            _text("product_id", "Product"),
            _text("title", "Title"),
            _count("on_hand", "On hand"),
            Column("unit_price", "Unit price", CellType.MONEY),
            _money("value", "Value"),
        ),
        Chart("title", "value"),
    ),
    ReportKind.PAYMENTS_REFUNDS: ReportSpec(
        "Payments and refunds by provider",
        (
            _text("provider", "Provider"),
            _text("pay_currency", "Paid in"),
            _count("payments", "Payments"),
            _money("paid", "Paid"),
            _count("refunds", "Refunds"),
            _money("refunded", "Refunded"),
            _money("net", "Net"),
        ),
        Chart("provider", "paid"),
    ),
    ReportKind.CRYPTO_RECONCILIATION: ReportSpec(
        "Crypto reconciliation",
        (
            _text("run_id", "Run"),
            _text("chain_id", "Chain"),
            Column("completed_date", "Completed", CellType.DATE),
            _text("since", "From"),
            _text("until", "Until"),
            _count("matched", "Matched"),
            _count("not_credited", "Not credited"),
            _count("not_on_chain", "Not on chain"),
            _count("amount_mismatch", "Amount mismatch"),
            _count("token_mismatch", "Token mismatch"),
            _count("sweeps", "Sweeps"),
            _count("transfers_confirmed", "Transfers confirmed"),
            _count("transfers_reorged", "Transfers reorged"),
            _text("status", "Status"),
        ),
        Chart("completed_date", "matched"),
    ),
    ReportKind.CUSTOMERS: ReportSpec(
        "Customers",
        (
            _text("customer_id", "Customer"),
            Column("first_paid_date", "First paid order", CellType.DATE),
            _count("new", "New (1) or returning (0)"),
            _count("orders_paid", "Orders paid"),
            _money("revenue", "Revenue"),
        ),
        Chart("customer_id", "revenue"),
    ),
}


# --- Requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRequest:
    kind: ReportKind
    query: Query

    @property
    def spec(self) -> ReportSpec:
        return SPECS[self.kind]


def parse_kind(text: str, path: str = "kind") -> ReportKind:
    try:
        return ReportKind(text)
    except ValueError:
        known = ", ".join(k.value for k in ReportKind)
        raise InvalidArgument.for_field(path, f"unknown report; one of {known}") from None


def parse_format(text: str, path: str = "format") -> ExportFormat:
    if not text:
        return ExportFormat.CSV
    try:
        return ExportFormat(text)
    except ValueError:
        raise InvalidArgument.for_field(path, "expected csv or pdf") from None


def parse_request(
    kind: str, start: str, end: str, currency: str, *, reporting: str
) -> ReportRequest:
    """The report the fields describe (ranges as the analytics' by day: at most 3 years), or
    INVALID_ARGUMENT naming the first bad field."""
    parsed = parse_kind(kind)
    return ReportRequest(parsed, parse_query(start, end, "day", currency, reporting=reporting))


# --- Periods -----------------------------------------------------------------------------------


def period_end(end: date) -> datetime:
    """The moment the period ending on day `end` ends (the next midnight, UTC)."""
    return datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)


def is_closed(end: date, now: datetime, grace: timedelta) -> bool:
    """Closed once its end is more than `grace` in the past: its figures are final."""
    return now > period_end(end) + grace


def last_closed_period(cadence: Cadence, now: datetime, grace: timedelta) -> tuple[date, date]:
    """The latest day, ISO week (Monday to Sunday) or month that is closed at `now`."""
    last_day = (now - grace - timedelta(microseconds=1)).date() - timedelta(days=1)
    match cadence:
        case Cadence.DAILY:
            return last_day, last_day
        case Cadence.WEEKLY:
            end = last_day - timedelta(days=(last_day.weekday() + 1) % 7)
            return end - timedelta(days=6), end
        case Cadence.MONTHLY:
            end = (last_day + timedelta(days=1)).replace(day=1) - timedelta(days=1)
            return end.replace(day=1), end


def file_name(kind: ReportKind, start: date, end: date, provisional: bool, fmt: str) -> str:
    """`sales-by-day_2026-05-01_2026-05-31[-provisional].csv`: safe in any file system."""
    suffix = "-provisional" if provisional else ""
    return f"{kind.value}_{start.isoformat()}_{end.isoformat()}{suffix}.{fmt}"


def content_disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


# --- Rows, totals, checksum --------------------------------------------------------------------

Row = list[str]


@dataclass
class Tally:
    """What every consumer of a report's rows needs: the totals, the count, the checksum, and
    the chart's series (bounded: the largest values, or every row of a line chart)."""

    spec: ReportSpec
    count: int = 0
    _sums: dict[int, int] = field(default_factory=dict)
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    _series: list[tuple[str, int]] = field(default_factory=list)
    _largest: list[tuple[int, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sums = {i: 0 for i, c in enumerate(self.spec.columns) if c.summed}
        self._label = self.spec.index(self.spec.chart.label_key)
        self._value = self.spec.index(self.spec.chart.value_key)

    def add(self, row: Row) -> None:
        self.count += 1
        for i in self._sums:
            self._sums[i] += int(row[i] or 0)
        self._digest.update("\x1f".join(row).encode() + b"\x1e")
        point = (row[self._label] or "—", int(row[self._value] or 0))
        if self.spec.chart.line:
            if len(self._series) < PDF_MAX_ROWS:
                self._series.append(point)
        else:
            entry = (point[1], -self.count, point[0])
            if len(self._largest) < CHART_BARS:
                heapq.heappush(self._largest, entry)
            else:
                heapq.heappushpop(self._largest, entry)

    def totals(self) -> Row:
        total = [
            str(self._sums[i]) if i in self._sums else "" for i in range(len(self.spec.columns))
        ]
        total[0] = "Total"
        return total

    @property
    def checksum(self) -> str:
        return self._digest.hexdigest()

    def chart_points(self) -> list[tuple[str, int]]:
        if self.spec.chart.line:
            return list(self._series)
        return [(label, value) for value, _, label in sorted(self._largest, reverse=True)]


# --- CSV ---------------------------------------------------------------------------------------


def decimal_text(minor: int, currency: str) -> str:
    """Minor units as the exact decimal amount ("1234" EUR → "12.34")."""
    exponent = CURRENCIES[currency].exponent
    if exponent == 0:
        return str(minor)
    units, cents = divmod(abs(minor), 10**exponent)
    sign = "-" if minor < 0 else ""
    return f"{sign}{units}.{cents:0{exponent}d}"


def display_cells(spec: ReportSpec, row: Row, currency: str) -> Row:
    """The row as a person reads it: money in decimal units of `currency`, rates in percent."""
    shown = []
    for column, cell in zip(spec.columns, row, strict=True):
        if column.type is CellType.MONEY and cell:
            shown.append(decimal_text(int(cell), currency))
        elif column.type is CellType.BASIS_POINTS and cell:
            shown.append(str(Decimal(int(cell)).scaleb(-2).quantize(Decimal("0.01"))))
        else:
            shown.append(cell)
    return shown


def csv_header(spec: ReportSpec, currency: str) -> list[str]:
    """Column keys, money ones naming the currency (`revenue_eur`)."""
    return [
        f"{c.key}_{currency.lower()}" if c.type is CellType.MONEY else c.key for c in spec.columns
    ]


def csv_text(rows: Sequence[Row]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


async def csv_chunks(
    spec: ReportSpec,
    currency: str,
    rows: AsyncIterable[Row],
    tally: Tally,
    *,
    chunk_bytes: int = 64 * 1024,
) -> AsyncIterator[bytes]:
    """The header, every row and a totals row (first cell "Total"), as chunks of about
    `chunk_bytes`; `tally` counts the rows on the way."""
    pending = [csv_header(spec, currency)]
    size = 0
    async for row in rows:
        tally.add(row)
        shown = display_cells(spec, row, currency)
        pending.append(shown)
        size += sum(len(c) for c in shown) + len(shown)
        if size >= chunk_bytes:
            yield csv_text(pending).encode()
            pending, size = [], 0
    pending.append(display_cells(spec, tally.totals(), currency))
    yield csv_text(pending).encode()


# --- Folding grouped rows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """One (key, day, currency) group of a report: its counts and money in `currency`."""

    key: tuple[str, ...]
    day: date
    currency: str
    counts: tuple[int, ...]
    amounts: tuple[int, ...]


async def fold_groups(
    groups: AsyncIterable[Group], converter: Converter
) -> AsyncIterator[tuple[tuple[str, ...], list[int], list[int]]]:
    """Per key (groups arrive sorted by key): the counts added up and each group's money
    converted (per day and currency, as the analytics do; each rate looked up once) and added
    up. In a single-currency report only that currency's groups count."""
    query = converter.query
    rates: dict[tuple[str, date], Fraction | None] = {}
    key: tuple[str, ...] | None = None
    counts: list[int] = []
    amounts: list[int] = []
    async for g in groups:
        if g.currency != query.currency and not query.converted:
            continue
        if g.key != key:
            if key is not None:
                yield key, counts, amounts
            key, counts, amounts = g.key, [0] * len(g.counts), [0] * len(g.amounts)
        for i, n in enumerate(g.counts):
            counts[i] += n
        if g.currency == query.currency:  # the report's own currency: nothing to convert
            for i, a in enumerate(g.amounts):
                amounts[i] += a
            continue
        found = (g.currency, g.day)
        if found not in rates:
            rates[found] = converter.rates.rate(g.currency, g.day)
        rate = rates[found]
        if rate is None:
            converter.unconverted.add(g.currency)
            continue
        for i, a in enumerate(g.amounts):
            amounts[i] += convert_minor(a, g.currency, query.currency, rate)
    if key is not None:
        yield key, counts, amounts


def cells(*values: object) -> Row:
    return ["" if v is None else str(v) for v in values]

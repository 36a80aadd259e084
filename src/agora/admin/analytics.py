"""The analytics' rules: what a valid query is, how days group into periods, how money converts
to the reporting currency, and how daily figures add up to a report.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only. The store
hands over daily rows; everything a report says is decided here, so the brute-force check in
the tests and the service agree by construction only if both follow these rules.
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from agora.platform.errors import InvalidArgument
from agora.platform.kernel.money import CRYPTO_DECIMALS, CURRENCIES

DEFAULT_TOP = 10
DEFAULT_LOW_STOCK = 5
DEFAULT_STOCK_ALERTS = 100


class Granularity(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The longest range per granularity, in days (a day-by-day report over more is unreadable
# and slow): 3 years by day, 10 by week, 20 by month.
MAX_RANGE_DAYS: Mapping[Granularity, int] = {
    Granularity.DAY: 3 * 366,
    Granularity.WEEK: 10 * 366,
    Granularity.MONTH: 20 * 366,
}


@dataclass(frozen=True)
class Query:
    start: date
    end: date
    granularity: Granularity
    # The report's currency; `converted`: every order's money converted into it.
    currency: str
    converted: bool


def parse_day(text: str, path: str) -> date:
    """A "YYYY-MM-DD" day, or INVALID_ARGUMENT naming `path`."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument.for_field(path, "expected a date as YYYY-MM-DD") from None


def parse_granularity(text: str, path: str = "granularity") -> Granularity:
    if not text:
        return Granularity.DAY
    try:
        return Granularity(text)
    except ValueError:
        raise InvalidArgument.for_field(path, "expected one of day, week, month") from None


def report_currency(text: str, reporting: str, path: str = "currency") -> tuple[str, bool]:
    """(currency, converted): the named currency unconverted, or the reporting one converted."""
    if not text:
        return reporting, True
    if text not in CURRENCIES:
        raise InvalidArgument.for_field(path, f"unknown currency {text!r}")
    return text, False


def parse_query(
    start: str, end: str, granularity: str, currency: str, *, reporting: str, prefix: str = ""
) -> Query:
    """The query the fields describe, or INVALID_ARGUMENT naming the first bad field."""
    first = parse_day(start, prefix + "start_date")
    last = parse_day(end, prefix + "end_date")
    grain = parse_granularity(granularity, prefix + "granularity")
    if last < first:
        raise InvalidArgument.for_field(prefix + "end_date", "the range ends before it starts")
    longest = MAX_RANGE_DAYS[grain]
    if (last - first).days + 1 > longest:
        raise InvalidArgument.for_field(
            prefix + "end_date", f"a range by {grain.value} spans at most {longest} days"
        )
    code, converted = report_currency(currency, reporting, prefix + "currency")
    return Query(first, last, grain, code, converted)


def bounded(value: int, default: int, path: str, *, most: int) -> int:
    """`value` (0 meaning `default`), or INVALID_ARGUMENT naming `path` outside 0..most."""
    if value < 0 or value > most:
        raise InvalidArgument.for_field(path, f"must be between 0 and {most}")
    return value or default


def period_start(day: date, granularity: Granularity) -> date:
    match granularity:
        case Granularity.DAY:
            return day
        case Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        case Granularity.MONTH:
            return day.replace(day=1)


def period_of(day: date, query: Query) -> date:
    """The first day of `day`'s period, clipped to the query's range."""
    return max(period_start(day, query.granularity), query.start)


def periods(query: Query) -> list[date]:
    """Every period's first day in the range, in order (empty periods included)."""
    starts: list[date] = []
    day = query.start
    while day <= query.end:
        start = period_of(day, query)
        if not starts or starts[-1] != start:
            starts.append(start)
        day += timedelta(days=1)
    return starts


def day_of(moment: datetime) -> date:
    """The UTC day of `moment`."""
    return moment.astimezone(UTC).date()


# --- Money -------------------------------------------------------------------------------------


def parse_rate(text: str) -> Fraction:
    """Payments' exact rate text: a decimal ("1.0823") or a fraction ("10000/10823")."""
    rate = Fraction(text)
    if rate <= 0:
        raise ValueError(f"rate {text!r} is not positive")
    return rate


def divide_half_even(numerator: int | Fraction, denominator: int = 1) -> int:
    """numerator / denominator rounded half to even (Python's `round` of a Fraction), in
    integers: a report converts thousands of groups, and Fraction arithmetic was its cost."""
    if isinstance(numerator, Fraction):
        numerator, denominator = numerator.numerator, numerator.denominator * denominator
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def conversion_factor(source: str, target: str, rate: Fraction) -> Fraction:
    """What a minor unit of `source` is in minor units of `target` at `rate`."""
    shift = CURRENCIES[target].exponent - CURRENCIES[source].exponent
    return rate * Fraction(10) ** shift


def convert_minor(amount: int, source: str, target: str, rate: Fraction) -> int:
    """`amount` minor units of `source` in minor units of `target` at `rate` (1 source = rate
    target), rounded half-even."""
    factor = conversion_factor(source, target, rate)
    return divide_half_even(amount * factor.numerator, factor.denominator)


@dataclass(frozen=True)
class RateQuote:
    base: str
    quote: str
    rate: Fraction
    as_of: datetime


class RateBook:
    """The announced rates into one target currency, looked up by day: the last rate announced
    before the day's end (its inverse when only the other direction is known)."""

    def __init__(self, target: str, quotes: Iterable[RateQuote]) -> None:
        self.target = target
        self._history: dict[str, list[tuple[datetime, Fraction]]] = defaultdict(list)
        for q in quotes:
            if q.quote == target and q.base != target:
                self._history[q.base].append((q.as_of, q.rate))
            elif q.base == target and q.quote != target:
                self._history["~" + q.quote].append((q.as_of, 1 / q.rate))
        for history in self._history.values():
            history.sort()

    def rate(self, currency: str, day: date) -> Fraction | None:
        if currency == self.target:
            return Fraction(1)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        found = _last_before(self._history.get(currency, []), end)
        if found is None:
            found = _last_before(self._history.get("~" + currency, []), end)
        return found


def _last_before(history: Sequence[tuple[datetime, Fraction]], end: datetime) -> Fraction | None:
    """The rate of the last entry announced before `end` (`history` sorted; a report looks up
    every day of a year, so by bisection)."""
    found = bisect_left(history, end, key=lambda entry: entry[0])
    return history[found - 1][1] if found else None


@dataclass
class Converter:
    """Money of (day, currency) groups in the report's currency; what has no rate is left out
    and named."""

    query: Query
    rates: RateBook
    unconverted: set[str] = field(default_factory=set)
    _factors: dict[tuple[str, date], Fraction | None] = field(default_factory=dict)

    def minor(self, amount: int, currency: str, day: date) -> int | None:
        if not self.query.converted:
            return amount if currency == self.query.currency else None
        factor = self.factor(currency, day)
        if factor is None:
            self.unconverted.add(currency)
            return None
        return divide_half_even(amount * factor.numerator, factor.denominator)

    def factor(self, currency: str, day: date) -> Fraction | None:
        """What a minor unit of `currency` on `day` is in the report's (None: no rate known;
        the caller names the currency unconverted if it had money to convert)."""
        key = (currency, day)
        if key not in self._factors:
            rate = self.rates.rate(currency, day)
            self._factors[key] = (
                None if rate is None else conversion_factor(currency, self.query.currency, rate)
            )
        return self._factors[key]


def share_bp(part: int, whole: int) -> int:
    return divide_half_even(part * 10_000, whole) if whole else 0


def is_crypto(currency: str) -> bool:
    return currency in CRYPTO_DECIMALS


# --- Sales -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailySales:
    """One (day, currency) row of the daily rollup."""

    day: date
    currency: str
    orders_placed: int = 0
    orders_paid: int = 0
    revenue_minor: int = 0
    units: int = 0
    refunds: int = 0
    refunded_minor: int = 0
    returns_requested: int = 0


@dataclass
class SalesFigures:
    start: date
    orders_placed: int = 0
    orders_paid: int = 0
    revenue_minor: int = 0
    units: int = 0
    refunds: int = 0
    refunded_minor: int = 0
    returns_requested: int = 0

    @property
    def average_order_value_minor(self) -> int:
        return divide_half_even(self.revenue_minor, self.orders_paid) if self.orders_paid else 0

    def add(self, row: DailySales, revenue: int, refunded: int) -> None:
        self.orders_placed += row.orders_placed
        self.orders_paid += row.orders_paid
        self.revenue_minor += revenue
        self.units += row.units
        self.refunds += row.refunds
        self.refunded_minor += refunded
        self.returns_requested += row.returns_requested


def sales_report(
    query: Query, rows: Iterable[DailySales], converter: Converter
) -> tuple[list[SalesFigures], SalesFigures]:
    """Per period and in total. Counts of every currency add up; in a single-currency query
    only that currency's rows count at all; money converts per (day, currency) row."""
    by_start = {start: SalesFigures(start) for start in periods(query)}
    total = SalesFigures(query.start)
    for row in rows:
        if not query.converted and row.currency != query.currency:
            continue
        revenue = converter.minor(row.revenue_minor, row.currency, row.day)
        refunded = converter.minor(row.refunded_minor, row.currency, row.day)
        figures = by_start[period_of(row.day, query)]
        for target in (figures, total):
            target.add(row, revenue or 0, refunded or 0)
    return list(by_start.values()), total


# --- Customers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidDay:
    """A customer paid an order on `day`; their first paid order ever was on `first_day`."""

    customer_id: str
    day: date
    first_day: date


@dataclass
class CustomerFigures:
    start: date
    new_accounts: int = 0
    new_customers: int = 0
    returning_customers: int = 0


def customers_report(
    query: Query, paid: Iterable[PaidDay], registered: Iterable[date]
) -> list[CustomerFigures]:
    """New accounts per period; customers with a paid order in a period, new when their first
    paid order ever is in it, returning when they had one before it."""
    by_start = {start: CustomerFigures(start) for start in periods(query)}
    for day in registered:
        by_start[period_of(day, query)].new_accounts += 1
    seen: dict[date, set[str]] = defaultdict(set)
    for p in paid:
        start = period_of(p.day, query)
        if p.customer_id in seen[start]:
            continue
        seen[start].add(p.customer_id)
        if p.first_day >= period_start(p.day, query.granularity):
            by_start[start].new_customers += 1
        else:
            by_start[start].returning_customers += 1
    return list(by_start.values())


@dataclass(frozen=True)
class CustomerPeriod:
    """A period's customers with a paid order, counted by PostgreSQL (`customers_report`'s
    rule: new when their first paid order ever is in the period's natural span)."""

    start: date
    new_customers: int
    returning_customers: int


def customer_figures(
    query: Query, counted: Iterable[CustomerPeriod], registered: Iterable[tuple[date, int]]
) -> list[CustomerFigures]:
    """`customers_report` from counts per period and accounts registered per day."""
    by_start = {start: CustomerFigures(start) for start in periods(query)}
    for day, accounts in registered:
        by_start[period_of(day, query)].new_accounts += accounts
    for c in counted:
        by_start[c.start].new_customers += c.new_customers
        by_start[c.start].returning_customers += c.returning_customers
    return list(by_start.values())


@dataclass(frozen=True)
class CohortMonth:
    """Customers of the cohort of `cohort` (their first paid order's month) active in `month`."""

    cohort: date
    month: date
    customers: int


def cohort_table(query: Query, counted: Iterable[CohortMonth]) -> list[tuple[date, list[int]]]:
    """`cohorts` from counts per (cohort month, active month)."""
    last = month_index(query.end)
    active: dict[int, dict[int, int]] = defaultdict(dict)
    for c in counted:
        active[month_index(c.cohort)][month_index(c.month)] = c.customers
    return [
        (
            date(cohort // 12, cohort % 12 + 1, 1),
            [active[cohort].get(m, 0) for m in range(cohort, last + 1)],
        )
        for cohort in sorted(active)
    ]


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def cohorts(query: Query, paid: Iterable[PaidDay]) -> list[tuple[date, list[int]]]:
    """Monthly cohorts of customers whose first paid order is in the range: per month from the
    cohort's to the range's last, how many of them paid an order (in the range)."""
    last = month_index(query.end)
    active: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for p in paid:
        if p.first_day < query.start:
            continue
        active[month_index(p.first_day)][month_index(p.day)].add(p.customer_id)
    return [
        (
            date(cohort // 12, cohort % 12 + 1, 1),
            [len(active[cohort].get(m, ())) for m in range(cohort, last + 1)],
        )
        for cohort in sorted(active)
    ]


# --- Funnel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelDay:
    day: date
    placed: int
    invoiced: int
    paid: int


UNTRACKED_FUNNEL_STAGES = ("carts", "checkouts_started")


def funnel_report(query: Query, rows: Iterable[FunnelDay]) -> tuple[list[FunnelDay], FunnelDay]:
    sums: dict[date, list[int]] = {start: [0, 0, 0] for start in periods(query)}
    for row in rows:
        bucket = sums[period_of(row.day, query)]
        bucket[0] += row.placed
        bucket[1] += row.invoiced
        bucket[2] += row.paid
    figures = [FunnelDay(start, *counts) for start, counts in sums.items()]
    total = FunnelDay(
        query.start,
        sum(f.placed for f in figures),
        sum(f.invoiced for f in figures),
        sum(f.paid for f in figures),
    )
    return figures, total


# --- Products ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSales:
    """Paid order lines of one product, day and currency."""

    product_id: str
    day: date
    currency: str
    units: int
    orders: int
    amount_minor: int


@dataclass
class ProductFigures:
    product_id: str
    units: int = 0
    orders: int = 0
    revenue_minor: int = 0


def product_sales(
    query: Query, rows: Iterable[LineSales], converter: Converter
) -> list[ProductFigures]:
    """Every product's figures, best first (units, then revenue, then id)."""
    found: dict[str, ProductFigures] = {}
    for row in rows:
        if not query.converted and row.currency != query.currency:
            continue
        figures = found.setdefault(row.product_id, ProductFigures(row.product_id))
        figures.units += row.units
        figures.orders += row.orders
        figures.revenue_minor += converter.minor(row.amount_minor, row.currency, row.day) or 0
    return ranked_products(found.values())


def ranked_products(found: Iterable[ProductFigures]) -> list[ProductFigures]:
    """Best first: units, then revenue, then id (`product_sales`' order)."""
    return sorted(found, key=lambda f: (-f.units, -f.revenue_minor, f.product_id))


def category_sales(
    products: Iterable[ProductFigures], category_of: Mapping[str, str]
) -> list[tuple[str, int, int]]:
    """(category id, units, revenue) best first; products of no known category under ""."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in products:
        bucket = sums[category_of.get(p.product_id, "")]
        bucket[0] += p.units
        bucket[1] += p.revenue_minor
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    return [(category, units, revenue) for category, (units, revenue) in ranked]


# --- Payment methods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodDay:
    provider: str
    pay_currency: str
    day: date
    currency: str
    orders: int
    amount_minor: int


@dataclass
class MethodFigures:
    provider: str
    pay_currency: str
    orders: int = 0
    revenue_minor: int = 0

    @property
    def crypto(self) -> bool:
        return is_crypto(self.pay_currency)


def payment_methods(
    query: Query, rows: Iterable[MethodDay], converter: Converter
) -> tuple[list[MethodFigures], int, int]:
    """(methods by orders, paid orders, crypto share in basis points)."""
    found: dict[tuple[str, str], MethodFigures] = {}
    for row in rows:
        if not query.converted and row.currency != query.currency:
            continue
        key = (row.provider, row.pay_currency)
        figures = found.setdefault(key, MethodFigures(*key))
        figures.orders += row.orders
        figures.revenue_minor += converter.minor(row.amount_minor, row.currency, row.day) or 0
    methods = sorted(found.values(), key=lambda m: (-m.orders, m.provider, m.pay_currency))
    paid = sum(m.orders for m in methods)
    crypto = sum(m.orders for m in methods if m.crypto)
    return methods, paid, share_bp(crypto, paid)


# --- Stock -------------------------------------------------------------------------------------


class StockLevel(enum.StrEnum):
    LOW = "low"
    OUT = "out"


def stock_level(available: int, low_threshold: int) -> StockLevel | None:
    if available <= 0:
        return StockLevel.OUT
    if available <= low_threshold:
        return StockLevel.LOW
    return None


# --- Support -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationFact:
    started: date
    answered: bool
    time_to_first_answer_ms: int
    handed_over: bool
    closed: bool
    resolved_by_assistant: bool


@dataclass
class SupportFigures:
    start: date
    conversations: int = 0
    answered: int = 0
    answer_ms_total: int = 0
    handed_over: int = 0
    closed: int = 0
    resolved_by_assistant: int = 0

    @property
    def mean_time_to_first_answer_ms(self) -> int:
        return self.answer_ms_total // self.answered if self.answered else 0

    @property
    def handover_rate_bp(self) -> int:
        return share_bp(self.handed_over, self.conversations)

    def add(self, c: ConversationFact) -> None:
        self.conversations += 1
        self.answered += c.answered
        self.answer_ms_total += c.time_to_first_answer_ms if c.answered else 0
        self.handed_over += c.handed_over
        self.closed += c.closed
        self.resolved_by_assistant += c.resolved_by_assistant


@dataclass(frozen=True)
class SupportDay:
    """The conversations started on `day`, summed by PostgreSQL."""

    day: date
    conversations: int
    answered: int
    answer_ms_total: int
    handed_over: int
    closed: int
    resolved_by_assistant: int


def support_figures(
    query: Query, days: Iterable[SupportDay]
) -> tuple[list[SupportFigures], SupportFigures]:
    """`support_report` from sums per day."""
    by_start = {start: SupportFigures(start) for start in periods(query)}
    total = SupportFigures(query.start)
    for d in days:
        for figures in (by_start[period_of(d.day, query)], total):
            figures.conversations += d.conversations
            figures.answered += d.answered
            figures.answer_ms_total += d.answer_ms_total
            figures.handed_over += d.handed_over
            figures.closed += d.closed
            figures.resolved_by_assistant += d.resolved_by_assistant
    return list(by_start.values()), total


def support_report(
    query: Query, facts: Iterable[ConversationFact]
) -> tuple[list[SupportFigures], SupportFigures]:
    """Conversations by the day they started."""
    by_start = {start: SupportFigures(start) for start in periods(query)}
    total = SupportFigures(query.start)
    for fact in facts:
        by_start[period_of(fact.started, query)].add(fact)
        total.add(fact)
    return list(by_start.values()), total

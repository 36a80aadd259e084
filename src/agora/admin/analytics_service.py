"""The analytics' gRPC servicer: a query's fields → `analytics.Query` (or INVALID_ARGUMENT), the
store's daily rows → `analytics.py`'s report → the response. Reads only, on autocommit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import grpc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agora._proto.agora.admin.v1 import analytics_pb2 as pb
from agora._proto.agora.admin.v1 import analytics_pb2_grpc
from agora.admin import analytics as rules
from agora.admin import analytics_store as store
from agora.admin.analytics_signals import AnalyticsSignals
from agora.platform.kernel.clock import utcnow
from agora.platform.rpc.timestamps import timestamp


class AnalyticsService(analytics_pb2_grpc.AnalyticsServiceServicer):
    """AnalyticsService over the analytics read models reached through `engine`."""

    def __init__(self, engine: AsyncEngine, signals: AnalyticsSignals, reporting: str) -> None:
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._signals = signals
        self._reporting = reporting

    def _query(self, request: pb.AnalyticsQuery, prefix: str = "") -> rules.Query:
        return rules.parse_query(
            request.start_date,
            request.end_date,
            request.granularity,
            request.currency,
            reporting=self._reporting,
            prefix=prefix,
        )

    async def _converter(self, conn: AsyncConnection, query: rules.Query) -> rules.Converter:
        quotes = await store.rate_quotes(conn, query.currency) if query.converted else []
        return rules.Converter(query, rules.RateBook(query.currency, quotes))

    async def GetSales(self, request: pb.AnalyticsQuery, context: object) -> pb.SalesReport:
        query = self._query(request)
        async with self._reads.connect() as conn:
            converter = await self._converter(conn, query)
            rows = await store.daily(conn, query.start, query.end)
        figures, total = rules.sales_report(query, rows, converter)
        return pb.SalesReport(
            money=_money(converter),
            periods=[_sales(f) for f in figures],
            total=_sales(total),
        )

    async def GetCustomers(self, request: pb.AnalyticsQuery, context: object) -> pb.CustomersReport:
        query = self._query(request)
        async with self._reads.connect() as conn:
            counted = await store.customer_periods(conn, query)
            registered = await store.registered_counts(conn, query.start, query.end)
            cohorts = await store.cohort_months(conn, query.start, query.end)
        return pb.CustomersReport(
            periods=[
                pb.CustomersPeriod(
                    start_date=f.start.isoformat(),
                    new_accounts=f.new_accounts,
                    new_customers=f.new_customers,
                    returning_customers=f.returning_customers,
                )
                for f in rules.customer_figures(query, counted, registered)
            ],
            cohorts=[
                pb.Cohort(month=month.isoformat()[:7], active=active)
                for month, active in rules.cohort_table(query, cohorts)
            ],
        )

    async def GetFunnel(self, request: pb.AnalyticsQuery, context: object) -> pb.FunnelReport:
        query = self._query(request)
        currency = None if query.converted else query.currency
        async with self._reads.connect() as conn:
            rows = await store.funnel_days(conn, query.start, query.end, currency)
        figures, total = rules.funnel_report(query, rows)
        return pb.FunnelReport(
            periods=[_funnel(f) for f in figures],
            total=_funnel(total),
            untracked_stages=rules.UNTRACKED_FUNNEL_STAGES,
        )

    async def GetTopProducts(
        self, request: pb.TopProductsQuery, context: object
    ) -> pb.TopProductsReport:
        query = self._query(request.range, prefix="range.")
        limit = rules.bounded(request.limit, rules.DEFAULT_TOP, "limit", most=100)
        async with self._reads.connect() as conn:
            converter = await self._converter(conn, query)
            every = rules.ranked_products(await store.product_figures(conn, converter))
            names = await store.product_names(conn, [p.product_id for p in every])
            category_of = {pid: category for pid, (_, category) in names.items()}
            ranked = rules.category_sales(every, category_of)[:limit]
            category_names = await store.category_names(conn, [c for c, _, _ in ranked])
        top = every[:limit]
        return pb.TopProductsReport(
            money=_money(converter),
            products=[
                pb.ProductSales(
                    product_id=p.product_id,
                    title=names.get(p.product_id, ("", ""))[0],
                    category_id=category_of.get(p.product_id, ""),
                    units=p.units,
                    orders=p.orders,
                    revenue_minor=p.revenue_minor,
                )
                for p in top
            ],
            categories=[
                pb.CategorySales(
                    category_id=c,
                    name=category_names.get(c, ""),
                    units=units,
                    revenue_minor=revenue,
                )
                for c, units, revenue in ranked
            ],
        )

    async def GetPaymentMethods(
        self, request: pb.AnalyticsQuery, context: object
    ) -> pb.PaymentMethodsReport:
        query = self._query(request)
        async with self._reads.connect() as conn:
            converter = await self._converter(conn, query)
            rows = await store.method_days(conn, query.start, query.end)
        methods, paid, crypto_bp = rules.payment_methods(query, rows, converter)
        return pb.PaymentMethodsReport(
            money=_money(converter),
            methods=[
                pb.PaymentMethodShare(
                    provider=m.provider,
                    pay_currency=m.pay_currency,
                    crypto=m.crypto,
                    orders=m.orders,
                    revenue_minor=m.revenue_minor,
                    share_bp=rules.share_bp(m.orders, paid),
                )
                for m in methods
            ],
            orders_paid=paid,
            crypto_share_bp=crypto_bp,
        )

    async def GetStockAlerts(
        self, request: pb.StockAlertsQuery, context: object
    ) -> pb.StockAlertsReport:
        threshold = rules.bounded(
            request.low_stock_threshold,
            rules.DEFAULT_LOW_STOCK,
            "low_stock_threshold",
            most=1_000_000,
        )
        limit = rules.bounded(request.limit, rules.DEFAULT_STOCK_ALERTS, "limit", most=1000)
        async with self._reads.connect() as conn:
            rows = await store.low_stock(conn, threshold, limit)
            low, out = await store.count_low_stock(conn, threshold)
        return pb.StockAlertsReport(
            alerts=[
                pb.StockAlert(
                    variant_id=r.variant_id,
                    product_id=r.product_id,
                    title=r.title,
                    on_hand=r.on_hand,
                    reserved=r.reserved,
                    available=r.available,
                    level=_LEVELS[rules.stock_level(r.available, threshold)],
                )
                for r in rows
            ],
            low=low,
            out=out,
        )

    async def GetSupportStats(
        self, request: pb.AnalyticsQuery, context: object
    ) -> pb.SupportReport:
        query = self._query(request)
        async with self._reads.connect() as conn:
            days = await store.support_days(conn, query.start, query.end)
        figures, total = rules.support_figures(query, days)
        return pb.SupportReport(periods=[_support(f) for f in figures], total=_support(total))

    async def WatchDashboard(
        self, request: pb.WatchDashboardRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.DashboardUpdate]:
        """Today's tiles now, then after every change the consumers commit (changes during a
        read coalesce into one more update). Ends when the caller goes away."""
        with self._signals.subscribe() as changed:
            last: pb.DashboardUpdate | None = None
            while True:
                changed.clear()
                update = await self._dashboard()
                if last is None or _figures(update) != _figures(last):
                    yield update
                    last = update
                await changed.wait()

    async def _dashboard(self) -> pb.DashboardUpdate:
        now = utcnow()
        today = now.date()
        query = rules.Query(today, today, rules.Granularity.DAY, self._reporting, True)
        async with self._reads.connect() as conn:
            converter = await self._converter(conn, query)
            rows = await store.daily(conn, today, today)
            paid = await store.paid_days(conn, today, today)
        _, total = rules.sales_report(query, rows, converter)
        (customers,) = rules.customers_report(query, paid, [])
        return pb.DashboardUpdate(
            date=today.isoformat(),
            currency=self._reporting,
            revenue_minor=total.revenue_minor,
            orders_placed=total.orders_placed,
            orders_paid=total.orders_paid,
            average_order_value_minor=total.average_order_value_minor,
            new_customers=customers.new_customers,
            as_of=timestamp(now),
        )


_LEVELS = {
    rules.StockLevel.LOW: pb.STOCK_LEVEL_LOW,
    rules.StockLevel.OUT: pb.STOCK_LEVEL_OUT,
    None: pb.STOCK_LEVEL_UNSPECIFIED,
}


def _figures(update: pb.DashboardUpdate) -> tuple[object, ...]:
    return (
        update.date,
        update.revenue_minor,
        update.orders_placed,
        update.orders_paid,
        update.new_customers,
    )


def _day(start: date) -> str:
    return start.isoformat()


def _money(converter: rules.Converter) -> pb.ReportCurrency:
    return pb.ReportCurrency(
        currency=converter.query.currency,
        converted=converter.query.converted,
        unconverted_currencies=sorted(converter.unconverted),
    )


def _sales(f: rules.SalesFigures) -> pb.SalesPeriod:
    return pb.SalesPeriod(
        start_date=_day(f.start),
        orders_placed=f.orders_placed,
        orders_paid=f.orders_paid,
        revenue_minor=f.revenue_minor,
        average_order_value_minor=f.average_order_value_minor,
        units=f.units,
        refunds=f.refunds,
        refunded_minor=f.refunded_minor,
        returns_requested=f.returns_requested,
    )


def _funnel(f: rules.FunnelDay) -> pb.FunnelPeriod:
    return pb.FunnelPeriod(
        start_date=_day(f.day),
        orders_placed=f.placed,
        orders_invoiced=f.invoiced,
        orders_paid=f.paid,
    )


def _support(f: rules.SupportFigures) -> pb.SupportPeriod:
    return pb.SupportPeriod(
        start_date=_day(f.start),
        conversations=f.conversations,
        answered=f.answered,
        mean_time_to_first_answer_ms=f.mean_time_to_first_answer_ms,
        handed_over=f.handed_over,
        handover_rate_bp=f.handover_rate_bp,
        closed=f.closed,
        resolved_by_assistant=f.resolved_by_assistant,
    )

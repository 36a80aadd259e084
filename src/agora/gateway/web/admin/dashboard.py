"""Admin: sign-in with 2FA, the dashboard, reports, crypto reconciliation runs and the audit log.

Every call carries the staff member's own credentials, so the services decide what each one may
see; a signed-in account without the permission a page needs gets a page that says so (or, for
a staff account still without 2FA, the enrolment that auth requires before any staff right).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agora._proto.agora.admin.v1 import analytics_pb2, reports_pb2, users_pb2
from agora._proto.agora.admin.v1.analytics_pb2_grpc import AnalyticsServiceStub
from agora._proto.agora.admin.v1.reports_pb2_grpc import ReportsServiceStub
from agora._proto.agora.admin.v1.users_pb2_grpc import UserAdminServiceStub
from agora._proto.agora.auth.v1 import auth_pb2
from agora._proto.agora.auth.v1.auth_pb2_grpc import AuthServiceStub
from agora._proto.agora.chain.v1 import chain_pb2
from agora._proto.agora.chain.v1.chain_pb2_grpc import ChainServiceStub
from agora.gateway.browser_session import CLEARED_COOKIES, session_cookies
from agora.gateway.problem import problem_from_rpc_error
from agora.gateway.web.admin.listing import Filter, ListQuery
from agora.gateway.web.i18n import Language
from agora.gateway.web.qr import qr_data_url
from agora.gateway.web.site import Page, Site, safe_next
from agora.platform.kernel.checks import whole_number

# Roles auth signs in without their rights until TOTP is enrolled (auth's default).
TWO_FACTOR_ROLES = frozenset({"support", "staff", "admin"})
ANALYTICS_READ = "admin:analytics:read"
REPORTS_READ = "admin:reports:read"
REPORTS_WRITE = "admin:reports:write"
CHAIN_READ = "chain:read"
CHAIN_RECONCILE = "chain:reconcile"
AUDIT_READ = "admin:audit:read"
# The report kinds the reports service knows (reports.proto, GetReportRequest.kind).
REPORT_KINDS = (
    ("sales-by-day", "Sales by day"),
    ("sales-by-product", "Sales by product"),
    ("sales-by-category", "Sales by category"),
    ("sales-by-country", "Sales by country"),
    ("tax", "Tax by country and rate"),
    ("inventory-valuation", "Inventory valuation"),
    ("payments-refunds", "Payments and refunds"),
    ("crypto-reconciliation", "Crypto reconciliation"),
    ("customers", "Customers"),
)
CADENCES = (
    (reports_pb2.REPORT_CADENCE_DAILY, "Daily"),
    (reports_pb2.REPORT_CADENCE_WEEKLY, "Weekly"),
    (reports_pb2.REPORT_CADENCE_MONTHLY, "Monthly"),
)
GRANULARITIES = ("day", "week", "month")
DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 3 * 366
PREVIEW_ROWS = 50
PAGE_SIZE = 25
# Shown where a figure has no meaning (an average of nothing): an en dash.
NO_FIGURE = "\u2013"
OUTCOMES = {
    chain_pb2.RECONCILIATION_OUTCOME_MATCHED: ("Matched", "ok"),
    chain_pb2.RECONCILIATION_OUTCOME_NOT_CREDITED: ("On chain, not credited", "bad"),
    chain_pb2.RECONCILIATION_OUTCOME_NOT_ON_CHAIN: ("Credited, not on chain", "bad"),
    chain_pb2.RECONCILIATION_OUTCOME_AMOUNT_MISMATCH: ("Amount mismatch", "bad"),
    chain_pb2.RECONCILIATION_OUTCOME_TOKEN_MISMATCH: ("Token mismatch", "bad"),
    chain_pb2.RECONCILIATION_OUTCOME_SWEEP: ("Sweep to treasury", "ok"),
}
RUN_STATUSES = {
    chain_pb2.RECONCILIATION_STATUS_RUNNING: ("Running", "warn"),
    chain_pb2.RECONCILIATION_STATUS_COMPLETED: ("Completed", "ok"),
    chain_pb2.RECONCILIATION_STATUS_FAILED: ("Failed", "bad"),
}


@dataclass(frozen=True)
class Period:
    """A range of UTC days the dashboard or a report covers, both ends included."""

    start: dt.date
    end: dt.date
    error: str = ""

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def period_of(query: Mapping[str, str], default_days: int = DEFAULT_RANGE_DAYS) -> Period:
    """The `start`/`end` of a query, else the last `default_days` days; a bad range says why
    and falls back to the default."""
    end_default = today()
    default = Period(end_default - dt.timedelta(days=default_days - 1), end_default)
    start_text, end_text = query.get("start", ""), query.get("end", "")
    if not start_text and not end_text:
        return default
    try:
        start = dt.date.fromisoformat(start_text) if start_text else default.start
        end = dt.date.fromisoformat(end_text) if end_text else default.end
    except ValueError:
        return Period(default.start, default.end, "Dates are written YYYY-MM-DD.")
    if start > end:
        return Period(default.start, default.end, "The first day comes after the last.")
    if (end - start).days >= MAX_RANGE_DAYS:
        return Period(default.start, default.end, "A range spans at most three years.")
    return Period(start, end)


def english(site: Site, page: Page) -> Language:
    """Admin pages are English whatever the browser asks for."""
    return site.languages.get("en", page.language)


def idempotency_key(form: Mapping[str, Any]) -> str:
    """The key the form was rendered with (a retry of the same form is the same request)."""
    sent = form.get("idempotency_key")
    if isinstance(sent, str) and 8 <= len(sent) <= 128:
        return sent
    return str(uuid.uuid4())


def text_field(form: Mapping[str, Any], name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def when(language: Language, moment: Timestamp) -> str:
    if not moment.seconds and not moment.nanos:
        return ""
    return language.datetime(moment.ToDatetime(tzinfo=dt.UTC))


def crypto_text(amount: Any) -> str:
    """A CryptoAmount in whole tokens (base units shifted by its decimals), exactly."""
    if not amount.base_units:
        return ""
    digits = amount.base_units.rjust(amount.decimals + 1, "0")
    whole, fraction = (
        digits[: len(digits) - amount.decimals],
        digits[len(digits) - amount.decimals :],
    )
    fraction = fraction.rstrip("0")
    return f"{whole}{'.' + fraction if fraction else ''} {amount.asset}".strip()


def routes(site: Site) -> list[BaseRoute]:
    async def gate(page: Page, permission: str) -> Response | None:
        """None when the caller may use a page needing `permission`; else the answer: sign in,
        enrol 2FA (staff without it have no rights yet), or a page saying this account has no
        access."""
        request = page.request
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not page.signed_in:
            return site.redirect(page, f"/admin/login?next={quote(here)}")
        if page.can(permission):
            return None
        auth = page.stub(AuthServiceStub, "auth")
        me = await page.call(auth.GetMe, auth_pb2.GetMeRequest())
        if TWO_FACTOR_ROLES & set(me.roles) and not me.totp_enabled:
            return site.redirect(page, f"/admin/login/2fa-setup?next={quote(here)}")
        return site.render(
            page, "admin/login_forbidden.html", status=403, email=me.email, roles=list(me.roles)
        )

    # --- sign-in ---------------------------------------------------------------------------

    async def login(request: Request) -> Response:
        page = await site.page(request)
        next_url = safe_next(request.query_params.get("next", "/admin"))
        if request.method == "GET":
            if page.signed_in and page.can(ANALYTICS_READ):
                return site.redirect(page, next_url)
            return site.render(page, "admin/login.html", next_url=next_url, error="", email="")
        form = await site.form(page)
        next_url = safe_next(text_field(form, "next", 2000) or "/admin")
        auth = page.stub(AuthServiceStub, "auth")
        mfa_token = text_field(form, "mfa_token", 4096)
        try:
            if mfa_token:
                code = text_field(form, "code", 64).replace(" ", "")
                if not code:
                    return login_step(page, next_url, mfa_token, "Enter the 6-digit code.")
                use_recovery = not (code.isdigit() and len(code) == 6)
                answer = await page.call(
                    auth.VerifyLoginTotp,
                    auth_pb2.VerifyLoginTotpRequest(
                        mfa_token=mfa_token,
                        code="" if use_recovery else code,
                        recovery_code=code if use_recovery else "",
                    ),
                )
            else:
                email = text_field(form, "email", 254)
                password = form.get("password")
                if not email or not isinstance(password, str) or not password:
                    return site.render(
                        page,
                        "admin/login.html",
                        status=422,
                        next_url=next_url,
                        email=email,
                        error="Enter your email address and password.",
                    )
                answer = await page.call(
                    auth.Login, auth_pb2.LoginRequest(email=email, password=password[:256])
                )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status >= 500:
                raise
            message = {
                401: "That did not work. Check your details and try again.",
                429: "Too many attempts. Wait a moment, then try again.",
            }.get(problem.status, problem.detail or problem.title)
            status = problem.status if problem.status in (400, 401, 403, 422, 429) else 400
            if mfa_token:
                return login_step(page, next_url, mfa_token, message, status=status)
            return site.render(
                page,
                "admin/login.html",
                status=status,
                next_url=next_url,
                email=text_field(form, "email", 254),
                error=message,
            )
        if answer.mfa_required:
            return login_step(page, next_url, answer.mfa_token, "")
        page.set_cookies.extend(session_cookies(answer.tokens, site.csrf))
        if answer.mfa_enrollment_required:
            return site.redirect(page, f"/admin/login/2fa-setup?next={quote(next_url)}")
        return site.redirect(page, next_url)

    def login_step(
        page: Page, next_url: str, mfa_token: str, error: str, status: int = 200
    ) -> Response:
        return site.render(
            page,
            "admin/login_totp.html",
            status=status,
            next_url=next_url,
            mfa_token=mfa_token,
            error=error,
        )

    async def two_factor_setup(request: Request) -> Response:
        """Enrolment right after the password, for staff whose role requires 2FA: a new secret
        as a QR code and as text, then the first code confirms it; the recovery codes are shown
        once."""
        page = await site.page(request)
        next_url = safe_next(request.query_params.get("next", "/admin"))
        if not page.signed_in:
            return site.redirect(page, f"/admin/login?next={quote(next_url)}")
        auth = page.stub(AuthServiceStub, "auth")
        if request.method == "POST":
            form = await site.form(page)
            next_url = safe_next(text_field(form, "next", 2000) or "/admin")
            code = text_field(form, "code", 16).replace(" ", "")
            secret = text_field(form, "secret", 128)
            uri = text_field(form, "otpauth_uri", 1000)
            try:
                confirmed = await page.call(
                    auth.ConfirmTotp,
                    auth_pb2.ConfirmTotpRequest(idempotency_key=idempotency_key(form), code=code),
                )
            except grpc.aio.AioRpcError as error:
                problem = problem_from_rpc_error(error)
                if problem.status >= 500 or problem.status == 401:
                    raise
                return site.render(
                    page,
                    "admin/login_2fa_setup.html",
                    status=problem.status if problem.status in (400, 409, 422, 429) else 400,
                    next_url=next_url,
                    secret=secret,
                    otpauth_uri=uri,
                    qr=qr_data_url(uri) if uri.startswith("otpauth://") else "",
                    idempotency_key=str(uuid.uuid4()),
                    error="That code did not match. Enter the current code from your app.",
                )
            if confirmed.tokens.access_token:
                page.set_cookies.extend(session_cookies(confirmed.tokens, site.csrf))
            return site.render(
                page,
                "admin/login_recovery_codes.html",
                next_url=next_url,
                codes=list(confirmed.recovery_codes.codes),
            )
        me = await page.call(auth.GetMe, auth_pb2.GetMeRequest())
        if me.totp_enabled:
            return site.redirect(page, next_url)
        enrolled = await page.call(
            auth.EnrollTotp, auth_pb2.EnrollTotpRequest(idempotency_key=str(uuid.uuid4()))
        )
        return site.render(
            page,
            "admin/login_2fa_setup.html",
            next_url=next_url,
            secret=enrolled.secret,
            otpauth_uri=enrolled.otpauth_uri,
            qr=qr_data_url(enrolled.otpauth_uri),
            idempotency_key=str(uuid.uuid4()),
            error="",
        )

    async def logout(request: Request) -> Response:
        page = await site.page(request)
        await site.form(page)
        if page.signed_in:
            auth = page.stub(AuthServiceStub, "auth")
            try:
                await page.call(
                    auth.Logout, auth_pb2.LogoutRequest(idempotency_key=str(uuid.uuid4()))
                )
            except grpc.aio.AioRpcError as error:
                if error.code() not in (
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.NOT_FOUND,
                ):
                    raise
        page.set_cookies.extend(CLEARED_COOKIES)
        return site.redirect(page, "/admin/login")

    # --- dashboard -------------------------------------------------------------------------

    async def dashboard(request: Request) -> Response:
        page = await site.page(request)
        refused = await gate(page, ANALYTICS_READ)
        if refused is not None:
            return refused
        params = request.query_params
        period = period_of(params)
        currency = params.get("currency", "")
        if currency not in site.currencies:
            currency = ""
        granularity = params.get("granularity", "")
        if granularity not in GRANULARITIES:
            granularity = "day" if period.days <= 62 else "week" if period.days <= 366 else "month"
        query = analytics_pb2.AnalyticsQuery(
            start_date=period.start.isoformat(),
            end_date=period.end.isoformat(),
            granularity=granularity,
            currency=currency,
        )
        # Live figures (today, in the reporting currency, every order) move the tiles only
        # when the range ends today and is not one currency's.
        live = period.end == today() and not currency
        day = today().isoformat()
        today_query = analytics_pb2.AnalyticsQuery(start_date=day, end_date=day, currency="")
        analytics = page.stub(AnalyticsServiceStub, "admin")
        calls = [
            page.call(analytics.GetSales, query),
            page.call(analytics.GetFunnel, query),
            page.call(
                analytics.GetTopProducts, analytics_pb2.TopProductsQuery(range=query, limit=10)
            ),
            page.call(analytics.GetPaymentMethods, query),
            page.call(analytics.GetCustomers, query),
            page.call(
                analytics.GetStockAlerts,
                analytics_pb2.StockAlertsQuery(low_stock_threshold=5, limit=20),
            ),
            page.call(analytics.GetSupportStats, query),
        ]
        if live:
            calls.append(page.call(analytics.GetSales, today_query))
            calls.append(page.call(analytics.GetFunnel, today_query))
            calls.append(page.call(analytics.GetCustomers, today_query))
        answers = await asyncio.gather(*calls)
        sales, funnel, top, methods, customers, stock, support = answers[:7]
        money_currency = sales.money.currency
        new_customers = sum(p.new_customers for p in customers.periods)
        placed, paid_of_placed = funnel.total.orders_placed, funnel.total.orders_paid
        data: dict[str, Any] = {
            "currency": money_currency,
            "live": live,
            "tiles": {
                "revenue": sales.total.revenue_minor,
                "orders": sales.total.orders_paid,
                "newCustomers": new_customers,
                "placed": placed,
                "paidOfPlaced": paid_of_placed,
            },
            "today": None,
            "sales": {
                "labels": [p.start_date for p in sales.periods],
                "revenue": [p.revenue_minor for p in sales.periods],
                "orders": [p.orders_paid for p in sales.periods],
            },
            "funnel": {
                "labels": ["Placed", "Invoiced", "Paid"],
                "values": [
                    funnel.total.orders_placed,
                    funnel.total.orders_invoiced,
                    funnel.total.orders_paid,
                ],
            },
            "topProducts": {
                "labels": [p.title or p.product_id for p in top.products],
                "units": [p.units for p in top.products],
            },
            "paymentMethods": {
                "labels": [method_label(m) for m in methods.methods],
                "orders": [m.orders for m in methods.methods],
            },
            "customers": {
                "labels": [p.start_date for p in customers.periods],
                "new": [p.new_customers for p in customers.periods],
                "returning": [p.returning_customers for p in customers.periods],
            },
        }
        if live:
            sales_today, funnel_today, customers_today = answers[7:]
            if sales_today.money.currency == money_currency:
                data["today"] = {
                    "revenue": sales_today.total.revenue_minor,
                    "orders": sales_today.total.orders_paid,
                    "newCustomers": sum(p.new_customers for p in customers_today.periods),
                    "placed": funnel_today.total.orders_placed,
                    "paid": funnel_today.total.orders_paid,
                }
            else:
                data["live"] = False
        language = english(site, page)
        money = language.money
        rows = {
            "sales": [
                (p.start_date, money(p.revenue_minor, money_currency), p.orders_paid)
                for p in sales.periods
            ],
            "funnel": list(zip(data["funnel"]["labels"], data["funnel"]["values"], strict=True)),
            "top": [
                (p.title or p.product_id, p.units, money(p.revenue_minor, money_currency))
                for p in top.products
            ],
            "methods": [
                (method_label(m), m.orders, percent(m.share_bp, 10_000)) for m in methods.methods
            ],
            "customers": [
                (p.start_date, p.new_customers, p.returning_customers) for p in customers.periods
            ],
        }
        mean_ms = support.total.mean_time_to_first_answer_ms
        return site.render(
            page,
            "admin/dashboard.html",
            rows=rows,
            cohort_width=max((len(c.active) for c in customers.cohorts), default=1),
            first_answer=duration_text(mean_ms) if support.total.answered else NO_FIGURE,
            period=period,
            currency=currency,
            granularity=granularity,
            granularities=GRANULARITIES,
            currencies=site.currencies,
            data=data,
            sales=sales,
            funnel=funnel,
            top=top,
            methods=methods,
            customers=customers,
            stock=stock,
            support=support,
            money_currency=money_currency,
            tiles=tile_texts(language, data["tiles"], money_currency),
            percent=percent,
        )

    # --- reports ---------------------------------------------------------------------------

    async def reports(request: Request) -> Response:
        page = await site.page(request)
        refused = await gate(page, REPORTS_READ)
        if refused is not None:
            return refused
        return await render_reports(page, request.query_params, error="", status=200)

    async def render_reports(
        page: Page, params: Mapping[str, str], *, error: str, status: int
    ) -> Response:
        kinds = dict(REPORT_KINDS)
        kind = params.get("kind", "sales-by-day")
        if kind not in kinds:
            kind = "sales-by-day"
        period = period_of(params)
        currency = params.get("currency", "")
        if currency not in site.currencies:
            currency = ""
        service = page.stub(ReportsServiceStub, "admin")
        request = reports_pb2.GetReportRequest(
            kind=kind,
            start_date=period.start.isoformat(),
            end_date=period.end.isoformat(),
            currency=currency,
            limit=PREVIEW_ROWS,
        )
        schedules_call = page.call(
            service.ListReportSchedules, reports_pb2.ListReportSchedulesRequest(page_size=50)
        )
        report, schedules = await asyncio.gather(
            page.call(service.GetReport, request), schedules_call
        )
        export = {
            "kind": kind,
            "startDate": period.start.isoformat(),
            "endDate": period.end.isoformat(),
        }
        if currency:
            export["currency"] = currency
        language = english(site, page)
        return site.render(
            page,
            "admin/reports.html",
            status=status,
            kinds=REPORT_KINDS,
            kind=kind,
            kind_label=kinds[kind],
            period=period,
            currency=currency,
            currencies=site.currencies,
            report=report,
            cell=lambda value, column: report_cell(language, value, column, report.currency),
            csv_url=export_url(export, "csv"),
            pdf_url=export_url(export, "pdf"),
            schedules=list(schedules.schedules),
            cadences=CADENCES,
            cadence_label=dict(CADENCES),
            kind_name=kinds,
            can_schedule=page.can(REPORTS_WRITE),
            user_id=page.user_id,
            idempotency_key=str(uuid.uuid4()),
            generated=when(language, report.generated_at),
            error=error,
        )

    async def report_schedules(request: Request) -> Response:
        """Create or stop a schedule (forms on the reports page)."""
        page = await site.page(request)
        refused = await gate(page, REPORTS_WRITE)
        if refused is not None:
            return refused
        form = await site.form(page)
        service = page.stub(ReportsServiceStub, "admin")
        action = text_field(form, "action", 20)
        try:
            if action == "delete":
                await page.call(
                    service.DeleteReportSchedule,
                    reports_pb2.DeleteReportScheduleRequest(
                        idempotency_key=idempotency_key(form), id=text_field(form, "id", 64)
                    ),
                )
            else:
                formats = [f for f in ("csv", "pdf") if form.get(f"format_{f}")]
                cadence_text = text_field(form, "cadence", 10)
                cadence = whole_number(cadence_text, 1_000) or 0
                await page.call(
                    service.CreateReportSchedule,
                    reports_pb2.CreateReportScheduleRequest(
                        idempotency_key=idempotency_key(form),
                        kind=text_field(form, "kind", 40),
                        formats=formats,
                        cadence=cadence,  # type: ignore[arg-type]
                        currency=text_field(form, "currency", 10),
                        recipient_ids=[page.user_id],
                    ),
                )
        except grpc.aio.AioRpcError as error:
            problem = problem_from_rpc_error(error)
            if problem.status >= 500 or problem.status in (401, 403):
                raise
            detail = "; ".join(f"{v.field}: {v.description}" for v in problem.errors)
            message = detail or problem.detail or problem.title
            return await render_reports(
                page, {}, error=f"The schedule was not saved: {message}", status=problem.status
            )
        return site.redirect(page, "/admin/reports#schedules")

    # --- crypto reconciliation -------------------------------------------------------------

    async def reconciliation(request: Request) -> Response:
        page = await site.page(request)
        refused = await gate(page, CHAIN_READ)
        if refused is not None:
            return refused
        chain = page.stub(ChainServiceStub, "chain")
        error, status = "", 200
        if request.method == "POST":
            form = await site.form(page)
            try:
                start = chain_pb2.StartReconciliationRequest(idempotency_key=idempotency_key(form))
                since = dt.date.fromisoformat(text_field(form, "since", 10))
                start.since.FromDatetime(dt.datetime.combine(since, dt.time(), dt.UTC))
                until_text = text_field(form, "until", 10)
                if until_text:
                    until = dt.date.fromisoformat(until_text) + dt.timedelta(days=1)
                    start.until.FromDatetime(
                        min(dt.datetime.combine(until, dt.time(), dt.UTC), dt.datetime.now(dt.UTC))
                    )
                run = await page.call(chain.StartReconciliation, start)
            except ValueError:
                error, status = "Dates are written YYYY-MM-DD.", 400
            except grpc.aio.AioRpcError as failure:
                problem = problem_from_rpc_error(failure)
                if problem.status >= 500 or problem.status == 401:
                    raise
                detail = "; ".join(f"{v.field}: {v.description}" for v in problem.errors)
                error = detail or problem.detail or problem.title
                status = problem.status
            else:
                return site.redirect(page, f"/admin/reconciliation/{run.id}")
        token = request.query_params.get("page", "")[:512]
        runs = await page.call(
            chain.ListReconciliations,
            chain_pb2.ListReconciliationsRequest(page_size=PAGE_SIZE, page_token=token),
        )
        language = english(site, page)
        return site.render(
            page,
            "admin/reconciliation.html",
            status=status,
            runs=list(runs.runs),
            next_page=runs.next_page_token,
            statuses=RUN_STATUSES,
            when=lambda moment: when(language, moment),
            can_start=page.can(CHAIN_RECONCILE),
            since=(today() - dt.timedelta(days=6)).isoformat(),
            until=today().isoformat(),
            idempotency_key=str(uuid.uuid4()),
            error=error,
        )

    async def reconciliation_run(request: Request) -> Response:
        page = await site.page(request)
        refused = await gate(page, CHAIN_READ)
        if refused is not None:
            return refused
        run_id = request.path_params["run_id"]
        try:
            uuid.UUID(run_id)
        except ValueError:
            return site.error_page(page, 404, "Page not found")
        chain = page.stub(ChainServiceStub, "chain")
        token = request.query_params.get("page", "")[:512]
        run, items = await asyncio.gather(
            page.call(chain.GetReconciliation, chain_pb2.GetReconciliationRequest(id=run_id)),
            page.call(
                chain.ListReconciliationItems,
                chain_pb2.ListReconciliationItemsRequest(
                    id=run_id, page_size=100, page_token=token
                ),
            ),
        )
        language = english(site, page)
        return site.render(
            page,
            "admin/reconciliation_run.html",
            run=run,
            items=list(items.items),
            next_page=items.next_page_token,
            statuses=RUN_STATUSES,
            outcomes=OUTCOMES,
            crypto=crypto_text,
            when=lambda moment: when(language, moment),
        )

    # --- audit log -------------------------------------------------------------------------

    async def audit(request: Request) -> Response:
        page = await site.page(request)
        refused = await gate(page, AUDIT_READ)
        if refused is not None:
            return refused
        params = request.query_params
        actor = params.get("actor", "").strip()[:200]
        action = params.get("action", "").strip()[:200]
        target_type = params.get("target_type", "").strip()[:100]
        target_id = params.get("target_id", "").strip()[:200]
        error = ""
        search = users_pb2.SearchAuditLogRequest(
            actor_subject=actor,
            action_prefix=action,
            target_type=target_type,
            target_id=target_id if target_type else "",
        )
        since_text, until_text = params.get("from", ""), params.get("to", "")
        try:
            if since_text:
                search.occurred_after.FromDatetime(
                    dt.datetime.combine(dt.date.fromisoformat(since_text), dt.time(), dt.UTC)
                )
            if until_text:
                search.occurred_before.FromDatetime(
                    dt.datetime.combine(
                        dt.date.fromisoformat(until_text) + dt.timedelta(days=1), dt.time(), dt.UTC
                    )
                )
        except ValueError:
            error = "Dates are written YYYY-MM-DD."
            search.ClearField("occurred_after")
            search.ClearField("occurred_before")
        filters = {
            "actor": actor,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "from": since_text if not error else "",
            "to": until_text if not error else "",
        }
        query = ListQuery.read(request, filters, size=PAGE_SIZE, token_param="page")
        search.page_size, search.page_token = query.size, query.token
        users = page.stub(UserAdminServiceStub, "admin")
        try:
            found = await page.call(users.SearchAuditLog, search)
        except grpc.aio.AioRpcError as failure:
            problem = problem_from_rpc_error(failure)
            if problem.status != 400:
                raise
            detail = "; ".join(f"{v.field}: {v.description}" for v in problem.errors)
            error = detail or problem.detail or "These filters could not be used."
            found = users_pb2.SearchAuditLogResponse()
        language = english(site, page)
        return site.render(
            page,
            "admin/audit.html",
            status=400 if error else 200,
            entries=list(found.entries),
            fields=audit_filters(filters),
            pages=query.pager(found.next_page_token),
            when=lambda moment: when(language, moment),
            error=error,
        )

    return [
        Route("/admin", dashboard, methods=["GET"]),
        Route("/admin/login", login, methods=["GET", "POST"]),
        Route("/admin/login/2fa-setup", two_factor_setup, methods=["GET", "POST"]),
        Route("/admin/logout", logout, methods=["POST"]),
        Route("/admin/reports", reports, methods=["GET"]),
        Route("/admin/reports/schedules", report_schedules, methods=["POST"]),
        Route("/admin/reconciliation", reconciliation, methods=["GET", "POST"]),
        Route("/admin/reconciliation/{run_id}", reconciliation_run, methods=["GET"]),
        Route("/admin/audit", audit, methods=["GET"]),
    ]


def audit_filters(filters: Mapping[str, str]) -> list[Filter]:
    return [
        Filter(
            "actor", "Actor", filters["actor"], kind="text", placeholder="user id or service:name"
        ),
        Filter("action", "Action starts with", filters["action"], kind="text", placeholder="auth."),
        Filter(
            "target_type",
            "Target kind",
            filters["target_type"],
            kind="text",
            placeholder="user, order…",
            max_len=100,
        ),
        Filter("target_id", "Target id", filters["target_id"], kind="text"),
        Filter("from", "From", filters["from"], kind="date"),
        Filter("to", "To", filters["to"], kind="date"),
    ]


def method_label(method: Any) -> str:
    provider = method.provider or "unknown"
    return f"{provider} · {method.pay_currency}" if method.pay_currency else provider


def duration_text(milliseconds: int) -> str:
    seconds = milliseconds // 1000
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def percent(numerator: int, denominator: int) -> str:
    """A share as a percentage with one decimal; a dash without a denominator."""
    if denominator <= 0:
        return NO_FIGURE
    tenths = (numerator * 1000 + denominator // 2) // denominator
    return f"{tenths // 10}.{tenths % 10}%"


def tile_texts(language: Language, tiles: Mapping[str, int], currency: str) -> dict[str, str]:
    orders = tiles["orders"]
    revenue = tiles["revenue"]
    average = (revenue + orders // 2) // orders if orders else 0
    return {
        "revenue": language.money(revenue, currency),
        "orders": language.number(orders),
        "aov": language.money(average, currency) if orders else NO_FIGURE,
        "newCustomers": language.number(tiles["newCustomers"]),
        "conversion": percent(tiles["paidOfPlaced"], tiles["placed"]),
    }


def report_cell(language: Language, value: str, column: Any, currency: str) -> str:
    """A preview cell as the API's text, written for people (money with its currency)."""
    if not value:
        return ""
    try:
        if column.type == "money":
            return language.money(int(value), currency)
        if column.type == "integer":
            return language.number(int(value))
        if column.type == "basis_points":
            return percent(int(value), 10_000)
    except ValueError:
        return value
    return value


def export_url(query: Mapping[str, str], file_format: str) -> str:
    params = {k: v for k, v in query.items() if k != "kind"}
    kind = quote(query["kind"], safe="")
    return f"/v1/admin/reports/{kind}/export?" + urlencode({**params, "format": file_format})

"""Report downloads through the real gateway: the month's sales as a streamed CSV and as a PDF,
named and marked final or provisional by the admin service's headers; a bad request is a 400
problem naming the field before any byte."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from edge_stack import EdgeStack
from pypdf import PdfReader
from security_support import RenewedToken

CLIENT_IP = "198.18.121.1"
EXPORT = "/v1/admin/reports/sales-by-day/export"


@pytest.fixture
def as_admin(admin_bearer: RenewedToken) -> dict[str, str]:
    return {"Authorization": admin_bearer()}


def this_month() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


async def test_the_months_sales_download_as_csv_and_pdf(
    edge: EdgeStack, as_admin: dict[str, str]
) -> None:
    start, end = this_month()
    params = {"startDate": start, "endDate": end}
    async with edge.client(CLIENT_IP) as http:
        csv_answer = await http.get(EXPORT, params={**params, "format": "csv"}, headers=as_admin)
        pdf_answer = await http.get(EXPORT, params={**params, "format": "pdf"}, headers=as_admin)
        closed = await http.get(
            EXPORT, params={"startDate": "2025-01-01", "endDate": "2025-01-31"}, headers=as_admin
        )

    assert csv_answer.status_code == 200, csv_answer.text
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert csv_answer.headers["content-disposition"] == (
        f'attachment; filename="sales-by-day_{start}_{end}-provisional.csv"'
    )
    assert csv_answer.headers["x-agora-report-status"] == "provisional"
    rows = list(csv.reader(io.StringIO(csv_answer.text)))
    assert rows[0][:2] == ["date", "orders_placed"]
    assert rows[1][0] == start
    assert rows[-1][0] == "Total"
    assert len(rows) == int(end[-2:]) + 2

    assert pdf_answer.status_code == 200
    assert pdf_answer.headers["content-type"] == "application/pdf"
    assert pdf_answer.headers["content-disposition"].endswith('-provisional.pdf"')
    text = PdfReader(io.BytesIO(pdf_answer.content)).pages[0].extract_text()
    assert "Provisional" in text
    assert "Sales by day" in text

    assert closed.status_code == 200
    assert closed.headers["x-agora-report-status"] == "final"
    assert closed.headers["content-disposition"].endswith('sales-by-day_2025-01-01_2025-01-31.csv"')


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (EXPORT, {"startDate": "2026-03-02", "endDate": "2026-03-01"}, "end_date"),
        (EXPORT, {"startDate": "2026-03-01", "endDate": "2026-03-31", "format": "xls"}, "format"),
        (
            EXPORT,
            {"startDate": "2026-03-01", "endDate": "2026-03-31", "currency": "XX"},
            "currency",
        ),
        (
            "/v1/admin/reports/sales-by-hour",
            {"startDate": "2026-03-01", "endDate": "2026-03-31"},
            "kind",
        ),
    ],
)
async def test_a_bad_report_request_is_a_400_problem(
    edge: EdgeStack, as_admin: dict[str, str], path: str, params: dict[str, str], field: str
) -> None:
    async with edge.client(CLIENT_IP) as http:
        answer: httpx.Response = await http.get(path, params=params, headers=as_admin)
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["code"] == "INVALID_ARGUMENT"
    assert "content-disposition" not in answer.headers
    assert field in answer.text

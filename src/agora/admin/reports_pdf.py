"""A report as a PDF (reportlab): title, period and currency, a "Provisional" banner while the
period is open, a chart of the main series, the table (its header repeated on every page, the
totals row last) and page numbers. Rendering is CPU work: callers run it in a thread."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from agora.admin.reports import CellType, ReportSpec, Row, decimal_text, display_cells

CELL_CHARS = 40
PAGE = landscape(A4)


@dataclass(frozen=True)
class PdfReport:
    spec: ReportSpec
    start: date
    end: date
    currency: str
    provisional: bool
    generated_at: datetime
    rows: Sequence[Row]
    totals: Row
    row_count: int
    chart: Sequence[tuple[str, int]]


def render_pdf(report: PdfReport) -> bytes:
    """The PDF's bytes."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=15 * mm,
        title=f"{report.spec.title} {report.start.isoformat()} to {report.end.isoformat()}",
        author="Agora",
    )
    styles = getSampleStyleSheet()
    story: list[Any] = [
        Paragraph(_escape(report.spec.title), styles["Title"]),
        Paragraph(
            f"Period {report.start.isoformat()} to {report.end.isoformat()} · "
            f"currency {report.currency} · generated "
            f"{report.generated_at.strftime('%Y-%m-%d %H:%M UTC')} · {report.row_count} rows",
            styles["Normal"],
        ),
    ]
    if report.provisional:
        banner = styles["Heading2"].clone("banner", textColor=colors.red)
        story.append(
            Paragraph("Provisional: the period is still open, figures may change.", banner)
        )
    story.append(Spacer(1, 4 * mm))
    if report.chart:
        story.extend([_chart(report), Spacer(1, 4 * mm)])
    story.append(_table(report))
    if report.row_count > len(report.rows):
        story.append(
            Paragraph(
                f"The first {len(report.rows)} of {report.row_count} rows; "
                "the CSV export has them all.",
                styles["Italic"],
            )
        )
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _short(text: str) -> str:
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _table(report: PdfReport) -> Table:
    spec = report.spec
    header = [c.label for c in spec.columns]
    body = [[_short(c) for c in display_cells(spec, row, report.currency)] for row in report.rows]
    totals = display_cells(spec, report.totals, report.currency)
    table = Table([header, *body, totals], repeatRows=1)
    numeric = [
        i
        for i, c in enumerate(spec.columns)
        if c.type in (CellType.INTEGER, CellType.MONEY, CellType.BASIS_POINTS)
    ]
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf2")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.grey),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f6f7f9")]),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    style.extend(("ALIGN", (i, 0), (i, -1), "RIGHT") for i in numeric)
    table.setStyle(TableStyle(style))
    return table


def _chart(report: PdfReport) -> Drawing:
    spec = report.spec
    value = spec.columns[spec.index(spec.chart.value_key)]
    points = list(report.chart)
    labels = [_short(label)[:16] for label, _ in points]
    values = [_major(v, value.type, report.currency) for _, v in points]
    width, height = PAGE[0] - 30 * mm, 55 * mm
    drawing = Drawing(width, height)
    chart: Any = HorizontalLineChart() if spec.chart.line else VerticalBarChart()
    chart.x, chart.y = 40, 25
    chart.width, chart.height = width - 60, height - 35
    chart.data = [values]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if len(labels) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 6 else "n"
    if spec.chart.line and len(labels) > 31:
        # A label every few points: a year by day stays readable.
        step = len(labels) // 12 + 1
        chart.categoryAxis.categoryNames = [
            label if i % step == 0 else "" for i, label in enumerate(labels)
        ]
    chart.valueAxis.valueMin = min(0.0, *values) if values else 0.0
    chart.valueAxis.labels.fontSize = 6
    if spec.chart.line:
        chart.lines[0].strokeColor = colors.HexColor("#2a6fdb")
    else:
        chart.bars[0].fillColor = colors.HexColor("#2a6fdb")
    drawing.add(chart)
    return drawing


def _major(amount: int, cell_type: CellType, currency: str) -> float:
    """A chart's value (a plotted position, never a reported figure: floats are fine here)."""
    if cell_type is CellType.MONEY:
        return float(decimal_text(amount, currency))
    return float(amount)


def _page_number(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 7)
    canvas.drawRightString(PAGE[0] - 12 * mm, 8 * mm, f"Page {doc.page}")
    canvas.drawString(12 * mm, 8 * mm, "Agora")
    canvas.restoreState()

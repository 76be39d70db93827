"""The report as an Excel workbook: one sheet per table with real number formats
(money as numbers with two decimals, rates as percentages), and a sheet of charts as
PNG images."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from arrears.analytics.charts import report_charts
from arrears.analytics.labels import label
from arrears.analytics.model import PortfolioReport
from arrears.analytics.static import render_png
from arrears.analytics.tables import Table, report_sections
from arrears.files import replacing

FORMATS = {"money": "#,##0.00", "pct": "0.00%", "int": "#,##0", "ratio": "0.0000"}
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")


def _sheet_name(t: Table, used: set[str]) -> str:
    name = t.name[:31]
    n = 2
    while name in used:
        name = f"{t.name[:28]}_{n}"
        n += 1
    used.add(name)
    return name


def _write_table(wb: Workbook, t: Table, used: set[str]) -> None:
    ws = wb.create_sheet(_sheet_name(t, used))
    ws.append([t.title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(t.headers)
    for cell in ws[2]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
    for row in t.rows:
        ws.append([c.value if c.kind != "int" else int(c.value) for c in row])
        for cell, c in zip(ws[ws.max_row], row, strict=True):
            if c.kind in FORMATS:
                cell.number_format = FORMATS[c.kind]
    for i, header in enumerate(t.headers, start=1):
        width = max([len(str(header))] + [len(str(r[i - 1].value)) for r in t.rows]) + 3
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, 10), 40)
    ws.freeze_panes = "B3"


def render_xlsx(
    r: PortfolioReport, lang: str, out: Path, images: Mapping[str, bytes] | None = None
) -> Path:
    """Write the workbook to ``out``; ``images`` are the chart PNGs by name if already
    rendered (else rendered here, which needs a Chromium: see ``static``)."""
    pngs = images if images is not None else render_png(report_charts(r, lang), scale=1)
    wb = Workbook()
    summary = wb.active
    summary.title = "summary"
    summary.append([f"{label('title', lang)} {r.date_from} – {r.date_to}"])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([label("definition", lang), r.definition.label])
    summary.append([label("generated", lang), ", ".join(d.isoformat() for d in r.period.points)])
    used = {"summary", "charts"}
    for section in report_sections(r, lang):
        for note in section.notes:
            summary.append([section.title, note])
        for t in section.tables:
            _write_table(wb, t, used)
    charts = wb.create_sheet("charts")
    row = 1
    for png in pngs.values():
        image = Image(io.BytesIO(png))
        if image.width > 1000:  # rendered at a higher scale (shared with the PDF)
            image.width, image.height = image.width // 2, image.height // 2
        charts.add_image(image, f"A{row}")
        row += int(image.height / 20) + 2  # default row height is 20 px
    summary.column_dimensions["A"].width = 30
    with replacing(out) as partial:
        wb.save(partial)
    return out

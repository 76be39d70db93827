"""The report as a PDF (A4 landscape) with the CJK font embedded (Noto Sans SC from the
``pylopdf-fonts-zh-cn`` package, the one the letters use), so Chinese text is real,
extractable text; charts are PNG images."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from arrears.analytics.charts import report_charts
from arrears.analytics.labels import label
from arrears.analytics.model import PortfolioReport
from arrears.analytics.render_html import format_cell
from arrears.analytics.static import render_png
from arrears.analytics.tables import Section, Table, report_sections
from arrears.files import write_atomically

FONT = "NotoSansSC"
MAX_COLUMNS = 16  # wider tables (the vintage matrix) are cut into column blocks


def _font_path() -> str:
    from pylopdf_fonts_zh_cn import sans_path

    path = Path(sans_path())
    if not path.exists():
        raise FileNotFoundError(f"CJK font not found at {path}: reinstall pylopdf-fonts-zh-cn")
    return str(path)


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="L", format="A4")
        self.footer_text = footer_text
        self.add_font(FONT, "", _font_path())
        self.set_auto_page_break(True, margin=12)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, size=7)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}", align="R")


def _table(pdf: _Pdf, t: Table) -> None:
    blocks = [list(range(len(t.headers)))]
    if len(t.headers) > MAX_COLUMNS:  # keep the first (key) column in every block
        rest = list(range(1, len(t.headers)))
        step = MAX_COLUMNS - 1
        blocks = [[0, *rest[i : i + step]] for i in range(0, len(rest), step)]
    for block in blocks:
        if pdf.get_y() > pdf.h - 45:  # no title alone at the foot of a page
            pdf.add_page()
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 6, t.title, new_x="LMARGIN", new_y="NEXT")
        size = 7 if len(block) <= 10 else 6
        pdf.set_font(FONT, size=size)
        align = tuple("LEFT" if t.rows and t.rows[0][i].kind == "text" else "RIGHT" for i in block)
        with pdf.table(
            col_widths=tuple(2 if i == 0 else 1 for i in block),
            text_align=align,
            line_height=size * 0.55,
            first_row_as_headings=True,
            # the CJK font has one weight: headings are shaded, not bold
            headings_style=FontFace(emphasis=None, fill_color=(221, 229, 240)),
        ) as table:
            head = table.row()
            for i in block:
                head.cell(t.headers[i])
            for row in t.rows:
                line = table.row()
                for i in block:
                    line.cell(format_cell(row[i]))
        pdf.ln(3)


def _section(pdf: _Pdf, s: Section, pngs: dict[str, bytes]) -> None:
    pdf.add_page()
    pdf.set_font(FONT, size=15)
    pdf.cell(0, 9, s.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    for note in s.notes:
        pdf.multi_cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
    charts = [pngs[name] for name in s.charts if name in pngs]
    for i, png in enumerate(charts):
        if i and pdf.get_y() > 100:
            pdf.add_page()
        pdf.image(io.BytesIO(png), w=200)
        pdf.ln(2)
    for t in s.tables:
        _table(pdf, t)


def render_pdf(
    r: PortfolioReport, lang: str, out: Path, images: Mapping[str, bytes] | None = None
) -> Path:
    """Write the PDF to ``out``; ``images`` are the chart PNGs by name if already
    rendered (else rendered here, which needs a Chromium: see ``static``)."""
    pngs = images if images is not None else render_png(report_charts(r, lang), scale=2)
    title = f"{label('title', lang)} {r.date_from} – {r.date_to}"
    pdf = _Pdf(title)
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font(FONT, size=20)
    pdf.cell(0, 14, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    line = f"{label('definition', lang)}: {r.definition.label} · {r.currency}"
    pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    days = ", ".join(d.isoformat() for d in r.period.points)
    pdf.multi_cell(0, 6, f"{label('generated', lang)}: {days}", new_x="LMARGIN", new_y="NEXT")
    for section in report_sections(r, lang):
        _section(pdf, section, pngs)
    return write_atomically(out, bytes(pdf.output()))

"""The report files from the demo book with month-end history: HTML (self-contained,
tables and chart divs), Excel (sheets, numbers with number formats, images) and PDF
(pages, extractable text, Chinese with --lang zh); and the commands."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from typer.testing import CliRunner

from arrears.analytics.charts import report_charts
from arrears.analytics.model import PortfolioReport, compute_report
from arrears.analytics.render_pdf import render_pdf
from arrears.analytics.render_xlsx import render_xlsx
from arrears.analytics.report import build_report
from arrears.analytics.static import StaticExportUnavailable, render_png
from arrears.cli import app

FROM, TO = date(2025, 12, 1), date(2026, 11, 30)
TABLES = (
    "overdue",
    "buckets",
    "roll_count",
    "roll_amount",
    "flows",
    "flows_monthly",
    "cures",
    "vintage",
    "fpd",
)
CHARTS = ("overdue", "distribution", "roll_matrix", "flow", "cure", "vintage", "fpd")


@pytest.fixture(scope="module")
def report(demo_book) -> PortfolioReport:
    return compute_report(demo_book.ws, FROM, TO)


@pytest.fixture(scope="module")
def images(report) -> dict[str, dict[str, bytes]]:
    """The chart PNGs in both languages, rendered once for the module (by Chromium)."""
    return {lang: render_png(report_charts(report, lang), scale=2) for lang in ("en", "zh")}


@pytest.fixture(scope="module")
def html_en(demo_book, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "r.html"
    return build_report(demo_book.ws, FROM, TO, "html", "en", out).read_text(encoding="utf-8")


def test_html_has_the_tables_and_chart_divs(html_en: str):
    for name in TABLES:
        assert f'id="table-{name}"' in html_en
    for name in CHARTS:
        assert f'id="chart-{name}"' in html_en
    assert "Roll-rate matrix, by amount" in html_en and "Net flow to write-off" in html_en


def test_html_is_self_contained(html_en: str):
    assert not re.search(r"<script[^>]+src=", html_en)  # plotly.js inline, no CDN
    assert "Plotly.newPlot" in html_en
    assert len(re.findall(r"<script", html_en)) > len(CHARTS)


def test_html_overdue_table_matches_the_computed_report(report, html_en: str):
    last = report.overdue[-1]
    assert last.as_of == TO
    assert f"{last.principal:,.2f}" in html_en
    assert f"{last.rate_count * 100:.2f}%" in html_en
    # the book says which collector data it lacks instead of showing numbers
    assert "No data yet" in html_en


def test_xlsx_has_sheets_numbers_and_images(report, images, tmp_path: Path):
    out = render_xlsx(report, "en", tmp_path / "r.xlsx", images["en"])
    wb = load_workbook(out)
    assert {"summary", "charts", *TABLES} <= set(wb.sheetnames)
    overdue = wb["overdue"]
    assert overdue["A2"].value == "Date"
    first = report.overdue[0]
    assert overdue["B3"].value == first.loans
    assert Decimal(str(overdue["E3"].value)) == first.principal  # money is a number …
    assert overdue["E3"].number_format == "#,##0.00"  # … shown with 2 decimals
    assert overdue["D3"].number_format == "0.00%"
    assert len(wb["charts"]._images) >= len(CHARTS)


def test_chart_images_are_pngs_of_every_chart(images):
    for lang in ("en", "zh"):
        assert set(CHARTS) <= set(images[lang])
        assert all(png.startswith(b"\x89PNG") for png in images[lang].values())


@pytest.mark.parametrize(
    ("lang", "words"), [("zh", ("资产质量报告", "迁徙率矩阵", "催回率")), ("en", ("Cure rates",))]
)
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (pdftotext)")
def test_pdf_has_pages_and_text(report, images, tmp_path: Path, lang: str, words):
    out = render_pdf(report, lang, tmp_path / f"r-{lang}.pdf", images[lang])
    reader = PdfReader(out)
    assert len(reader.pages) >= 5
    # poppler reads the font's ToUnicode map as viewers do (pypdf spaces CJK glyphs
    # with NULs for this font)
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, check=True, text=True
    ).stdout
    for word in words:
        assert word in text
    assert "2026-11-30" in text


def test_static_export_without_a_browser_says_what_to_install(
    demo_book, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    with pytest.raises(StaticExportUnavailable, match="apt-get install chromium"):
        build_report(demo_book.ws, FROM, TO, "pdf", "en", tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


def test_report_command_writes_the_file(demo_book, tmp_path: Path):
    out = tmp_path / "cli.html"
    args = ["report", "--from", "2026-06-01", "--to", "2026-11-30", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "-w", str(demo_book.ws.root), "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert out.exists() and "迁徙率矩阵" in out.read_text(encoding="utf-8")


def test_report_command_refuses_a_bad_format_and_an_empty_period(demo_book):
    ws = ["-w", str(demo_book.ws.root)]
    bad = CliRunner().invoke(app, ["report", "--format", "docx", *ws])
    assert bad.exit_code == 2 and "html, xlsx, pdf" in bad.output
    empty = CliRunner().invoke(app, ["report", "--from", "2020-01-01", "--to", "2020-02-01", *ws])
    assert empty.exit_code == 1 and "no closed day between 2020-01-01" in empty.output


def test_kpi_command_says_no_data_yet_without_assignments(demo_book):
    result = CliRunner().invoke(app, ["kpi", "-w", str(demo_book.ws.root), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "No data yet" in result.output

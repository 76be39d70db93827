"""The portfolio report as a file: ``build_report(ws, date_from, date_to, fmt, lang)``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from arrears.analytics.model import compute_report
from arrears.analytics.portfolio import OverdueDefinition
from arrears.workspace import Workspace

FORMATS = ("html", "xlsx", "pdf")


def default_period(last: date) -> tuple[date, date]:
    """The twelve calendar months ending with ``last``: from the 1st of the month eleven
    months before ``last`` through ``last`` (the CLI's and the demo's default)."""
    months = last.year * 12 + last.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), last


def default_out(ws: Workspace, date_from: date, date_to: date, fmt: str, lang: str) -> Path:
    """``<workspace>/reports/portfolio-<from>-<to>-<lang>.<fmt>``."""
    return ws.root / "reports" / f"portfolio-{date_from}-{date_to}-{lang}.{fmt}"


def build_report(
    ws: Workspace,
    date_from: date,
    date_to: date,
    fmt: str = "html",
    lang: str = "en",
    out: Path | None = None,
    definition: OverdueDefinition | None = None,
    backend: Any | None = None,
) -> Path:
    """Compute the report of ``[date_from, date_to]`` from the workspace's snapshots and
    write it as ``fmt`` (html, xlsx or pdf) in ``lang`` (en or zh) to ``out`` (default
    ``default_out``); returns the path. Raises ``sources.NoSnapshots`` when no day of
    the period is closed, ``static.StaticExportUnavailable`` when xlsx/pdf charts
    cannot be rendered on this machine (saying what to install), ``ValueError`` for a
    bad format."""
    if fmt not in FORMATS:
        raise ValueError(f"report format {fmt!r}: choose one of {', '.join(FORMATS)}")
    lang = "zh" if lang.lower().startswith("zh") else "en"
    target = out or default_out(ws, date_from, date_to, fmt, lang)
    if fmt != "html":  # say what is missing before the work, not after
        from arrears.analytics.static import browser_path

        browser_path()
    report = compute_report(ws, date_from, date_to, definition, backend)
    if fmt == "html":
        from arrears.analytics.render_html import render_html

        return render_html(report, lang, target)
    if fmt == "xlsx":
        from arrears.analytics.render_xlsx import render_xlsx

        return render_xlsx(report, lang, target)
    from arrears.analytics.render_pdf import render_pdf

    return render_pdf(report, lang, target)

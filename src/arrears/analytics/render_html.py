"""The report as one self-contained HTML file: tables, and interactive plotly charts
with plotly.js embedded inline (opens offline, no CDN)."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio

from arrears.analytics.charts import WIDTH, report_charts
from arrears.analytics.labels import label
from arrears.analytics.model import PortfolioReport
from arrears.analytics.tables import Cell, Section, Table, report_sections
from arrears.files import write_atomically

# The page never gets wider than the screen (1280 px desktops, 390 px phones): a wide
# table scrolls sideways inside its own box, a chart takes the width it is given.
STYLE = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:"Noto Sans SC","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",
  "Droid Sans Fallback",sans-serif;margin:2em;color:#222}
p,h1,h2,h3{overflow-wrap:break-word}
.table-wrap{max-width:100%;overflow-x:auto;margin:0.5em 0 1.5em}
table{border-collapse:collapse;font-size:13px}
.chart{width:100%;max-width:%WIDTH%px}
.chart .js-plotly-plot,.chart .plot-container,.chart svg{max-width:100%}
img,svg{max-width:100%}
@media (max-width:640px){body{margin:0.75em}h1{font-size:1.4em}}
th,td{border:1px solid #ccc;padding:3px 8px}th{background:#f0f3f8}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td:first-child{white-space:nowrap}
.note{color:#8a5a00;background:#fff6e0;padding:4px 8px;display:inline-block;margin:2px 0}
h2{border-bottom:2px solid #4a6fa5;padding-bottom:3px;margin-top:1.8em}
""".replace("%WIDTH%", str(WIDTH))


def format_cell(cell: Cell) -> str:
    """A cell as shown to people: money with thousands separators and 2 decimals,
    rates as percentages with 2 decimals."""
    if cell.kind == "money":
        return f"{Decimal(cell.value):,.2f}"
    if cell.kind == "pct":
        return f"{Decimal(cell.value) * 100:.2f}%"
    if cell.kind == "ratio":
        return f"{Decimal(cell.value):.4f}"
    if cell.kind == "int":
        return f"{int(cell.value):,}"
    return str(cell.value)


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t.headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"text" if c.kind == "text" else "num"}">{escape(format_cell(c))}</td>'
            for c in row
        )
        + "</tr>"
        for row in t.rows
    )
    return (
        f'<h3>{escape(t.title)}</h3><div class="table-wrap" tabindex="0">'
        f'<table id="table-{t.name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _section(s: Section, charts: dict[str, str]) -> str:
    parts = [f'<section id="{s.key}"><h2>{escape(s.title)}</h2>']
    parts += [f'<p class="note">{escape(n)}</p><br>' for n in s.notes]
    parts += [charts[name] for name in s.charts if name in charts]
    parts += [_table(t) for t in s.tables]
    parts.append("</section>")
    return "\n".join(parts)


def _fluid(fig: Any) -> Any:
    """The chart as wide as its box (``.chart``: the screen's width, at most the
    width the static images for Excel and PDF are drawn at), not a fixed width."""
    return fig.update_layout(width=None, autosize=True)


def render_html(r: PortfolioReport, lang: str, out: Path) -> Path:
    """Write the report to ``out`` and return it."""
    figures = report_charts(r, lang)
    charts = {
        name: '<div class="chart">' + pio.to_html(
            _fluid(fig), include_plotlyjs=False, full_html=False, div_id=f"chart-{name}",
            config={"displaylogo": False, "responsive": True}, default_width="100%",
        ) + "</div>"
        for name, fig in figures.items()
    }  # fmt: skip
    plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(
        encoding="utf-8"
    )
    title = f"{label('title', lang)} {r.date_from} – {r.date_to}"
    days = ", ".join(d.isoformat() for d in r.period.points)
    header = (
        f"<h1>{escape(title)}</h1><p>{escape(label('definition', lang))}: "
        f"{escape(r.definition.label)} · {escape(r.currency)}<br>"
        f"{escape(label('generated', lang))}: {escape(days)}</p>"
    )
    html_lang = "zh-CN" if lang.startswith("zh") else "en"
    page = (
        f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style>"
        f"<script>{plotly_js}</script></head><body>{header}"
        + "\n".join(_section(s, charts) for s in report_sections(r, lang))
        + "</body></html>"
    )
    return write_atomically(out, page)

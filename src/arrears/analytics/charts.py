"""The report's charts as plotly figures, labelled in the report's language. The same
figures go inline into the HTML and, as static PNGs, into the PDF and the workbook."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import plotly.graph_objects as go

from arrears.analytics.labels import label
from arrears.analytics.model import PortfolioReport
from arrears.analytics.rolls import CLOSED, WRITTEN_OFF
from arrears.analytics.store_facts import UNASSIGNED

# Chromium finds CJK glyphs through these families (Noto from the PyPI font package is
# not visible to it; Droid Sans Fallback / Noto CJK come from the OS packages).
FONT = "Noto Sans SC, Noto Sans CJK SC, Droid Sans Fallback, WenQuanYi Micro Hei, sans-serif"
WIDTH, HEIGHT = 900, 460


def _layout(
    fig: go.Figure, title: str, x: str, y: str, percent: bool = True, category: bool = False
) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.02},
        font={"family": FONT, "size": 13},
        xaxis_title=x,
        yaxis_title=y,
        width=WIDTH,
        height=HEIGHT,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.18},
        template="plotly_white",
    )
    if percent:
        fig.update_yaxes(tickformat=".1%")
    if category:  # dates as written (YYYY-MM-DD) in both languages, not plotly's "Jan 2026"
        fig.update_xaxes(type="category", tickangle=-45)
        fig.update_layout(margin={"b": 120}, legend={"y": -0.42})
    return fig


def destination_names(r: PortfolioReport, lang: str) -> list[str]:
    """Column names of the roll matrix: the buckets, then closed and written off."""
    names = {CLOSED: label("closed", lang), WRITTEN_OFF: label("written_off", lang)}
    return [r.buckets[j] if j >= 0 else names[j] for j in r.matrix.columns]


def overdue_chart(r: PortfolioReport, lang: str) -> go.Figure:
    days = [p.as_of.isoformat() for p in r.overdue]
    fig = go.Figure()
    fig.add_scatter(
        x=days, y=[float(p.rate_count) for p in r.overdue], name=label("by_count", lang),
        mode="lines+markers",
    )  # fmt: skip
    fig.add_scatter(
        x=days, y=[float(p.rate_amount) for p in r.overdue], name=label("by_amount", lang),
        mode="lines+markers",
    )  # fmt: skip
    title = f"{label('overdue_rate', lang)} ({r.definition.label})"
    return _layout(fig, title, label("as_of", lang), label("overdue_rate", lang), category=True)


def distribution_chart(r: PortfolioReport, lang: str) -> go.Figure:
    totals: dict[date, float] = defaultdict(float)
    for p in r.distribution:
        totals[p.as_of] += float(p.principal)
    fig = go.Figure()
    for index, name in enumerate(r.buckets):
        points = [p for p in r.distribution if p.bucket_index == index]
        fig.add_bar(
            x=[p.as_of.isoformat() for p in points],
            y=[float(p.principal) / totals[p.as_of] for p in points],
            name=name,
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, label("distribution", lang), label("as_of", lang),
                   label("share_amount", lang), category=True)  # fmt: skip


def roll_matrix_chart(r: PortfolioReport, lang: str) -> go.Figure:
    m = r.matrix
    z = [[float(m.share_amount(i, j)) for j in m.columns] for i in range(m.n_buckets)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=destination_names(r, lang),
            y=r.buckets,
            text=[[f"{v:.1%}" for v in row] for row in z],
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, label("roll_matrix_amount", lang), label("to_bucket", lang),
                   label("from_bucket", lang), percent=False)  # fmt: skip


def flow_chart(r: PortfolioReport, lang: str) -> go.Figure:
    names = [f"{r.buckets[f.from_bucket]}→{r.buckets[f.from_bucket + 1]}" for f in r.flows]
    fig = go.Figure()
    fig.add_bar(x=names, y=[float(f.rate_count) for f in r.flows], name=label("by_count", lang))
    fig.add_bar(x=names, y=[float(f.rate_amount) for f in r.flows], name=label("by_amount", lang))
    title = f"{label('flow_rates', lang)} · {label('net_flow', lang)} {float(r.net_flow):.3%}"
    return _layout(fig, title, label("flow", lang), label("rate", lang))


def cure_chart(r: PortfolioReport, lang: str) -> go.Figure:
    rows = r.cures[1:]
    names = [r.buckets[c.bucket] for c in rows]
    fig = go.Figure()
    fig.add_bar(x=names, y=[float(c.rate_count) for c in rows], name=label("by_count", lang))
    fig.add_bar(x=names, y=[float(c.rate_amount) for c in rows], name=label("by_amount", lang))
    return _layout(fig, label("cure_rates", lang), label("bucket", lang), label("rate", lang))


def vintage_chart(r: PortfolioReport, lang: str, m3: bool = False) -> go.Figure:
    points = r.vintages_m3 if m3 else r.vintages
    by_vintage: dict[date, list] = defaultdict(list)
    for p in points:
        by_vintage[p.vintage].append(p)
    fig = go.Figure()
    # every third origination month keeps the chart readable; the table has them all
    for v in sorted(by_vintage)[::3]:
        curve = sorted(by_vintage[v], key=lambda p: p.mob)
        fig.add_scatter(
            x=[p.mob for p in curve], y=[float(p.rate_amount) for p in curve],
            name=v.strftime("%Y-%m"), mode="lines",
        )  # fmt: skip
    definition = "M3+" if m3 else r.definition.label
    title = f"{label('vintage', lang)} ({definition}, {label('by_amount', lang)})"
    return _layout(fig, title, label("mob", lang), label("overdue_rate", lang))


def fpd_chart(r: PortfolioReport, lang: str) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=[f.vintage.strftime("%Y-%m") for f in r.fpd], y=[float(f.rate) for f in r.fpd])
    return _layout(
        fig, label("fpd", lang), label("vintage_month", lang), label("rate", lang), category=True
    )


def collector_chart(r: PortfolioReport, lang: str) -> go.Figure | None:
    if not r.collections.has_data["collector"]:
        return None
    rows = [x for x in r.collections.rows["collector"] if x.opening_overdue]
    fig = go.Figure()
    names = [
        label("unassigned", lang)
        if x.key == UNASSIGNED
        else r.collections.label("collector", x.key)
        for x in rows
    ]
    fig.add_bar(x=names, y=[float(x.collection_rate) for x in rows])
    return _layout(fig, label("collection_rate", lang), label("collector", lang),
                   label("collection_rate", lang))  # fmt: skip


def report_charts(r: PortfolioReport, lang: str) -> dict[str, go.Figure]:
    """The report's figures by name, in the order they appear."""
    charts = {
        "overdue": overdue_chart(r, lang),
        "distribution": distribution_chart(r, lang),
    }
    if r.period.month_pairs:
        charts |= {
            "roll_matrix": roll_matrix_chart(r, lang),
            "flow": flow_chart(r, lang),
            "cure": cure_chart(r, lang),
        }
    if r.vintages:
        charts |= {
            "vintage": vintage_chart(r, lang),
            "vintage_m3": vintage_chart(r, lang, m3=True),
        }
    if r.fpd:
        charts["fpd"] = fpd_chart(r, lang)
    collectors = collector_chart(r, lang)
    if collectors is not None:
        charts["collectors"] = collectors
    return charts

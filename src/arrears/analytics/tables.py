"""The report's tables, once, as typed cells: each renderer (HTML, Excel, PDF) writes
money as money (two decimals, a number in Excel), rates as percentages, counts as
integers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from arrears.analytics.charts import destination_names
from arrears.analytics.collections import DIMENSIONS, CollectionRow
from arrears.analytics.history import month_end
from arrears.analytics.labels import label
from arrears.analytics.model import PortfolioReport
from arrears.analytics.rolls import flow_rates, net_flow_to_write_off
from arrears.analytics.store_facts import UNASSIGNED

Kind = Literal["text", "int", "money", "pct", "ratio"]  # ratio: a plain 4-place number


@dataclass(frozen=True)
class Cell:
    kind: Kind
    value: str | int | Decimal


def text(v: object) -> Cell:
    return Cell("text", str(v))


def integer(v: int | Decimal) -> Cell:
    return Cell("int", int(v))


def money(v: Decimal) -> Cell:
    return Cell("money", Decimal(v).quantize(Decimal("0.01")))


def pct(v: Decimal) -> Cell:
    return Cell("pct", Decimal(v))


@dataclass
class Table:
    name: str  # short id (Excel sheet names, HTML ids)
    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def report_sections(r: PortfolioReport, lang: str) -> list[Section]:
    """The report's sections in order, with their tables, chart names and notes."""
    L = lambda key, **kw: label(key, lang, **kw)  # noqa: E731
    out = [_overdue(r, L), _distribution(r, L), _rolls(r, L, lang), _vintage(r, L)]
    out.append(_collections(r, L))
    out.append(_kpi(r, L))
    return out


def _overdue(r: PortfolioReport, L) -> Section:
    t = Table(
        "overdue",
        f"{L('overdue_rate')} ({r.definition.label})",
        [
            L("as_of"),
            L("loans"),
            L("overdue_loans"),
            f"{L('overdue_rate')} {L('by_count')}",
            L("principal"),
            L("overdue_principal"),
            f"{L('overdue_rate')} {L('by_amount')}",
        ],
    )
    for p in r.overdue:
        t.rows.append(
            [
                text(p.as_of),
                integer(p.loans),
                integer(p.overdue_loans),
                pct(p.rate_count),
                money(p.principal),
                money(p.overdue_principal),
                pct(p.rate_amount),
            ]
        )
    return Section("overdue", t.title, [t], ["overdue"])


def _distribution(r: PortfolioReport, L) -> Section:
    days = sorted({p.as_of for p in r.distribution})
    found = {(p.as_of, p.bucket_index): p for p in r.distribution}
    t = Table("buckets", L("distribution"), [L("as_of"), *r.buckets, L("total")])
    for day in days:
        cells = [
            money(found[day, i].principal) if (day, i) in found else money(Decimal(0))
            for i in range(len(r.buckets))
        ]
        total = sum((Decimal(c.value) for c in cells), Decimal(0))
        t.rows.append([text(day), *cells, money(total)])
    return Section("distribution", L("distribution"), [t], ["distribution"])


def _rolls(r: PortfolioReport, L, lang: str) -> Section:
    s = Section("rolls", L("roll_matrix"))
    if not r.period.month_pairs:
        s.notes.append(L("no_month_pairs"))
        return s
    m = r.matrix
    dest = destination_names(r, lang)
    counts = Table("roll_count", L("roll_matrix_count"), [L("from_bucket"), *dest, L("loans")])
    shares = Table(
        "roll_amount", L("roll_matrix_amount"), [L("from_bucket"), *dest, L("principal")]
    )
    for i, name in enumerate(r.buckets):
        counts.rows.append(
            [text(name), *[pct(m.share_count(i, j)) for j in m.columns], integer(m.row_loans(i))]
        )
        shares.rows.append(
            [text(name), *[pct(m.share_amount(i, j)) for j in m.columns], money(m.row_amount(i))]
        )
    flows = Table("flows", L("flow_rates"), [L("flow"), L("by_count"), L("by_amount")])
    # the flow into the last bucket counts the loans charged off on the way (rolls.flow_rates)
    links = [f"{r.buckets[k]}→{r.buckets[k + 1]}" for k in range(len(r.buckets) - 1)]
    if links:
        links[-1] += f" / {L('written_off')}"
    for f in r.flows:
        flows.rows.append([text(links[f.from_bucket]), pct(f.rate_count), pct(f.rate_amount)])
    flows.rows.append([text(L("net_flow")), text(""), pct(r.net_flow)])
    monthly = Table(
        "flows_monthly",
        f"{L('flow_rates')} · {L('month')} ({L('by_amount')})",
        [L("month"), *links, L("net_flow")],
    )
    for month, mm in r.monthly.items():
        monthly.rows.append(
            [text(f"{month:%Y-%m} → {month_end(month + timedelta(days=1)):%Y-%m}"),
             *[pct(f.rate_amount) for f in flow_rates(mm)], pct(net_flow_to_write_off(mm))]
        )  # fmt: skip
    cures = Table(
        "cures",
        L("cure_rates"),
        [
            L("bucket"),
            L("delinquent"),
            L("cured"),
            L("by_count"),
            L("opening_overdue"),
            L("by_amount"),
        ],
    )
    for c in r.cures:
        name = L("all_delinquent") if c.bucket == 0 else r.buckets[c.bucket]
        cures.rows.append(
            [
                text(name),
                integer(c.delinquent_loans),
                integer(c.cured_loans),
                pct(c.rate_count),
                money(c.delinquent_amount),
                pct(c.rate_amount),
            ]
        )
    s.tables = [counts, shares, flows, monthly, cures]
    s.charts = ["roll_matrix", "flow", "cure"]
    return s


def _vintage(r: PortfolioReport, L) -> Section:
    s = Section("vintage", L("vintage"))
    if not r.vintages:
        s.notes.append(L("no_month_pairs"))
        return s
    mobs = sorted({p.mob for p in r.vintages})
    found = {(p.vintage, p.mob): p for p in r.vintages}
    vintages = sorted({p.vintage for p in r.vintages})
    t = Table(
        "vintage",
        f"{L('vintage')} ({r.definition.label}, {L('by_amount')})",
        [L("vintage_month"), L("loans"), *[str(k) for k in mobs]],
    )
    for v in vintages:
        row = [
            text(v.strftime("%Y-%m")),
            integer(found[v, min(k for (vv, k) in found if vv == v)].loans),
        ]
        row += [pct(found[v, k].rate_amount) if (v, k) in found else text("") for k in mobs]
        t.rows.append(row)
    fpd = Table("fpd", L("fpd"), [L("vintage_month"), L("eligible"), L("defaulted"), L("rate")])
    for f in r.fpd:
        fpd.rows.append(
            [
                text(f.vintage.strftime("%Y-%m")),
                integer(f.eligible_loans),
                integer(f.defaulted_loans),
                pct(f.rate),
            ]
        )
    s.tables = [t, fpd]
    s.charts = ["vintage", "vintage_m3", "fpd"]
    return s


WHAT = {
    "collector": "assignments_what",
    "team": "teams_what",
    "agency": "agencies_what",
    "arm": "arms_what",
}


def _collection_row(row: CollectionRow, L, shown: str) -> list[Cell]:
    key = L("unassigned") if row.key == UNASSIGNED else shown
    return [
        text(key),
        integer(row.loans),
        money(row.opening_overdue),
        money(row.collected),
        pct(row.collection_rate),
        pct(row.recovery_rate),
        integer(row.cures),
        integer(row.contacts),
        pct(row.rpc_rate),
        pct(row.promise_kept_rate),
        Cell("money", row.contacts_per_10k),
        money(row.cost),
        pct(row.cost_per_unit),
    ]


def _collections(r: PortfolioReport, L) -> Section:
    c = r.collections
    s = Section("collections", L("collections"))
    s.notes.append(f"{L('opening_day')} {c.opening_day} · {L('closing_day')} {c.closing_day}")
    headers = [
        L("loans"),
        L("opening_overdue"),
        L("collected"),
        L("collection_rate"),
        L("recovery_rate"),
        L("cures"),
        L("contacts"),
        L("rpc_rate"),
        L("promise_kept_rate"),
        L("contacts_per_10k"),
        L("cost"),
        L("cost_per_unit"),
    ]
    for d in DIMENSIONS:
        if not c.has_data[d]:
            s.notes.append(f"{L(d)}: {L('no_data_dimension', what=L(WHAT[d]))}")
    if c.first_arm_day is not None and c.first_arm_day > c.opening_day:
        s.notes.append(L("arms_after_opening", day=str(c.first_arm_day)))
    if not c.has_contacts:
        s.notes.append(L("no_data_dimension", what=L("contacts_what")))
    if not c.has_promises:
        s.notes.append(L("no_data_dimension", what=L("promises_what")))
    total = Table("collections", L("collections"), [L("total"), *headers])
    total.rows.append(_collection_row(c.total(), L, L("total")))
    s.tables.append(total)
    for d in DIMENSIONS:
        if c.has_data[d]:
            t = Table(f"by_{d}", f"{L('collections')} · {L(d)}", [L(d), *headers])
            t.rows = [_collection_row(row, L, c.label(d, row.key)) for row in c.rows[d]]
            s.tables.append(t)
    if c.has_data["collector"]:
        s.charts.append("collectors")
    return s


def _basis(basis: str, L) -> str:
    """Where a collector's target comes from, in words: ``team:X`` → "team X"."""
    kind, _, name = basis.partition(":")
    return L(f"basis_{kind}", name=name) if name else L(f"basis_{kind}")


def _kpi(r: PortfolioReport, L) -> Section:
    s = Section("kpi", L("kpi"))
    if not r.kpis:
        s.notes.append(L("no_data_dimension", what=L("assignments_what")))
        return s
    t = Table(
        "kpi",
        L("kpi"),
        [
            L("rank"),
            L("collector"),
            L("target_basis"),
            f"{L('collected')} {L('actual')}",
            f"{L('collected')} {L('target')}",
            f"{L('collected')} {L('achievement')}",
            f"{L('cures')} {L('actual')}",
            f"{L('cures')} {L('target')}",
            f"{L('contacts')} {L('actual')}",
            f"{L('contacts')} {L('target')}",
            f"{L('promises_kept')} {L('actual')}",
            f"{L('promises_kept')} {L('target')}",
            L("collection_rate"),
            L("score"),
            L("commission_rate"),
            L("incentive"),
        ],
    )
    for k in r.kpis:
        t.rows.append(
            [
                integer(k.rank),
                text(r.collections.label("collector", k.collector)),
                text(_basis(k.basis, L)),
                money(k.actual["collected"]),
                money(k.target["collected"]),
                pct(k.achievement["collected"]),
                integer(k.actual["cures"]),
                integer(k.target["cures"]),
                integer(k.actual["contacts"]),
                integer(k.target["contacts"]),
                integer(k.actual["promises_kept"]),
                integer(k.target["promises_kept"]),
                pct(k.collection_rate),
                Cell("ratio", k.score),
                pct(k.commission_rate),
                money(k.incentive),
            ]
        )
    s.tables.append(t)
    return s

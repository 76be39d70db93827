"""Everything a portfolio report shows, computed once from the snapshots (and the
store for attribution), then rendered as HTML, Excel or PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from arrears.analytics import collections, rolls, sources, vintage
from arrears.analytics.history import month_end
from arrears.analytics.kpi import CollectorKpi, KpiConfig, collector_kpis, load_kpi_config
from arrears.analytics.portfolio import (
    BucketPoint,
    OverdueDefinition,
    OverduePoint,
    bucket_distribution,
    overdue_series,
)
from arrears.analytics.store_facts import in_recovery_on, payments_by_loan, read_store_facts
from arrears.workspace import Workspace

KPI_FILE = "kpi.toml"


@dataclass
class PortfolioReport:
    date_from: date
    date_to: date
    currency: str
    buckets: list[str]
    definition: OverdueDefinition
    period: sources.Period
    overdue: list[OverduePoint]
    distribution: list[BucketPoint]
    matrix: rolls.RollMatrix
    monthly: dict[date, rolls.RollMatrix]
    flows: list[rolls.FlowRate]
    net_flow: Decimal
    cures: list[rolls.CureRate]
    vintages: list[vintage.VintagePoint]
    vintages_m3: list[vintage.VintagePoint]
    fpd: list[vintage.FirstPaymentDefault]
    collections: collections.CollectionReport
    kpis: list[CollectorKpi]
    kpi_config: KpiConfig


def compute_report(
    ws: Workspace,
    date_from: date,
    date_to: date,
    definition: OverdueDefinition | None = None,
    backend: Any | None = None,
) -> PortfolioReport:
    """Every measure of the report for ``[date_from, date_to]`` (raises
    ``sources.NoSnapshots`` when the workspace has no closed day in it)."""
    definition = definition or OverdueDefinition(1)
    period = sources.period_of(ws, date_from, date_to)
    config = load_kpi_config(ws.root / KPI_FILE)
    opening, closing = collections.opening_and_closing(ws.snapshot_dates(), date_from, date_to)
    # vintages follow loans from origination: every month end closed up to the period end
    history_ends = [d for d in ws.snapshot_dates() if d <= date_to and d == month_end(d)]
    con = sources.connect(backend)
    snap = sources.snapshots(con, ws, sorted({*period.points, opening, closing, *history_ends}))
    at_points = snap.filter(snap.as_of.isin(list(period.points)))
    facts = sources.loan_facts(con, ws.engine)
    buckets = list(ws.catalog.buckets.names)
    moves = rolls.transitions(snap, facts, period.month_pairs)
    matrix = rolls.roll_matrix(moves, len(buckets))
    store = read_store_facts(ws.engine, date_from, date_to)
    perf = collections.collection_performance(
        snap,
        store,
        payments_by_loan(ws.engine, opening, closing),
        opening,
        closing,
        len(buckets) - 1,
        collections.final_statuses(facts),
        config.costs,
        in_recovery_on(ws.engine, opening),
    )
    report = PortfolioReport(
        date_from=date_from,
        date_to=date_to,
        currency=ws.catalog.currency,
        buckets=buckets,
        definition=definition,
        period=period,
        overdue=overdue_series(at_points, definition),
        distribution=bucket_distribution(at_points),
        matrix=matrix,
        monthly=rolls.monthly_matrices(moves, len(buckets)),
        flows=rolls.flow_rates(matrix),
        net_flow=rolls.net_flow_to_write_off(matrix),
        cures=rolls.cure_rates(matrix),
        vintages=vintage.vintage_curves(snap, facts, history_ends, definition),
        vintages_m3=vintage.vintage_curves(snap, facts, history_ends, OverdueDefinition(3)),
        fpd=vintage.first_payment_default_rates(snap, facts, closing),
        collections=perf,
        kpis=collector_kpis(perf, config, buckets),
        kpi_config=config,
    )
    if backend is None:
        con.disconnect()
    return report

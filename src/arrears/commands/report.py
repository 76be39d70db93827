"""The portfolio report command: `arrears report --from D1 --to D2 --format html|xlsx|pdf`,
and `arrears kpi` (collector targets, ranking and incentives)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arrears.commands.common import (
    LangOpt,
    WorkspaceOpt,
    console,
    err,
    open_workspace,
    parse_date,
    print_whole,
    translator,
)

if TYPE_CHECKING:
    from arrears.workspace import Workspace

FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="First day YYYY-MM-DD (default: 12 months before --to)."),
]
ToOpt = Annotated[
    str | None, typer.Option("--to", help="Last day YYYY-MM-DD (default: the last closed day).")
]
DefinitionOpt = Annotated[
    str, typer.Option("--definition", help="Overdue definition: M1+ (default), M2+ … M7+.")
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="duckdb (embedded, default) or spark (PySpark; local[2] unless "
        "ARREARS_SPARK_MASTER says otherwise): the same Ibis queries, the same figures.",
    ),
]


def _period(ws: Workspace, date_from: str | None, date_to: str | None) -> tuple[date, date]:
    closed = ws.snapshot_dates()
    if date_to is None and not closed:
        err.print(f"{ws.root}: no closed day yet (run `arrears close` or `arrears demo`)")
        raise typer.Exit(1)
    last = parse_date(date_to, "--to") if date_to else closed[-1]
    if date_from:
        return parse_date(date_from, "--from"), last
    from arrears.analytics.report import default_period

    return default_period(last)


def _backend(engine: str) -> Any | None:
    """The Ibis backend the analytics run on: None for the default in-memory DuckDB."""
    from arrears.batch.close import ENGINES, connect

    if engine not in ENGINES:
        raise typer.BadParameter(f"choose one of {', '.join(ENGINES)}", param_hint="--engine")
    if engine == "duckdb":
        return None
    try:
        return connect(engine)
    except ValueError as e:  # PySpark not installed
        err.print(str(e), markup=False)
        raise typer.Exit(1) from None


def _lang(lang: str | None) -> str:
    """The report language for ``--lang``: en or zh; anything else is a usage error."""
    return translator(lang).lang


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command("report")
    def report(
        date_from: FromOpt = None,
        date_to: ToOpt = None,
        fmt: Annotated[
            str, typer.Option("--format", help="html (self-contained), xlsx or pdf.")
        ] = "html",
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Output file (default: <workspace>/reports/…)."),
        ] = None,
        definition: DefinitionOpt = "M1+",
        engine: EngineOpt = "duckdb",
        workspace: WorkspaceOpt = None,
        lang: LangOpt = None,
    ) -> None:
        """Portfolio report from the snapshots: overdue rates, buckets, roll rates, flow
        and cure rates, vintages, FPD, collection performance and collector KPIs."""
        from arrears.analytics.portfolio import OverdueDefinition
        from arrears.analytics.report import FORMATS, build_report
        from arrears.analytics.sources import NoSnapshots
        from arrears.analytics.static import StaticExportUnavailable

        if fmt not in FORMATS:
            raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
        try:
            rule = OverdueDefinition.parse(definition)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--definition") from None
        lg = _lang(lang)
        ws = open_workspace(workspace)
        first, last = _period(ws, date_from, date_to)
        backend = _backend(engine)
        try:
            path = build_report(ws, first, last, fmt, lg, out, rule, backend)
        except (NoSnapshots, StaticExportUnavailable, ValueError) as e:
            err.print(str(e), markup=False)
            raise typer.Exit(1) from None
        console.print(f"{path}", markup=False)

    @app.command("kpi")
    def kpi(
        date_from: FromOpt = None,
        date_to: ToOpt = None,
        engine: EngineOpt = "duckdb",
        workspace: WorkspaceOpt = None,
        lang: LangOpt = None,
    ) -> None:
        """Collector KPIs: targets (kpi.toml) vs actual, ranking, incentive."""
        from rich.table import Table

        from arrears.analytics.kpi import KpiConfigError
        from arrears.analytics.labels import label
        from arrears.analytics.model import compute_report
        from arrears.analytics.sources import NoSnapshots

        lg = _lang(lang)
        ws = open_workspace(workspace)
        first, last = _period(ws, date_from, date_to)
        backend = _backend(engine)
        try:
            r = compute_report(ws, first, last, backend=backend)
        except (NoSnapshots, KpiConfigError, ValueError) as e:
            err.print(str(e), markup=False)
            raise typer.Exit(1) from None
        if not r.kpis:
            console.print(
                label("no_data_dimension", lg, what=label("assignments_what", lg)), markup=False
            )
            return
        rows = [
            (
                str(k.rank),
                r.collections.label("collector", k.collector),
                f"{k.actual['collected']:,.2f}",
                f"{k.target['collected']:,.2f}",
                f"{k.achievement['collected'] * 100:.1f}%",
                f"{k.actual['cures']:,}",
                f"{k.actual['contacts']:,}",
                f"{k.actual['promises_kept']:,}",
                f"{k.score:.4f}",
                f"{k.commission_rate * 100:.2f}%",
                f"{k.incentive:,.2f}",
            )
            for k in r.kpis
        ]
        out = Table(title=f"{label('kpi', lg)} {first} – {last}")
        keys = ("rank", "collector", "collected", "target", "achievement", "cures", "contacts",
                "promises_kept", "score", "commission_rate", "incentive")  # fmt: skip
        for key in keys:
            out.add_column(
                label(key, lg), justify="left" if key == "collector" else "right", no_wrap=True
            )
        for row in rows:
            out.add_row(*row)
        print_whole(out)

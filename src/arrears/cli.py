"""The ``arrears`` command: parse, call a service, print. Nothing else lives here."""

from __future__ import annotations

import getpass
import shutil
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from arrears.commands import (
    channels,
    compliance,
    loan,
    models,
    optimize,
    report,
    simulate,
    strategy,
    web,
)
from arrears.commands.common import (
    AsOfOpt,
    LangOpt,
    WorkspaceOpt,
    console,
    err,
    score_psi_text,
)
from arrears.commands.common import open_workspace as _workspace
from arrears.commands.common import parse_date as _date
from arrears.commands.common import progress_bar as _progress
from arrears.commands.common import translator as _t
from arrears.files import write_atomically
from arrears.i18n import Translator
from arrears.services.steps import Step, add_step, timed

if TYPE_CHECKING:
    from arrears.domain.products import Catalog
    from arrears.services.book_models import ScoredDay
    from arrears.services.daily import AfterClose
    from arrears.services.end_of_day import EndOfDay
    from arrears.services.treatments import TreatmentReport
    from arrears.snapshots import SnapshotVersion
    from arrears.workspace import Workspace

app = typer.Typer(
    help="arrears: loan collections (催收) — exact arrears book, daily close, strategies, "
    "compliance, channels, workbench, analytics and risk models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEMO_MARKER = ".arrears-demo"


@app.command()
def init(workspace: WorkspaceOpt = None) -> None:
    """Create a workspace: product file, snapshot folder and the store's schema."""
    ws = _workspace(workspace)
    ws.init()
    console.print(f"workspace {ws.root}\nstore     {ws.display_url}\nproducts  {ws.products_path}")


@app.command("import")
def import_(
    files: Annotated[
        list[Path], typer.Argument(help="CSV, XLSX or Parquet files (customers, loans, payments).")
    ],
    kind: Annotated[
        str | None, typer.Option(help="customers | loans | payments (default: from the header).")
    ] = None,
    quarantine: Annotated[
        bool, typer.Option(help="Write the good rows and put bad ones in <file>.rejects.csv.")
    ] = False,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV files, e.g. gbk.")] = "utf-8",
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """Import loan-book files. A file with any bad row writes nothing (unless --quarantine);
    every bad row is reported with file, row, field and reason. Re-importing is a no-op."""
    t = _t(lang)
    ws = _workspace(workspace)
    ws.init()
    failed = False
    for path in files:
        failed |= not _import_one(ws, path, kind, quarantine, encoding, t)
    if failed:
        raise typer.Exit(1)


def _import_one(
    ws: Workspace, path: Path, kind: str | None, quarantine: bool, encoding: str, t: Translator
) -> bool:
    from arrears.ingest.errors import ImportRejected
    from arrears.ingest.importer import import_file

    with _progress() as progress:
        task = progress.add_task(t("step_import", name=path.name), total=None)
        try:
            report = import_file(
                ws.engine,
                path,
                kind=kind,
                catalog=ws.catalog,
                quarantine=quarantine,
                encoding=encoding,
                progress=lambda n: progress.update(task, completed=n),
            )
        except ImportRejected as exc:
            progress.stop()
            err.print(f"[red]{t('rejected', file=path)}[/red]")
            err.print(str(exc))
            return False
    if report.already_imported:
        console.print(t("already_imported", file=path.name, detail=report.message))
        return True
    console.print(
        t(
            "imported",
            file=path.name,
            imported=report.rows_imported,
            skipped=report.rows_skipped,
            rejected=report.rows_rejected,
        )
    )
    if report.rejects_path:
        console.print(t("rejects_file", path=report.rejects_path))
    return True


EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="reference: the domain core, posting to the store's ledger; duckdb or spark: "
        "the Ibis batch engine over the workspace's batch book (handed over from the store).",
    ),
]


@app.command()
def close(
    as_of: AsOfOpt = None,
    days: Annotated[
        int, typer.Option(help="Write snapshots for this many days ending at --as-of.")
    ] = 1,
    engine: EngineOpt = "reference",
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the steps and the query plan; close nothing.")
    ] = False,
    treat: Annotated[
        bool,
        typer.Option(
            help="After the close: settle promises and decide the strategy's contacts "
            "of each closed day (through the compliance gate, into the outbox)."
        ),
    ] = True,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """Run the daily close through --as-of (catching up any missed days)."""
    t = _t(lang)
    day = _date(as_of, workspace=workspace)
    ws = _workspace(workspace)
    ws.init()
    if engine == "reference" and not explain:
        _run_close(ws, day, days, t, after=True, treat=treat)
    elif engine in ("duckdb", "spark"):
        closed = _run_batch_close(ws, day, engine, explain)
        if closed:
            _after_close(ws, closed, treat, t)
    else:
        raise typer.BadParameter(f"--engine must be reference, duckdb or spark, not {engine!r}")


def _after_close(
    ws: Workspace, days: list[date], treat: bool, t: Translator, accepted_by: str | None = None
) -> None:
    """Promises settled and treatments decided for the closed ``days``."""
    from arrears.services.daily import after_close
    from arrears.services.settings import SettingsError
    from arrears.services.treatments import TreatmentError
    from arrears.strategy import StrategyError

    try:
        result = after_close(ws, days, treat=treat, accepted_by=accepted_by)
    except (TreatmentError, StrategyError, SettingsError) as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from None
    _print_after_close(result, t)


def _print_after_close(result: AfterClose, t: Translator) -> None:
    p = result.promises
    if any(p.values()):
        console.print(
            t("promises_settled", kept=p["kept"], broken=p["broken"], pending=p["pending"])
        )
    if result.scored:
        _print_scored(result.scored, t)
    for held in result.held:
        err.print(
            t("treatments_held", as_of=held.as_of, model=held.model, psi=f"{held.psi:.3f}"),
            markup=False,
            soft_wrap=True,
        )
    if result.treatments is not None:
        _print_treatments(result.treatments, t)


def _print_scored(scored: list[ScoredDay], t: Translator) -> None:
    """One line for the days scored (the latest's loans and score PSI), and a warning
    for each day whose scores have shifted from the model's training rows."""
    last = scored[-1]
    line = t(
        "scored",
        days=len(scored),
        as_of=last.as_of,
        model=last.model,
        version=last.version,
        loans=f"{last.loans:,}",
    )
    if last.psi is not None:
        line += t("clause_break") + score_psi_text(t, last.psi)
    console.print(line, markup=False, soft_wrap=True)
    for day in scored:
        if day.shifted:
            warning = t("score_shifted", as_of=day.as_of, psi=f"{day.psi:.3f}")
            err.print(warning, markup=False, soft_wrap=True)


def _print_treatments(report: TreatmentReport, t: Translator) -> None:
    console.print(
        t(
            "treated",
            strategy=report.strategy,
            version=report.version,
            cases=report.cases_assigned,
            proposed=report.proposed,
            allowed=sum(report.allowed.values()),
            blocked=report.proposed - sum(report.allowed.values()) - sum(report.referrals.values()),
        )
    )
    if report.blocked:
        table = Table(title=t("blocked_title"), title_justify="left")
        table.add_column(t("rule"))
        table.add_column(t("attempts"), justify="right")
        for rule, n in report.blocked.most_common():
            table.add_row(rule, f"{n:,}")
        console.print(table)


@app.command()
def treat(
    as_of: AsOfOpt = None,
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
    accept_shifted_scores: Annotated[
        bool,
        typer.Option(
            "--accept-shifted-scores",
            help="Treat the day even though its scores have shifted from the model's "
            'training rows and the settings hold such days ([models] shifted_scores = "hold").',
        ),
    ] = False,
) -> None:
    """Decide the strategy's contacts after the close of --as-of: each through the
    compliance gate, allowed ones queued in the outbox (a closed day is treated once)."""
    t = _t(lang)
    day = _date(as_of, workspace=workspace)
    ws = _workspace(workspace)
    ws.init()
    if not ws.snapshot_path(day).exists():
        err.print(t("no_snapshot", as_of=day))
        raise typer.Exit(1)
    # who accepted the shifted scores, as the audit chain records it
    accepted_by = f"cli:{_operator()}" if accept_shifted_scores else None
    _after_close(ws, [day], True, t, accepted_by)


def _operator() -> str:
    """The login name of whoever runs the command (``unknown`` when it has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER / $LOGNAME
        return "unknown"


def _run_batch_close(ws: Workspace, as_of: date, engine: str, explain: bool) -> list[date]:
    from arrears.batch.close import Closer, DayResult, WaiverRefused
    from arrears.batch.engine import STEPS
    from arrears.batch.handover import HandoverError, from_store

    started = time.perf_counter()
    try:
        book, start, pending = from_store(ws)
    except HandoverError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from None
    console.print(
        f"[dim]batch book {book.root}: state from {start}, {pending:,} payments to close, "
        f"handover {time.perf_counter() - started:.1f}s[/dim]"
    )
    try:
        closer = Closer(book, ws.catalog, engine, snapshots=ws.snapshots_dir)
    except ValueError as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from None
    last = book.state_dates()[-1]
    if explain:
        day = last + timedelta(days=1)
        console.print(f"[bold]Daily close of {day} on {engine}, step by step:[/bold]")
        for n, (name, fn) in enumerate(STEPS, start=1):
            doc = (fn.__doc__ or "").strip().splitlines()[0]
            console.print(f"  {n}. [bold]{name}[/bold]: {doc}")
        console.print(closer.explain(day), markup=False, highlight=False)
        return []
    if as_of <= last:
        console.print(f"Already closed through {last} on the batch engine: nothing to do")
        return []
    with _progress() as progress:
        task = progress.add_task(f"close on {engine}", total=(as_of - last).days)

        def tick(result: DayResult) -> None:
            progress.update(task, advance=1, description=f"closed {result.as_of}")

        try:
            run = closer.close_through(as_of, progress=tick)
        except WaiverRefused as exc:  # the days before it stay closed; rerun after fixing
            err.print(str(exc), style="red", markup=False)
            raise typer.Exit(1) from None
    table = Table(title=f"Daily close on {engine}")
    for col in ("as of", "loans", "active", "DPD>0", "new DPD>0", "cured", "roll fwd", "FPD",
                "paid today", "seconds"):  # fmt: skip
        table.add_column(col, justify="right")
    for d in run.days:
        s = d.summary
        table.add_row(
            d.as_of.isoformat(), f"{d.accounts:,}", f"{s['active']:,}", f"{s['delinquent']:,}",
            f"{s['newly_delinquent']:,}", f"{s['cured']:,}", f"{s['roll_forward']:,}",
            f"{s['fpd']:,}", f"{Decimal(s['paid_today']) / 100:,.2f}", f"{d.seconds:.1f}",
        )  # fmt: skip
    console.print(table)
    return [d.as_of for d in run.days]


@app.command()
def snapshot(
    as_of: AsOfOpt = None,
    loan: Annotated[str | None, typer.Option("--loan", help="One loan's state.")] = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="The states of a customer's loans.")
    ] = None,
    as_known: Annotated[
        str | None,
        typer.Option(
            "--as-known",
            help="The day as it was reported on this date YYYY-MM-DD, before any later "
            "correction (default: as corrected since).",
        ),
    ] = None,
    versions: Annotated[
        bool, typer.Option("--versions", help="List the day's versions and when each was known.")
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="table (default) or json (one object per loan).")
    ] = "table",
    workspace: WorkspaceOpt = None,
    lang: LangOpt = None,
) -> None:
    """Show loans as they were closed on a past date (the as-of history), as corrected
    since or, with --as-known, as reported then."""
    import pyarrow.compute as pc

    from arrears.snapshots import read_snapshot, snapshot_versions

    if output_format not in ("table", "json"):
        raise typer.BadParameter(
            f"{output_format!r} is not one of table, json", param_hint="'--format'"
        )
    t = _t(lang)
    ws = _workspace(workspace)
    day = _date(as_of, workspace=workspace)
    known = _date(as_known, "--as-known") if as_known is not None else None
    path = ws.snapshot_path(day)
    if not path.exists():
        dates = ws.snapshot_dates()
        span = f" (snapshots exist from {dates[0]} to {dates[-1]})" if dates else ""
        err.print(t("no_snapshot", as_of=day) + span)
        raise typer.Exit(1)
    if versions:
        _print_versions(day, snapshot_versions(ws.snapshots_dir, day))
        return
    try:
        table = read_snapshot(ws.snapshots_dir, day, as_known=known)
    except FileNotFoundError as exc:  # the day was not yet reported on --as-known
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    if loan is not None:
        table = table.filter(pc.field("loan_id") == loan)
    elif customer is not None:
        table = table.filter(pc.field("customer_id") == customer)
    if table.num_rows == 0:
        what = f"loan {loan}" if loan else f"customer {customer}"
        err.print(f"{what} is not in the snapshot of {day}")
        raise typer.Exit(1)
    rows = table.to_pylist()
    if output_format == "json":
        console.print_json(data=[_json_row(row) for row in rows])
        return
    closed = f"as closed on {day}" + (f", as known on {known}" if known else "")
    if len(rows) == 1 or loan is not None:
        out = Table(title=f"{rows[0]['loan_id']} {closed}")
        out.add_column("field")
        out.add_column("value", justify="right")
        for key, value in rows[0].items():
            out.add_row(key, str(value))
    else:
        shown = [
            *("loan_id", "product_code", "status", "dpd", "bucket", "loan_class"),
            *("principal_outstanding", "overdue_amount", "penalty", "fee", "paid_today"),
        ]
        out = Table(title=f"{len(rows):,} loans {closed}")
        for col in shown:
            out.add_column(col, justify="left" if col in ("loan_id", "status") else "right")
        for row in rows[:200]:
            out.add_row(*[str(row.get(col, "")) for col in shown])
    console.print(out)


def _json_row(row: dict[str, object]) -> dict[str, object]:
    """A snapshot row for JSON: amounts as decimal strings, dates as YYYY-MM-DD."""
    return {k: str(v) if isinstance(v, Decimal | date) else v for k, v in row.items()}


def _print_versions(day: date, found: list[SnapshotVersion]) -> None:
    """The versions of ``day``'s snapshot: number, the day from which it was known, rows."""
    import pyarrow.parquet as pq

    out = Table(title=f"versions of the snapshot of {day}")
    for col in ("version", "known on", "loans"):
        out.add_column(col, justify="right")
    for v in found:
        out.add_row(str(v.version), str(v.known_on), f"{pq.read_metadata(v.path).num_rows:,}")
    console.print(out)


def _run_close(
    ws: Workspace,
    as_of: date,
    days: int,
    t: Translator,
    extra_days: list[date] | None = None,
    *,
    after: bool = False,
    treat: bool = True,
) -> EndOfDay:
    """The end of day through ``as_of`` (``arrears.services.end_of_day``), its steps'
    times and rows printed; with ``after``, promises, scores and treatments too."""
    from arrears.services.end_of_day import run_end_of_day
    from arrears.services.settings import SettingsError
    from arrears.services.treatments import TreatmentError
    from arrears.strategy import StrategyError

    with _progress() as progress:
        task = progress.add_task(t("step_close"), total=None)

        def tick(step: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            result = run_end_of_day(
                ws, as_of, days, treat=treat, after=after, extra_days=extra_days or (),
                progress=tick,
            )  # fmt: skip
        except (TreatmentError, StrategyError, SettingsError) as exc:
            progress.stop()
            err.print(str(exc), style="red", markup=False)
            raise typer.Exit(1) from None
    report = result.close
    if result.nothing_to_do:
        console.print(t("already_closed", as_of=as_of))
        return result
    _print_steps(result.steps, t)
    if report.recovered:
        console.print(f"finished the publication of {', '.join(map(str, report.recovered))}")
    if not report.already_closed:
        console.print(
            t(
                "closed",
                as_of=as_of,
                loans=report.loans,
                entries=report.entries_posted,
                payments=report.payments_posted,
                opened=report.cases_opened,
                updated=report.cases_updated,
                closed=report.cases_closed,
                cured=report.cases_closed_by["cured"],
                repaid=report.cases_closed_by["repaid"],
                written_off=report.cases_closed_by["written_off"],
                recovered=report.cases_closed_by["recovered"],
            ),
            soft_wrap=True,
        )
        if report.charged_off:
            console.print(t("charged_off", loans=report.charged_off), soft_wrap=True)
    if report.loans_reclosed:
        days = ", ".join(map(str, report.corrected)) or "none recorded"
        console.print(
            f"re-closed {report.loans_reclosed:,} loans from back-dated payments or reversals; "
            f"new snapshot versions of {days} (arrears snapshot --as-known shows the old)",
            soft_wrap=True,
        )
    for loan_id, why in report.not_reclosed.items():
        err.print(
            f"{loan_id}: not re-closed (a back-dated payment is posted on the first open "
            f"day; the days before keep their snapshots): {why}",
            markup=False,
        )
    if result.after is not None:
        _print_after_close(result.after, t)
    return result


@app.command()
def ageing(as_of: AsOfOpt = None, workspace: WorkspaceOpt = None, lang: LangOpt = None) -> None:
    """Print the ageing table (count and amount per bucket, overdue rates, five-tier)."""
    t = _t(lang)
    ws = _workspace(workspace)
    day = _date(as_of) if as_of else (ws.snapshot_dates() or [_date(None, workspace=workspace)])[-1]
    if not ws.snapshot_path(day).exists():
        err.print(t("no_snapshot", as_of=day))
        raise typer.Exit(1)
    _print_ageing(ws, day, t)


def _print_ageing(ws: Workspace, day: date, t: Translator) -> None:
    from arrears.analytics.ageing import ageing_table
    from arrears.analytics.store_facts import in_recovery_on

    buckets = ws.catalog.buckets
    table = ageing_table(ws.snapshots_dir, day, buckets)
    out = Table(title=t("ageing_title", as_of=day), title_justify="left")
    for key in (
        "bucket",
        "dpd_range",
        "loans",
        "share_count",
        "principal",
        "share_amount",
        "arrears",
    ):
        justify = "left" if key in ("bucket", "dpd_range") else "right"
        out.add_column(t(key), justify=justify, no_wrap=True)
    for row in table.rows:
        label = buckets.label(row.bucket_index)
        dpd = label[label.index("(") + 1 : -1] if "(" in label else ""
        if row.bucket_index == 0:
            dpd = t("current")
        out.add_row(
            row.bucket,
            dpd,
            f"{row.loans:,}",
            _pct(row.loans, table.loans),
            f"{row.principal:,.2f}",
            _pct(row.principal, table.principal),
            f"{row.arrears:,.2f}",
        )
    out.add_section()
    arrears_total = sum((r.arrears for r in table.rows), start=type(table.principal)(0))
    out.add_row(
        t("total"),
        "",
        f"{table.loans:,}",
        "100.0%",
        f"{table.principal:,.2f}",
        "100.0%",
        f"{arrears_total:,.2f}",
    )
    console.print(out)
    console.print(
        f"{t('overdue_rate')}: {table.overdue_rate_count * 100:.2f}% {t('by_count')} "
        f"({table.overdue_loans:,} / {table.loans:,}), "
        f"{table.overdue_rate_amount * 100:.2f}% {t('by_amount')} "
        f"({table.overdue_principal:,.2f} / {table.principal:,.2f})"
    )
    classes = Table(title=t("class_title"), title_justify="left")
    for key in ("class", "loans", "share_count", "principal", "share_amount"):
        classes.add_column(t(key), justify="left" if key == "class" else "right")
    for c in table.classes:
        classes.add_row(
            f"{t.loan_class(c.loan_class.value)}",
            f"{c.loans:,}",
            _pct(c.loans, table.loans),
            f"{c.principal:,.2f}",
            _pct(c.principal, table.principal),
        )
    console.print(classes)
    # loans charged off by their product's rule left the book (and the table above) but
    # are still worked: say how many, and what they owe, on the day
    recovering = in_recovery_on(ws.engine, day)
    if recovering:
        owed = sum(recovering.values(), start=Decimal(0))
        console.print(t("in_recovery", loans=len(recovering), owed=owed))


def _pct(part: Decimal | int, whole: Decimal | int) -> str:
    return f"{(part / whole * 100):.1f}%" if whole else "-"


@app.command()
def status(workspace: WorkspaceOpt = None, lang: LangOpt = None) -> None:
    """Show the workspace: store, book size, last close, open cases, and whether the cases
    are in step with the book (exit code 1 when they are not)."""
    from arrears.services.case_check import check_cases
    from arrears.store.status import book_status

    t = _t(lang)
    ws = _workspace(workspace)
    ws.init()
    info = book_status(ws.engine)
    out = Table(title=t("status_title"), show_header=False, title_justify="left")
    out.add_column()
    out.add_column()
    out.add_row("workspace", str(ws.root))
    out.add_row("store", ws.display_url)
    for key, value in info.items():
        out.add_row(key, str(value))
    snaps = ws.snapshot_dates()
    out.add_row("snapshots", f"{len(snaps)} ({snaps[0]} … {snaps[-1]})" if snaps else "0")
    check = check_cases(ws)
    if check.in_recovery or check.recovered:
        # charged off by the products' rules: off the book, still worked (domain/cases.py)
        out.add_row(
            "in recovery",
            f"{check.in_recovery:,} loans charged off, {check.shadow_owed:,.2f} owed off the "
            f"book; {check.recovered:,.2f} recovered since charge-off",
        )
    out.add_row(
        "cases in step",
        "yes"
        if check.ok
        else f"no: {len(check.open_on_ended):,} open on loans repaid, written off by hand or "
        f"recovered in full, {len(check.past_due_without_case):,} loans past due on "
        f"{check.as_of} or in recovery without a case",
    )
    console.print(out)
    if not check.ok:
        for what, loans in (
            ("open case on a loan repaid, written off by hand or recovered", check.open_on_ended),
            (
                f"past due on {check.as_of} or in recovery without a case",
                check.past_due_without_case,
            ),
        ):
            if loans:
                shown = ", ".join(loans[:10]) + (" …" if len(loans) > 10 else "")
                err.print(f"{what}: {shown}", markup=False)
        raise typer.Exit(1)


@app.command()
def products(workspace: WorkspaceOpt = None, lang: LangOpt = None) -> None:
    """List the products of the workspace's catalog and their rules."""
    ws = _workspace(workspace)
    cat = ws.catalog
    zh = _t(lang).lang == "zh"
    out = Table(title=str(ws.products_path if ws.products_path.exists() else "default products"))
    for col in (
        "code",
        "name",
        "method",
        "rate",
        "day count",
        "grace",
        "penalty",
        "compound",
        "late fee",
        "cap",
    ):
        out.add_column(col)
    for p in cat.products.values():
        c = p.charges
        fee = " + ".join(
            x
            for x in (
                f"{c.late_fee_fixed}" if c.late_fee_fixed else "",
                f"{c.late_fee_rate:%}" if c.late_fee_rate else "",
            )
            if x
        )
        out.add_row(
            p.code,
            p.name_zh if zh and p.name_zh else p.name,
            p.method.value,
            f"{p.annual_rate:.2%}",
            p.day_count.value,
            str(p.grace_days),
            f"{c.penalty_rate:.2%}",
            f"{c.compound_rate:.2%}",
            fee or "-",
            f"{c.cost_cap:.0%}" if c.cost_cap is not None else "-",
        )
    console.print(out)
    console.print(
        f"buckets: {', '.join(cat.buckets.label(i) for i in range(len(cat.buckets.names)))}"
    )
    console.print(f"charge-off (核销 by rule): {_charge_off_rules(cat)}")


def _charge_off_rules(cat: Catalog) -> str:
    """Each product's charge-off rule in words: "CONSUMER at 180 DPD, SME on reaching
    loss (361 DPD), CARD never"."""
    said = []
    for p in cat.products.values():
        rule, threshold = p.charge_off, p.charge_off.threshold(p.classification)
        if threshold is None:
            said.append(f"{p.code} never")
        elif rule.at_class is not None and threshold != rule.at_dpd:
            said.append(f"{p.code} on reaching {rule.at_class.value} ({threshold} DPD)")
        else:
            said.append(f"{p.code} at {threshold} DPD")
    return ", ".join(said) or "-"


@app.command()
def generate(
    loans: Annotated[int, typer.Option(help="Number of loans.")] = 50_000,
    out: Annotated[Path, typer.Option(help="Output folder for the Parquet files.")] = Path(
        "portfolio"
    ),
    as_of: AsOfOpt = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same files.")
    ] = 42,
) -> None:
    """Write a synthetic, reproducible loan book (customers, loans, payments) as Parquet."""
    from arrears.ingest.generator import generate_portfolio

    with _progress() as progress:
        task = progress.add_task("generate", total=loans)
        result = generate_portfolio(
            out,
            loans,
            _date(as_of),
            seed=seed,
            progress=lambda n: progress.update(task, completed=n),
        )
    console.print(result)


@app.command()
def demo(
    loans: Annotated[int, typer.Option(help="Number of loans in the demo book.")] = 50_000,
    days: Annotated[
        int, typer.Option(help="Days of daily close to keep snapshots for (the last N days).")
    ] = 7,
    as_of: AsOfOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic book.")] = 42,
    workspace: Annotated[
        Path, typer.Option("--workspace", "-w", help="Demo workspace folder.")
    ] = Path("arrears-demo"),
    pack: Annotated[
        str,
        typer.Option(
            "--pack", help="Compliance pack of the workspace: cn, cn-2026, us-regf or us-ma."
        ),
    ] = "cn",
    lang: LangOpt = None,
) -> None:
    """Build a demo workspace on SQLite: generate ~50k loans, import them, run the daily
    close with month-end history and --days daily snapshots (7 by default), run the
    strategy through the compliance gate for those days with each next day's sends
    played out into the workspace's spools, print the ageing table and write the HTML
    portfolio report."""
    from arrears.analytics.history import book_month_ends
    from arrears.analytics.report import build_report, default_period
    from arrears.ingest.generator import generate_portfolio

    t = _t(lang)
    started = time.perf_counter()
    day = _date(as_of, workspace=workspace)
    root = workspace.expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / DEMO_MARKER).exists():
            err.print(f"{root} exists and is not a demo workspace; choose another --workspace")
            raise typer.Exit(2)
        shutil.rmtree(root)
    root.mkdir(parents=True)
    write_atomically(root / DEMO_MARKER, "created by `arrears demo`; safe to delete\n")
    url = f"sqlite:///{root / 'arrears.sqlite'}"
    ws = _workspace(root, url)
    ws.init()
    _set_pack(root, pack)
    data = root / "data"
    with _progress() as progress:
        task = progress.add_task(t("step_generate"), total=loans)
        generate_portfolio(
            data,
            loans,
            day,
            seed=seed,
            catalog=ws.catalog,
            progress=lambda n: progress.update(task, completed=n),
        )
    for name in ("customers", "loans", "payments"):
        if not _import_one(ws, data / f"{name}.parquet", name, False, "utf-8", t):
            raise typer.Exit(1)
    from arrears.services.demo_floor import record_demo_consents

    record_demo_consents(ws, pack)  # TCPA: the demo's loan agreements give consent
    closed = _run_close(ws, day, days, t, extra_days=book_month_ends(ws.engine, day))
    window = [d for d in closed.close.days if d > day - timedelta(days=days)]
    first, last = default_period(day)
    _demo_treatments(ws, window, t, first, seed)
    console.print()
    _print_ageing(ws, day, t)
    path = build_report(ws, first, last, fmt="html", lang=t.lang)
    console.print(t("report_written", path=path))
    console.print(t("demo_done", seconds=time.perf_counter() - started, root=root))


def _print_steps(steps: list[Step], t: Translator) -> None:
    """One dim line: each step's seconds and rows."""
    line = " · ".join(
        f"{t('eod.' + s.name)} {s.seconds:.1f}s" + (f" ({s.rows:,})" if s.rows else "")
        for s in steps
    )
    console.print(f"[dim]{line}[/dim]")


def _set_pack(root: Path, pack: str) -> None:
    """Write ``[compliance] pack`` into the workspace's settings (checked there)."""
    from arrears.compliance import available_packs
    from arrears.services.settings import SETTINGS_FILE

    if pack not in available_packs():
        raise typer.BadParameter(f"--pack must be one of {', '.join(available_packs())}")
    path = root / SETTINGS_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    write_atomically(path, f'{text.rstrip()}\n\n[compliance]\npack = "{pack}"\n'.lstrip())


def _demo_treatments(
    ws: Workspace, days: list[date], t: Translator, report_from: date, seed: int
) -> None:
    """The collections floor staffed and the cases allocated at each month end of the
    report's year; then, for each closed day, the collectors' calls, the day's close
    work (promises settled, treatments), the allocation as of the day, and its next
    day's sends played out on a simulated clock into the workspace's spools (the demo
    has no servers)."""
    from arrears.channels.service import blocked_by_rule, outbox_counts
    from arrears.services import demo_floor
    from arrears.services.daily import after_close, end_of_day, play_out
    from arrears.services.workbench.allocation import allocate_workspace_day

    total: TreatmentReport | None = None
    # the month ends of the report's year (its opening day first) before the window
    cutoffs = [d for d in ws.snapshot_dates() if report_from - timedelta(days=1) <= d < days[0]]
    with _progress() as progress:
        task = progress.add_task(t("step_allocate"), total=len(cutoffs))
        admin_password = demo_floor.staff(ws)
        for cutoff in cutoffs:
            allocate_workspace_day(ws, cutoff, by="demo")
            progress.advance(task)
    targets = demo_floor.write_kpi_targets(ws, min(cutoffs, default=days[0]), len(days))
    floor: list[demo_floor.FloorDay] = []
    steps: list[Step] = []  # the days' seconds and rows, by step
    with _progress() as progress:
        task = progress.add_task(t("step_treat"), total=len(days))
        for day in days:
            skip = frozenset(floor[-1].called) if floor else frozenset()
            started = time.perf_counter()
            floor.append(demo_floor.work_day(ws, day, seed, skip))
            timed(steps, "floor", floor[-1].calls, started)
            result = after_close(ws, [day])
            for step in result.steps:
                add_step(steps, step.name, step.rows, step.seconds)
            started = time.perf_counter()
            moved = allocate_workspace_day(ws, day, by="demo").moved
            timed(steps, "allocate", moved, started)
            started = time.perf_counter()
            sent = play_out(ws, end_of_day(day + timedelta(days=1)))
            timed(steps, "send", sum(sent.outcomes.values()), started)
            if result.treatments is not None:
                if total is None:
                    total = result.treatments
                else:
                    total.add(result.treatments)
            progress.update(task, advance=1)
    _print_steps(steps, t)
    teams = demo_floor.TEAMS
    console.print(
        t(
            "floor_done",
            collectors=sum(len(members) for _, _, members in teams),
            teams=len(teams),
            calls=f"{sum(f.calls for f in floor):,}",
            rpc=f"{sum(f.right_party for f in floor):,}",
            promises=f"{sum(f.promises for f in floor):,}",
            blocked=f"{sum(f.blocked for f in floor):,}",
            allocations=len(cutoffs) + len(days),
        )
    )
    work = demo_floor.created_work(ws)
    console.print(t("floor_work", **work.figures()))
    shown = t("clause_break").join(f"{team} {amount:,}" for team, amount in targets.items())
    console.print(t("kpi_targets", targets=shown), markup=False)
    # the admin's password, shown this once (others: arrears users reset-password)
    console.print(f"admin: {admin_password}  (管理员密码仅显示一次 / shown once)", markup=False)
    if total is None:
        return
    _print_treatments(total, t)
    counts = outbox_counts(ws.engine)
    statuses = sorted({status for _, status in counts})
    console.print(t("sent_title"))  # above, not as the title: a narrow table wraps it
    table = Table()
    table.add_column(t("channel"))
    for status in statuses:
        table.add_column(t(f"outbox.{status}"), justify="right")
    for channel in sorted({channel for channel, _ in counts}):
        table.add_row(channel, *[f"{counts.get((channel, s), 0):,}" for s in statuses])
    console.print(table)
    at_send = blocked_by_rule(ws.engine)
    if at_send:
        console.print(
            t("blocked_at_send") + ", ".join(f"{rule} {n:,}" for rule, n in at_send.items())
        )


for _module in (compliance, strategy, channels, models, report, web, loan, optimize, simulate):
    _module.register(app)

from arrears.commands import retention as _retention  # noqa: E402

_retention.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

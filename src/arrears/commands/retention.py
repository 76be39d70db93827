"""`arrears retention run`: purge the contact records, recordings and documents the
workspace's compliance pack no longer keeps (``arrears.services.retention``)."""

from __future__ import annotations

from typing import Annotated

import typer

from arrears.commands.common import WorkspaceOpt, business_today, console, err, migrated_store
from arrears.commands.common import parse_date as _date

retention_app = typer.Typer(help="Retention of contact records.", no_args_is_help=True)


@retention_app.command("run")
def retention_run(
    workspace: WorkspaceOpt = None,
    today: Annotated[
        str | None,
        typer.Option("--today", help="The day to count the period back from (default: today)."),
    ] = None,
    pack: Annotated[
        str | None,
        typer.Option("--pack", help="Compliance pack (default: the workspace's [compliance])."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be purged; change nothing.")
    ] = False,
) -> None:
    """Purge contact records, recordings and documents of debts whose last activity is
    older than the pack's retention period (cn 2 years, us-regf 3 years), except under
    a legal hold; each purged debt is audited."""
    from arrears.compliance import ComplianceError, load_pack
    from arrears.services.retention import RetentionError, run_retention
    from arrears.services.settings import load_settings
    from arrears.store.unit_of_work import UnitOfWork

    ws = migrated_store(workspace)
    day = _date(today, "--today") if today else business_today(workspace)
    try:
        rule_pack = load_pack(pack or load_settings(ws.root).compliance_pack)
        with UnitOfWork(ws.engine) as uow:
            report = run_retention(uow.session, rule_pack, day, dry_run=dry_run)
            if not dry_run:
                uow.commit()
    except (ComplianceError, RetentionError) as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    verb = "would purge" if dry_run else "purged"
    console.print(
        f"{rule_pack.name}: kept {report.years} years after the last activity "
        f"(cut-off {report.cutoff.isoformat()}; {report.source})",
        markup=False,
    )
    what = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in report.purged.items() if n)
    console.print(f"{verb} {len(report.debts):,} debts: {what or 'nothing'}", markup=False)
    if report.held:
        console.print(
            f"kept under a legal hold: {len(report.held):,} debts ({', '.join(report.held[:10])})",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add `arrears retention ...` to the main app."""
    app.add_typer(retention_app, name="retention")

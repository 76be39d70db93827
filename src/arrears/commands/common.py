"""What every command shares: consoles, the common options, dates, the workspace."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from arrears.i18n import Translator, default_lang

if TYPE_CHECKING:
    from arrears.workspace import Workspace

# Piped or captured output has no width of its own: 100 columns fit the widest table.
console = Console(width=None if Console().is_terminal else 100)
err = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 100)


def print_whole(table: Table) -> None:
    """Print ``table`` at its natural width when that is wider than the console, so no
    amount or name is cut short with an ellipsis (a terminal wraps the lines instead)."""
    natural = console.measure(table, options=console.options.update_width(1000)).maximum
    if natural <= console.width:
        console.print(table)
    else:
        Console(width=natural, force_terminal=console.is_terminal).print(table)


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $ARREARS_WORKSPACE or the current folder).",
    ),
]
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="Output language: en or zh (default: from locale).")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Business date YYYY-MM-DD (default: yesterday).")
]


def translator(lang: str | None) -> Translator:
    """The translator for ``--lang`` (default: from the locale). An unknown language is
    a usage error that names the option."""
    try:
        return Translator(lang or default_lang())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--lang'") from None


def score_psi_text(t: Translator, psi: float) -> str:
    """The PSI of scores against the model's training rows, with its reading, in the
    language of ``t`` (the close's line and ``models score`` say it alike)."""
    from arrears.models.metrics import psi_reading

    return t("score_psi", psi=f"{psi:.3f}", reading=t(psi_reading(psi)))


def parse_date(value: str | None, option: str = "--as-of", workspace: Path | None = None) -> date:
    """The date given to ``option``; None means yesterday on the business clock (the
    calendar of the workspace's ``[workspace] time_zone``, not the machine's). A bad
    value is a usage error that names the option."""
    if value is None:
        return yesterday(workspace)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date of the form YYYY-MM-DD", param_hint=f"'{option}'"
        ) from None


def business_today(workspace: Path | None = None) -> date:
    """Today in the workspace's time zone (``[workspace] time_zone``), not the machine's."""
    from arrears.services.clock import ClockError, business_date, workspace_time_zone
    from arrears.workspace import Workspace

    try:
        zone = workspace_time_zone(Workspace.at(workspace).root)
    except ClockError as exc:  # names the file and the key
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from None
    return business_date(time_zone=zone)


def yesterday(workspace: Path | None = None) -> date:
    """The last business day before today: the day a close run after midnight closes."""
    return business_today(workspace) - timedelta(days=1)


def open_workspace(path: Path | None, url: str | None = None) -> Workspace:
    """The workspace at ``path`` (see ``Workspace.at``)."""
    from arrears.workspace import Workspace

    return Workspace.at(path, url)


def migrated_store(path: Path | None) -> Workspace:
    """The workspace at ``path`` with its store migrated to head, as every workbench,
    user and audit command wants it; a missing SQLite workspace folder is a usage error
    (exit 2), not a new empty store."""
    from arrears.store.db import upgrade  # SQLAlchemy and Alembic: only commands that open a store

    ws = open_workspace(path)
    if ws.database_url.startswith("sqlite") and not ws.root.is_dir():
        err.print(f"no workspace at {ws.root} (run `arrears demo -w {ws.root}` or create it)")
        raise typer.Exit(2)
    upgrade(ws.engine)
    return ws


def progress_bar() -> Progress:
    """A Rich progress bar on the shared console."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )

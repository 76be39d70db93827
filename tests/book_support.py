"""A generated book, imported and closed through the ordinary commands, for the tests
of what follows a close (treatments, the strategy's work, willingness, recovery)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from arrears.cli import app
from arrears.workspace import Workspace

runner = CliRunner()


def closed_book(root: Path, loans: int, as_of: date, days: int) -> Path:
    """The workspace ``root``: ``loans`` generated loans as of ``as_of`` (their files in
    ``root``'s parent's ``data``), imported, and closed through ``as_of`` recording its
    last ``days`` days, untreated (the default catalogue: loans charge off by its rules)."""
    data = root.parent / "data"
    out = runner.invoke(
        app, ["generate", "--loans", str(loans), "--out", str(data), "--as-of", as_of.isoformat()]
    )
    assert out.exit_code == 0, out.output
    for name in ("customers", "loans", "payments"):
        out = runner.invoke(app, ["import", str(data / f"{name}.parquet"), "-w", str(root)])
        assert out.exit_code == 0, out.output
    out = runner.invoke(
        app,
        ["close", "--as-of", as_of.isoformat(), "--days", str(days), "--no-treat", "-w", str(root)],
    )
    assert out.exit_code == 0, out.output
    return root


def private_copy(book: Path, tmp_path: Path) -> Workspace:
    """A copy of the workspace ``book`` (its SQLite file and snapshots) for one test."""
    root = tmp_path / "ws"
    shutil.copytree(book, root)
    return Workspace.at(root)

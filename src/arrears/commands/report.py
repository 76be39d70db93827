"""The portfolio report command: `arrears report --from D1 --to D2 --format html|xlsx|pdf`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

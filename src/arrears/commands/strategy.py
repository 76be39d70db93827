"""Strategy commands: validate, preview (dry run), readout of champion/challenger."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

"""Channel commands: templates (save, list, render), outbox dispatch, dialer export."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

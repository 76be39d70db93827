"""Every column that records a strategy step's channel holds every step channel: a
``litigation`` or ``lawyer_letter`` step was refused by PostgreSQL at the treat step
(``strategy_assignments.channel`` was varchar(8); SQLite does not enforce lengths)."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from arrears.strategy.model import CHANNELS


def test_strategy_assignments_hold_every_step_channel(engine: Engine) -> None:
    columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("strategy_assignments")}
    length = getattr(columns["channel"], "length", None)
    longest = max(CHANNELS, key=len)
    assert length is None or length >= len(longest), (length, longest)

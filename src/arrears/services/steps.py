"""A named step of the end of day, with the rows it handled and the seconds it took."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    name: str
    rows: int
    seconds: float


def timed(steps: list[Step], name: str, rows: int, started: float) -> None:
    """Add ``name`` to ``steps`` (since ``started``, a ``perf_counter`` reading), or add
    its rows and seconds to the step of that name already there."""
    add_step(steps, name, rows, time.perf_counter() - started)


def add_step(steps: list[Step], name: str, rows: int, spent: float) -> None:
    """Add ``name`` with its rows and seconds to ``steps``, or add them to the step of
    that name already there."""
    for i, step in enumerate(steps):
        if step.name == name:
            steps[i] = Step(name, step.rows + rows, round(step.seconds + spent, 2))
            return
    steps.append(Step(name, rows, round(spent, 2)))

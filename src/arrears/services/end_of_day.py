"""The end of day for as-of date D: one use case, named steps (ARCHITECTURE.md).

``run_end_of_day`` is what ``arrears close``, the demo and a scheduler call. Its steps,
in order, each reported with its rows and seconds:

1. **take in**: the loans the close has work for (new loans, payments since the last
   close, loans not yet closed through D);
2. **advance**: every such loan through the domain core to D, resumed from the state
   the last close carried (``arrears.batch.carried``: only loans posted to since are
   replayed from their ledgers); an idle loan (nothing due, owed, paid or posted) is
   moved forward without being loaded;
3. **post**: the day's journal entries and legs, in bulk, and payments marked posted;
4. **cases**: opened, refreshed and closed by the rule of ``arrears.domain.cases``;
5. **publish**: the days' snapshots, staged before the commit and moved into place
   after it (``arrears.batch.publish``): steps 1–5 are one recoverable unit;
6. **promises**: kept or broken from the payments through D;
7. **score**: D's snapshot scored with the newest book model;
8. **treat**: the strategy's contacts, each through the compliance gate, into the outbox.

A failed step stops the day. The rerun resumes where it stopped: steps 1–5 commit
together (a crash after their commit is finished by ``recover``), and 6–8 run for each
closed day not yet treated, each of them idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from arrears.batch.reference import CloseReport, close_book
from arrears.services.daily import AfterClose, after_close
from arrears.services.held_days import treated
from arrears.services.steps import Step
from arrears.workspace import Workspace


@dataclass
class EndOfDay:
    as_of: date
    close: CloseReport
    after: AfterClose | None = None
    steps: list[Step] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.close.already_closed and self.after is None


def run_end_of_day(
    ws: Workspace,
    as_of: date,
    days: int = 1,
    *,
    treat: bool = True,
    after: bool = True,
    extra_days: Iterable[date] = (),
    accepted_by: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> EndOfDay:
    """Run the end of day through ``as_of`` (catching up missed days), recording
    snapshots of the last ``days`` days and of ``extra_days`` before them; with
    ``after`` (the default) settle promises, score and (with ``treat``) treat each
    closed day. Raises the failing step's error, the store as the last committed step
    left it."""
    close = close_book(ws, as_of, days, progress=progress, extra_days=extra_days)
    result = EndOfDay(as_of, close, steps=_close_steps(close))
    if not after:
        return result
    pending = _unfinished(ws, as_of, close, treat)
    if pending:
        result.after = after_close(ws, pending, treat=treat, accepted_by=accepted_by)
        result.steps += result.after.steps
    return result


def _close_steps(close: CloseReport) -> list[Step]:
    rows = {
        "take in": close.loans,
        "advance": close.loans - close.loans_idle,  # the idle ones were not loaded
        "post": close.entries_posted,
        "cases": close.cases_opened + close.cases_updated + close.cases_closed,
        "publish": sum(close.snapshot_rows.values()),
    }
    return [Step(name, rows[name], spent) for name, spent in close.timings.items()]


def _unfinished(ws: Workspace, as_of: date, close: CloseReport, treat: bool) -> list[date]:
    """The closed days whose after-close steps are still to run: the days this close
    recorded; or, when it found the book closed already, the days a crash left
    unpublished and D itself when its treatments were never decided."""
    if not close.already_closed:
        return close.days
    days = set(close.recovered)
    if treat and ws.snapshot_path(as_of).exists():
        with Session(ws.engine) as session:
            if not treated(session, as_of):
                days.add(as_of)
    return sorted(days)

"""What follows the close of a day, in order, and the demo's play-out of the queue.

After the close of day D: promises are settled from the payments through D (kept or
broken), D's snapshot is scored with the workspace's newest book model (if one was
trained, so the strategy can segment on its score band), then the strategy's treatments
for D are decided and queued (``treatments.treat_day``). Sending is the dispatcher's
job, in its own process.

``play_out`` is for a workspace with no servers (the demo): it runs the dispatcher on a
simulated clock that jumps from one due message to the next until a given moment, so
messages go out at the hour the strategy chose in each debtor's time zone, re-checked
by compliance at that moment, into the workspace's file spool, letters into the print
spool and calls into the day's dialer list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from time import perf_counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.channels.dialer_export import export_dialer_list
from arrears.channels.dispatcher import Dispatcher, DispatchReport
from arrears.channels.outbox import as_utc
from arrears.channels.recheck import store_recheck
from arrears.channels.service import print_letters, workspace_adapters
from arrears.services import held_days
from arrears.services.book_models import ScoredDay, latest_book_model, score_snapshot
from arrears.services.settings import load_settings
from arrears.services.steps import Step, timed
from arrears.services.treatments import TreatmentReport, treat_day
from arrears.services.workbench.promises import settle_promises
from arrears.store.contact_models import OutboxMessage
from arrears.workspace import Workspace

DUE_STATUSES = ("queued", "failed")


@dataclass
class AfterClose:
    """Promises settled and treatments decided for the closed days."""

    days: list[date]
    promises: Counter[str] = field(default_factory=Counter)
    scored: list[ScoredDay] = field(default_factory=list)
    treatments: TreatmentReport | None = None
    # days whose treatments were held: their scores shifted, the strategy reads them
    # and the settings say hold (``[models] shifted_scores = "hold"``)
    held: list[ScoredDay] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)  # promises, score, treat: rows and seconds


def after_close(
    ws: Workspace, days: Iterable[date], *, treat: bool = True, accepted_by: str | None = None
) -> AfterClose:
    """Settle promises, score, and (with ``treat``) decide the treatments of each
    closed day in ``days``, in date order. Safe to rerun: settled promises and treated
    days are left as they are, and scores are rewritten to the same bytes.

    A day whose scores have shifted from the model's training rows (PSI 0.25 or more)
    is treated all the same, unless the settings say hold and the strategy reads that
    model's score: then its treatments wait (``held``) until someone who has checked
    accepts the scores (``accepted_by``, who: ``arrears treat --accept-shifted-scores``).
    Both the hold and the acceptance are entries of the audit chain."""
    result = AfterClose(sorted(days))
    model = latest_book_model(ws.root)
    held_scores = _held_score_columns(ws) if model is not None and treat else set()
    for day in result.days:
        started = perf_counter()
        settled = settle_promises(ws.engine, day)
        result.promises.update(settled)
        timed(result.steps, "promises", settled["kept"] + settled["broken"], started)
        if model is not None:
            started = perf_counter()
            scored = score_snapshot(ws.root, day, model)
            timed(result.steps, "score", scored.loans, started)
            result.scored.append(scored)
            if scored.shifted and f"score_{scored.model}" in held_scores:
                if accepted_by is None:
                    held_days.record(ws.engine, "close", held_days.HELD, scored)
                    result.held.append(scored)
                    continue
                held_days.record(ws.engine, accepted_by, held_days.ACCEPTED, scored)
        if not treat:
            continue
        started = perf_counter()
        report = treat_day(ws, day)
        timed(result.steps, "treat", report.proposed, started)
        if result.treatments is None:
            result.treatments = TreatmentReport(day, report.strategy, report.version)
        result.treatments.add(report)
        result.treatments.as_of = day
    return result


def _held_score_columns(ws: Workspace) -> set[str]:
    """The score columns the strategy reads when the settings hold a day whose scores
    have shifted (empty when they only warn)."""
    from arrears.strategy.loader import load_strategy
    from arrears.strategy.segments import columns_read

    if load_settings(ws.root).shifted_scores != "hold":
        return set()
    return {c for c in columns_read(load_strategy(None, ws.root)) if c.startswith("score_")}


def _next_due(session: Session, until: datetime) -> datetime | None:
    moment = session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status.in_(DUE_STATUSES), OutboxMessage.next_attempt_at <= until
        )
    )
    return None if moment is None else as_utc(moment)


def play_out(ws: Workspace, until: datetime, pack: str | None = None) -> DispatchReport:
    """Dispatch, on a simulated clock, every message due up to ``until`` (see the
    module docstring). Returns what the dispatcher did, all steps added up."""
    pack = pack or load_settings(ws.root).compliance_pack
    until = as_utc(until)
    adapters = workspace_adapters(ws.root)
    dialer_dir = Path(ws.root) / "outbox" / "dialer"
    total = DispatchReport()
    while True:
        with Session(ws.engine) as session:
            moment = _next_due(session, until)
        if moment is None:
            print_letters(ws.root)
            return total

        def clock(at: datetime = moment) -> datetime:
            return at

        recheck = store_recheck(ws.engine, pack, clock=clock)
        total.add(Dispatcher(ws.engine, adapters, recheck, clock=clock).run_until_idle())
        day = moment.date()
        total.add(
            export_dialer_list(
                ws.engine,
                dialer_dir / f"{day.isoformat()}.csv",
                day,
                pack=pack,
                recheck=recheck,
                clock=clock,
            )
        )


def end_of_day(day: date) -> datetime:
    """The moment ``day`` is over in every time zone (its end at UTC-12), as UTC."""
    return datetime.combine(day, time(23, 59, 59), timezone(timedelta(hours=-12))).astimezone(UTC)

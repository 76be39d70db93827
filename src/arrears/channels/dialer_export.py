"""Export today's dialer list: dispatch the due ``call`` messages of the outbox into
the day's CSV (re-checked by compliance like any other send)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from arrears.channels.adapters.dialer import DialerListAdapter, best_call_window
from arrears.channels.dispatcher import Clock, Dispatcher, DispatchReport, Recheck, utc_clock


def export_dialer_list(
    engine: Engine,
    path: Path,
    day: date,
    *,
    pack: str | None = "cn",
    recheck: Recheck | None = None,
    margin: timedelta = timedelta(hours=1),
    clock: Clock = utc_clock,
) -> DispatchReport:
    """Write the calls due now to the dialer CSV ``path`` for ``day`` (appending to a
    list already started that day, never listing a call twice), sorted by priority.
    The call window comes from ``pack``'s contact hours for calls. Returns what the
    dispatch did (``sent`` = listed, ``blocked`` = stopped by the re-check)."""
    rule_pack = None
    if pack is not None:
        from arrears.compliance import load_pack

        rule_pack = load_pack(pack)
    adapter = DialerListAdapter(path, day, best_call_window(rule_pack, margin))
    report = Dispatcher(engine, {"call": adapter}, recheck, clock=clock).run_until_idle()
    adapter.sort_by_priority()
    return report

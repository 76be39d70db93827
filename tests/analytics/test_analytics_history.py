"""Month-end history written by the reference close: each extra day's snapshot is the
snapshot a close of that very day writes, byte for byte; a day already passed cannot
be recorded any more."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from analytics_support import DEMO_AS_OF, import_book, make_workspace

from arrears.analytics.history import first_disbursement, month_end
from arrears.analytics.sources import period_of
from arrears.analytics.vintage import months_on_book
from arrears.batch.reference import close_book
from arrears.ingest.generator import generate_portfolio
from arrears.store.models import CloseRun


def test_the_demo_close_wrote_every_month_end_and_the_window(demo_book):
    ws, ends = demo_book.ws, demo_book.month_ends
    first = first_disbursement(ws.engine)
    assert first is not None and first < date(2025, 1, 1)  # two years of vintages
    assert ends[0] == month_end(first) and ends[-1] == DEMO_AS_OF
    assert len(ends) == months_on_book(first, DEMO_AS_OF) + 1
    window = [DEMO_AS_OF - timedelta(days=i) for i in range(7)]
    assert set(ws.snapshot_dates()) == {*ends, *window}


def test_a_month_end_snapshot_equals_a_direct_close_of_that_day(demo_book, tmp_path: Path):
    direct = make_workspace(tmp_path / "direct")
    import_book(direct, demo_book.data)
    for day in (date(2025, 3, 31), date(2026, 2, 28)):  # the second close catches up
        close_book(direct, day, 1)
        ours = demo_book.ws.snapshot_path(day).read_bytes()
        assert direct.snapshot_path(day).read_bytes() == ours, day


def test_extra_days_get_close_runs(demo_book):
    from sqlalchemy import select

    with demo_book.ws.engine.connect() as conn:
        days = set(conn.execute(select(CloseRun.as_of)).scalars())
    assert set(demo_book.month_ends) <= days


def test_a_day_already_closed_through_cannot_be_recorded(tmp_path: Path):
    ws = make_workspace(tmp_path / "ws")
    generate_portfolio(tmp_path / "book", 120, DEMO_AS_OF, seed=3, catalog=ws.catalog)
    import_book(ws, tmp_path / "book")
    close_book(ws, date(2026, 3, 15), 1)
    before = sorted(ws.snapshots_dir.rglob("*.parquet"))
    with pytest.raises(ValueError, match="cannot write the snapshot of 2026-02-28"):
        close_book(ws, date(2026, 4, 30), 1, extra_days=[date(2026, 2, 28), date(2026, 3, 31)])
    assert sorted(ws.snapshots_dir.rglob("*.parquet")) == before  # nothing written
    report = close_book(ws, date(2026, 4, 30), 1, extra_days=[date(2026, 3, 31)])
    assert report.days == [date(2026, 3, 31), date(2026, 4, 30)]


def test_a_period_starting_on_the_first_rolls_from_the_month_end_before(demo_book):
    november = period_of(demo_book.ws, date(2026, 11, 1), DEMO_AS_OF)
    assert november.points == (DEMO_AS_OF,)
    assert november.month_pairs == [(date(2026, 10, 31), DEMO_AS_OF)]
    mid = period_of(demo_book.ws, date(2026, 10, 15), DEMO_AS_OF)
    assert mid.month_pairs == [(date(2026, 10, 31), DEMO_AS_OF)]
    assert period_of(demo_book.ws, date(2026, 11, 2), DEMO_AS_OF).month_pairs == []
    with pytest.raises(ValueError, match="before --from"):
        period_of(demo_book.ws, DEMO_AS_OF, date(2026, 1, 1))

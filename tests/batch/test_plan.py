"""The batch close compiled once per kind of day (``arrears.batch.plan``): days of one
``DayShape`` share their SQL, the day number is put in for the placeholder, and a day of
another shape (a month end) gets SQL of its own."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from arrears.batch.close import BatchBook, Closer
from arrears.batch.engine import day_shape
from arrears.batch.plan import PLACEHOLDER
from arrears.batch.reference_states import prepare
from arrears.batch.sample import sample_book
from arrears.batch.state import day_number
from arrears.domain.products import DEFAULT_CATALOG_PATH, load_catalog

CATALOG = load_catalog(DEFAULT_CATALOG_PATH)
START = date(2026, 3, 26)


def test_days_of_one_shape_share_their_sql_and_a_month_end_gets_its_own(tmp_path: Path):
    book = BatchBook(tmp_path)
    prepare(
        book, sample_book(CATALOG, 60, START, START + timedelta(days=8), seed=3), CATALOG, START
    )
    closer = Closer(book, CATALOG, "duckdb")
    closer.close_through(date(2026, 3, 29))  # 27-29 March: one shape
    assert len(closer.plan._compiled) == 1
    closer.close_through(date(2026, 4, 2))  # 30 March, the 31st (a month end), 1-2 April
    assert day_shape(day_number(date(2026, 3, 31))) != day_shape(day_number(date(2026, 3, 30)))
    assert len(closer.plan._compiled) == 2

    for day in (date(2026, 3, 30), date(2026, 3, 31)):
        sql = closer.explain(day)
        assert str(PLACEHOLDER) not in sql
        assert str(day_number(day)) in sql

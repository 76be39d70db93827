"""The planner gets statistics after a bulk change (``store.db.refresh_statistics``)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import Engine, text

from arrears.store.db import refresh_statistics


def _add_customers(engine: Engine, first: int, count: int) -> None:
    rows = [
        {"id": f"C{n:06d}", "name": f"客户{n}", "at": datetime(2026, 1, 1)}
        for n in range(first, first + count)
    ]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (customer_id, name, customer_type, time_zone, language,"
                " created_at) VALUES (:id, :name, 'individual', 'Asia/Shanghai', 'zh_CN', :at)"
            ),
            rows,
        )


def _stat(engine: Engine, table: str, column: str) -> object:
    """``column`` of ``table``'s row in pg_stat_user_tables (this schema's)."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT {column} FROM pg_stat_user_tables"
                " WHERE schemaname = current_schema() AND relname = :t"
            ),
            {"t": table},
        ).scalar_one()


def _last_analyze(engine: Engine, table: str) -> datetime | None:
    return _stat(engine, table, "COALESCE(last_analyze, last_autoanalyze)")  # type: ignore[return-value]


def _modified(engine: Engine, table: str) -> int:
    return _stat(engine, table, "n_mod_since_analyze")  # type: ignore[return-value]


def test_sqlite_tables_get_statistics(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's statistics")
    _add_customers(engine, 0, 500)
    refresh_statistics(engine)
    with engine.connect() as conn:
        stats = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = 'customers'"))
        assert stats.scalars().first() is not None


def _counted(engine: Engine, rows: int) -> None:
    """Wait (10 s at most) until the statistics count ``rows`` changes of customers since
    its last analysis: a closing backend hands its pending counters over."""
    engine.dispose()
    deadline = time.monotonic() + 10
    while _modified(engine, "customers") < rows and time.monotonic() < deadline:
        time.sleep(0.1)


def test_postgresql_analyses_new_and_much_changed_tables_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's statistics")
    _add_customers(engine, 0, 1_000)
    _counted(engine, 1_000)  # else they land after the analysis, as changes since
    refresh_statistics(engine)  # never analysed: analysed now
    first = _last_analyze(engine, "customers")
    assert first is not None
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'customers'::regclass")
        )
        assert rows.scalar_one() == 1_000  # the planner knows the table's size

    refresh_statistics(engine)  # nothing changed since: not analysed again
    assert _last_analyze(engine, "customers") == first

    _add_customers(engine, 1_000, 400)  # 40% more rows
    _counted(engine, 400)
    refresh_statistics(engine)
    again = _last_analyze(engine, "customers")
    assert again is not None and again > first

"""A snapshot written before a column was added (``costs``) still reads whole: the
column at its value (0.00) in its schema place, alone or beside newer days, through
``read_snapshot`` and ``scan_snapshots`` (DuckDB)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import ibis
import pyarrow.parquet as pq

from arrears.snapshots import (
    MONEY_COLUMNS,
    SCHEMA,
    read_snapshot,
    scan_snapshots,
    snapshot_file,
    snapshot_table,
    write_snapshot,
)

OLD, NEW = date(2026, 6, 29), date(2026, 6, 30)
ROW = ("L1", "active", 3, "M1", 1, "normal", False, *range(1, len(MONEY_COLUMNS) + 1))


def _days(folder: Path) -> None:
    """``OLD`` written in the layout before ``costs``; ``NEW`` in today's."""
    old = snapshot_table(OLD, [ROW], {"L1": "C1"}, {"L1": "P1"}).drop_columns(["costs"])
    path = snapshot_file(folder, OLD)
    path.parent.mkdir(parents=True)
    pq.write_table(old, path)  # as an older release wrote it
    write_snapshot(
        snapshot_table(NEW, [ROW], {"L1": "C1"}, {"L1": "P1"}), snapshot_file(folder, NEW)
    )


def test_an_older_day_reads_with_costs_zero_in_its_place(tmp_path: Path) -> None:
    _days(tmp_path)
    old = read_snapshot(tmp_path, OLD)
    assert old.schema == SCHEMA  # every column, in order
    row = old.to_pylist()[0]
    assert row["costs"] == Decimal("0.00")
    assert row["fee"] == read_snapshot(tmp_path, NEW).to_pylist()[0]["fee"]  # the rest as written
    assert read_snapshot(tmp_path, OLD, ["loan_id", "costs"]).to_pylist() == [
        {"loan_id": "L1", "costs": Decimal("0.00")}
    ]
    assert read_snapshot(tmp_path, OLD, loans=["L1"]).schema == SCHEMA


def test_duckdb_scans_older_and_newer_days_together(tmp_path: Path) -> None:
    _days(tmp_path)
    con = ibis.duckdb.connect()
    both = scan_snapshots(con, tmp_path, [OLD, NEW]).to_pyarrow()
    assert both.schema.names == SCHEMA.names
    by_day = {r["as_of"]: r["costs"] for r in both.to_pylist()}
    new_costs = read_snapshot(tmp_path, NEW).to_pylist()[0]["costs"]
    assert by_day == {OLD: Decimal("0.00"), NEW: new_costs} and new_costs > 0
    picked = scan_snapshots(con, tmp_path, [OLD, NEW], ["loan_id", "costs"]).to_pyarrow()
    assert picked.num_rows == 2 and picked.schema.names == ["loan_id", "costs"]
    assert OLD + timedelta(days=1) == NEW

"""The snapshots module owns where a day's snapshot lives and how it is read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from arrears.snapshots import (
    SCHEMA,
    read_snapshot,
    snapshot_dates,
    snapshot_file,
    snapshot_table,
    write_snapshot,
)

DAY = date(2026, 6, 30)
ROW = ("L1", "active", 3, "M1", 1, "normal", False, *range(14))


def test_a_written_day_reads_back_whole_or_by_columns_and_is_listed(tmp_path: Path):
    table = snapshot_table(DAY, [ROW], {"L1": "C1"}, {"L1": "P1"})
    write_snapshot(table, snapshot_file(tmp_path, DAY))
    (tmp_path / "as_of=2026-06-29").mkdir()  # a folder left without its file is no day
    assert snapshot_dates(tmp_path) == [DAY]
    assert read_snapshot(tmp_path, DAY).equals(table) and table.schema == SCHEMA
    assert read_snapshot(tmp_path, DAY, ["loan_id", "dpd"]).to_pylist() == [
        {"loan_id": "L1", "dpd": 3}
    ]
    assert snapshot_dates(tmp_path / "none") == []


def test_a_day_never_closed_names_the_day_and_the_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"no snapshot of 2026-06-30: .*part-0\.parquet"):
        read_snapshot(tmp_path, DAY)

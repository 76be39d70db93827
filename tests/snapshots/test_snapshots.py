"""The snapshots module owns where a day's snapshot lives and how it is read."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from arrears.batch.state import day_number
from arrears.batch.workers import state_row
from arrears.domain.account import DayState
from arrears.snapshots import (
    ACCOUNT_COLUMN,
    BATCH_SCHEMA,
    MONEY,
    MONEY_COLUMNS,
    MONEY_FROM_STATE,
    SCHEMA,
    read_snapshot,
    scan_snapshots,
    snapshot_dates,
    snapshot_file,
    snapshot_from_accounts,
    snapshot_table,
    write_snapshot,
)

DAY = date(2026, 6, 30)
ROW = ("L1", "active", 3, "M1", 1, "normal", False, *range(len(MONEY_COLUMNS)))


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


def test_loans_given_keep_only_their_rows(tmp_path: Path):
    rows = [ROW, ("L2", *ROW[1:]), ("L3", *ROW[1:])]
    ids = ["L1", "L2", "L3"]
    table = snapshot_table(DAY, rows, dict.fromkeys(ids, "C1"), dict.fromkeys(ids, "P1"))
    write_snapshot(table, snapshot_file(tmp_path, DAY))
    read = read_snapshot(tmp_path, DAY, ["loan_id"], loans=["L3", "L1", "L9"])
    assert read.column("loan_id").to_pylist() == ["L1", "L3"]


def test_the_money_columns_are_declared_once_from_the_day_state():
    amounts = {f.name for f in fields(DayState) if f.type in (Decimal, "Decimal")}
    assert {a for parts in MONEY_FROM_STATE.values() for a in parts} <= amounts
    assert tuple(MONEY_FROM_STATE) == MONEY_COLUMNS
    assert [f.name for f in SCHEMA if f.type == MONEY] == list(MONEY_COLUMNS)


def _sums(cents_of: dict[str, int]) -> list[int]:
    return [sum(cents_of[a] for a in parts) for parts in MONEY_FROM_STATE.values()]


def test_the_reference_rows_follow_the_declaration():
    # every amount of the day state different, so a column summing the wrong ones shows
    names = [f.name for f in fields(DayState) if f.type in (Decimal, "Decimal")]
    cents_of = {name: 101 * (i + 1) + i * i for i, name in enumerate(names)}
    state = DayState(
        loan_id="L1",
        as_of=DAY,
        status="active",
        dpd=3,
        bucket="M1",
        bucket_index=1,
        loan_class="special_mention",
        first_payment_default=False,
        **{name: Decimal(c).scaleb(-2) for name, c in cents_of.items()},
    )
    table = snapshot_table(DAY, [state_row(state)], {"L1": "C1"}, {"L1": "P1"})
    row = table.to_pylist()[0]
    assert [int(row[name].scaleb(2)) for name in MONEY_COLUMNS] == _sums(cents_of)


def test_the_engine_snapshot_follows_the_declaration():
    amounts = {a for parts in MONEY_FROM_STATE.values() for a in parts}
    cents_of = {a: 1_000 * (i + 1) + 7 * i for i, a in enumerate(sorted(amounts))}
    columns: dict[str, pa.Array] = {
        "as_of": pa.array([day_number(DAY)], pa.int32()),
        **{ACCOUNT_COLUMN.get(a, a): pa.array([c], pa.int64()) for a, c in cents_of.items()},
    }
    for field in BATCH_SCHEMA:
        if field.name not in columns and field.type != MONEY:
            columns[field.name] = pa.array([None], field.type)
    snap = snapshot_from_accounts(pa.table(columns))
    row = snap.to_pylist()[0]
    assert row["as_of"] == DAY
    assert [int(row[name].scaleb(2)) for name in MONEY_COLUMNS] == _sums(cents_of)


def _two_days(folder: Path) -> list[date]:
    days = [DAY, date(2026, 7, 1)]
    for n, day in enumerate(days):
        rows = [(f"L{n}{i}", *ROW[1:]) for i in range(3)]
        ids = [r[0] for r in rows]
        table = snapshot_table(day, rows, dict.fromkeys(ids, "C1"), dict.fromkeys(ids, "P1"))
        write_snapshot(table, snapshot_file(folder, day))
    return days


def _scanned(con, folder: Path, days: list[date]) -> list[dict]:
    table = scan_snapshots(con, folder, days, ["as_of", "loan_id", "overdue_amount"])
    return sorted(table.to_pyarrow().to_pylist(), key=lambda r: (r["as_of"], r["loan_id"]))


def _read(folder: Path, days: list[date]) -> list[dict]:
    columns = ["as_of", "loan_id", "overdue_amount"]
    return [r for day in days for r in read_snapshot(folder, day, columns).to_pylist()]


def test_a_backend_scans_the_days_it_is_given(tmp_path: Path):
    import ibis

    days = _two_days(tmp_path)
    con = ibis.duckdb.connect()
    assert _scanned(con, tmp_path, days) == _read(tmp_path, days)
    assert _scanned(con, tmp_path, days[1:]) == _read(tmp_path, days[1:])
    with pytest.raises(ValueError, match="no snapshot days"):
        scan_snapshots(con, tmp_path, [])


@pytest.mark.slow
def test_spark_scans_the_days_one_file_at_a_time_as_duckdb_does(tmp_path: Path):
    pytest.importorskip("pyspark")
    from arrears.batch.close import connect

    days = _two_days(tmp_path)
    assert _scanned(connect("spark"), tmp_path, days) == _read(tmp_path, days)

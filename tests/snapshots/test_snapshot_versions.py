"""Versions of a day's snapshot (as of × as known): the day's file is always the latest
version, so every reader reads the day as corrected; each version stays readable as it
was known from the close that wrote it; publishing is idempotent and can be repeated
after a crash."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import ibis
import pytest

from arrears.snapshots import (
    MONEY_COLUMNS,
    publish_version,
    read_snapshot,
    scan_snapshots,
    snapshot_dates,
    snapshot_table,
    snapshot_versions,
    versions_dir,
    write_snapshot,
)

DAY = date(2026, 6, 28)
LATER, LATEST = date(2026, 7, 1), date(2026, 7, 3)


def _day(dpd: int):
    row = ("L1", "active", dpd, "M1", 1, "normal", False, *range(len(MONEY_COLUMNS)))
    return snapshot_table(DAY, [row], {"L1": "C1"}, {"L1": "P1"})


def _staged(folder: Path, dpd: int) -> Path:
    """A complete new version of DAY written where a close stages it."""
    return write_snapshot(_day(dpd), folder / "pending" / "part-0.parquet")


def _dpd(folder: Path, as_known: date | None = None) -> int:
    return read_snapshot(folder, DAY, ["dpd"], as_known=as_known)["dpd"][0].as_py()


def test_a_corrected_day_keeps_each_version_readable_as_known_then(tmp_path: Path):
    snaps = tmp_path / "snapshots"
    publish_version(snaps, DAY, _staged(tmp_path, 10), DAY)
    assert [(v.version, v.known_on) for v in snapshot_versions(snaps, DAY)] == [(1, DAY)]
    assert not (snaps / "_versions").exists()  # a day never corrected costs no copy

    publish_version(snaps, DAY, _staged(tmp_path, 4), LATER)
    publish_version(snaps, DAY, _staged(tmp_path, 2), LATEST)

    versions = snapshot_versions(snaps, DAY)
    assert [(v.version, v.known_on) for v in versions] == [(1, DAY), (2, LATER), (3, LATEST)]
    assert _dpd(snaps) == 2  # the day's file: the latest, what every reader reads
    assert [_dpd(snaps, d) for d in (DAY, LATER, date(2026, 7, 2), LATEST)] == [10, 4, 4, 2]
    assert snapshot_dates(snaps) == [DAY]  # the versions are no days of their own
    with pytest.raises(FileNotFoundError, match="not yet reported on 2026-06-27"):
        read_snapshot(snaps, DAY, as_known=date(2026, 6, 27))
    con = ibis.duckdb.connect()
    old = scan_snapshots(con, snaps, [DAY], ["dpd"], as_known=LATER).to_pyarrow()
    assert old["dpd"].to_pylist() == [4]


def test_publishing_again_adds_no_version(tmp_path: Path):
    snaps = tmp_path / "snapshots"
    publish_version(snaps, DAY, _staged(tmp_path, 10), DAY)
    publish_version(snaps, DAY, _staged(tmp_path, 4), LATER)
    files = {p: p.read_bytes() for p in snaps.rglob("*.parquet")}

    publish_version(snaps, DAY, _staged(tmp_path, 4), LATEST)  # the same bytes: nothing new
    assert {p: p.read_bytes() for p in snaps.rglob("*.parquet")} == files
    assert not (tmp_path / "pending" / "part-0.parquet").exists()

    # a close that crashed after keeping its version, before replacing the day's file,
    # publishes again: that version is written again, not added
    crashed = versions_dir(snaps, DAY) / f"v3-known={LATEST}.parquet"
    shutil.copyfile(_staged(tmp_path, 3), crashed)
    assert _dpd(snaps) == 4
    publish_version(snaps, DAY, _staged(tmp_path, 3), LATEST)
    known = [(v.version, v.known_on) for v in snapshot_versions(snaps, DAY)]
    assert known == [(1, DAY), (2, LATER), (3, LATEST)]
    assert _dpd(snaps) == 3 == _dpd(snaps, LATEST) and _dpd(snaps, LATER) == 4

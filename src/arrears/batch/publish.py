"""A closed day's snapshot and its commit as one recoverable unit.

A close stages each recorded day's snapshot in the workspace's pending folder (written
whole and flushed to disk) *before* its database transaction commits, and the same
transaction records those days as ``staged`` close runs. After the commit the staged
files are moved into place and the runs marked ``done``.

A crash anywhere leaves one of two states, and ``recover`` (run at the start of every
close and by ``arrears status``) finishes or cleans up:

- before the commit: the transaction rolled back, no run is ``staged``; whatever is in
  the pending folder is left over and removed;
- after the commit: the runs say ``staged``; each staged file still pending is moved
  into place (a rename already done is not done again) and the runs marked ``done``.

A day that already has a snapshot (a late-imported loan closed through a day the book
was already closed for, a loan re-closed from a back-dated payment's value date) gets a
complete new version of that day: the existing rows of other loans with the newly
closed loans' rows, never only the new ones; the version it replaces is kept
(``arrears.snapshots``: as of × as known).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, select, update

from arrears.batch.carried import FILE, carried_file, write_carried
from arrears.files import private_dir
from arrears.snapshots import publish_version, read_snapshot, snapshot_file, write_snapshot
from arrears.store.models import CloseRun, utcnow

PENDING = ".close-pending"
STAGED, DONE = "staged", "done"


def pending_dir(root: Path) -> Path:
    """Where a close stages its snapshots: beside, not inside, the snapshots folder, so
    no reader of the snapshots ever sees a staged file."""
    return Path(root) / PENDING


def complete_day(
    table: pa.Table, snapshots: Path, day: date, dropped: Iterable[str] = ()
) -> pa.Table:
    """The day's whole book: ``table`` (the loans just closed) with the rows of every
    other loan of the snapshot of ``day`` already under ``snapshots``, but the
    ``dropped`` ones (loans re-closed through that day: their rows are in ``table``, or
    they are no longer in the snapshot), sorted by loan id."""
    if not snapshot_file(snapshots, day).exists():
        return table
    before = read_snapshot(snapshots, day)
    gone = pa.concat_arrays(
        [table["loan_id"].combine_chunks(), pa.array(sorted(dropped), pa.string())]
    )
    others = before.filter(pc.invert(pc.is_in(before["loan_id"], gone)))
    if others.num_rows == 0:
        return table
    return pa.concat_tables([others.cast(table.schema), table]).sort_by("loan_id")


def stage(
    root: Path,
    snapshots: Path,
    tables: Mapping[date, pa.Table],
    dropped: Mapping[date, Iterable[str]] | None = None,
) -> dict[date, int]:
    """Write each day's complete snapshot into the pending folder and flush it to disk,
    the rows of its ``dropped`` loans left out of what was there before; returns each
    day's number of rows."""
    staging = pending_dir(root)
    private_dir(staging)
    counts = {}
    for day, table in tables.items():
        whole = complete_day(table, snapshots, day, (dropped or {}).get(day, ()))
        path = write_snapshot(whole, snapshot_file(staging, day))
        _flush(path)
        counts[day] = whole.num_rows
    return counts


def stage_carried(root: Path, table: pa.Table) -> None:
    """Stage the loans' carried states (``arrears.batch.carried``) with the snapshots."""
    staging = pending_dir(root)
    private_dir(staging)
    _flush(write_carried(table, staging / FILE))


def record_staged(conn: Connection, engine_name: str, counts: Mapping[date, int]) -> None:
    """Record the staged days in the close's own transaction."""
    table = CloseRun.__table__
    for day, loans in counts.items():
        conn.execute(table.delete().where(table.c.as_of == day))
        conn.execute(
            table.insert().values(
                as_of=day, engine=engine_name, loans=loans, status=STAGED, started_at=utcnow()
            )
        )


def publish(root: Path, snapshots: Path, engine: Engine, days: Iterable[date]) -> list[Path]:
    """Move the staged snapshots of ``days`` into place and mark their runs done. A day
    that had a snapshot gets a new version, known from the close's day (the last of
    ``days``), the one it replaces kept (``arrears.snapshots.publish_version``)."""
    days = sorted(days)
    placed = []
    staging = pending_dir(root)
    for day in days:
        source, target = snapshot_file(staging, day), snapshot_file(snapshots, day)
        if source.exists():
            private_dir(target.parent)
            publish_version(snapshots, day, source, days[-1])
        placed.append(target)
    carried = staging / FILE
    if carried.exists():
        private_dir(carried_file(root).parent)
        carried.replace(carried_file(root))
    table = CloseRun.__table__
    with engine.begin() as conn:
        conn.execute(
            update(table)
            .where(table.c.status == STAGED, table.c.as_of.in_(list(days)))
            .values(status=DONE, finished_at=utcnow())
        )
    shutil.rmtree(staging, ignore_errors=True)
    return placed


def recover(root: Path, snapshots: Path, engine: Engine) -> list[date]:
    """Finish the publication of days a crash left committed but not in place, and
    remove what a close that never committed left pending; returns the days finished."""
    table = CloseRun.__table__
    with engine.connect() as conn:
        staged = list(conn.execute(select(table.c.as_of).where(table.c.status == STAGED)).scalars())
    missing = [d for d in staged if not snapshot_file(pending_dir(root), d).exists()]
    missing = [d for d in missing if not snapshot_file(snapshots, d).exists()]
    if missing:
        raise RuntimeError(
            f"the close of {', '.join(map(str, missing))} was committed but its staged "
            f"snapshot is gone from {pending_dir(root)}; restore that folder and rerun"
        )
    if staged:
        publish(root, snapshots, engine, staged)
    shutil.rmtree(pending_dir(root), ignore_errors=True)  # what an uncommitted close left
    return sorted(staged)


def _flush(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

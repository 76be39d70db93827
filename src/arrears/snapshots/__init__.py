"""Dated snapshots: one Parquet file per closed day, one row per loan.

This module owns the snapshot: its schema (declared here once, the money columns from
the day state), where each day's file lives, and how it is written and read; every
reader goes through ``snapshot_dates``, ``read_snapshot`` (Arrow) or ``scan_snapshots``
(an Ibis backend's lazy table) (issue 23, point 7). It imports nothing of arrears but
the file helpers. Money columns are DECIMAL(18,2), never floating point. Rows are
sorted by loan id and the file is written with fixed options, so closing the same day
twice writes the same bytes.

The totals are the day state's: ``total_due`` (payable now) and ``overdue_amount`` (in
arrears) count the enforcement costs (``costs``, 实现债权的有关费用: legal and collection
costs booked on the loan) with the charges, as ``DayState.total_due`` and
``DayState.overdue_amount`` do, so a loan with costs shows them in both, and whatever
reads ``overdue_amount`` (the strategy's amount tiers, the ageing's arrears, the case
view) counts them. A snapshot written before ``costs`` was a column (stop 24) reads
with ``costs`` 0.00 and its totals as they were written (``ADDED_COLUMNS``): its day
was closed under the old layout, and reading it never fails for a missing column.

**Versions (as of × as known).** A closed day can be corrected later: a payment dated in
it re-closes the loan from that day (``arrears.domain.backdating``), a late-imported loan
is closed through it. Each correction is a new version of the day, known from the day
of the close that made it (a business date, so a rerun writes the same files). The
day's file (``snapshot_file``) always holds its latest version, so every reader reads
the day as corrected by default; once a day has a second version, every version is kept
under ``_versions/as_of=<day>/v<N>-known=<known day>.parquet`` beside the days (a folder
no reader of ``as_of=*`` partitions sees), the first one known from its own day.
``read_snapshot`` and ``scan_snapshots`` take ``as_known``: the day as it was reported
on that date (``snapshot_versions``, ``snapshot_as_known``); ``publish_version`` puts a
new version in place.
"""

from __future__ import annotations

import filecmp
import functools
import operator
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arrears.files import private_dir, replacing

MONEY = pa.decimal128(18, 2)

# The snapshot's money columns, in their order, each the sum of these amounts of the
# loan's day state (``arrears.domain.account.DayState``). Declared here once: the
# schema, the reference close's rows (``arrears.batch.workers.state_row``, checked
# against it by test) and the batch engine's snapshot (``snapshot_from_accounts``)
# follow it. The totals are the day state's own: ``total_due`` and ``overdue_amount``
# count the enforcement costs (``costs``, 实现债权的有关费用) with the charges.
MONEY_FROM_STATE: dict[str, tuple[str, ...]] = {
    "principal_outstanding": ("principal_not_due", "principal_due"),
    "principal_not_due": ("principal_not_due",),
    "principal_due": ("principal_due",),
    "interest_due": ("interest_due",),
    "overdue_principal": ("overdue_principal",),
    "overdue_interest": ("overdue_interest",),
    "penalty": ("penalty",),
    "compound": ("compound",),
    "fee": ("fee",),
    "costs": ("costs",),
    "credit": ("credit",),
    "total_due": ("principal_due", "interest_due", "penalty", "compound", "fee", "costs"),
    "overdue_amount": (
        "overdue_principal",
        "overdue_interest",
        "penalty",
        "compound",
        "fee",
        "costs",
    ),
    "paid_today": ("paid_today",),
    "charged_to_date": ("charged_to_date",),
}
MONEY_COLUMNS = tuple(MONEY_FROM_STATE)

# the batch engine's account columns (integer cents) of the day state's amounts whose
# names differ (``arrears.batch.state.ACCOUNTS``)
ACCOUNT_COLUMN = {"principal_not_due": "not_due", "charged_to_date": "charged"}

SCHEMA = pa.schema(
    [
        ("as_of", pa.date32()),
        ("loan_id", pa.string()),
        ("customer_id", pa.string()),
        ("product_code", pa.string()),
        ("status", pa.string()),
        ("dpd", pa.int32()),
        ("bucket", pa.string()),
        ("bucket_index", pa.int16()),
        ("loan_class", pa.string()),
        ("first_payment_default", pa.bool_()),
        *[(name, MONEY) for name in MONEY_COLUMNS],
    ]
)


def decimal_from_cents(cents: Sequence[int]) -> pa.Array:
    """A DECIMAL(18,2) array from integer cents, exactly: the cents are the decimal's
    unscaled value, so the 16-byte little-endian words are written directly."""
    low = np.asarray(cents, dtype=np.int64)
    words = np.empty((len(low), 2), dtype=np.int64)
    words[:, 0] = low
    words[:, 1] = np.where(low < 0, -1, 0)  # sign extension to 128 bits
    return pa.Array.from_buffers(MONEY, len(low), [None, pa.py_buffer(words.tobytes())])


def snapshot_table(
    as_of: date,
    rows: Sequence[tuple[Any, ...]],
    customers: Mapping[str, str],
    products: Mapping[str, str],
) -> pa.Table:
    """One day's snapshot from state rows ``(loan_id, status, dpd, bucket, bucket_index,
    loan_class, first_payment_default, *money in cents)``, sorted by loan id."""
    ordered = sorted(rows, key=lambda r: r[0])
    cols = list(zip(*ordered, strict=True)) if ordered else [()] * (7 + len(MONEY_COLUMNS))
    loan_ids = cols[0]
    arrays = [
        pa.array([as_of] * len(ordered), pa.date32()),
        pa.array(loan_ids, pa.string()),
        pa.array([customers[lid] for lid in loan_ids], pa.string()),
        pa.array([products[lid] for lid in loan_ids], pa.string()),
        pa.array(cols[1], pa.string()),
        pa.array(cols[2], pa.int32()),
        pa.array(cols[3], pa.string()),
        pa.array(cols[4], pa.int16()),
        pa.array(cols[5], pa.string()),
        pa.array(cols[6], pa.bool_()),
        *[decimal_from_cents(cols[7 + i]) for i in range(len(MONEY_COLUMNS))],
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def snapshot_file(folder: Path, as_of: date) -> Path:
    """Where the snapshot of ``as_of`` lives under ``folder`` (Hive-style partitions)."""
    return folder / f"as_of={as_of.isoformat()}" / "part-0.parquet"


VERSIONS = "_versions"
_VERSION_NAME = re.compile(r"v(\d+)-known=(\d{4}-\d{2}-\d{2})\.parquet")


@dataclass(frozen=True, slots=True)
class SnapshotVersion:
    """One version of a day's snapshot: its number (1 the first), the day from which it
    was known (the as-of of the close that wrote it) and its file."""

    version: int
    known_on: date
    path: Path


def versions_dir(folder: Path, as_of: date) -> Path:
    """Where the versions of the snapshot of ``as_of`` are kept once it has two."""
    return folder / VERSIONS / f"as_of={as_of.isoformat()}"


def snapshot_versions(folder: Path, as_of: date) -> list[SnapshotVersion]:
    """The versions of the snapshot of ``as_of``, oldest first: the kept ones, or the
    day's file alone as version 1 known from the day itself; none for a day never
    closed."""
    kept = []
    place = versions_dir(folder, as_of)
    if place.exists():
        for child in place.iterdir():
            match = _VERSION_NAME.fullmatch(child.name)
            if match:
                number, known = int(match[1]), date.fromisoformat(match[2])
                kept.append(SnapshotVersion(number, known, child))
    if kept:
        return sorted(kept, key=lambda v: v.version)
    path = snapshot_file(folder, as_of)
    return [SnapshotVersion(1, as_of, path)] if path.exists() else []


def snapshot_as_known(folder: Path, as_of: date, as_known: date | None = None) -> Path:
    """The file of the snapshot of ``as_of`` as it was known on ``as_known`` (the latest
    version known by then; None: the latest). ``FileNotFoundError`` naming the day for
    a day never closed, or not yet reported on ``as_known``."""
    path = snapshot_file(folder, as_of)
    if not path.exists():
        raise FileNotFoundError(f"no snapshot of {as_of}: {path} does not exist (close that day)")
    if as_known is None:
        return path
    versions = snapshot_versions(folder, as_of)
    known = [v for v in versions if v.known_on <= as_known]
    if not known:
        raise FileNotFoundError(
            f"the snapshot of {as_of} was not yet reported on {as_known} "
            f"(first known on {versions[0].known_on})"
        )
    # the latest version is the day's file itself (what a writer that keeps no versions,
    # such as the batch engine, replaces)
    return path if known[-1] == versions[-1] else known[-1].path


def publish_version(folder: Path, as_of: date, source: Path, known_on: date) -> Path:
    """Move ``source`` (a complete snapshot of ``as_of``) into place as the day's latest
    version, known from ``known_on``, keeping the version it replaces: the day's first
    version is kept as known from the day itself, a version known from the same day as
    the new one is replaced (a rerun of the same close), and a new one equal to the
    latest, byte for byte, adds nothing. Each step can be repeated after a crash."""
    target = snapshot_file(folder, as_of)
    if not target.exists():
        private_dir(target.parent)
        source.replace(target)
        return target
    if filecmp.cmp(source, target, shallow=False):
        source.unlink()
        return target
    place = versions_dir(folder, as_of)
    versions = snapshot_versions(folder, as_of)
    if not place.exists() or versions[0].path == target:  # the first version kept
        private_dir(place)
        first = place / f"v1-known={as_of.isoformat()}.parquet"
        with replacing(first) as partial:
            shutil.copyfile(target, partial)
        versions = [SnapshotVersion(1, as_of, first)]
    same = [v.version for v in versions if v.known_on == known_on]
    number = same[0] if same else versions[-1].version + 1
    kept = place / f"v{number}-known={known_on.isoformat()}.parquet"
    with replacing(kept) as partial:
        shutil.copyfile(source, partial)
    source.replace(target)
    return target


def snapshot_dates(folder: Path) -> list[date]:
    """The days with a snapshot under ``folder``, in order."""
    if not folder.exists():
        return []
    found = []
    for child in folder.glob("as_of=*"):
        day = date.fromisoformat(child.name.removeprefix("as_of="))
        if snapshot_file(folder, day).exists():
            found.append(day)
    return sorted(found)


# columns added to the snapshot after files were written without them, and the value an
# older file reads with: a reader always sees the whole schema
ADDED_COLUMNS: dict[str, Any] = {"costs": Decimal("0.00")}


def _columns(path: Path, columns: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """The columns to read from ``path`` (``columns``, or all of the file's with any
    ``ADDED_COLUMNS`` it lacks put in their schema place) and those of them an older
    file lacks."""
    have = pq.read_schema(path).names
    if columns is not None:
        wanted = list(columns)
    else:
        wanted = list(have)
        for name in ADDED_COLUMNS:
            if name in wanted:
                continue
            before = SCHEMA.names[: SCHEMA.names.index(name)]
            last = max((wanted.index(b) for b in before if b in wanted), default=-1)
            wanted.insert(last + 1, name)
    return wanted, [n for n in wanted if n not in have and n in ADDED_COLUMNS]


def read_snapshot(
    folder: Path,
    as_of: date,
    columns: Sequence[str] | None = None,
    loans: Sequence[str] | None = None,
    as_known: date | None = None,
) -> pa.Table:
    """The snapshot of ``as_of`` under ``folder`` (only ``columns`` when given, only the
    rows of ``loans`` when given), as corrected since, or as it was known on
    ``as_known`` when given; a day never closed (or not yet reported on ``as_known``)
    is a ``FileNotFoundError`` naming the day."""
    path = snapshot_as_known(folder, as_of, as_known)
    wanted, missing = _columns(path, columns)
    present = [name for name in wanted if name not in missing]
    if loans is None:
        table = pq.ParquetFile(path).read(columns=present)
    else:
        table = pq.read_table(path, columns=present, filters=[("loan_id", "in", list(loans))])
    if not missing:
        return table
    for name in missing:  # an older file: the added column at its value, in its place
        kind = SCHEMA.field(name).type
        value = pa.array([ADDED_COLUMNS[name]] * table.num_rows, type=kind)
        table = table.append_column(pa.field(name, kind), value)
    return table.select(wanted)


def scan_snapshots(
    con: Any,
    folder: Path,
    days: Sequence[date],
    columns: Sequence[str] | None = None,
    as_known: date | None = None,
) -> Any:
    """The snapshots of ``days`` under ``folder`` as one lazy table of the Ibis backend
    ``con``, in the order given (only ``columns`` when given), as corrected since, or as
    known on ``as_known`` when given. DuckDB scans all the files at once; other backends
    (Spark) read one file at a time, and the parts are unioned."""
    if as_known is None:
        paths = [str(snapshot_file(folder, day)) for day in days]
    else:
        paths = [str(snapshot_as_known(folder, day, as_known)) for day in days]
    if not paths:
        raise ValueError(f"no snapshot days given to read from {folder}")

    older = {path: _columns(Path(path), columns) for path in paths}

    def read(path: str) -> Any:
        import ibis

        wanted, missing = older[path]
        table = con.read_parquet(path)
        added = {
            name: ibis.literal(ADDED_COLUMNS[name], type=ibis.dtype(SCHEMA.field(name).type))
            for name in missing
        }
        return (table.mutate(**added) if added else table).select(*wanted)

    current = not any(missing for _, missing in older.values())
    if len(paths) > 1 and getattr(con, "name", "") == "duckdb" and current:
        table = con.read_parquet(paths)
        return table.select(*columns) if columns is not None else table
    parts = [read(path) for path in paths]
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def write_snapshot(table: pa.Table, path: Path) -> Path:
    """Write one day's table to ``path`` (Parquet, zstd, deterministic bytes)."""
    with replacing(path) as partial:
        pq.write_table(
            table, partial, compression="zstd", write_statistics=True, row_group_size=1 << 20
        )
    return path


FLAG_FIELDS = [
    ("roll_forward", pa.bool_()),
    ("roll_back", pa.bool_()),
    ("cured", pa.bool_()),
    ("newly_delinquent", pa.bool_()),
    ("customer_max_dpd", pa.int32()),
    ("customer_bucket_index", pa.int16()),
]

# the batch engine's snapshot: the reference columns plus the day-over-day flags
BATCH_SCHEMA = pa.schema([*SCHEMA, *FLAG_FIELDS])


def snapshot_from_accounts(accounts: pa.Table) -> pa.Table:
    """The public snapshot of a batch engine account table (integer cents and day
    numbers) — DECIMAL(18,2) money and a real date column."""

    def c(amount: str) -> np.ndarray:
        return accounts.column(ACCOUNT_COLUMN.get(amount, amount)).to_numpy()

    money = {
        name: functools.reduce(operator.add, (c(amount) for amount in amounts))
        for name, amounts in MONEY_FROM_STATE.items()
    }
    columns: dict[str, pa.Array] = {
        "as_of": accounts.column("as_of").combine_chunks().cast(pa.int32()).view(pa.date32()),
    }
    for name in BATCH_SCHEMA.names[1:]:
        if name in money:
            columns[name] = decimal_from_cents(money[name])
        elif name != "as_of":
            columns[name] = accounts.column(name).combine_chunks()
    return pa.Table.from_arrays(list(columns.values()), schema=BATCH_SCHEMA)

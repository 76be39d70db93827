"""Running the Ibis daily close over a batch book on disk, on DuckDB or Spark.

A batch book is a folder::

    book/loans.parquet  schedule.parquet  payments.parquet  products.parquet
    book/pauses.parquet  events.parquet  (optional)
    book/state/YYYY-MM-DD/accounts.parquet  dues.parquet

Closing through D closes every day after the latest state in order (catch-up), each
from the state of the day before. Each day's state is written sorted by key with fixed
Parquet options, so rerunning a day writes the same bytes, whichever engine ran it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.batch.engine import Inputs
from arrears.batch.plan import PREVIOUS, Plan
from arrears.batch.state import ACCOUNTS, DUES, day_number, from_day_number, products_table
from arrears.domain.errors import DomainError
from arrears.domain.products import Catalog
from arrears.files import replacing
from arrears.snapshots import snapshot_file, snapshot_from_accounts, write_snapshot

ENGINES = ("duckdb", "spark")
STATIC = ("loans", "schedule", "payments", "products")
# static tables a book may lack (``state.PAUSES``, ``state.EVENTS``)
OPTIONAL = ("pauses", "events")


class WaiverRefused(DomainError):
    """A day's waiver waives more of a component than the loan owes as the day starts
    (with the day's fees and costs): refused, as ``domain.operations.waive`` refuses it."""


def write_table(table: pa.Table, path: Path) -> Path:
    """Parquet with fixed options: the same table always gives the same bytes."""
    with replacing(path) as partial:
        pq.write_table(table, partial, compression="zstd", row_group_size=1 << 20)
    return path


@dataclass(frozen=True)
class BatchBook:
    root: Path

    def static(self, name: str) -> Path:
        return self.root / f"{name}.parquet"

    def state_dir(self, as_of: date) -> Path:
        return self.root / "state" / as_of.isoformat()

    def state_dates(self) -> list[date]:
        folder = self.root / "state"
        if not folder.is_dir():
            return []
        found = []
        for child in folder.iterdir():
            if (child / "accounts.parquet").exists() and not child.name.endswith(".tmp"):
                found.append(date.fromisoformat(child.name))
        return sorted(found)

    def write_static(self, catalog: Catalog, **tables: pa.Table) -> None:
        for name, table in tables.items():
            if name not in (*STATIC, *OPTIONAL) or name == "products":
                raise ValueError(f"unknown book table {name!r}")
            write_table(table, self.static(name))
        for name in OPTIONAL:  # the book's static tables are written together
            if name not in tables:
                self.static(name).unlink(missing_ok=True)
        write_table(products_table(catalog), self.static("products"))

    def write_state(self, as_of: date, accounts: pa.Table, dues: pa.Table) -> None:
        """Write the state of ``as_of`` atomically: into a temporary folder, then renamed."""
        final = self.state_dir(as_of)
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        write_table(accounts, tmp / "accounts.parquet")
        write_table(dues, tmp / "dues.parquet")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)

    def read_state(self, as_of: date) -> tuple[pa.Table, pa.Table]:
        folder = self.state_dir(as_of)
        return pq.read_table(folder / "accounts.parquet"), pq.read_table(folder / "dues.parquet")


def connect(engine: str) -> Any:
    """An Ibis backend: embedded DuckDB, or Spark in local mode (a cluster through the
    ``SPARK_REMOTE`` / ``ARREARS_SPARK_MASTER`` settings)."""
    import ibis

    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ValueError(
                "the spark engine needs PySpark and Java: pip install 'arrears[spark]'"
            ) from None

        master = os.environ.get("ARREARS_SPARK_MASTER", "local[2]")
        session = (
            SparkSession.builder.master(master)
            .appName("arrears-close")
            # tables Ibis creates are scratch: in a folder of this process's own, not in
            # ./spark-warehouse, where a run that died leaves tables the next one trips on
            .config("spark.sql.warehouse.dir", _scratch_warehouse())
            .config("spark.sql.shuffle.partitions", os.environ.get("ARREARS_SPARK_PARTITIONS", "4"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")  # no stage bars over the output
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", os.environ.get("ARREARS_SPARK_MEMORY", "4g"))
            .getOrCreate()
        )
        return ibis.pyspark.connect(session)
    raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")


def _scratch_warehouse() -> str:
    """``$ARREARS_SPARK_WAREHOUSE``, else a new temporary folder removed at exit."""
    configured = os.environ.get("ARREARS_SPARK_WAREHOUSE")
    if configured:
        return configured
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="arrears-spark-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


@dataclass
class DayResult:
    as_of: date
    accounts: int
    seconds: float
    summary: dict[str, int] = field(default_factory=dict)


def summarize(accounts: pa.Table) -> dict[str, int]:
    """Counts and amounts (cents) of one closed day, for the close's summary table."""
    dpd = pc.field("dpd")
    status = pc.field("status")

    def count(expr: Any) -> int:
        return int(accounts.filter(expr).num_rows)

    def total(name: str, expr: Any = None) -> int:
        table = accounts if expr is None else accounts.filter(expr)
        return int(pc.sum(table.column(name)).as_py() or 0)

    return {
        "active": count(status == "active"),
        "delinquent": count(dpd > 0),
        "m1_plus": count(pc.field("bucket_index") >= 1),
        "newly_delinquent": count(pc.field("newly_delinquent")),
        "cured": count(pc.field("cured")),
        "roll_forward": count(pc.field("roll_forward")),
        "fpd": count(pc.field("first_payment_default")),
        "paid_today": total("paid_today"),
        "overdue_principal": total("overdue_principal"),
        "penalty": total("penalty"),
    }


@dataclass
class CloseRun:
    engine: str
    days: list[DayResult] = field(default_factory=list)


def _refuse_waivers(day: date, accounts: pa.Table) -> None:
    """Raise ``WaiverRefused`` when a loan of a book with events has a waiver of more
    than it owes on ``day`` (its ``refused`` cell, ``engine.book_events``)."""
    if "refused" not in accounts.column_names:
        return
    refused = accounts.filter(pc.is_valid(accounts.column("refused")))
    if refused.num_rows == 0:
        return
    rows = sorted(zip(*refused.select(["loan_id", "refused"]).to_pydict().values(), strict=True))
    raise WaiverRefused(
        f"{day}: {len(rows)} loans have a waiver of more than they owe, "
        + "; ".join(f"loan {loan}: of {component}" for loan, component in rows[:5])
        + " (the day is not closed; a waiver is never turned into credit)"
    )


def _sorted(table: pa.Table, keys: list[str], schema: pa.Schema) -> pa.Table:
    table = table.select(schema.names).cast(schema)
    return table.sort_by([(k, "ascending") for k in keys]).combine_chunks()


class Closer:
    """Closes days of one batch book on one engine."""

    def __init__(
        self,
        book: BatchBook,
        catalog: Catalog,
        engine: str = "duckdb",
        snapshots: Path | None = None,
    ) -> None:
        self.book, self.catalog, self.engine = book, catalog, engine
        self.snapshots = snapshots
        self.con = connect(engine)
        self._static = {name: self._read(book.static(name), name) for name in STATIC}
        for name in OPTIONAL:
            if book.static(name).exists():
                self._static[name] = self._read(book.static(name), name)
        self.plan = Plan(
            self.con, engine, catalog, {name: t.schema() for name, t in self._static.items()}
        )

    def _read(self, path: Path, name: str) -> Any:
        return self.con.read_parquet(str(path), table_name=f"arrears_{name}")

    def inputs(self, previous: date) -> Inputs:
        folder = self.book.state_dir(previous)
        suffix = previous.strftime("%Y%m%d")
        return Inputs(
            accounts=self._read(folder / "accounts.parquet", f"accounts_{suffix}"),
            dues=self._read(folder / "dues.parquet", f"dues_{suffix}"),
            **self._static,
        )

    def point_previous(self, previous: date) -> None:
        """The plan's ``arrears_prev_*`` tables read the state of ``previous``."""
        folder = self.book.state_dir(previous)
        for name, table in PREVIOUS.items():
            self.con.read_parquet(str(folder / f"{name}.parquet"), table_name=table)

    def explain(self, day: date) -> str:
        """The SQL that closes ``day``: the tables it materialises, then its outputs."""
        plan = self.plan.compiled(day_number(day))
        parts = [f"-- {name} (materialised)\n{sql}" for name, sql in plan.stages]
        parts += [f"-- {name}\n{sql}" for name, sql in plan.outputs.items()]
        return "\n".join(parts)

    def close(self, day: date) -> DayResult:
        started = time.perf_counter()
        self.point_previous(day - timedelta(days=1))
        out = self.plan.run(day_number(day))
        accounts = out["accounts"]
        _refuse_waivers(day, accounts)
        acc = _sorted(accounts, ["loan_id"], ACCOUNTS)
        due = _sorted(out["dues"], ["loan_id", "seq"], DUES)
        self.book.write_state(day, acc, due)
        if self.snapshots is not None:
            write_snapshot(snapshot_from_accounts(acc), snapshot_file(self.snapshots, day))
        return DayResult(day, acc.num_rows, time.perf_counter() - started, summarize(acc))

    def close_through(
        self, through: date, progress: Callable[[DayResult], None] | None = None
    ) -> CloseRun:
        """Close every day after the latest state up to ``through``, in order."""
        dates = self.book.state_dates()
        if not dates:
            raise ValueError(f"{self.book.root}: no state to close from (hand a book over first)")
        run = CloseRun(self.engine)
        for day in _days(dates[-1] + timedelta(days=1), through):
            result = self.close(day)
            run.days.append(result)
            if progress is not None:
                progress(result)
        return run


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@contextmanager
def closer(book: BatchBook, catalog: Catalog, engine: str = "duckdb") -> Iterator[Closer]:
    c = Closer(book, catalog, engine)
    try:
        yield c
    finally:
        disconnect = getattr(c.con, "disconnect", None)
        if disconnect is not None and engine == "duckdb":
            disconnect()


__all__ = ["BatchBook", "Closer", "closer", "from_day_number"]

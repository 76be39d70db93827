"""What the analytics read: the dated snapshots of a workspace, and the static facts
of each loan (disbursement, original principal, first due date) that a snapshot row
does not carry, as Ibis tables on one backend (DuckDB by default, Spark works too).

Nothing here recomputes a balance: every state comes from a closed day's snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import Engine, select

from arrears.analytics.history import month_end
from arrears.snapshots import MONEY, SCHEMA, scan_snapshots
from arrears.store.models import InstallmentRow, Loan
from arrears.workspace import Workspace

LOAN_FACTS = pa.schema(
    [
        ("loan_id", pa.string()),
        ("product_code", pa.string()),
        ("principal", MONEY),
        ("disbursed_on", pa.date32()),
        ("first_due_on", pa.date32()),
        ("final_status", pa.string()),
    ]
)


class NoSnapshots(LookupError):
    """The workspace has no closed day in the asked period."""


@dataclass(frozen=True)
class Period:
    """The days a report covers: ``points`` are the snapshot days shown, the month ends
    of the period plus its last closed day; ``month_ends`` are the month ends the
    month-over-month measures use: those of the period, and the one just before it
    when the period starts on the 1st (its first month moves from there)."""

    date_from: date
    date_to: date
    points: tuple[date, ...]
    month_ends: tuple[date, ...]

    @property
    def month_pairs(self) -> list[tuple[date, date]]:
        """Consecutive month ends (m, m+1) with both snapshots present."""
        ends = self.month_ends
        return [(a, b) for a, b in pairwise(ends) if b == month_end(a + timedelta(days=1))]


def period_of(ws: Workspace, date_from: date, date_to: date) -> Period:
    """The snapshot days of ``ws`` that describe ``[date_from, date_to]``; raises
    ``NoSnapshots`` naming the period when there are none."""
    if date_to < date_from:
        raise ValueError(f"--to {date_to} is before --from {date_from}")
    closed = [d for d in ws.snapshot_dates() if date_from <= d <= date_to]
    if not closed:
        raise NoSnapshots(
            f"no closed day between {date_from} and {date_to} in {ws.snapshots_dir} "
            "(run `arrears close` or `arrears demo` first)"
        )
    ends = tuple(d for d in closed if d == month_end(d))
    points = tuple(sorted({*ends, closed[-1]}))
    # a period starting on the 1st moves from the month end before it
    before = date_from - timedelta(days=1)
    if date_from.day == 1 and before in ws.snapshot_dates():
        ends = (before, *ends)
    return Period(date_from, date_to, points, ends)


def connect(backend: Any | None = None) -> Any:
    """The Ibis backend the analytics run on: ``backend`` if given (e.g. a Spark
    connection), else a fresh in-memory DuckDB."""
    if backend is not None:
        return backend
    con = ibis.duckdb.connect()
    con.raw_sql("SET enable_progress_bar = false")  # a report prints its own output
    return con


def snapshots(con: Any, ws: Workspace, days: Sequence[date]) -> ibis.Table:
    """The snapshots of ``days`` as one table of ``con`` (the reference columns only, so
    reference and batch snapshots union), materialized once so the many queries over
    it compile small."""
    ordered = sorted(set(days))
    if not ordered:
        raise NoSnapshots("no snapshot days given")
    union = scan_snapshots(con, ws.snapshots_dir, ordered, SCHEMA.names)
    name = f"snapshots_{len(ordered)}_{min(days):%Y%m%d}_{max(days):%Y%m%d}"
    return con.create_table(name, union, overwrite=True)


def loan_facts_table(engine: Engine) -> pa.Table:
    """Each loan's static facts from the store: contract data that never changes after
    disbursement, and the status it has ended in (closed and written_off are final)."""
    loans, inst = Loan.__table__, InstallmentRow.__table__
    first_due = (  # installment 1 is the first one (the FPD flag counts from it)
        select(inst.c.loan_id, inst.c.due_date.label("first_due_on"))
        .where(inst.c.seq == 1)
        .subquery()
    )
    query = (
        select(
            loans.c.loan_id,
            loans.c.product_code,
            loans.c.principal,
            loans.c.disbursed_on,
            first_due.c.first_due_on,
            loans.c.status,
        )
        .outerjoin(first_due, first_due.c.loan_id == loans.c.loan_id)
        .order_by(loans.c.loan_id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(LOAN_FACTS)
    return pa.Table.from_arrays(
        [pa.array(list(c), f.type) for c, f in zip(columns, LOAN_FACTS, strict=True)],
        schema=LOAN_FACTS,
    )


def loan_facts(con: Any, engine: Engine) -> ibis.Table:
    """``loan_facts_table`` as an Ibis table on ``con``."""
    return _register(con, "loan_facts", loan_facts_table(engine))


def _register(con: Any, name: str, table: pa.Table) -> ibis.Table:
    """An Arrow table as a named table of ``con`` (memtables work on every backend)."""
    return con.create_table(name, ibis.memtable(table), overwrite=True)

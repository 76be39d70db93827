"""What the analytics tests share: the demo book's size and day, and helpers that build
snapshot days by hand (so each metric can be checked against arithmetic). A module of
its own name: imported as ``conftest`` it would be whichever folder's conftest pytest
loaded first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from arrears.analytics.sources import LOAN_FACTS
from arrears.ingest.importer import import_file
from arrears.snapshots import MONEY_COLUMNS, snapshot_table
from arrears.workspace import Workspace

DEMO_AS_OF = date(2026, 11, 30)
DEMO_LOANS = 2000
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")


@dataclass(frozen=True)
class DemoBook:
    ws: Workspace
    data: Path  # the generated book files (to import into a second workspace)
    month_ends: list[date]


def make_workspace(root: Path) -> Workspace:
    ws = Workspace.at(root, f"sqlite:///{root / 'arrears.sqlite'}")
    ws.init()
    return ws


def import_book(ws: Workspace, data: Path) -> None:
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, data / f"{kind}.parquet", kind=kind)


def state(
    loan_id: str,
    dpd: int = 0,
    bucket_index: int = 0,
    principal: str = "1000.00",
    overdue: str = "0.00",
    status: str = "active",
    fpd: bool = False,
    overdue_principal: str | None = None,
) -> tuple:
    """A snapshot state row: outstanding principal ``principal`` (all not yet due),
    ``overdue`` past due (as overdue principal unless said otherwise)."""
    money = dict.fromkeys(MONEY_COLUMNS, 0)
    cents = lambda v: int(Decimal(v) * 100)  # noqa: E731
    money["principal_outstanding"] = money["principal_not_due"] = cents(principal)
    money["overdue_amount"] = cents(overdue)
    money["overdue_principal"] = cents(overdue if overdue_principal is None else overdue_principal)
    return (
        loan_id, status, dpd, BUCKETS[bucket_index], bucket_index, "normal", fpd,
        *[money[c] for c in MONEY_COLUMNS],
    )  # fmt: skip


def snapshot_days(days: dict[date, Sequence[tuple]]) -> pa.Table:
    """Snapshot tables of hand-written state rows, one per day, concatenated."""
    tables = []
    for day, rows in days.items():
        ids = {r[0] for r in rows}
        tables.append(snapshot_table(day, rows, dict.fromkeys(ids, "C1"), dict.fromkeys(ids, "P")))
    return pa.concat_tables(tables)


def loan_facts(rows: Sequence[tuple[str, str, date, date | None, str]]) -> pa.Table:
    """Loan facts ``(loan_id, principal, disbursed_on, first_due_on, final_status)``."""
    cols = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(cols[0], pa.string()),
            pa.array(["P"] * len(rows), pa.string()),
            pa.array([Decimal(v) for v in cols[1]], LOAN_FACTS.field("principal").type),
            pa.array(cols[2], pa.date32()),
            pa.array(cols[3], pa.date32()),
            pa.array(cols[4], pa.string()),
        ],
        schema=LOAN_FACTS,
    )

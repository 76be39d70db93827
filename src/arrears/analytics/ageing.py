"""The ageing table (账龄分布) of one snapshot: count and amount per bucket, overdue
rates by count and by amount, and the five-tier totals. Read with Ibis on DuckDB.

Amount is the outstanding principal (贷款余额); the overdue rate counts loans in M1
and worse (DPD past grace) over all active loans, by count and by outstanding principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import ibis

from arrears.domain.money import ZERO
from arrears.domain.products import BucketScheme, LoanClass
from arrears.snapshots import scan_snapshots

CLASS_ORDER = [c.value for c in LoanClass]


@dataclass(frozen=True)
class AgeingRow:
    bucket_index: int
    bucket: str
    loans: int
    principal: Decimal
    arrears: Decimal  # overdue principal, interest and charges


@dataclass(frozen=True)
class ClassRow:
    loan_class: LoanClass
    loans: int
    principal: Decimal


@dataclass(frozen=True)
class AgeingTable:
    as_of: date
    rows: list[AgeingRow]
    classes: list[ClassRow]
    min_overdue_bucket: int = 1

    @property
    def loans(self) -> int:
        return sum(r.loans for r in self.rows)

    @property
    def principal(self) -> Decimal:
        return sum((r.principal for r in self.rows), ZERO)

    @property
    def overdue_loans(self) -> int:
        return sum(r.loans for r in self.rows if r.bucket_index >= self.min_overdue_bucket)

    @property
    def overdue_principal(self) -> Decimal:
        return sum(
            (r.principal for r in self.rows if r.bucket_index >= self.min_overdue_bucket), ZERO
        )

    @property
    def overdue_rate_count(self) -> Decimal:
        return _ratio(Decimal(self.overdue_loans), Decimal(self.loans))

    @property
    def overdue_rate_amount(self) -> Decimal:
        return _ratio(self.overdue_principal, self.principal)


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.0001")) if whole else ZERO


def ageing_table(snapshots: Path, as_of: date, buckets: BucketScheme) -> AgeingTable:
    """The ageing table of the snapshot of ``as_of`` under the folder ``snapshots``
    (active loans only)."""
    con = ibis.duckdb.connect()
    t = scan_snapshots(con, snapshots, [as_of])
    active = t.filter(t.status == "active")
    by_bucket = (
        active.group_by("bucket_index")
        .aggregate(
            loans=active.count(),
            principal=active.principal_outstanding.sum(),
            arrears=active.overdue_amount.sum(),
        )
        .order_by("bucket_index")
        .to_pyarrow()
        .to_pylist()
    )
    found = {r["bucket_index"]: r for r in by_bucket}
    rows = []
    for index, name in enumerate(buckets.names):
        r = found.get(index, {})
        rows.append(
            AgeingRow(
                index,
                name,
                int(r.get("loans", 0)),
                Decimal(r.get("principal") or 0),
                Decimal(r.get("arrears") or 0),
            )
        )
    by_class = (
        active.group_by("loan_class")
        .aggregate(loans=active.count(), principal=active.principal_outstanding.sum())
        .to_pyarrow()
        .to_pylist()
    )
    class_found = {r["loan_class"]: r for r in by_class}
    classes = [
        ClassRow(
            LoanClass(c),
            int(class_found.get(c, {}).get("loans", 0)),
            Decimal(class_found.get(c, {}).get("principal") or 0),
        )
        for c in CLASS_ORDER
    ]
    con.disconnect()
    return AgeingTable(as_of, rows, classes)

"""The book over time: overdue rate by count and by amount under a chosen definition
(M1+, M3+ …), and the bucket distribution of each snapshot day.

Definitions (see docs/analytics.md): the population is the loans *active* on the day;
a loan is overdue under "Mk+" when its bucket index is k or worse; the amount is the
outstanding principal (贷款余额), as in the ageing table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import ibis

from arrears.domain.money import ZERO

RATE_PLACES = Decimal("0.0001")


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part / whole`` as a Decimal to 4 places (0 when ``whole`` is 0)."""
    whole = Decimal(whole)
    return (Decimal(part) / whole).quantize(RATE_PLACES) if whole else ZERO


@dataclass(frozen=True)
class OverdueDefinition:
    """Overdue means bucket index >= ``min_bucket``: 1 is M1+ (past grace), 3 is M3+."""

    min_bucket: int = 1

    @property
    def label(self) -> str:
        return f"M{self.min_bucket}+"

    @classmethod
    def parse(cls, text: str) -> OverdueDefinition:
        """``"M1+"``, ``"m3+"`` or ``"3"``; anything else is a ValueError that says so."""
        m = re.fullmatch(r"\s*[Mm]?(\d)\+?\s*", text)
        if not m:
            raise ValueError(f"overdue definition {text!r}: write M1+, M2+ … M7+")
        return cls(int(m.group(1)))


@dataclass(frozen=True)
class OverduePoint:
    as_of: date
    loans: int
    overdue_loans: int
    principal: Decimal
    overdue_principal: Decimal

    @property
    def rate_count(self) -> Decimal:
        return ratio(self.overdue_loans, self.loans)

    @property
    def rate_amount(self) -> Decimal:
        return ratio(self.overdue_principal, self.principal)


@dataclass(frozen=True)
class BucketPoint:
    as_of: date
    bucket_index: int
    loans: int
    principal: Decimal


def _active(snap: ibis.Table) -> ibis.Table:
    return snap.filter(snap.status == "active")


def overdue_series(snap: ibis.Table, definition: OverdueDefinition) -> list[OverduePoint]:
    """The overdue rate of every day in ``snap``, by count and by amount, in date order."""
    a = _active(snap)
    overdue = a.bucket_index >= definition.min_bucket
    zero = ibis.literal(Decimal("0.00"), type="decimal(18,2)")
    rows = (
        a.group_by("as_of")
        .aggregate(
            loans=a.count(),
            overdue_loans=overdue.cast("int64").sum(),
            principal=a.principal_outstanding.sum(),
            overdue_principal=overdue.ifelse(a.principal_outstanding, zero).sum(),
        )
        .order_by("as_of")
        .to_pyarrow()
        .to_pylist()
    )
    return [
        OverduePoint(
            r["as_of"],
            int(r["loans"]),
            int(r["overdue_loans"] or 0),
            _money(r["principal"]),
            _money(r["overdue_principal"]),
        )
        for r in rows
    ]


def bucket_distribution(snap: ibis.Table) -> list[BucketPoint]:
    """Loans and outstanding principal per bucket of every day in ``snap``."""
    a = _active(snap)
    rows = (
        a.group_by(["as_of", "bucket_index"])
        .aggregate(loans=a.count(), principal=a.principal_outstanding.sum())
        .order_by(["as_of", "bucket_index"])
        .to_pyarrow()
        .to_pylist()
    )
    return [
        BucketPoint(r["as_of"], int(r["bucket_index"]), int(r["loans"]), _money(r["principal"]))
        for r in rows
    ]


def _money(value: Decimal | None) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01")) if value is not None else Decimal("0.00")

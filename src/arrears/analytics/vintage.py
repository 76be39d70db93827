"""Vintage analysis: loans grouped by origination month (the month of disbursement),
followed month end by month end, and the first-payment default rate of each vintage.

Months on book (MOB) at a month end m of a loan disbursed in month v is the number of
calendar months from v to m: 0 at the end of the disbursement month. The vintage curve
at MOB k is the share of the vintage's loans (by count) or original principal (by
amount) that is overdue under the definition (e.g. M1+, M3+) at that month end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import ibis

from arrears.analytics.portfolio import OverdueDefinition, ratio
from arrears.domain.money import ZERO


def months_on_book(disbursed_on: date, month_end: date) -> int:
    """Calendar months from the disbursement month to ``month_end``'s month."""
    return (month_end.year - disbursed_on.year) * 12 + month_end.month - disbursed_on.month


@dataclass(frozen=True)
class VintagePoint:
    vintage: date  # first day of the origination month
    mob: int
    loans: int  # loans disbursed in the vintage
    principal: Decimal  # their original principal
    overdue_loans: int
    overdue_principal: Decimal  # outstanding principal of the overdue ones

    @property
    def rate_count(self) -> Decimal:
        return ratio(self.overdue_loans, self.loans)

    @property
    def rate_amount(self) -> Decimal:
        return ratio(self.overdue_principal, self.principal)


def _vintage(col: ibis.Value) -> ibis.Value:
    return col.truncate("M")


def vintage_curves(
    snap: ibis.Table,
    facts: ibis.Table,
    month_ends: Sequence[date],
    definition: OverdueDefinition,
) -> list[VintagePoint]:
    """The curve point (vintage, MOB) of every vintage at every month end in
    ``month_ends`` on or after its origination; MOBs with no overdue loan give 0."""
    if not month_ends:
        return []
    f = facts.select("loan_id", "principal", vintage=_vintage(facts.disbursed_on).cast("date"))
    sizes = {
        r["vintage"]: (int(r["loans"]), Decimal(r["principal"]))
        for r in f.group_by("vintage")
        .aggregate(loans=f.count(), principal=f.principal.sum())
        .to_pyarrow()
        .to_pylist()
    }
    s = snap.filter(
        snap.as_of.isin(list(month_ends))
        & (snap.status == "active")
        & (snap.bucket_index >= definition.min_bucket)
    )
    j = s.join(f, s.loan_id == f.loan_id)
    rows = (
        j.group_by([j.vintage, j.as_of])
        .aggregate(overdue_loans=j.count(), overdue_principal=j.principal_outstanding.sum())
        .to_pyarrow()
        .to_pylist()
    )
    found = {(r["vintage"], r["as_of"]): r for r in rows}
    out = []
    for vintage, (loans, principal) in sorted(sizes.items()):
        for end in month_ends:
            mob = months_on_book(vintage, end)
            if mob < 0:
                continue
            r = found.get((vintage, end), {})
            out.append(
                VintagePoint(
                    vintage,
                    mob,
                    loans,
                    principal,
                    int(r.get("overdue_loans", 0)),
                    Decimal(r.get("overdue_principal") or ZERO),
                )
            )
    return out


@dataclass(frozen=True)
class FirstPaymentDefault:
    vintage: date
    eligible_loans: int  # first installment due at least ``days`` before the last day
    defaulted_loans: int

    @property
    def rate(self) -> Decimal:
        return ratio(self.defaulted_loans, self.eligible_loans)


def first_payment_default_rates(
    snap: ibis.Table, facts: ibis.Table, last_day: date, days: int = 30
) -> list[FirstPaymentDefault]:
    """FPD(days) per vintage: loans seen on any snapshot in ``snap`` with their first
    installment unpaid ``days`` or more past due (first_payment_default and DPD >=
    days), over the loans of the vintage whose first installment fell due at least
    ``days`` days before ``last_day``."""
    cutoff = last_day - timedelta(days=days)
    f = facts.filter(facts.first_due_on.notnull() & (facts.first_due_on <= cutoff))
    f = f.select("loan_id", vintage=_vintage(f.disbursed_on).cast("date"))
    hit = snap.filter(snap.first_payment_default & (snap.dpd >= days)).select(hit_loan=snap.loan_id)
    hit = hit.distinct()
    j = f.left_join(hit, f.loan_id == hit.hit_loan)
    rows = (
        j.group_by("vintage")
        .aggregate(eligible=j.count(), defaulted=j.hit_loan.notnull().cast("int64").sum())
        .order_by("vintage")
        .to_pyarrow()
        .to_pylist()
    )
    return [
        FirstPaymentDefault(r["vintage"], int(r["eligible"]), int(r["defaulted"] or 0))
        for r in rows
    ]

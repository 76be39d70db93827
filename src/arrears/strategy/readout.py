"""The champion/challenger readout: per arm, the cure rate and the amount recovered of
the cases assigned in a window, with confidence intervals, and each challenger minus
the champion with the interval of the difference.

Definitions (documented in docs/strategies.md):

- the cases of an arm: every case with an assignment row of the strategy dated within
  ``[start, end]``; its arm is the arm of its first such row (arms are sticky anyway);
- cured: the case's loan is at DPD 0 in the snapshot of ``end`` (a repaid loan counts;
  a loan absent from that snapshot does not);
- recovered: the sum of the loan's ``paid_today`` on the snapshot days after its
  first assignment, through ``end`` (payments on the assignment day came before the
  treatment and are not counted).

The per-case outcomes are computed with Ibis (``case_outcomes``); the intervals in
``arrears.strategy.stats``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from arrears.strategy.stats import mean_interval, newcombe, welch_interval, wilson

if TYPE_CHECKING:
    import ibis.expr.types as ir

CENT = Decimal("0.01")
RATE = Decimal("0.0001")


def case_outcomes(
    assignments: ir.Table, snapshots: ir.Table, strategy: str, start: date, end: date
) -> ir.Table:
    """One row per case assigned within ``[start, end]``: ``case_id``, ``loan_id``,
    ``arm``, ``first_day``, ``cured`` (bool), ``recovered`` (decimal). ``assignments``
    needs ``as_of, case_id, loan_id, strategy, arm``; ``snapshots`` (all days of the
    window) ``as_of, loan_id, dpd, paid_today``. Unexecuted."""
    a = assignments.filter(
        (assignments.strategy == strategy)
        & (assignments.as_of >= start)
        & (assignments.as_of <= end)
    )
    cases = a.group_by(["case_id", "loan_id"]).aggregate(
        arm=a.arm.argmin(a.as_of), first_day=a.as_of.min()
    )
    final = snapshots.filter(snapshots.as_of == end)
    final = final.select(end_loan=final.loan_id, cured=final.dpd == 0)
    window = snapshots.filter((snapshots.as_of > start) & (snapshots.as_of <= end))
    paid = window.join(cases, window.loan_id == cases.loan_id).filter(
        lambda t: t.as_of > t.first_day
    )
    paid = paid.group_by("case_id").aggregate(recovered=paid.paid_today.sum())
    paid = paid.rename(paid_case="case_id")
    out = cases.left_join(final, cases.loan_id == final.end_loan).left_join(
        paid, cases.case_id == paid.paid_case
    )
    return out.select(
        "case_id",
        "loan_id",
        "arm",
        "first_day",
        cured=out.cured.fill_null(False),
        recovered=out.recovered.fill_null(0).cast("decimal(18, 2)"),
    ).order_by("case_id")


@dataclass(frozen=True)
class ArmOutcome:
    arm: str
    cases: int
    cured: int
    cure_rate: Decimal
    cure_ci: tuple[Decimal, Decimal]
    recovered_total: Decimal
    recovered_mean: Decimal
    recovered_ci: tuple[Decimal, Decimal]


@dataclass(frozen=True)
class Comparison:
    """``arm`` minus the champion: cure-rate points and mean recovered per case."""

    arm: str
    cure_diff: Decimal
    cure_diff_ci: tuple[Decimal, Decimal]
    recovered_diff: Decimal
    recovered_diff_ci: tuple[Decimal, Decimal]


@dataclass(frozen=True)
class Readout:
    strategy: str
    start: date
    end: date
    champion: str
    level: float
    arms: list[ArmOutcome]
    comparisons: list[Comparison]


def _q(value: Decimal, unit: Decimal) -> Decimal:
    return value.quantize(unit)


def summarize(
    outcomes: list[dict],
    strategy: str,
    start: date,
    end: date,
    champion: str,
    level: float = 0.95,
) -> Readout:
    """The readout of executed ``case_outcomes`` rows (dicts with ``arm``, ``cured``,
    ``recovered``): rates to 4 places, money to the cent."""
    by_arm: dict[str, list[dict]] = {}
    for row in outcomes:
        by_arm.setdefault(row["arm"], []).append(row)
    names = sorted(by_arm, key=lambda n: (n != champion, n))
    arms = []
    for name in names:
        rows = by_arm[name]
        n, cured = len(rows), sum(1 for r in rows if r["cured"])
        money = [Decimal(r["recovered"]) for r in rows]
        low, high = wilson(cured, n, level)
        m_low, m_high = mean_interval(money, level)
        total = sum(money, Decimal(0))
        arms.append(
            ArmOutcome(
                arm=name,
                cases=n,
                cured=cured,
                cure_rate=_q(Decimal(cured) / n, RATE),
                cure_ci=(_q(low, RATE), _q(high, RATE)),
                recovered_total=_q(total, CENT),
                recovered_mean=_q(total / n, CENT),
                recovered_ci=(_q(m_low, CENT), _q(m_high, CENT)),
            )
        )
    comparisons = []
    base = by_arm.get(champion)
    if base:
        base_money = [Decimal(r["recovered"]) for r in base]
        base_cured = sum(1 for r in base if r["cured"])
        for name in names:
            if name == champion:
                continue
            rows = by_arm[name]
            money = [Decimal(r["recovered"]) for r in rows]
            cured = sum(1 for r in rows if r["cured"])
            low, high = newcombe(base_cured, len(base), cured, len(rows), level)
            d_low, d_high = welch_interval(base_money, money, level)
            diff = Decimal(cured) / len(rows) - Decimal(base_cured) / len(base)
            mean_diff = sum(money, Decimal(0)) / len(money) - sum(base_money, Decimal(0)) / len(
                base_money
            )
            comparisons.append(
                Comparison(
                    arm=name,
                    cure_diff=_q(diff, RATE),
                    cure_diff_ci=(_q(low, RATE), _q(high, RATE)),
                    recovered_diff=_q(mean_diff, CENT),
                    recovered_diff_ci=(_q(d_low, CENT), _q(d_high, CENT)),
                )
            )
    return Readout(strategy, start, end, champion, level, arms, comparisons)


def readout(
    assignments: ir.Table,
    snapshots: ir.Table,
    strategy: str,
    start: date,
    end: date,
    champion: str,
    level: float = 0.95,
) -> Readout:
    """Compare the arms of ``strategy`` over ``[start, end]`` (executes the Ibis
    outcomes once, then computes the intervals in Decimal)."""
    rows = case_outcomes(assignments, snapshots, strategy, start, end).to_pyarrow().to_pylist()
    return summarize(rows, strategy, start, end, champion, level)

"""The evaluated table and the segment of each loan, as Ibis expressions.

``prepare`` joins one day's snapshot with the caller's input table (one row per loan)
and gives every input column a value (typed null or its default when the caller has
none), so the rest of the evaluation can rely on the columns below existing:

| column | type | meaning | when absent |
|---|---|---|---|
| ``case_id`` | int64 | the open collection case of the loan | null |
| ``customer_type`` | string | individual / sme / corporate | null |
| ``time_zone`` | string | IANA zone of the debtor | null |
| ``language`` | string | zh_CN / en | null |
| ``willingness`` | string | willing_but_unable / able_but_unwilling / malicious | ``unknown`` |
| ``promise_active`` | boolean | a promise to pay (承诺还款) is running | false |
| ``days_to_due`` | int64 | days from as-of to the next installment due date | null |
| ``days_since_last_payment`` | int64 | days since the last payment (0 = on as-of) | see below |
| ``score_<model>`` | number | a model's score (points), e.g. ``score_behaviour`` | — |

Without ``days_since_last_payment`` it is 0 when the snapshot's ``paid_today`` > 0,
else null (unknown). Active loans are evaluated, and loans in recovery: charged off by
their product's rule, their case still worked, given rows of status ``recovery`` with
their shadow balances as the amount overdue
(``arrears.services.strategy_inputs.recovery_rows``). Any other input column is
carried along and can be used by ``when.columns`` conditions (``status`` too: a
segment of its own for loans in recovery).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import ibis

from arrears.strategy.conditions import predicate
from arrears.strategy.model import Strategy, Tiers

if TYPE_CHECKING:
    import ibis.expr.types as ir

INPUT_COLUMNS: dict[str, str] = {
    "case_id": "int64",
    "customer_type": "string",
    "time_zone": "string",
    "language": "string",
    "willingness": "string",
    "promise_active": "boolean",
    "days_to_due": "int64",
    "days_since_last_payment": "int64",
}
DEFAULT_AMOUNT_COLUMN = "overdue_amount"
# the status of a loan in recovery in the evaluated table; with "active", what is evaluated
RECOVERY = "recovery"
EVALUATED = ("active", RECOVERY)


def _literal(value: Decimal) -> int | Decimal:
    # whole edges as integers: compare cleanly with integer score columns on every engine
    return int(value) if value == value.to_integral_value() else value


def prepare(snapshot: ir.Table, inputs: ir.Table | None = None) -> ir.Table:
    """Active loans and loans in recovery (``EVALUATED``) of ``snapshot`` left-joined
    with ``inputs`` (by ``loan_id``), with every column of ``INPUT_COLUMNS`` present
    (see the module docstring for defaults)."""
    t = snapshot.filter(snapshot.status.isin(EVALUATED))
    if inputs is not None:
        keep = [c for c in inputs.columns if c not in t.columns or c == "loan_id"]
        right = inputs.select(keep)
        t = t.left_join(right, "loan_id").select(t, *[right[c] for c in keep if c != "loan_id"])
    fills = {}
    for column, dtype in INPUT_COLUMNS.items():
        if column not in t.columns:
            fills[column] = ibis.null(dtype)
    if fills:
        t = t.mutate(**fills)
    paid_today = (t.paid_today > 0).fill_null(False)
    return t.mutate(
        willingness=t.willingness.fill_null("unknown"),
        promise_active=t.promise_active.fill_null(False),
        days_since_last_payment=t.days_since_last_payment.fill_null(
            ibis.ifelse(paid_today, 0, ibis.null("int64"))
        ),
    )


def tier_of(value: ir.NumericValue, tiers: Tiers) -> ir.StringValue:
    """The name of the first tier whose upper edge ``below`` the value is under (the
    last tier has none); null for a null value. Edges: ``[lower, below)``."""
    branches = [(value < _literal(t.below), t.name) for t in tiers.tiers[:-1] if t.below]
    named = ibis.cases(*branches, else_=tiers.tiers[-1].name)
    return ibis.ifelse(value.isnull(), ibis.null("string"), named)


def with_bands(t: ir.Table, strategy: Strategy) -> ir.Table:
    """``t`` with ``amount_tier`` and ``score_band`` (null when the strategy defines
    none or the score column is missing) and ``amount``: the strategy's amount column."""
    amount_column = strategy.amount_tiers.column if strategy.amount_tiers else None
    amount = t[amount_column or DEFAULT_AMOUNT_COLUMN]
    bands = strategy.score_bands
    score_band = (
        tier_of(t[bands.column], bands)
        if bands is not None and bands.column in t.columns
        else ibis.null("string")
    )
    tier = tier_of(amount, strategy.amount_tiers) if strategy.amount_tiers else ibis.null("string")
    return t.mutate(amount=amount, amount_tier=tier, score_band=score_band)


def segment_of(t: ir.Table, strategy: Strategy) -> ir.StringValue:
    """The name of the first segment whose conditions all hold (``t`` must have the
    columns of ``with_bands``); the first catch-all takes the rest."""
    branches = []
    for segment in strategy.segments:
        if segment.is_catch_all:
            return (
                ibis.cases(*branches, else_=segment.name)
                if branches
                else ibis.literal(segment.name)
            )
        branches.append((predicate(t, segment.when), segment.name))
    raise ValueError(f"strategy {strategy.name!r} has no catch-all segment")


def columns_read(strategy: Strategy) -> set[str]:
    """The input columns the strategy's conditions read, the columns of its amount
    tiers and score bands included (``score_<model>`` for a model's score)."""
    wanted = {c.column for s in strategy.segments for c in s.when}
    wanted |= {c.column for lad in strategy.ladders.values() for st in lad.steps for c in st.when}
    wanted -= {"amount_tier", "score_band"}
    for tiers in (strategy.amount_tiers, strategy.score_bands):
        if tiers is not None:
            wanted.add(tiers.column)
    return wanted


def missing_columns(t: ir.Table, strategy: Strategy) -> list[str]:
    """Columns the strategy reads that ``t`` lacks (conditions on them never hold;
    a missing score column leaves every ``score_band`` null)."""
    return sorted(c for c in columns_read(strategy) if c not in t.columns)

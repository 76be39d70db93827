"""Which ladder step fires for a loan on a day — the firing rule, as Ibis expressions.

A loan's *position* on its ladder: its DPD when overdue, else minus the days to its
next due date (``days_to_due``). Steps are of two kinds:

* **pre-due and due-day steps** (``offset <= 0``) are *sent* ``-offset`` days before
  an instalment's due date: D-3 reaches the debtor three days before, the due-day
  step on the due date itself. The treatments of day D are decided after the close of
  D and sent on D+1 (``proposed_actions``), so such a step fires on the day before its
  send day: the loan is current (DPD 0) and ``days_to_due == 1 - offset`` (D-3 fires
  when the instalment is four days away, the due-day step when it is one day away). The
  message names that instalment (due on ``send_on - offset``), never the next one.
  They need no history: that day comes once per installment.
* **overdue steps** (``offset >= 1``) climb a ladder. The loan's *rung* is the largest
  offset among its applicable steps with ``offset <= DPD``. A step of the rung fires
  once per case: not if the case's step history already holds it. A case that enters
  late (first seen at DPD 20) starts at the rung it reached and does not get the
  earlier, outdated steps. Each case restarts the ladder (history is per case).

A step is *applicable* when its ``min_amount`` and ``when`` conditions hold; it is
*skipped today* (and may fire on a later day while still on the rung) when a promise is
active (``skip_if_promise_active``, default true) or a payment came within the last
``skip_if_paid_within_days`` days (``days_since_last_payment < N``).

Of the steps that fire, a loan gets **at most one per day**: the lowest ``priority``,
then the earlier in the ladder. The others of the same rung follow on later days (each
once). Holdout arms have no ladder and get nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from arrears.strategy.conditions import predicate
from arrears.strategy.model import Strategy
from arrears.strategy.segments import _literal

if TYPE_CHECKING:
    import ibis.expr.types as ir

# The treatments of a closed day are sent this many days later (``proposed_actions``).
SEND_DELAY_DAYS = 1

PLAN_SCHEMA = {
    "plan_ladder": "string",
    "step": "string",
    "step_order": "int32",
    "offset": "int32",
    "channel": "string",
    "contact_channel": "string",
    "template": "string",
    "script": "string",
    "priority": "int32",
    "send_at_local_hour": "int32",
    "skip_if_promise_active": "boolean",
    "skip_if_paid_within_days": "int32",
}


def plan(strategy: Strategy) -> ir.Table:
    """Every step of every ladder as one row (a small in-memory table; ``script``,
    ``contact_channel`` and ``skip_if_paid_within_days`` null when the step has none)."""
    rows = {name: [] for name in PLAN_SCHEMA}
    for ladder in strategy.ladders.values():
        for order, step in enumerate(ladder.steps):
            values = (
                ladder.name,
                step.name,
                order,
                step.offset,
                step.channel,
                step.contact_channel or "",
                step.template,
                step.script or "",
                step.priority,
                step.send_hour,
                step.skip_if_promise_active,
                step.skip_if_paid_within_days or 0,
            )
            for name, value in zip(PLAN_SCHEMA, values, strict=True):
                rows[name].append(value)
    import pyarrow as pa

    schema = ibis.schema(PLAN_SCHEMA).to_pyarrow()
    table = ibis.memtable(pa.table(rows, schema=schema))
    # the table holds no nulls ("" and 0 stand for none): Spark's in-memory tables go
    # through pandas, which would turn a null into NaN / "NaN"
    return table.mutate(
        contact_channel=table.contact_channel.nullif(""),
        script=table.script.nullif(""),
        skip_if_paid_within_days=table.skip_if_paid_within_days.nullif(0),
    )


def applicable(t: ir.Table, strategy: Strategy) -> ir.BooleanValue:
    """Each (loan, step) row's ``min_amount`` and ``when`` conditions hold."""
    branches = []
    for ladder in strategy.ladders.values():
        for step in ladder.steps:
            test = predicate(t, step.when)
            if step.min_amount is not None:
                test = test & (t.amount >= _literal(step.min_amount)).fill_null(False)
            if step.when or step.min_amount is not None:
                branches.append(((t.plan_ladder == ladder.name) & (t.step == step.name), test))
    return ibis.cases(*branches, else_=True) if branches else ibis.literal(True)


def skipped_today(t: ir.Table) -> ir.BooleanValue:
    """The step's skip conditions hold today (promise running, paid recently)."""
    promise = t.skip_if_promise_active & t.promise_active
    paid = (t.days_since_last_payment < t.skip_if_paid_within_days).fill_null(False)
    return (promise | paid).fill_null(False)


def due_steps(t: ir.Table, strategy: Strategy, history: ir.Table | None = None) -> ir.Table:
    """The step each loan of the assigned table ``t`` gets today (at most one per
    loan), by the rule in this module's docstring. ``history`` holds the steps already
    given: columns ``loan_id``, ``case_id`` (nullable), ``step`` and optionally
    ``strategy`` (other strategies' rows are ignored). Unexecuted."""
    steps = plan(strategy)
    cand = t.filter(t.ladder.notnull()).join(steps, t.ladder == steps.plan_ladder)
    cand = cand.filter(applicable(cand, strategy))
    # sent on the next day, -offset days before the due date (module docstring)
    pre_due = cand.filter(
        (cand.offset <= 0) & (cand.dpd == 0) & (cand.days_to_due == SEND_DELAY_DAYS - cand.offset)
    )
    overdue = cand.filter((cand.offset >= 1) & (cand.offset <= cand.dpd))
    rung = overdue.offset.max().over(ibis.window(group_by="loan_id"))
    overdue = overdue.mutate(rung=rung)
    overdue = overdue.filter(overdue.offset == overdue.rung).drop("rung")
    if history is not None:
        if "strategy" in history.columns:
            history = history.filter(history.strategy == strategy.name)
        done = history.select(
            done_loan=history.loan_id,
            done_case=history.case_id.cast("int64").fill_null(-1),
            done_step=history.step,
        ).distinct()
        overdue = overdue.anti_join(
            done,
            [
                overdue.loan_id == done.done_loan,
                overdue.case_id.fill_null(-1) == done.done_case,
                overdue.step == done.done_step,
            ],
        )
    fired = pre_due.union(overdue)
    fired = fired.filter(~skipped_today(fired))
    first = ibis.row_number().over(
        ibis.window(group_by="loan_id", order_by=[fired.priority, fired.step_order])
    )
    fired = fired.mutate(pick=first)
    return fired.filter(fired.pick == 0).drop("pick")

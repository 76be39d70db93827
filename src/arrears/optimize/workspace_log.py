"""LOG.parquet from a workspace's own history (`arrears optimize log`).

One row per day ``d`` and open case the strategy assigned that day
(``strategy_assignments``), whose 14 following days are all closed:

* ``action``: the contact the strategy's step made — its channel when the gate allowed
  the attempt (``lawyer_letter`` counts as ``letter``), else ``none`` (no step that
  day, a blocked step, or a step that is not a contact of the contract: ``push``,
  ``agency``, ``litigation``);
* ``propensity``: the probability that the logging policy took that action for that
  row. The strategy is deterministic given the arm; the arm is a hash of the customer,
  drawn with the arms' shares. So the propensity is the sum of the shares of the arms
  whose ladder gives the same action on that row: each arm's proposal is computed by
  the real strategy engine on the day's snapshot with every case in that arm (the case's
  real step history; a counterfactual arm's contact is taken as allowed unless it is the
  very attempt the gate blocked). A holdout arm's action is ``none``;
* features from the snapshot of ``d`` (``dpd``; ``balance`` = principal outstanding +
  interest due + penalty + compound + fee; ``amount_overdue``), ``months_on_book`` from
  the disbursement, ``score`` (null: the workspace's scores are points, not a
  probability), ``contacts_30d`` (allowed contacts, any source, in the 30 days to ``d``),
  ``promises_broken_90d``, ``paid_90d`` (payments in the 90 days to ``d``), channel
  availability (a mobile, an email, an address on file), ``segment`` (the strategy's);
* ``cost``: the action's cost from COSTS.toml; ``paid_14d``: payments on ``d+1 … d+14``
  (the step's contact goes out on ``d+1``).

Extra columns: ``arm``, ``step``, ``blocked`` (the step was proposed and blocked).

The honest limit is **positivity**: only what the arms disagree on is randomised. With
the default strategy (champion 0.8, fast_call 0.15, holdout 0.05) most rows have the
ladder's action at propensity 0.95 and ``none`` at 0.05; every other action has
propensity 0 there, so nothing in the log says what it would have done. ``positivity``
in the summary counts the rows by the number of actions with a positive propensity.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa

from arrears.optimize.schema import ACTIONS, Costs, OptimizeInputError
from arrears.snapshots import read_snapshot, scan_snapshots
from arrears.workspace import Workspace

HORIZON_DAYS = 14
# the strategy's channels that are actions of the contract (others: none)
ACTION_OF_CHANNEL = {
    "sms": "sms",
    "email": "email",
    "call": "call",
    "letter": "letter",
    "lawyer_letter": "letter",
    "visit": "visit",
}
DAYS_PER_MONTH = 30.4375


def as_date(value: Any) -> date:
    """A date from what a raw query returns: a date, a datetime (PostgreSQL) or the text
    SQLite keeps (``YYYY-MM-DD…``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def money_reader(ws: Workspace) -> Any:
    """A raw query's money column (``arrears.store.types.Money``) as a float amount:
    SQLite keeps integer cents, PostgreSQL a NUMERIC of the amount."""
    if ws.engine.dialect.name == "sqlite":
        return lambda value: int(value) / 100
    return float


def _action(channel: str | None) -> str:
    return ACTION_OF_CHANNEL.get(channel or "", "none")


def _arm_actions(ws: Workspace, strategy: Any, day: date) -> dict[str, dict[str, str]]:
    """Per non-holdout arm: loan_id → the action that arm's ladder proposes after the
    close of ``day`` (loans it proposes nothing for are left out)."""
    import ibis

    from arrears.services.strategy_inputs import day_inputs, step_history
    from arrears.strategy import proposed_actions

    con = ibis.duckdb.connect()
    try:
        snapshot = scan_snapshots(con, ws.snapshots_dir, [day])
        inputs = con.create_table("strategy_inputs", day_inputs(ws, day))
        history = con.create_table("step_history", step_history(ws, day))
        out: dict[str, dict[str, str]] = {}
        for arm in strategy.arms:
            if arm.holdout:
                continue
            alone = dataclasses.replace(
                strategy, arms=(dataclasses.replace(arm, share=Decimal(1)),)
            )
            table = proposed_actions(snapshot, inputs, alone, day, history).to_pyarrow()
            out[arm.name] = {
                lid: _action(ch)
                for lid, ch in zip(
                    table.column("loan_id").to_pylist(),
                    table.column("channel").to_pylist(),
                    strict=True,
                )
            }
    finally:
        con.disconnect()
    return out


def _query(ws: Workspace, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    with ws.engine.connect() as conn:
        return list(conn.execute(text(sql), params).all())


def _daily_sums(rows: list[Any], first: date, last: date) -> dict[str, np.ndarray]:
    """loan_id → amounts per day from ``first`` to ``last`` (rows: loan_id, day, amount)."""
    n = (last - first).days + 1
    out: dict[str, np.ndarray] = {}
    for loan_id, day, amount in rows:
        i = (as_date(day) - first).days
        if 0 <= i < n:
            out.setdefault(loan_id, np.zeros(n))[i] += float(amount)
    return out


def _window(series: dict[str, np.ndarray], loan_id: str, lo: int, hi: int) -> float:
    values = series.get(loan_id)
    if values is None:
        return 0.0
    return float(values[max(lo, 0) : max(hi, 0)].sum())


@dataclasses.dataclass
class WorkspaceLog:
    table: pa.Table
    summary: dict[str, Any]


def build_log(ws: Workspace, costs: Costs, strategy_file: Any = None) -> WorkspaceLog:
    """The LOG.parquet table of ``ws`` (see the module docstring) and its summary."""
    from arrears.strategy import load_strategy

    strategy = load_strategy(strategy_file, ws.root)
    closed = ws.snapshot_dates()
    if not closed:
        raise OptimizeInputError(f"{ws.root}: no snapshots: close some days first")
    last_closed = closed[-1]
    assigned = _query(
        ws,
        "select as_of, case_id, customer_id, loan_id, arm, segment, step, channel "
        "from strategy_assignments where strategy = :s order by as_of, loan_id",
        s=strategy.name,
    )
    days = sorted({as_date(r.as_of) for r in assigned})
    usable = [
        d
        for d in days
        if d + timedelta(days=HORIZON_DAYS) <= last_closed and ws.snapshot_path(d).exists()
    ]
    if not usable:
        raise OptimizeInputError(
            f"{ws.root}: no day of strategy {strategy.name!r} with its {HORIZON_DAYS} "
            f"following days closed (treated days: {len(days)}, last close {last_closed}). "
            f"Close and treat more days (the demo: `arrears demo --days 30`), or write a "
            f"simulated log with randomised actions from the workspace's twin: `arrears "
            f"simulate -w {ws.root} --days 30 --seeds 1 --log LOG.parquet`"
        )
    first = usable[0] - timedelta(days=90)
    last = usable[-1] + timedelta(days=HORIZON_DAYS)

    def daily(sql: str) -> dict[str, np.ndarray]:
        # rows (loan_id, day[, amount]): an amount per day, or a count where none is given
        rows = _query(ws, sql, a=first, b=last)
        amount = money_reader(ws)
        return _daily_sums(
            [(r[0], r[1], amount(r[2]) if len(r) > 2 else 1) for r in rows], first, last
        )

    pays = daily(
        "select loan_id, paid_on, amount from payments where paid_on >= :a and paid_on <= :b"
    )
    contacts = daily(
        "select loan_id, at from contact_attempts where allowed and loan_id is not null "
        "and at >= :a and at < :b"
    )
    broken = daily(
        "select loan_id, settled_on from promises where status = 'broken' "
        "and settled_on >= :a and settled_on <= :b"
    )
    blocked_ids = {
        r[0]
        for r in _query(
            ws,
            "select attempt_id from contact_attempts where source = 'strategy' and not allowed",
        )
    }
    loans = {
        r[0]: (r[1], r[2], r[3], r[4])
        for r in _query(
            ws,
            "select l.loan_id, l.disbursed_on, c.mobile, c.email, c.address "
            "from loans l join customers c on c.customer_id = l.customer_id",
        )
    }
    shares = {a.name: float(a.share) for a in strategy.arms}
    holdout = {a.name for a in strategy.arms if a.holdout}
    by_day: dict[date, list[Any]] = {}
    for r in assigned:
        d = as_date(r.as_of)
        if d in usable:
            by_day.setdefault(d, []).append(r)
    cost = {a: float(costs.cost[a]) for a in ACTIONS}
    out: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for d in usable:
        snap = read_snapshot(ws.snapshots_dir, d).to_pandas().set_index("loan_id")
        arm_actions = _arm_actions(ws, strategy, d)
        i = (d - first).days
        for r in by_day[d]:
            if r.loan_id not in snap.index:
                continue
            s = snap.loc[r.loan_id]
            key = f"{d.isoformat()}:{strategy.name}:{r.loan_id}:{r.step}"
            was_blocked = r.step is not None and key in blocked_ids
            action = "none" if was_blocked or r.arm in holdout else _action(r.channel)
            propensity = 0.0
            for arm, share in shares.items():
                if arm in holdout:
                    theirs = "none"
                elif arm == r.arm:
                    theirs = action
                else:
                    theirs = arm_actions.get(arm, {}).get(r.loan_id, "none")
                    if was_blocked and theirs == _action(r.channel):
                        theirs = "none"  # the same attempt, blocked the same way
                propensity += share * (theirs == action)
            disbursed, mobile, email, address = loans[r.loan_id]
            disbursed = as_date(disbursed)
            balance = sum(
                Decimal(s[c])
                for c in ("principal_outstanding", "interest_due", "penalty", "compound", "fee")
            )
            out["account_id"].append(r.loan_id)
            out["day"].append(d)
            out["dpd"].append(int(s["dpd"]))
            out["balance"].append(float(balance))
            out["amount_overdue"].append(float(s["overdue_amount"]))
            out["months_on_book"].append(int((d - disbursed).days / DAYS_PER_MONTH))
            out["score"].append(None)
            out["contacts_30d"].append(int(_window(contacts, r.loan_id, i - 29, i + 1)))
            out["promises_broken_90d"].append(int(_window(broken, r.loan_id, i - 89, i + 1)))
            out["paid_90d"].append(_window(pays, r.loan_id, i - 89, i + 1))
            out["has_phone"].append(bool(mobile))
            out["has_email"].append(bool(email))
            out["has_address"].append(bool(address))
            out["segment"].append(r.segment)
            out["action"].append(action)
            out["propensity"].append(min(1.0, round(propensity, 12)))
            out["cost"].append(cost[action])
            out["paid_14d"].append(_window(pays, r.loan_id, i + 1, i + 1 + HORIZON_DAYS))
            out["arm"].append(r.arm)
            out["step"].append(r.step)
            out["blocked"].append(was_blocked)
    table = pa.table({k: pa.array(v, _COLUMNS[k]) for k, v in out.items()})
    return WorkspaceLog(table, _summary(table, usable, strategy.name))


_COLUMNS: dict[str, pa.DataType] = {
    "account_id": pa.string(),
    "day": pa.date32(),
    "dpd": pa.int64(),
    "balance": pa.float64(),
    "amount_overdue": pa.float64(),
    "months_on_book": pa.int64(),
    "score": pa.float64(),
    "contacts_30d": pa.int64(),
    "promises_broken_90d": pa.int64(),
    "paid_90d": pa.float64(),
    "has_phone": pa.bool_(),
    "has_email": pa.bool_(),
    "has_address": pa.bool_(),
    "segment": pa.string(),
    "action": pa.string(),
    "propensity": pa.float64(),
    "cost": pa.float64(),
    "paid_14d": pa.float64(),
    "arm": pa.string(),
    "step": pa.string(),
    "blocked": pa.bool_(),
}


def _summary(table: pa.Table, days: list[date], strategy: str) -> dict[str, Any]:
    actions = Counter(table.column("action").to_pylist())
    propensity = np.asarray(table.column("propensity").to_numpy())
    return {
        "strategy": strategy,
        "rows": table.num_rows,
        "days": [days[0].isoformat(), days[-1].isoformat(), len(days)],
        "actions": {a: actions.get(a, 0) for a in ACTIONS},
        "propensity": {
            "1 (no randomisation)": int((propensity >= 1 - 1e-9).sum()),
            "below 1": int((propensity < 1 - 1e-9).sum()),
            "min": float(propensity.min()) if len(propensity) else None,
        },
        "positivity": (
            "only the arms' disagreements are randomised: an action no arm proposes for a "
            "row has propensity 0 there, and the log cannot say what it would have done"
        ),
        "too_rare_to_learn": [a for a in ACTIONS if actions.get(a, 0) < 50],
    }

"""Arms of ``arrears simulate`` that decide per open case: a randomised logging arm
(the champion's strategy, each decision replaced with a known probability by a uniform
draw among the actions the account can receive) whose decisions are written as a
simulated LOG.parquet, and an optimizer policy (``arrears optimize learn``'s POLICY_DIR)
that assigns one action per open case a day under COSTS.toml's capacities and a daily
budget.

Both see each open case through the contract's features (``arrears.optimize.schema``),
built from the simulated book: ``dpd``, ``balance`` (principal outstanding + interest
due + penalty + compound + fee), ``amount_overdue``, ``months_on_book`` (from the
disbursement), ``score`` (null), ``contacts_30d`` (allowed contacts, the store's before
the start and the simulated ones after), ``promises_broken_90d``, ``paid_90d``, channel
availability (a mobile, an email, an address on file) and the strategy's ``segment``.
Their contacts go through the twin's call capacity and the same compliance gate as the
strategies' (``treatments.strategy_attempt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arrears.optimize.schema import ACTIONS, Costs, accounts_from_table
from arrears.optimize.workspace_log import (
    _COLUMNS,
    ACTION_OF_CHANNEL,
    DAYS_PER_MONTH,
    HORIZON_DAYS,
    as_date,
    money_reader,
)

# a decided contact the strategy did not propose goes out at this local hour, with this
# priority among the day's calls (the default strategy's steps use 9-14 and 20-60)
SEND_HOUR = 10
PRIORITY = 45
SIMULATED_NOTE = (
    "a simulated log: the decisions of a randomised logging arm in arrears simulate "
    "(the champion's strategy, each open case's action replaced with probability "
    "'explore' by a uniform draw among the actions the account can receive, none "
    "included); propensity is that known probability; paid_14d is the twin's own "
    "payments, drawn from the response model fitted on the workspace's history. What a "
    "policy learns from it is what the response model says, not evidence about debtors."
)


@dataclass
class Prior:
    """The store's history before the start: per loan, allowed contact days, payments
    and broken promises (day numbers), and each loan's disbursement day number."""

    contacts: dict[str, list[int]] = field(default_factory=dict)
    payments: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # day, cents
    broken: dict[str, list[int]] = field(default_factory=dict)


def load_prior(ws: Any, start: date) -> Prior:
    """Allowed contacts in the 30 days, payments and broken promises in the 90 days to
    ``start`` (inclusive)."""
    from sqlalchemy import text

    from arrears.batch.state import day_number

    money = money_reader(ws)
    first90, first30 = start - timedelta(days=89), start - timedelta(days=29)
    prior = Prior()
    with ws.engine.connect() as conn:
        for loan_id, at in conn.execute(
            text(
                "select loan_id, at from contact_attempts where allowed and loan_id is not null "
                "and at >= :a"
            ),
            {"a": first30},
        ):
            d = as_date(at)
            if d <= start:
                prior.contacts.setdefault(loan_id, []).append(day_number(d))
        for loan_id, on, amount in conn.execute(
            text(
                "select loan_id, paid_on, amount from payments where paid_on >= :a "
                "and paid_on <= :b"
            ),
            {"a": first90, "b": start},
        ):
            cents = round(money(amount) * 100)
            prior.payments.setdefault(loan_id, []).append((day_number(as_date(on)), cents))
        for loan_id, on in conn.execute(
            text(
                "select loan_id, settled_on from promises where status = 'broken' "
                "and settled_on >= :a and settled_on <= :b"
            ),
            {"a": first90, "b": start},
        ):
            prior.broken.setdefault(loan_id, []).append(day_number(as_date(on)))
    return prior


class History:
    """One arm's running per-loan history: the prior's, then the simulated days'."""

    def __init__(self, prior: Prior) -> None:
        self.contacts = {k: list(v) for k, v in prior.contacts.items()}
        self.payments = {k: list(v) for k, v in prior.payments.items()}
        self.broken = {k: list(v) for k, v in prior.broken.items()}

    def count(self, series: dict[str, list[int]], loan_id: str, lo: int, hi: int) -> int:
        return sum(1 for d in series.get(loan_id, ()) if lo <= d <= hi)

    def paid(self, loan_id: str, lo: int, hi: int) -> int:
        return sum(c for d, c in self.payments.get(loan_id, ()) if lo <= d <= hi)


def features(
    day: date,
    accounts: pa.Table,
    index: np.ndarray,
    customers: dict[str, Any],
    segment_of: dict[str, str],
    history: History,
) -> pa.Table:
    """The contract's feature columns (``day`` included) of the accounts at ``index``
    of the batch ``accounts`` table after the close of ``day``."""
    from arrears.batch.state import day_number

    n = day_number(day)

    def cents(name: str) -> np.ndarray:
        values: np.ndarray = np.asarray(accounts.column(name).to_numpy())[index]
        return values

    take = pa.array(np.asarray(index, np.int64))
    loan_ids = accounts.column("loan_id").take(take).to_pylist()
    cust = [customers[c] for c in accounts.column("customer_id").take(take).to_pylist()]
    overdue = (
        cents("overdue_principal")
        + cents("overdue_interest")
        + cents("penalty")
        + cents("compound")
        + cents("fee")
    )
    balance = (
        cents("not_due")
        + cents("principal_due")
        + cents("interest_due")
        + cents("penalty")
        + cents("compound")
        + cents("fee")
    )
    disbursed = cents("disbursed").astype(np.int64)
    columns: dict[str, list[Any] | np.ndarray] = {
        "account_id": loan_ids,
        "day": [day] * len(index),
        "dpd": cents("dpd").astype(np.int64),
        "balance": balance / 100.0,
        "amount_overdue": overdue / 100.0,
        "months_on_book": np.maximum((n - disbursed) / DAYS_PER_MONTH, 0).astype(np.int64),
        "score": [None] * len(index),
        "contacts_30d": [history.count(history.contacts, lid, n - 29, n) for lid in loan_ids],
        "promises_broken_90d": [history.count(history.broken, lid, n - 89, n) for lid in loan_ids],
        "paid_90d": [history.paid(lid, n - 89, n) / 100.0 for lid in loan_ids],
        "has_phone": [bool(c.mobile) for c in cust],
        "has_email": [bool(c.email) for c in cust],
        "has_address": [bool(c.address) for c in cust],
        "segment": [segment_of.get(lid, "(none)") for lid in loan_ids],
    }
    return pa.table({k: pa.array(v, _COLUMNS[k]) for k, v in columns.items()})


def strategy_action(proposal: dict[str, Any] | None) -> str:
    """The contract's action of the strategy's proposal for a case (``none`` for no
    proposal or one that is not a contact of the contract: push, agency …)."""
    if proposal is None:
        return "none"
    return ACTION_OF_CHANNEL.get(proposal["channel"] or "", "none")


def explore(
    ladder: list[str], available: np.ndarray, share: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per open case: with probability ``1 - share`` the strategy's action (``ladder``,
    ``none`` where the account cannot receive it), else a uniform draw among the actions
    it can receive (``none`` included). Returns the action index and its propensity (the
    probability of the chosen action under this randomisation)."""
    n = len(ladder)
    base = np.array([ACTIONS.index(a) for a in ladder], np.int64)
    base = np.where(available[np.arange(n), base], base, 0)
    k = available.sum(axis=1)
    draw = rng.random((2, n))
    random_pick = np.empty(n, np.int64)
    for i in range(n):
        options = np.flatnonzero(available[i])
        random_pick[i] = options[min(int(draw[1, i] * len(options)), len(options) - 1)]
    chosen = np.where(draw[0] < share, random_pick, base)
    propensity: np.ndarray = share / k + (1 - share) * (chosen == base)
    return chosen, propensity


def policy_actions(
    policy: Any, table: pa.Table, costs: Costs, budget: Decimal | None
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """The policy's action per row of ``table`` (the contract's features): the MIP of
    ``optimize assign`` under ``budget`` and COSTS.toml's capacities, or without a
    budget each account's best available action net of cost (within the capacities)."""
    from arrears.optimize.assign import assign

    accounts = accounts_from_table(table, Path("<simulated day>"))
    uplift = policy.uplift_money(accounts)
    available = accounts.available()
    if budget is None:
        budget = Decimal(10) ** 15  # no budget: only the capacities bind
    result = assign(uplift, available, costs, budget)
    return result.action, result.summary()


@dataclass
class LogRecorder:
    """The rows of a simulated LOG.parquet for one arm and seed: decisions with their
    features and propensities, then each row's cost (charged when the contact was made)
    and paid_14d once the 14 days are simulated."""

    seed: int
    explore: float
    tables: list[pa.Table] = field(default_factory=list)
    decided: list[tuple[int, str, str, float]] = field(default_factory=list)
    # (day number, loan_id, action, propensity), in the rows' order
    outcome: dict[tuple[int, str], str] = field(default_factory=dict)
    cost_of: dict[tuple[int, str], float] = field(default_factory=dict)

    def add(self, day_n: int, table: pa.Table, actions: np.ndarray, propensity: np.ndarray) -> None:
        self.tables.append(table)
        for lid, j, p in zip(
            table.column("account_id").to_pylist(), actions, propensity, strict=True
        ):
            self.decided.append((day_n, lid, ACTIONS[int(j)], float(p)))

    def table(self, history: History, last_day: int, costs: dict[str, Decimal]) -> pa.Table:
        """Rows whose 14 following days were simulated (day + 14 <= ``last_day``)."""
        if not self.tables:
            return _empty()
        features_table = pa.concat_tables(self.tables)
        keep = np.array([d + HORIZON_DAYS <= last_day for d, *_ in self.decided], bool)
        actions = [a for _, _, a, _ in self.decided]
        status = [self.outcome.get((d, lid), "made") for d, lid, a, _ in self.decided]
        made = [a != "none" and s == "made" for a, s in zip(actions, status, strict=True)]
        out = features_table.append_column("action", pa.array(actions, pa.string()))
        out = out.append_column("propensity", pa.array([p for *_, p in self.decided], pa.float64()))
        out = out.append_column(
            "cost",
            pa.array(
                [float(costs.get(a, 0)) if m else 0.0 for a, m in zip(actions, made, strict=True)],
                pa.float64(),
            ),
        )
        out = out.append_column(
            "paid_14d",
            pa.array(
                [history.paid(lid, d + 1, d + HORIZON_DAYS) / 100.0 for d, lid, *_ in self.decided],
                pa.float64(),
            ),
        )
        out = out.append_column(
            "blocked",
            pa.array(
                [
                    None if s == "made" or a == "none" else s
                    for a, s in zip(actions, status, strict=True)
                ],
                pa.string(),
            ),
        )
        out = out.append_column("seed", pa.array([self.seed] * out.num_rows, pa.int64()))
        out = out.append_column("explore", pa.array([self.explore] * out.num_rows, pa.float64()))
        return out.filter(pa.array(keep))


def _empty() -> pa.Table:
    names = [*[k for k in _COLUMNS if k not in ("arm", "step", "blocked")]]
    schema = pa.schema(
        [(k, _COLUMNS[k]) for k in names]
        + [("blocked", pa.string()), ("seed", pa.int64()), ("explore", pa.float64())]
    )
    return schema.empty_table()


def log_summary(table: pa.Table, explore_share: float, days: int) -> dict[str, Any]:
    from collections import Counter

    actions = Counter(table.column("action").to_pylist())
    return {
        "simulated": True,
        "note": SIMULATED_NOTE,
        "explore": explore_share,
        "rows": table.num_rows,
        "days_logged": len(set(table.column("day").to_pylist())),
        "days_simulated": days,
        "seeds": sorted(set(table.column("seed").to_pylist())),
        "actions": {a: actions.get(a, 0) for a in ACTIONS},
        "blocked": table.num_rows - table.column("blocked").null_count,
        "too_rare_to_learn": [a for a in ACTIONS if actions.get(a, 0) < 50],
    }

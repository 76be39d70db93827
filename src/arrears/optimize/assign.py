"""Assign at most one action per account: maximise the expected collections net of cost
subject to the budget, each action's capacity and availability, as a mixed-integer
program solved by HiGHS (``highspy``).

Variables ``x[i, a]`` in {0, 1} exist only where action ``a`` is available to account
``i`` and its expected uplift net of cost is positive (any other ``x`` would be 0 in an
optimal solution: doing nothing is worth 0 and costs 0). Constraints: one action per
account (``sum_a x[i, a] <= 1``), the budget (``sum c_a x[i, a] <= B``) and per action
``sum_i x[i, a] <= capacity_a``. The assignment structure makes the LP relaxation nearly
integral (at most as many fractional accounts as there are coupling rows), so HiGHS
closes it quickly; it runs under a time limit and the answer reports the objective, the
bound and the relative gap. Should the time run out before an integer solution, the LP
relaxation's integral part is kept (dropping fractional choices keeps every ``<=``
constraint) and the LP's objective is the bound.

The budget is checked again in Decimal on the chosen actions' costs from COSTS.toml; a
choice the solver's float tolerance let over is dropped (the least valuable per unit of
cost first), so the output never spends more than the budget.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from arrears.optimize.schema import ACTIONS, Costs

TIME_LIMIT = 120.0
MIP_GAP = 1e-5
# up to this many variables the whole problem is one MIP; above it, the LP relaxation
# first (HiGHS's simplex and branch and bound slow down past ~10^5 columns)
FULL_MIP_COLUMNS = 20_000
FRACTIONAL = 1e-3


@dataclass(frozen=True)
class Assignment:
    action: np.ndarray  # int index into ACTIONS per account
    expected_uplift: np.ndarray  # net of cost, 0 for none
    objective: float  # sum of expected_uplift
    bound: float  # the solver's upper bound on the objective
    gap: float  # (bound - objective) / max(|objective|, 1e-9)
    total_cost: Decimal
    status: str
    seconds: float
    variables: int

    def summary(self) -> dict[str, object]:
        counts = np.bincount(self.action, minlength=len(ACTIONS))
        return {
            "accounts": len(self.action),
            "actions": {a: int(c) for a, c in zip(ACTIONS, counts, strict=True)},
            "expected_net_uplift": round(self.objective, 2),
            "bound": round(self.bound, 2),
            "gap": self.gap,
            "total_cost": str(self.total_cost),
            "status": self.status,
            "variables": self.variables,
            "seconds": round(self.seconds, 2),
        }


def assign(
    uplift: np.ndarray,
    available: np.ndarray,
    costs: Costs,
    budget: Decimal,
    time_limit: float = TIME_LIMIT,
    full_mip_columns: int = FULL_MIP_COLUMNS,
) -> Assignment:
    """The best assignment for gross ``uplift`` (n, len(ACTIONS), money over ``none``)
    where ``available`` (n, len(ACTIONS) bool) allows it."""

    started = time.perf_counter()
    n = uplift.shape[0]
    cost = costs.cost_vector()
    net = uplift - cost[None, :]
    candidate = available & (net > 0)
    candidate[:, 0] = False
    for j, a in enumerate(ACTIONS):
        if costs.capacity[a] == 0 or cost[j] > float(budget):
            candidate[:, j] = False
    cap = np.array([np.inf if c is None else float(c) for c in costs.capacity.values()])
    candidate = _undominated(candidate, net, cost, cap)
    rows, cols = np.nonzero(candidate)  # row-major: sorted by account
    m = len(rows)
    chosen = np.zeros(n, dtype=np.int64)
    status, bound = "nothing worth doing", 0.0
    best = np.where(candidate, net, -np.inf).argmax(axis=1)
    best[~candidate.any(axis=1)] = 0
    best_counts = np.bincount(best, minlength=len(ACTIONS))[1:]
    if m and float(cost[best].sum()) <= float(budget) and (best_counts <= cap[1:]).all():
        # every account's own best action fits: that is the optimum
        chosen = best
        bound = float(np.where(best > 0, net[np.arange(n), best], 0.0).sum())
        status = "Optimal: every account's best action fits the budget and capacities"
    elif m and m <= full_mip_columns:
        pick, bound, status = _solve(rows, cols, net, cost, float(budget), cap, True, time_limit)
        chosen[rows[pick]] = cols[pick]
    elif m:
        # the LP relaxation (interior point) gives the bound and fixes every account it
        # leaves integral; the few it leaves fractional are a small MIP of what remains
        x, bound, lp_status = _solve(rows, cols, net, cost, float(budget), cap, False, time_limit)
        if x is None:  # no LP solution in time: a feasible answer, with no bound
            chosen = _repair(best, net, cap)
            bound = float("inf")
            status = f"LP relaxation {lp_status.lower()}: best actions cut to the capacities"
            x = np.zeros(m)
        whole = x >= 1 - FRACTIONAL
        chosen[rows[whole]] = cols[whole]
        fractional = (x > FRACTIONAL) & ~whole
        core = np.zeros(n, dtype=bool)
        core[rows[fractional]] = True
        core[rows[whole]] = False
        keep = core[rows]
        spent = float(cost[chosen].sum())
        used = np.bincount(chosen, minlength=len(ACTIONS)).astype(float)
        left = max(time_limit - (time.perf_counter() - started), 1.0)
        pick, _, mip_status = _solve(
            rows[keep], cols[keep], net, cost, max(float(budget) - spent, 0.0),
            np.maximum(cap - used, 0), True, left,
        )  # fmt: skip
        chosen[rows[keep][pick]] = cols[keep][pick]
        if np.isfinite(bound):
            status = (
                f"LP relaxation {lp_status.lower()}; {int(core.sum())} fractional accounts "
                f"solved as a MIP: {mip_status.lower()}"
            )

    chosen = _within_budget(chosen, net, costs, budget)
    expected = np.where(chosen > 0, net[np.arange(n), chosen], 0.0)
    objective = float(expected.sum())
    bound = max(bound, objective)
    total = sum((costs.cost[ACTIONS[j]] for j in chosen[chosen > 0]), Decimal(0))
    gap = (bound - objective) / max(abs(objective), 1e-9)
    return Assignment(
        chosen, expected, objective, bound, float(gap), total, status,
        time.perf_counter() - started, m,
    )  # fmt: skip


def _solve(
    rows: np.ndarray,
    cols: np.ndarray,
    net: np.ndarray,
    cost: np.ndarray,
    budget: float,
    capacity: np.ndarray,
    integer: bool,
    time_limit: float,
) -> tuple[Any, float, str]:
    """Solve the assignment over the candidate pairs ``(rows[k], cols[k])``: as a MIP
    (returns the chosen pairs as a bool mask, the dual bound, the status) or as an LP
    (returns x, the optimal objective, the status)."""
    import highspy

    m = len(rows)
    if m == 0:
        return np.zeros(0, dtype=bool), 0.0, "empty"
    accounts, row_of_account = np.unique(rows, return_inverse=True)
    n = len(accounts)
    capped = [j for j in range(1, len(ACTIONS)) if np.isfinite(capacity[j])]
    # column k: its account's row, the budget row (if it costs), its capacity row (if capped)
    entries = [(np.arange(m), row_of_account, np.ones(m))]
    paid = np.flatnonzero(cost[cols] > 0)
    entries.append((paid, np.full(len(paid), n), cost[cols][paid]))
    for r, j in enumerate(capped):
        k = np.flatnonzero(cols == j)
        entries.append((k, np.full(len(k), n + 1 + r), np.ones(len(k))))
    col_of = np.concatenate([e[0] for e in entries])
    row_of = np.concatenate([e[1] for e in entries])
    val_of = np.concatenate([e[2] for e in entries])
    order = np.lexsort((row_of, col_of))
    lp = highspy.HighsLp()
    lp.num_col_ = m
    lp.num_row_ = n + 1 + len(capped)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = net[rows, cols]
    lp.col_lower_ = np.zeros(m)
    lp.col_upper_ = np.ones(m)
    lp.row_lower_ = np.full(lp.num_row_, -highspy.kHighsInf)
    lp.row_upper_ = np.concatenate([np.ones(n), [budget], capacity[capped]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(col_of[order], np.arange(m + 1)).astype(np.int32)
    lp.a_matrix_.index_ = row_of[order].astype(np.int32)
    lp.a_matrix_.value_ = val_of[order]
    h = _highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * m
        h.setOptionValue("mip_rel_gap", MIP_GAP)
    else:
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "on")  # a vertex: integral but for a few
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    has_solution = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value) if has_solution else np.zeros(m)
    if not integer:
        if status != "Optimal":
            return None, float("inf"), status
        return x, float(info.objective_function_value), status
    bound = float(info.mip_dual_bound) if has_solution else float("inf")
    return x > 0.5, bound, status


def _undominated(
    candidate: np.ndarray, net: np.ndarray, cost: np.ndarray, cap: np.ndarray
) -> np.ndarray:
    """``candidate`` without the pairs (i, a) for which an uncapped candidate action b
    of the same account costs no more and is worth no less (ties: the lower index
    stays). Exact: swapping a for b in any solution keeps it feasible and no worse."""
    out = candidate.copy()
    k = len(cost)
    for a in range(1, k):
        for b in range(1, k):
            if b == a or np.isfinite(cap[b]) or cost[b] > cost[a]:
                continue
            better = candidate[:, b] & (net[:, b] >= net[:, a])
            if cost[b] == cost[a]:
                better &= (net[:, b] > net[:, a]) | (b < a)
            out[:, a] &= ~better
    return out


def _repair(best: np.ndarray, net: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """``best`` with each capped action kept for the accounts where it is worth most."""
    out = best.copy()
    for j in range(1, len(cap)):
        if np.isfinite(cap[j]):
            given = np.flatnonzero(out == j)
            if len(given) > cap[j]:
                order = given[np.argsort(-net[given, j], kind="stable")]
                out[order[int(cap[j]) :]] = 0
    return out


def _highs() -> Any:
    """A HiGHS instance; the banner HiGHS prints on standard output the first time it
    starts in a process is kept out of the caller's output."""
    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_SHOWN = True


_BANNER_SHOWN = False


def _within_budget(
    chosen: np.ndarray, net: np.ndarray, costs: Costs, budget: Decimal
) -> np.ndarray:
    """``chosen`` with choices dropped, least value per cost first, until the exact
    Decimal total cost is within ``budget``."""
    cost = [costs.cost[a] for a in ACTIONS]
    total = sum((cost[j] for j in chosen), Decimal(0))
    if total <= budget:
        return chosen
    chosen = chosen.copy()
    assigned = np.flatnonzero(chosen > 0)
    value = net[assigned, chosen[assigned]]
    per_cost = value / np.maximum([float(cost[j]) for j in chosen[assigned]], 1e-12)
    for i in assigned[np.argsort(per_cost, kind="stable")]:
        if total <= budget:
            break
        total -= cost[chosen[i]]
        chosen[i] = 0
    return chosen


def check(chosen: np.ndarray, available: np.ndarray, costs: Costs, budget: Decimal) -> list[str]:
    """What in ``chosen`` breaks a constraint (empty when nothing does)."""
    problems = []
    total = sum((costs.cost[ACTIONS[j]] for j in chosen), Decimal(0))
    if total > budget:
        problems.append(f"total cost {total} is over the budget {budget}")
    counts = np.bincount(chosen, minlength=len(ACTIONS))
    for j, a in enumerate(ACTIONS):
        cap = costs.capacity[a]
        if cap is not None and j > 0 and counts[j] > cap:
            problems.append(f"{counts[j]} {a} over its capacity {cap}")
    bad = ~available[np.arange(len(chosen)), chosen]
    if bad.any():
        problems.append(f"{int(bad.sum())} accounts given an action they cannot receive")
    return problems

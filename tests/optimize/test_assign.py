"""The assignment keeps every constraint (budget to the cent, capacity, availability),
is optimal on problems small enough to enumerate, and reports a bound and gap."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from arrears.optimize.assign import assign, check
from arrears.optimize.schema import ACTIONS, parse_costs

COSTS = "[cost]\nsms = 0.1\nemail = 0.05\ncall = 3\nletter = 2\nvisit = 30\n"


def problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    uplift = rng.gamma(2.0, 10.0, (n, len(ACTIONS))) * rng.choice([-0.3, 1.0], (n, len(ACTIONS)))
    uplift[:, 0] = 0
    available = rng.random((n, len(ACTIONS))) < 0.7
    available[:, 0] = True
    return uplift, available


@pytest.mark.parametrize("full_mip_columns", [10**9, 0], ids=["mip", "lp_then_core_mip"])
@pytest.mark.parametrize("budget", ["0", "37.5", "1000", "1e9"])
def test_budget_capacity_and_availability_hold(full_mip_columns, budget):
    costs = parse_costs(COSTS + "[capacity]\ncall = 40\nvisit = 7\nsms = 0\n", Path("c.toml"))
    uplift, available = problem(2000, 1)
    amount = Decimal(budget)
    result = assign(uplift, available, costs, amount, full_mip_columns=full_mip_columns)
    assert check(result.action, available, costs, amount) == []
    counts = np.bincount(result.action, minlength=len(ACTIONS))
    assert counts[ACTIONS.index("sms")] == 0
    assert counts[ACTIONS.index("visit")] <= 7 and counts[ACTIONS.index("call")] <= 40
    assert result.total_cost <= amount
    assert result.bound >= result.objective - 1e-6 and result.gap >= 0
    # nothing chosen that loses money in expectation
    assert (result.expected_uplift[result.action > 0] > 0).all()


def test_both_paths_agree_and_the_gap_is_small():
    costs = parse_costs(COSTS + "[capacity]\ncall = 300\n", Path("c.toml"))
    uplift, available = problem(3000, 2)
    whole = assign(uplift, available, costs, Decimal(2500))
    relaxed = assign(uplift, available, costs, Decimal(2500), full_mip_columns=0)
    assert whole.gap < 1e-4 and relaxed.gap < 1e-3
    assert relaxed.objective == pytest.approx(whole.objective, rel=1e-3)
    assert "fractional accounts" in relaxed.status


def test_budget_is_exact_in_decimal():
    # three sms at 0.1 are 0.3 exactly in Decimal, 0.30000000000000004 in float
    costs = parse_costs(
        "[cost]\nsms = 0.1\nemail = 0.1\ncall = 0.1\nletter = 0.1\nvisit = 0.1\n", Path("c.toml")
    )
    uplift = np.zeros((5, len(ACTIONS)))
    uplift[:, 1] = 10
    available = np.ones_like(uplift, dtype=bool)
    result = assign(uplift, available, costs, Decimal("0.3"))
    assert result.total_cost == Decimal("0.3")
    assert int((result.action > 0).sum()) == 3


def test_optimal_against_enumeration():
    costs = parse_costs(COSTS + "[capacity]\ncall = 1\n", Path("c.toml"))
    cost = costs.cost_vector()
    uplift, available = problem(5, 7)
    budget = Decimal("33")
    result = assign(uplift, available, costs, budget)
    best = 0.0
    for combo in itertools.product(range(len(ACTIONS)), repeat=5):
        chosen = np.array(combo)
        if check(chosen, available, costs, budget):
            continue
        best = max(best, float(np.sum((uplift - cost)[np.arange(5), chosen])))
    assert result.objective == pytest.approx(best, abs=1e-6)


def test_greedy_by_ratio_is_beaten():
    # a greedy sort by value per cost would take the cheap sms first and run out
    costs = parse_costs(COSTS, Path("c.toml"))
    uplift = np.zeros((2, len(ACTIONS)))
    uplift[0, ACTIONS.index("sms")] = 1.0  # 0.9 net at 0.1: ratio 9
    uplift[1, ACTIONS.index("call")] = 20.0  # 17 net at 3: ratio 5.7
    available = np.ones_like(uplift, dtype=bool)
    result = assign(uplift, available, costs, Decimal("3"))
    assert [ACTIONS[j] for j in result.action] == ["none", "call"]


def test_dominated_choices_are_pruned_without_losing_the_optimum():
    # email costs less than sms and is worth more for every account: sms never enters
    costs = parse_costs(COSTS, Path("c.toml"))
    uplift, available = problem(500, 3)
    available[:] = True
    uplift[:, ACTIONS.index("email")] = uplift[:, ACTIONS.index("sms")] + 1
    pruned = assign(uplift, available, costs, Decimal(300))
    assert ACTIONS.index("sms") not in set(pruned.action)
    assert pruned.gap < 1e-4


def test_best_actions_that_fit_are_the_optimum_at_once():
    costs = parse_costs(COSTS, Path("c.toml"))
    uplift, available = problem(400, 4)
    result = assign(uplift, available, costs, Decimal(10**9))
    assert result.status.startswith("Optimal: every account's best action fits")
    assert result.gap == 0

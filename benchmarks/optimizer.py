"""The optimizer against the standard ladder on simulated logs; one JSON document out.

    python benchmarks/optimizer.py [--seeds 5] [--log-rows 40000] [--accounts 20000]

For each truth model of ``arrears.optimize.simulate_log`` (uniform, segment, backfire)
and each seed ``s``: learn a policy on the log of seed ``100 + s`` (the randomised
ladder's log), then assign actions to the *fresh* accounts of seed ``200 + s`` at the
budget the standard ladder spends on them. Every arm is scored on those fresh accounts
with the truth model's expected ``paid_14d`` less the cost of its actions (expected,
not drawn, so the only noise between seeds is the log and the accounts):

- ``ladder``: the standard ladder, a fixed DPD rule (``simulate_log.ladder``): the
  reference measured in the same run, and the budget of every other arm;
- ``optimizer``: ``arrears optimize``'s learn and assign (HiGHS) at that budget;
- ``random``: accounts in random order, each a random action it can receive, while the
  budget lasts;
- ``segment_best``: per segment the one action with the best net value on the learning
  log (IPS), accounts in random order while the budget lasts;
- ``none`` (nothing done) and ``oracle`` (the assignment on the true uplift, at the same
  budget): the floor and the ceiling.

``ratio_vs_ladder`` is each arm's net collections over the ladder's in the same run;
``uplift_ratio`` the same for collections above doing nothing. Intervals are 95%
t-intervals over seeds. A separate check of ``optimize evaluate``: on a third log (seed
``300 + s``) the optimizer's policy at the ladder's budget is estimated by IPS and DR,
and the truth of that policy on those rows is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from arrears.optimize.assign import assign
from arrears.optimize.evaluate import off_policy
from arrears.optimize.learn import learn
from arrears.optimize.schema import ACTIONS, accounts_from_table, log_from_table, parse_costs
from arrears.optimize.simulate_log import (
    COSTS_TOML,
    TRUTHS,
    expected_paid,
    ladder,
    simulate_accounts,
    simulate_log,
)

HERE = Path("<simulated>")
T_975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 10: 2.262}
ARMS = ("none", "ladder", "random", "segment_best", "optimizer", "oracle")


def within_budget(wanted: np.ndarray, cost: np.ndarray, budget: float, rng) -> np.ndarray:
    """``wanted`` actions given in random account order while the budget lasts."""
    out = np.zeros_like(wanted)
    spent = 0.0
    for i in rng.permutation(len(wanted)):
        c = cost[wanted[i]]
        if spent + c <= budget:
            out[i] = wanted[i]
            spent += c
    return out


def segment_best(log, cost: np.ndarray) -> dict[str, int]:
    """Per segment, the action with the best IPS estimate of net value on the log."""
    best = {}
    for seg in sorted(set(log.accounts.segment)):
        rows = log.accounts.segment == seg
        values = []
        for j in range(len(ACTIONS)):
            w = np.where(log.action[rows] == j, 1 / log.propensity[rows], 0.0)
            values.append(float(np.mean(w * (log.paid[rows] - cost[j]))))
        best[seg] = int(np.argmax(values))
    return best


def interval(values: list[float]) -> dict[str, float]:
    k = len(values)
    mean = float(np.mean(values))
    half = T_975.get(k, 1.96) * float(np.std(values, ddof=1)) / math.sqrt(k) if k > 1 else 0.0
    return {
        "mean": round(mean, 4),
        "95": [round(mean - half, 4), round(mean + half, 4)],
        "min": round(float(np.min(values)), 4),
    }


def one_run(truth: str, seed: int, log_rows: int, n_accounts: int, costs) -> dict:
    cost = costs.cost_vector()
    log = log_from_table(simulate_log(log_rows, 100 + seed, truth), HERE)
    policy = learn(log, seed=seed)
    fresh = accounts_from_table(simulate_accounts(n_accounts, 200 + seed), HERE)
    truth_paid = expected_paid(fresh, truth)
    available = fresh.available()
    rows = np.arange(n_accounts)

    def value(chosen: np.ndarray) -> float:
        return float(np.sum(truth_paid[rows, chosen] - cost[chosen]))

    rng = np.random.default_rng([seed, 9])
    arms: dict[str, np.ndarray] = {"none": np.zeros(n_accounts, dtype=np.int64)}
    arms["ladder"] = ladder(fresh)
    spend = sum((costs.cost[ACTIONS[j]] for j in arms["ladder"]), Decimal(0))
    random_pick = np.array(
        [rng.choice(np.flatnonzero(available[i, 1:]) + 1) if available[i, 1:].any() else 0
         for i in rows]
    )  # fmt: skip
    arms["random"] = within_budget(random_pick, cost, float(spend), rng)
    best = segment_best(log, cost)
    wanted = np.array([best.get(s, 0) for s in fresh.segment])
    wanted = np.where(available[rows, wanted], wanted, 0)
    arms["segment_best"] = within_budget(wanted, cost, float(spend), rng)
    started = time.perf_counter()
    result = assign(policy.uplift_money(fresh), available, costs, spend)
    assign_seconds = time.perf_counter() - started
    arms["optimizer"] = result.action
    oracle = assign(truth_paid - truth_paid[:, :1], available, costs, spend)
    arms["oracle"] = oracle.action

    # optimize evaluate's estimates on a third log against the truth of the same rows
    held = log_from_table(simulate_log(log_rows, 300 + seed, truth), HERE)
    held_spend = sum((costs.cost[ACTIONS[j]] for j in ladder(held.accounts)), Decimal(0))
    held_pick = assign(
        policy.uplift_money(held.accounts), held.accounts.available(), costs, held_spend
    ).action
    ope = off_policy(held, held_pick, cost, policy.outcome_money(held.accounts), seed=seed)
    held_truth = expected_paid(held.accounts, truth)
    truth_value = float(np.mean(held_truth[np.arange(len(held)), held_pick] - cost[held_pick]))
    return {
        "net": {arm: value(chosen) for arm, chosen in arms.items()},
        "cost": {arm: float(cost[chosen].sum()) for arm, chosen in arms.items()},
        "budget": float(spend),
        "gap": result.gap,
        "assign_seconds": assign_seconds,
        "ope": {
            "truth": truth_value,
            "ips": ope["ips"]["value"],
            "ips_95": ope["ips"]["95"],
            "dr": ope["dr"]["value"],
            "dr_95": ope["dr"]["95"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--log-rows", type=int, default=40_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    args = parser.parse_args()
    costs = parse_costs(COSTS_TOML, Path("simulate_log.COSTS_TOML"))
    started = time.perf_counter()
    report: dict = {
        "benchmark": "optimizer",
        "seeds": args.seeds,
        "log_rows": args.log_rows,
        "accounts": args.accounts,
        "costs": {a: str(c) for a, c in costs.cost.items()},
        "truths": {},
    }
    for truth in TRUTHS:
        runs = []
        for s in range(args.seeds):
            runs.append(one_run(truth, s, args.log_rows, args.accounts, costs))
            print(f"{truth} seed {s}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out: dict = {
            "budget_per_account": interval([r["budget"] / args.accounts for r in runs]),
            "net_per_account": {
                arm: interval([r["net"][arm] / args.accounts for r in runs]) for arm in ARMS
            },
            "cost_per_account": {
                arm: interval([r["cost"][arm] / args.accounts for r in runs]) for arm in ARMS
            },
            "ratio_vs_ladder": {
                arm: interval([r["net"][arm] / r["net"]["ladder"] for r in runs])
                for arm in ARMS
                if arm != "ladder"
            },
            "uplift_ratio_vs_ladder": {
                arm: interval(
                    [
                        (r["net"][arm] - r["net"]["none"]) / (r["net"]["ladder"] - r["net"]["none"])
                        for r in runs
                    ]
                )
                for arm in ARMS
                if arm not in ("ladder", "none")
            },
            "max_gap": max(r["gap"] for r in runs),
            "assign_seconds": interval([r["assign_seconds"] for r in runs]),
            "evaluate_check": [
                {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r["ope"].items()}
                for r in runs
            ],
        }
        ratio = out["ratio_vs_ladder"]["optimizer"]
        out["goal_10pct_over_ladder"] = ratio["95"][0] >= 1.10
        out["goal_10pct_over_ladder_mean"] = ratio["mean"] >= 1.10
        out["never_below_ladder"] = ratio["95"][1] >= 1.0 and ratio["min"] >= 0.99
        report["truths"][truth] = out
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

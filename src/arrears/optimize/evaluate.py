"""Off-policy estimates of a deterministic policy's value from a log with known
propensities: inverse propensity scoring (IPS), self-normalised IPS (SNIPS) and doubly
robust (DR), each with a seeded bootstrap interval, against the logging policy's value.

The value of a row under the policy is ``paid_14d - cost`` of the action the policy
picks; the logging policy's is ``paid_14d - cost`` as logged. With ``w = 1[A = pi(x)] /
propensity``:

- IPS = mean(w * (y - c_pi)): unbiased whenever every action the policy picks had a
  positive logging propensity;
- SNIPS = sum(w * (y - c_pi)) / sum(w): a little biased, often less variable;
- DR = mean(mu_pi(x) - c_pi + w * (y - mu_pi(x))) with ``mu`` an outcome model fitted
  on a *different* log (the policy's own): unbiased like IPS, less variable when ``mu``
  is good.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from arrears.optimize.schema import ACTIONS, Log

BOOTSTRAPS = 500
ESTIMATORS = ("ips", "snips", "dr")


def _estimates(
    y: np.ndarray, w: np.ndarray, c_pi: np.ndarray, mu_pi: np.ndarray, logged: np.ndarray
) -> np.ndarray:
    n = len(y)
    ips = float(np.sum(w * (y - c_pi)) / n)
    total_w = float(np.sum(w))
    snips = float(np.sum(w * (y - c_pi)) / total_w) if total_w > 0 else float("nan")
    dr = float(np.mean(mu_pi - c_pi + w * (y - mu_pi)))
    return np.array([ips, snips, dr, float(np.mean(logged))])


def off_policy(
    log: Log,
    chosen: np.ndarray,
    cost: np.ndarray,
    mu: np.ndarray | None = None,
    seed: int = 0,
    boots: int = BOOTSTRAPS,
) -> dict[str, Any]:
    """Per-account value of the policy that picks ``chosen`` (index into ACTIONS) for
    each row of ``log``, at ``cost`` per action, with 95% bootstrap intervals; ``mu``
    (n, len(ACTIONS)) the outcome model's expected ``paid_14d`` (None: zeros, so DR is
    IPS)."""
    n = len(log)
    rows = np.arange(n)
    y = log.paid
    match = log.action == chosen
    w = np.where(match, 1.0 / log.propensity, 0.0)
    c_pi = cost[chosen]
    mu_pi = np.zeros(n) if mu is None else mu[rows, chosen]
    logged = y - log.cost
    point = _estimates(y, w, c_pi, mu_pi, logged)
    rng = np.random.default_rng(seed)
    draws = np.empty((boots, 4))
    for b in range(boots):
        i = rng.integers(0, n, n)
        draws[b] = _estimates(y[i], w[i], c_pi[i], mu_pi[i], logged[i])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    diff = draws[:, :3] - draws[:, 3:]
    d_low, d_high = np.percentile(diff, [2.5, 97.5], axis=0)
    out: dict[str, Any] = {
        "rows": n,
        "matched_rows": int(match.sum()),
        "bootstraps": boots,
        "seed": seed,
        "policy_actions": {
            a: int(c)
            for a, c in zip(ACTIONS, np.bincount(chosen, minlength=len(ACTIONS)), strict=True)
        },
        "policy_cost_per_account": round(float(c_pi.mean()), 4),
        "logging_cost_per_account": round(float(log.cost.mean()), 4),
        "logging": {"value": round(point[3], 4), "95": [round(low[3], 4), round(high[3], 4)]},
    }
    for k, name in enumerate(ESTIMATORS):
        out[name] = {
            "value": round(point[k], 4),
            "95": [round(low[k], 4), round(high[k], 4)],
            "vs_logging": round(point[k] - point[3], 4),
            "vs_logging_95": [round(d_low[k], 4), round(d_high[k], 4)],
        }
    return out

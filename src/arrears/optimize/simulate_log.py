"""Simulated logs of randomised contacts, for the tests and ``benchmarks/optimizer.py``.

Accounts in arrears (four segments, DPD 1-180, amounts, a risk score, contact and
payment history, which channels are reachable) are drawn from a seed. A *truth model*
says what each action does: the chance that the account pays in the next 14 days is
``sigmoid(base(x) + effect(x, action))`` and a payer pays on average 60% of the amount
overdue (a Beta-distributed share), so the expected ``paid_14d`` of every account under
every action is known exactly (:func:`expected_paid`). Three truth models:

- ``uniform``: every contact helps by about the same amount for everyone (a bit less at
  high DPD);
- ``segment``: what works depends on the segment (card holders answer SMS and email,
  personal loans calls, SME visits) and on DPD (digital early, field late);
- ``backfire``: some actions hurt some accounts: a call to an early, low-risk debtor, a
  visit to a high-risk one (dispute, flight), an SMS to someone already contacted four or
  more times this month.

The logging policy is the standard ladder (:func:`ladder`) randomised: with probability
0.6 the ladder's action, otherwise an action drawn uniformly from those the account can
receive (``none`` included); the propensity of the logged action is recorded.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from arrears.optimize.schema import ACTIONS, Accounts, accounts_from_table

TRUTHS = ("uniform", "segment", "backfire")
SEGMENTS = ("card", "personal", "micro", "sme")
COSTS = {"none": 0.0, "sms": 0.2, "email": 0.05, "call": 3.0, "letter": 2.0, "visit": 30.0}
COSTS_TOML = "[cost]\n" + "".join(f"{a} = {c}\n" for a, c in COSTS.items() if a != "none")
LADDER_SHARE = 0.6
PAID_SHARE = 0.6
DAY = date(2026, 11, 30)
A = {a: j for j, a in enumerate(ACTIONS)}


def simulate_accounts(n: int, seed: int) -> pa.Table:
    """ACCOUNTS.parquet's columns for ``n`` accounts in arrears (seeded)."""
    rng = np.random.default_rng([seed, 1])
    seg = rng.choice(len(SEGMENTS), n, p=[0.35, 0.3, 0.25, 0.1])
    dpd = np.minimum(1 + rng.exponential(35, n).astype(np.int64), 180)
    mean_log = np.array([5.6, 6.2, 5.0, 7.3])[seg]
    overdue = np.round(rng.lognormal(mean_log, 0.8) * (1 + 0.3 * dpd / 30), 2)
    balance = np.round(overdue * rng.uniform(2, 12, n), 2)
    score = 1 / (1 + np.exp(-(-1.2 + dpd / 40 + rng.normal(0, 1, n))))
    score_null = rng.random(n) < 0.1
    contacts = rng.poisson(1 + dpd / 30)
    broken = rng.poisson(0.2 + 0.8 * score)
    paid_90d = np.round(overdue * rng.beta(1, 3, n) * (1 - score) * 2, 2)
    email_share = np.array([0.75, 0.6, 0.4, 0.5])[seg]
    return pa.table(
        {
            "account_id": [f"A{seed:03d}-{k:07d}" for k in range(n)],
            "day": pa.array([DAY - timedelta(days=int(d)) for d in rng.integers(0, 28, n)]),
            "dpd": dpd,
            "balance": balance,
            "amount_overdue": overdue,
            "months_on_book": rng.integers(1, 121, n),
            "score": pa.array(np.round(score, 4), mask=score_null),
            "contacts_30d": contacts,
            "promises_broken_90d": broken,
            "paid_90d": paid_90d,
            "has_phone": rng.random(n) < 0.92,
            "has_email": rng.random(n) < email_share,
            "has_address": rng.random(n) < 0.9,
            "segment": np.array(SEGMENTS, dtype=object)[seg],
        }
    )


def _logits(accounts: Accounts, truth: str) -> np.ndarray:
    """(n, len(ACTIONS)) logit of paying within 14 days under each action."""
    num = accounts.numeric
    dpd = num["dpd"]
    score = np.nan_to_num(num["score"], nan=0.5)
    seg = np.searchsorted(np.array(SEGMENTS), accounts.segment.astype(str))
    base = (
        0.4
        - 2.4 * score
        - dpd / 60
        + 0.3 * (num["paid_90d"] > 0)
        - 0.3 * num["promises_broken_90d"]
    )
    effect = np.zeros((len(dpd), len(ACTIONS)))
    if truth == "uniform":
        fade = 1 - dpd / 400
        for action, size in (("sms", 0.25), ("email", 0.1), ("call", 0.5), ("letter", 0.2),
                             ("visit", 0.9)):  # fmt: skip
            effect[:, A[action]] = size * fade
    elif truth == "segment":
        table = {  # card, personal, micro, sme
            "sms": (0.6, 0.2, 0.5, 0.0),
            "email": (0.45, 0.1, 0.0, 0.1),
            "call": (0.15, 0.7, 0.3, 0.4),
            "letter": (0.0, 0.3, 0.1, 0.2),
            "visit": (0.0, 0.5, 0.2, 1.3),
        }
        early = np.clip((45 - dpd) / 45, 0, 1)  # 1 at DPD 0, 0 from DPD 45
        for action, sizes in table.items():
            size = np.array(sizes)[seg]
            if action in ("sms", "email"):
                size = size * (0.3 + 0.9 * early)
            elif action in ("visit", "letter"):
                size = size * (1.3 - 0.6 * early)
            effect[:, A[action]] = size
    elif truth == "backfire":
        effect[:, A["sms"]] = np.where(num["contacts_30d"] >= 4, -0.4, 0.3)
        effect[:, A["email"]] = 0.1
        effect[:, A["call"]] = np.where((dpd < 15) & (score < 0.4), -0.6, 0.55)
        effect[:, A["letter"]] = 0.2
        effect[:, A["visit"]] = np.where(score > 0.7, -0.5, 1.0)
    else:
        raise ValueError(f"unknown truth model {truth!r} (known: {', '.join(TRUTHS)})")
    return base[:, None] + effect


def pay_probability(accounts: Accounts, truth: str) -> np.ndarray:
    return 1 / (1 + np.exp(-_logits(accounts, truth)))


def expected_paid(accounts: Accounts, truth: str) -> np.ndarray:
    """(n, len(ACTIONS)) expected ``paid_14d`` of each account under each action."""
    share = PAID_SHARE * np.ones(len(accounts))
    return (
        pay_probability(accounts, truth)
        * share[:, None]
        * accounts.numeric["amount_overdue"][:, None]
    )


def ladder(accounts: Accounts) -> np.ndarray:
    """The standard ladder, a fixed DPD rule (each step falls back to the next channel
    the account can receive, else ``none``):

    ====== =====================
    DPD    action
    ====== =====================
    1-7    sms, email, letter
    8-30   call, sms, letter
    31-60  letter, call
    61-90  call, letter
    91+    visit, letter
    ====== =====================
    """
    dpd = accounts.numeric["dpd"]
    available = accounts.available()
    rules = (
        (7, ("sms", "email", "letter")),
        (30, ("call", "sms", "letter")),
        (60, ("letter", "call")),
        (90, ("call", "letter")),
        (np.inf, ("visit", "letter")),
    )
    out = np.zeros(len(dpd), dtype=np.int64)
    done = np.zeros(len(dpd), dtype=bool)
    low = 0.0
    for high, steps in rules:
        band = (dpd > low) & (dpd <= high)
        for step in steps:
            pick = band & ~done & available[:, A[step]]
            out[pick] = A[step]
            done |= pick
        low = high
    return out


def logging_propensities(accounts: Accounts) -> np.ndarray:
    """(n, len(ACTIONS)) probability of each action under the randomised ladder."""
    available = accounts.available()
    probs = (1 - LADDER_SHARE) * available / available.sum(axis=1, keepdims=True)
    probs[np.arange(len(accounts)), ladder(accounts)] += LADDER_SHARE
    return probs


def draw_paid(
    accounts: Accounts, truth: str, action: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Realised ``paid_14d`` for each account under ``action`` (index into ACTIONS)."""
    n = len(accounts)
    prob = pay_probability(accounts, truth)[np.arange(n), action]
    pays = rng.random(n) < prob
    share = rng.beta(3, 2, n)  # mean 0.6 = PAID_SHARE
    return np.round(np.where(pays, share * accounts.numeric["amount_overdue"], 0.0), 2)


def simulate_log(n: int, seed: int, truth: str) -> pa.Table:
    """LOG.parquet for ``n`` fresh accounts of ``seed`` under the randomised ladder."""
    table = simulate_accounts(n, seed)
    accounts = accounts_from_table(table, Path("<simulated>"))
    rng = np.random.default_rng([seed, 2])
    probs = logging_propensities(accounts)
    cumulative = probs.cumsum(axis=1)
    action = (rng.random(n)[:, None] > cumulative).sum(axis=1)
    action = np.minimum(action, len(ACTIONS) - 1)
    # a rounding shortfall of the cumulative sum must not land on an unavailable action
    unreachable = probs[np.arange(n), action] == 0
    action[unreachable] = ladder(accounts)[unreachable]
    paid = draw_paid(accounts, truth, action, rng)
    cost = np.array([COSTS[a] for a in ACTIONS])[action]
    return (
        table.append_column("action", pa.array(np.array(ACTIONS, dtype=object)[action]))
        .append_column("propensity", pa.array(probs[np.arange(n), action]))
        .append_column("cost", pa.array(cost))
        .append_column("paid_14d", pa.array(paid))
    )

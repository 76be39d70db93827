"""Learn what each action is worth for each account from a log with known propensities.

For every action ``a`` an outcome model ``mu_a(x)`` predicts the share of the amount
overdue paid in 14 days (``paid_14d / max(amount_overdue, 1)``) among the rows where ``a``
was logged (LightGBM, K-fold cross-fitted: each row's out-of-fold prediction comes from
the model that did not see it; the policy averages the K fold models). Two estimates of
the uplift of ``a`` over ``none`` follow:

- T-learner: ``mu_a(x) - mu_none(x)``;
- DR-learner: a model of the doubly robust pseudo-outcome
  ``mu_a - mu_none + 1[A=a](y - mu_a)/p - 1[A=none](y - mu_none)/p`` (``p`` the logged
  propensity), itself cross-fitted on the out-of-fold pseudo-outcomes.

For each action the one with the smaller cross-validated doubly robust risk (the mean
squared distance of its out-of-fold predictions from the pseudo-outcomes, which is, up
to a constant, the error against the true uplift) is kept. The figures, per action, go
to ``quality.json``: the outcome model's out-of-fold R², both learners' uplift R²
against the pseudo-outcomes (1 - risk / risk of a constant), the average uplift with a
95% interval, and the uplift among the top and bottom halves of accounts ranked by the
out-of-fold prediction (a model that ranks well shows a clear difference).

Money in the returned uplift is ``share * max(amount_overdue, 1)``; the cost of an
action is subtracted where costs are known (``assign``; ``learn`` reports the uplift net
of the log's average cost of the action).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arrears.optimize.schema import ACTIONS, FLAGS, NUMERIC, Accounts, Log, OptimizeInputError

FORMAT = "arrears-optimize-policy/1"
FOLDS = 3
MIN_ROWS = 50  # per action: fewer and the action cannot be learned
OUTCOME_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 80,
    "lambda_l2": 1.0,
    "feature_fraction": 0.9,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
    "num_threads": 1,  # two threads on a shared machine are many times slower
    "max_bin": 63,
}
OUTCOME_ROUNDS = 200
POOLED_PARAMS = {**OUTCOME_PARAMS, "num_leaves": 31, "cat_smooth": 1.0, "min_data_per_group": 20}
POOLED_ROUNDS = 300
UPLIFT_PARAMS = {**OUTCOME_PARAMS, "learning_rate": 0.03, "num_leaves": 7, "min_data_in_leaf": 400}
UPLIFT_ROUNDS = 150


def scale(accounts: Accounts) -> np.ndarray:
    """The amount a share of the outcome is a share of."""
    return np.maximum(accounts.numeric["amount_overdue"], 1.0)


def features(accounts: Accounts, segments: list[str]) -> np.ndarray:
    """The model matrix: numeric columns, flags as 0/1, the segment as a category code
    (a segment not seen in the log is missing)."""
    codes = {s: float(k) for k, s in enumerate(segments)}
    seg = np.fromiter((codes.get(s, np.nan) for s in accounts.segment), float, len(accounts))
    cols = [accounts.numeric[c] for c in NUMERIC]
    cols += [accounts.flags[c].astype(float) for c in FLAGS]
    return np.column_stack([*cols, seg])


def with_action(x: np.ndarray, action: np.ndarray | int) -> np.ndarray:
    """``x`` with the action's index as a last (categorical) column."""
    column = np.broadcast_to(np.asarray(action, dtype=float), (len(x),))
    return np.column_stack([x, column])


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    rounds: int,
    seed: int,
    categorical: int = 1,
) -> Any:
    """A LightGBM regression whose last ``categorical`` columns are categories."""
    import lightgbm as lgb

    cats = list(range(x.shape[1] - categorical, x.shape[1]))
    data = lgb.Dataset(x, y, categorical_feature=cats, free_raw_data=False, params={"verbose": -1})
    return lgb.train({**params, "seed": seed}, data, num_boost_round=rounds)


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    return float(1 - np.sum((y - pred) ** 2) / total) if total > 0 else 0.0


@dataclass
class Policy:
    """Fitted models: per action the K fold outcome models, and per contact action the
    K fold DR uplift models with the learner kept for it."""

    segments: list[str]
    outcome: dict[str, list[Any]]
    pooled: list[Any]
    uplift: dict[str, list[Any]]
    method: dict[str, str]  # "s", "t" or "dr" per contact action
    log_cost: dict[str, float]
    seed: int
    quality: dict[str, Any] = field(default_factory=dict)

    def _pooled(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [
                np.mean([m.predict(with_action(x, j), num_threads=1) for m in self.pooled], axis=0)
                for j in range(len(ACTIONS))
            ]
        )

    def outcome_money(self, accounts: Accounts) -> np.ndarray:
        """(n, len(ACTIONS)) expected paid_14d under each action (the pooled model)."""
        x = features(accounts, self.segments)
        return self._pooled(x) * scale(accounts)[:, None]

    def uplift_money(self, accounts: Accounts) -> np.ndarray:
        """(n, len(ACTIONS)) expected extra paid_14d of each action over ``none``
        (column ``none`` is 0), before cost."""
        x = features(accounts, self.segments)
        pooled = self._pooled(x) if "s" in self.method.values() else None
        t_actions = [a for a, m in self.method.items() if m == "t"]
        mu = {
            a: np.mean([m.predict(x, num_threads=1) for m in self.outcome[a]], axis=0)
            for a in (["none", *t_actions] if t_actions else [])
        }
        out = np.zeros((len(accounts), len(ACTIONS)))
        for j, a in enumerate(ACTIONS[1:], start=1):
            if self.method[a] == "dr":
                out[:, j] = np.mean([m.predict(x, num_threads=1) for m in self.uplift[a]], axis=0)
            elif self.method[a] == "s":
                assert pooled is not None
                out[:, j] = pooled[:, j] - pooled[:, 0]
            else:
                out[:, j] = mu[a] - mu["none"]
        return out * scale(accounts)[:, None]

    def save(self, folder: Path) -> None:
        models = folder / "models"
        models.mkdir(parents=True, exist_ok=True)
        files: dict[str, dict[str, list[str]]] = {"outcome": {}, "uplift": {}}
        for kind, table in (("outcome", self.outcome), ("uplift", self.uplift)):
            for action, boosters in table.items():
                names = []
                for k, booster in enumerate(boosters):
                    name = f"models/{kind}_{action}_{k}.txt"
                    booster.save_model(str(folder / name))
                    names.append(name)
                files[kind][action] = names
        pooled = []
        for k, booster in enumerate(self.pooled):
            name = f"models/pooled_{k}.txt"
            booster.save_model(str(folder / name))
            pooled.append(name)
        files["pooled"] = {"all": pooled}
        meta = {
            "format": FORMAT,
            "actions": list(ACTIONS),
            "features": [*NUMERIC, *FLAGS, "segment"],  # pooled models: then the action index
            "segments": self.segments,
            "method": self.method,
            "log_cost": self.log_cost,
            "seed": self.seed,
            "models": files,
        }
        (folder / "policy.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (folder / "quality.json").write_text(
            json.dumps(self.quality, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> Policy:
        import lightgbm as lgb

        path = folder / "policy.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise OptimizeInputError(
                f"{path}: no such file (is {folder} a folder written by optimize learn?)"
            ) from None
        except (OSError, ValueError) as exc:
            raise OptimizeInputError(f"{path}: cannot be read ({exc})") from None
        if meta.get("format") != FORMAT:
            raise OptimizeInputError(f"{path}: format is {meta.get('format')!r}, not {FORMAT!r}")

        def boosters(names: list[str]) -> list[Any]:
            out = []
            for name in names:
                try:
                    out.append(lgb.Booster(model_file=str(folder / name)))
                except (lgb.basic.LightGBMError, OSError) as exc:
                    raise OptimizeInputError(f"{folder / name}: cannot be read ({exc})") from None
            return out

        quality_path = folder / "quality.json"
        quality = json.loads(quality_path.read_text("utf-8")) if quality_path.exists() else {}
        return cls(
            segments=meta["segments"],
            outcome={a: boosters(n) for a, n in meta["models"]["outcome"].items()},
            pooled=boosters(meta["models"]["pooled"]["all"]),
            uplift={a: boosters(n) for a, n in meta["models"]["uplift"].items()},
            method=meta["method"],
            log_cost=meta["log_cost"],
            seed=meta["seed"],
            quality=quality,
        )


def learn(log: Log, seed: int = 0, folds: int = FOLDS) -> Policy:
    """Fit the outcome and uplift models on ``log`` (reproducible by ``seed``)."""
    n = len(log)
    counts = np.bincount(log.action, minlength=len(ACTIONS))
    thin = [f"{a} ({c} rows)" for a, c in zip(ACTIONS, counts, strict=True) if c < MIN_ROWS]
    if thin:
        raise OptimizeInputError(
            f"the log has fewer than {MIN_ROWS} rows of {', '.join(thin)}: every action "
            "must have been tried (a randomised logging policy) to learn what it does"
        )
    segments = sorted({str(s) for s in log.accounts.segment})
    x = features(log.accounts, segments)
    s = scale(log.accounts)
    share = log.paid / s
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % folds

    # outcome models, cross-fitted: out-of-fold predictions of every action for every row
    outcome: dict[str, list[Any]] = {a: [] for a in ACTIONS}
    oof = np.zeros((n, len(ACTIONS)))
    for j, a in enumerate(ACTIONS):
        for k in range(folds):
            train = (fold != k) & (log.action == j)
            booster = _fit(x[train], share[train], OUTCOME_PARAMS, OUTCOME_ROUNDS, seed + k)
            outcome[a].append(booster)
            oof[fold == k, j] = booster.predict(x[fold == k], num_threads=1)

    # one pooled outcome model (S-learner): the action is a feature, the baseline is
    # learned from every row; its out-of-fold predictions are the DR nuisance
    pooled: list[Any] = []
    s_oof = np.zeros((n, len(ACTIONS)))
    for k in range(folds):
        train = fold != k
        xa = with_action(x[train], log.action[train])
        booster = _fit(xa, share[train], POOLED_PARAMS, POOLED_ROUNDS, seed + 50 + k, 2)
        pooled.append(booster)
        for j in range(len(ACTIONS)):
            s_oof[fold == k, j] = booster.predict(with_action(x[fold == k], j), num_threads=1)

    available = log.accounts.available()
    quality: dict[str, Any] = {"rows": n, "folds": folds, "seed": seed, "actions": {}}
    uplift: dict[str, list[Any]] = {}
    method: dict[str, str] = {}
    log_cost = {a: float(log.cost[log.action == j].mean()) for j, a in enumerate(ACTIONS)}
    logged = log.action
    for j, a in enumerate(ACTIONS):
        rows = logged == j
        entry: dict[str, Any] = {
            "rows": int(rows.sum()),
            "outcome_r2_oof": round(_r2(share[rows], oof[rows, j]), 4),
            "pooled_outcome_r2_oof": round(_r2(share[rows], s_oof[rows, j]), 4),
            "log_cost": round(log_cost[a], 4),
        }
        quality["actions"][a] = entry
        if a == "none":
            continue
        # doubly robust pseudo-outcome of a over none, on rows where a could be chosen
        on = available[:, j]
        gamma = s_oof[:, j] - s_oof[:, 0]
        gamma = gamma + np.where(logged == j, (share - s_oof[:, j]) / log.propensity, 0.0)
        gamma = gamma - np.where(logged == 0, (share - s_oof[:, 0]) / log.propensity, 0.0)
        t_oof = oof[:, j] - oof[:, 0]
        dr_oof = np.zeros(n)
        uplift[a] = []
        for k in range(folds):
            train = (fold != k) & on
            booster = _fit(x[train], gamma[train], UPLIFT_PARAMS, UPLIFT_ROUNDS, seed + 100 + k)
            uplift[a].append(booster)
            dr_oof[fold == k] = booster.predict(x[fold == k], num_threads=1)
        g = gamma[on]
        risk_const = float(np.mean((g - g.mean()) ** 2))
        candidates = {"s": s_oof[:, j] - s_oof[:, 0], "t": t_oof, "dr": dr_oof}
        risk = {m: float(np.mean((g - p[on]) ** 2)) for m, p in candidates.items()}
        method[a] = min(risk, key=lambda m: risk[m])
        chosen = candidates[method[a]][on]
        money = g * s[on]
        half = chosen >= np.median(chosen)
        mean = float(money.mean())
        se = float(money.std(ddof=1) / np.sqrt(len(money)))
        entry.update(
            {
                "uplift_method": method[a],
                "uplift_r2_s": round(1 - risk["s"] / risk_const, 5),
                "uplift_r2_t": round(1 - risk["t"] / risk_const, 5),
                "uplift_r2_dr": round(1 - risk["dr"] / risk_const, 5),
                "uplift_mean": round(mean, 3),
                "uplift_mean_95": [round(mean - 1.96 * se, 3), round(mean + 1.96 * se, 3)],
                "uplift_net_mean": round(mean - log_cost[a] + log_cost["none"], 3),
                "uplift_top_half": round(float(money[half].mean()), 3),
                "uplift_bottom_half": round(float(money[~half].mean()), 3),
            }
        )
    return Policy(segments, outcome, pooled, uplift, method, log_cost, seed, quality)

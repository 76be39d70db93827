"""Repeated stratified k-fold cross-validation with bootstrap intervals.

A fresh learner is fitted on each training fold alone — its binning, feature selection
and everything else see no row of the fold it is scored on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arrears.models import metrics
from arrears.models.learners import Learner


@dataclass
class CrossValidation:
    """Per-fold measures and the out-of-fold predictions of every repeat."""

    folds: int
    repeats: int
    seed: int
    fold_auc: list[float]
    fold_ks: list[float]
    out_of_fold: (
        np.ndarray
    )  # shape (repeats, rows): each row predicted by the fold not fitted on it
    y: np.ndarray

    @property
    def mean_auc(self) -> float:
        """Mean test-fold AUC."""
        return float(np.mean(self.fold_auc))

    def auc_ci(self, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
        """Bootstrap 95% interval of the repeat-averaged out-of-fold AUC: rows are
        resampled, and each resample's AUC is the mean over the repeats."""
        return _bootstrap_over_repeats(metrics.auc, self.y, self.out_of_fold, rounds, seed)

    def ks_ci(self, rounds: int = 500, seed: int = 0) -> tuple[float, float]:
        """Bootstrap 95% interval of the repeat-averaged out-of-fold KS."""
        return _bootstrap_over_repeats(metrics.ks, self.y, self.out_of_fold, rounds, seed)

    def summary(self, rounds: int = 1000) -> dict[str, Any]:
        """JSON-ready: mean and spread of fold AUCs, Gini, KS and their intervals."""
        lo, hi = self.auc_ci(rounds)
        ks_lo, ks_hi = self.ks_ci(max(rounds // 2, 100))
        return {
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "auc_mean": self.mean_auc,
            "auc_std": float(np.std(self.fold_auc, ddof=1)) if len(self.fold_auc) > 1 else 0.0,
            "auc_ci95": [lo, hi],
            "gini_mean": 2 * self.mean_auc - 1,
            "gini_ci95": [2 * lo - 1, 2 * hi - 1],
            "ks_mean": float(np.mean(self.fold_ks)),
            "ks_ci95": [ks_lo, ks_hi],
            "fold_auc": self.fold_auc,
        }


def cross_validate(
    make: Callable[[], Learner],
    features: pd.DataFrame,
    y: np.ndarray,
    categorical: list[str],
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> CrossValidation:
    """Fit ``make()`` on each training fold of ``repeats`` × ``folds`` stratified splits
    and score its test fold. With ``groups`` (e.g. loan ids when a loan appears at
    several dates) all rows of a group fall in the same fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(y)
    oof = np.full((repeats, len(y)), np.nan)
    fold_auc: list[float] = []
    fold_ks: list[float] = []
    for r in range(repeats):
        if groups is None:
            splitter: Any = StratifiedKFold(folds, shuffle=True, random_state=seed + r)
            splits = splitter.split(features, y)
        else:
            splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + r)
            splits = splitter.split(features, y, groups)
        for train, test in splits:
            learner = make().fit(features.iloc[train], y[train], categorical)
            pd_ = learner.predict_pd(features.iloc[test])
            oof[r, test] = pd_
            fold_auc.append(metrics.auc(y[test], pd_))
            fold_ks.append(metrics.ks(y[test], pd_))
    return CrossValidation(folds, repeats, seed, fold_auc, fold_ks, oof, y)


def _bootstrap_over_repeats(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    predictions: np.ndarray,
    rounds: int,
    seed: int,
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = []
    while len(values) < rounds:
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() == y[idx].max():
            continue
        values.append(np.mean([metric(y[idx], p[idx]) for p in predictions]))
    lo, hi = np.quantile(values, [0.025, 0.975])
    return float(lo), float(hi)

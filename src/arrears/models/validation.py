"""Repeated stratified k-fold cross-validation with bootstrap intervals.

A fresh learner is fitted on each training fold alone — its binning, feature selection
and everything else see no row of the fold it is scored on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from arrears.models import metrics
from arrears.models.base import one_blas_thread
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
    fit_seconds: float = 0.0  # wall time of this learner's own fits (not its members')

    @property
    def mean_auc(self) -> float:
        """Mean test-fold AUC."""
        return float(np.mean(self.fold_auc))

    def auc_ci(self, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
        """Bootstrap 95% interval of the repeat-averaged out-of-fold AUC: rows are
        resampled, and each resample's AUC is the mean over the repeats."""
        return metrics.bootstrap_mean_ci(metrics.auc, self.y, self.out_of_fold, rounds, seed)

    def ks_ci(self, rounds: int = 500, seed: int = 0) -> tuple[float, float]:
        """Bootstrap 95% interval of the repeat-averaged out-of-fold KS."""
        return metrics.bootstrap_mean_ci(metrics.ks, self.y, self.out_of_fold, rounds, seed)

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
    only = "learner"
    return cross_validate_many(
        {only: make}, features, y, categorical, folds, repeats, seed, groups
    )[only]


def cross_validate_many(
    makers: Mapping[str, Callable[[], Learner]],
    features: pd.DataFrame,
    y: np.ndarray,
    categorical: list[str],
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    groups: np.ndarray | None = None,
    fitted: Callable[[str, Learner], None] | None = None,
) -> dict[str, CrossValidation]:
    """``cross_validate`` of several learners on the same splits, each fitted once per
    training fold. A committee whose members are named among ``makers`` takes those
    members as this fold fitted them (on exactly its training rows) instead of fitting
    them again: give them the settings the committee would, and its predictions are the
    same as when it is fitted alone. Committees are fitted after the other learners.
    ``fitted(name, learner)`` sees every fitted learner (to read its inner choices)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(y)
    oof = {name: np.full((repeats, len(y)), np.nan) for name in makers}
    fold_auc: dict[str, list[float]] = {name: [] for name in makers}
    fold_ks: dict[str, list[float]] = {name: [] for name in makers}
    seconds = dict.fromkeys(makers, 0.0)
    with one_blas_thread():
        for r in range(repeats):
            if groups is None:
                splitter: Any = StratifiedKFold(folds, shuffle=True, random_state=seed + r)
                splits = splitter.split(features, y)
            else:
                splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + r)
                splits = splitter.split(features, y, groups)
            for train, test in splits:
                learners = _fit_fold(
                    makers, features.iloc[train], y[train], categorical, seconds, fitted
                )
                x_test = features.iloc[test]
                for name, learner in learners.items():
                    pd_ = learner.predict_pd(x_test)
                    oof[name][r, test] = pd_
                    fold_auc[name].append(metrics.auc(y[test], pd_))
                    fold_ks[name].append(metrics.ks(y[test], pd_))
    return {
        name: CrossValidation(
            folds, repeats, seed, fold_auc[name], fold_ks[name], oof[name], y, seconds[name]
        )
        for name in makers
    }


def _fit_fold(
    makers: Mapping[str, Callable[[], Learner]],
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    categorical: list[str],
    seconds: dict[str, float],
    fitted: Callable[[str, Learner], None] | None,
) -> dict[str, Learner]:
    """Every learner fitted on one training fold, committees last, on the members
    fitted here; each one's fit time is added to ``seconds``."""
    from arrears.models.committees import Committee

    learners = {name: make() for name, make in makers.items()}
    done: dict[str, Learner] = {}
    for name in sorted(learners, key=lambda n: isinstance(learners[n], Committee)):
        learner = learners[name]
        members = (
            {m: done[m] for m in learner.names() if m in done}
            if isinstance(learner, Committee)
            else {}
        )
        started = time.perf_counter()
        if isinstance(learner, Committee) and members:
            learner.fit_with(members, x_train, y_train, categorical)
        else:
            learner.fit(x_train, y_train, categorical)
        seconds[name] += time.perf_counter() - started
        done[name] = learner
        if fitted is not None:
            fitted(name, learner)
    return learners

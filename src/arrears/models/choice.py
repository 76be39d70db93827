"""The scorecard's inner choice: every candidate setting scored by a cross-validation
inside the rows the scorecard is fitted on, and the two steps that choice and the final
fit share (the feature filters, the logistic regression with signed coefficients).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from arrears.models.base import inner_splits
from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.selection import (
    chi_square_filter,
    chi_square_pvalues,
    correlation_filter,
    iv_filter,
)

# one candidate: (binning index, IV floor, chi-square level, C, derived ratios used)
Candidate = tuple[int, float, float | None, float, bool]


def select_features(
    woe: pd.DataFrame,
    iv: dict[str, float],
    pvalues: dict[str, float],
    min_iv: float,
    chi_alpha: float | None,
    max_correlation: float,
) -> tuple[list[str], dict[str, str]]:
    """IV floor, then chi-square level (if any), then the correlation filter."""
    by_iv = iv_filter(iv, min_iv)
    dropped = dict(by_iv.dropped)
    kept = by_iv.kept
    if chi_alpha is not None:
        by_chi = chi_square_filter({n: pvalues[n] for n in kept}, chi_alpha)
        dropped.update(by_chi.dropped)
        kept = by_chi.kept
    if not kept:
        return [], dropped
    by_corr = correlation_filter(woe[kept], iv, max_correlation)
    dropped.update(by_corr.dropped)
    return list(by_corr.kept), dropped


def signed_logit(
    woe: pd.DataFrame, y: np.ndarray, chosen: list[str], c: float, seed: int
) -> tuple[Any, list[str], list[str]]:
    """Logistic regression on the chosen WOEs, refitted without the features whose
    coefficient has the wrong sign until none has (positive WOE = lower risk, so every
    coefficient must be negative). Returns the model, the kept and the dropped names."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    wrong_all: list[str] = []
    # WOEs are finite by construction; sklearn's per-fit checks would change no number
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        while True:
            model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
            model.fit(woe[chosen].to_numpy(), y)
            wrong = [n for n, k in zip(chosen, model.coef_[0], strict=True) if k >= 0]
            if not wrong or len(wrong) == len(chosen):
                return model, chosen, wrong_all
            wrong_all += wrong
            chosen = [n for n in chosen if n not in wrong]


class Grid:
    """The inner CV's candidate values, each list in grid order."""

    def __init__(
        self,
        binnings: list[BinningConfig],
        ivs: list[float],
        alphas: list[float | None],
        cs: list[float],
        uses: tuple[bool, ...],
    ) -> None:
        self.binnings, self.ivs, self.alphas, self.cs, self.uses = binnings, ivs, alphas, cs, uses


def rank_candidates(
    features: pd.DataFrame,
    y: np.ndarray,
    categorical: list[str],
    derived: list[str],
    grid: Grid,
    max_correlation: float,
    seed: int,
    repeats: int = 1,
    share_rows: int | None = None,
) -> tuple[list[tuple[Candidate, float]], dict[Candidate, np.ndarray]]:
    """Every candidate with its mean AUC over ``repeats`` stratified 5-fold CVs inside
    the rows given (never an outer test fold; repeat r shuffled with ``seed + r``), best
    first, and each candidate's out-of-fold predictions of those rows in the first
    repeat (the splits ``inner_splits(y, seed)`` every learner's inner CV shares): in
    every inner fold each binning is fitted, and each filter applied, on the inner
    training rows only. A candidate whose filters leave no feature in an inner fold
    scores 0.5 there (and predicts the training event rate). Ties keep grid order.
    ``share_rows``: the table size every inner binning sets its smallest bin for (the
    rows of the final fit; default: each inner training fold's own)."""
    from arrears.models.metrics import auc

    scores: dict[Candidate, list[float]] = {}
    oof: dict[Candidate, np.ndarray] = {}
    need_chi = any(a is not None for a in grid.alphas)
    folds = [(r, fold) for r in range(repeats) for fold in inner_splits(y, seed + r)]
    for repeat, (train, test) in folds:
        x_train, x_test = features.iloc[train], features.iloc[test]
        earlier: WoeBinner | None = None
        for b, config in enumerate(grid.binnings):
            binner = WoeBinner(config).fit(
                x_train, y[train], categorical, reuse=earlier, share_rows=share_rows
            )
            earlier = binner
            iv = binner.iv()
            woe_train, woe_test = binner.transform(x_train), binner.transform(x_test)
            columns = list(woe_train.columns)
            pvalues = chi_square_pvalues(binner.bin_indices(x_train), y[train]) if need_chi else {}
            fitted: dict[tuple[tuple[str, ...], float], np.ndarray] = {}
            for min_iv in grid.ivs:
                for alpha in grid.alphas:
                    for use in grid.uses:
                        pool = [n for n in columns if use or n not in derived]
                        chosen, _ = select_features(
                            woe_train[pool],
                            {n: iv[n] for n in pool},
                            pvalues,
                            min_iv,
                            alpha,
                            max_correlation,
                        )
                        for c in grid.cs:
                            key: Candidate = (b, min_iv, alpha, c, use)
                            if chosen:
                                p = fitted.get((tuple(chosen), c))
                                if p is None:
                                    model, kept, _ = signed_logit(
                                        woe_train, y[train], chosen, c, seed
                                    )
                                    p = model.predict_proba(woe_test[kept].to_numpy())[:, 1]
                                    fitted[(tuple(chosen), c)] = p
                                score = auc(y[test], p)
                            else:
                                p = np.full(len(test), float(np.mean(y[train])))
                                score = 0.5  # nothing left to predict with
                            scores.setdefault(key, []).append(score)
                            if repeat == 0:
                                oof.setdefault(key, np.full(len(y), np.nan))[test] = p
    means = {k: float(np.mean(v)) for k, v in scores.items()}
    ranking = sorted(means.items(), key=lambda item: -item[1])  # stable: ties keep grid order
    return ranking, oof

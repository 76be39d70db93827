"""LightGBM learners: one with settings fixed a priori, and one whose few key settings
(tree depth, number of trees, whether to use derived ratios) are chosen by a
cross-validation inside the rows it is fitted on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arrears.models.base import Learner, Splits, inner_splits
from arrears.models.binning import check_trend_features, checked_trends
from arrears.models.derived import Ratio, usable, with_ratios
from arrears.models.scaling import Scaling
from arrears.models.selection import encode_categories


class GradientBoosting(Learner):
    """LightGBM with small, strongly regularised trees; settings fixed a priori (not
    tuned on any test fold). Categories are native LightGBM categoricals.
    ``monotonic``: numeric features whose predicted PD may only rise (``ascending``) or
    fall (``descending``) as their value rises, as LightGBM's monotone constraints."""

    name = "lgbm"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "n_estimators": 400,
        "learning_rate": 0.02,
        "num_leaves": 7,
        "max_depth": 3,
        "min_child_samples": 25,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.5,
        "reg_lambda": 5.0,
        "min_split_gain": 0.0,
    }

    def __init__(
        self,
        seed: int = 0,
        scaling: Scaling | None = None,
        monotonic: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()
        self.settings = {**self.DEFAULTS, **overrides}
        self.monotonic = checked_trends(monotonic)

    def fit(
        self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]
    ) -> GradientBoosting:
        """Fit the forest on these rows (category levels learned from them)."""
        import lightgbm as lgb

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        encoded = encode_categories(features, self.categorical)
        self.levels = {c: list(encoded[c].cat.categories) for c in self.categorical}
        constraints: dict[str, Any] = {}
        trends = getattr(self, "monotonic", {})
        if trends:
            check_trend_features(trends, self.features, self.categorical)
            sign = {"ascending": 1, "descending": -1}
            constraints["monotone_constraints"] = [
                sign.get(trends.get(c, ""), 0) for c in self.features
            ]
        self.model = lgb.LGBMClassifier(
            **self.settings,
            **constraints,
            random_state=self.seed,
            n_jobs=1,
            verbose=-1,
            deterministic=True,
        )
        self.model.fit(encoded, y)
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability; unseen categories are treated as missing."""
        encoded = encode_categories(features[self.features], self.categorical, self.levels)
        return self.model.predict_proba(encoded)[:, 1]

    def importance(self) -> dict[str, float]:
        """Share of total gain per feature."""
        gain = self.model.booster_.feature_importance(importance_type="gain")
        total = float(gain.sum()) or 1.0
        return {n: float(g) / total for n, g in zip(self.features, gain, strict=True)}

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        out = {**self.settings, "scaling": self.scaling.as_dict()}
        if getattr(self, "monotonic", {}):
            out["monotonic"] = dict(sorted(self.monotonic.items()))
        return out


# Candidates of the tuned LightGBM, fixed before any benchmark run: depth 2, 3 or 4
# (2^d − 1 leaves), and 100 to 800 trees at the fixed learning rate; every other setting
# is GradientBoosting's default.
DEPTH_GRID = (2, 3, 4)
TREES_GRID = (100, 200, 300, 400, 500, 600, 700, 800)


class TunedBoosting(GradientBoosting):
    """``GradientBoosting`` whose depth and number of trees (and, given ``ratios``,
    whether to add the derived ratios) are those with the best mean AUC under a 5-fold
    CV inside the rows given to ``fit``; each candidate is fitted on the inner training
    rows only. One forest of the most trees per depth and inner fold scores every tree
    count (a forest's first k trees are the forest of k trees). Ties keep grid order
    (no ratios before ratios, shallower before deeper, fewer trees before more)."""

    name = "lgbm_cv"
    TRANSIENT = ("inner_oof", "inner_splits")

    def __init__(
        self,
        seed: int = 0,
        scaling: Scaling | None = None,
        ratios: Sequence[Ratio] = (),
        depths: Sequence[int] = DEPTH_GRID,
        trees: Sequence[int] = TREES_GRID,
        **overrides: Any,
    ) -> None:
        super().__init__(seed, scaling, **overrides)
        if self.monotonic:
            raise ValueError("lgbm_cv takes no monotonic directions: use lgbm or scorecard")
        self.ratios = tuple(ratios)
        self.depths = tuple(depths)
        self.trees = tuple(sorted(trees))

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> TunedBoosting:
        """Choose depth, trees and ratios by inner CV on these rows, then fit on them."""
        import lightgbm as lgb

        from arrears.models.metrics import auc

        y = np.asarray(y)
        raw = list(features.columns)
        cats = [c for c in categorical if c in raw]
        self.ratios_usable = usable(self.ratios, features)
        frame = with_ratios(features, self.ratios_usable)
        derived = {r.name for r in self.ratios_usable}
        uses = (False, True) if derived else (False,)
        splits = inner_splits(y, self.seed)
        scores: dict[tuple[bool, int, int], list[float]] = {}
        oof: dict[tuple[bool, int, int], np.ndarray] = {}
        for train, test in splits:
            # category levels from the inner training rows only, as GradientBoosting.fit
            x_train = encode_categories(frame.iloc[train], cats)
            levels = {c: list(x_train[c].cat.categories) for c in cats}
            x_test = _as_numbers(encode_categories(frame.iloc[test], cats, levels))
            for use in uses:
                pool = [c for c in frame.columns if use or c not in derived]
                where = [frame.columns.get_loc(c) for c in pool]
                for depth in self.depths:
                    model = lgb.LGBMClassifier(
                        **self._settings(depth, self.trees[-1]),
                        random_state=self.seed,
                        n_jobs=1,
                        verbose=-1,
                        deterministic=True,
                    ).fit(x_train[pool], y[train])
                    staged = _staged_pd(model.booster_, x_test[:, where], self.trees)
                    for k, p in zip(self.trees, staged, strict=True):
                        key = (use, depth, k)
                        scores.setdefault(key, []).append(auc(y[test], p))
                        oof.setdefault(key, np.full(len(y), np.nan))[test] = p
        means = {k: float(np.mean(v)) for k, v in scores.items()}
        best = max(means, key=lambda k: means[k])  # first of the best: grid order
        use, depth, k = best
        self.choice_ = {"ratios": use, "max_depth": depth, "n_estimators": k}
        self.inner_auc = means[best]
        self.inner_oof, self.inner_splits = oof[best], splits
        self.settings = {**self.settings, **self._settings(depth, k)}
        pool = [c for c in frame.columns if use or c not in derived]
        super().fit(frame[pool], y, cats)
        self.model_columns = pool
        self.features, self.categorical = raw, cats
        return self

    def _settings(self, depth: int, trees: int) -> dict[str, Any]:
        shape = {"max_depth": depth, "num_leaves": 2**depth - 1, "n_estimators": trees}
        return {**self.settings, **shape}

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability (the chosen ratios added first)."""
        frame = with_ratios(features[self.features], self.ratios_usable)[self.model_columns]
        encoded = encode_categories(frame, self.categorical, self.levels)
        return self.model.predict_proba(encoded)[:, 1]

    def importance(self) -> dict[str, float]:
        """Share of total gain per model column (ratios included when used)."""
        gain = self.model.booster_.feature_importance(importance_type="gain")
        total = float(gain.sum()) or 1.0
        return {n: float(g) / total for n, g in zip(self.model_columns, gain, strict=True)}

    def out_of_fold_pd(
        self, features: pd.DataFrame, y: np.ndarray, categorical: list[str], splits: Splits
    ) -> np.ndarray:
        """The inner CV's predictions of the chosen settings, when made with these
        splits (free); otherwise a refit per fold."""
        mine = getattr(self, "inner_splits", None)
        if (
            mine is not None
            and len(mine) == len(splits)
            and all(np.array_equal(a[1], b[1]) for a, b in zip(mine, splits, strict=True))
        ):
            return self.inner_oof.copy()
        return super().out_of_fold_pd(features, y, categorical, splits)

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata: the candidates and, once fitted, the
        choice."""
        out = {
            **super().params(),
            "depth_candidates": list(self.depths),
            "trees_candidates": list(self.trees),
            "ratio_candidates": [r.as_dict() for r in self.ratios],
        }
        if hasattr(self, "choice_"):
            out["chosen"] = {**self.choice_, "inner_cv_auc": self.inner_auc}
        return out


def _as_numbers(encoded: pd.DataFrame) -> np.ndarray:
    """A frame of numbers and pandas categories as LightGBM reads it: category codes as
    floats, an unknown or missing category as NaN."""
    columns = []
    for name in encoded.columns:
        column = encoded[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))
    return np.column_stack(columns)


def _staged_pd(booster: Any, x: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    """The event probability of the booster's first k trees for each k of ``counts``
    (ascending), its raw scores summed chunk by chunk."""
    raw = np.zeros(len(x))
    out, done = [], 0
    for k in counts:
        raw = raw + booster.predict(x, raw_score=True, start_iteration=done, num_iteration=k - done)
        done = k
        out.append(1 / (1 + np.exp(-raw)))
    return out

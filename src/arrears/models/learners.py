"""The learners: a points scorecard (WOE + logistic regression), LightGBM (fixed, or
tuned by inner CV), a one-hot logistic-regression baseline, a random forest and the
committees made of them. Each is fitted on the rows it is given only (so binning,
selection and any inner choice of settings happen inside every cross-validation
training fold) and is reproducible from its seed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arrears.models.base import INNER_FOLDS, Learner, Splits, out_of_bag_mean
from arrears.models.boosting import GradientBoosting, TunedBoosting
from arrears.models.committees import Blend, Committee, Ensemble, Stack
from arrears.models.scaling import Scaling
from arrears.models.scorecard import (
    BINNING_GRID,
    C_GRID,
    CHI_ALPHA_GRID,
    INNER_ROWS,
    MIN_IV_GRID,
    Scorecard,
)

__all__ = [
    "BINNING_GRID",
    "CHI_ALPHA_GRID",
    "C_GRID",
    "INNER_FOLDS",
    "INNER_ROWS",
    "LEARNERS",
    "MIN_IV_GRID",
    "Baseline",
    "Blend",
    "Committee",
    "Ensemble",
    "Forest",
    "GradientBoosting",
    "Learner",
    "Scorecard",
    "Stack",
    "TunedBoosting",
    "make_learner",
]


class Baseline(Learner):
    """Logistic regression on raw numbers (median-imputed, standardised) and one-hot
    categories: the reference the other learners are measured against."""

    name = "baseline"

    def __init__(self, seed: int = 0, c: float = 1.0, scaling: Scaling | None = None) -> None:
        self.seed = seed
        self.c = c
        self.scaling = scaling or Scaling()

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Baseline:
        """Fit the pipeline on these rows."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        prep = _one_hot_prep(self.features, self.categorical, scale=True)
        model = LogisticRegression(C=self.c, max_iter=5000, random_state=self.seed)
        self.model = make_pipeline(prep, model)
        self.model.fit(_as_text(features, self.categorical), y)
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability."""
        return self.model.predict_proba(_as_text(features[self.features], self.categorical))[:, 1]

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {"C": self.c, "scaling": self.scaling.as_dict()}


class Forest(Learner):
    """A random forest (scikit-learn) on median-imputed numbers and one-hot categories.
    Settings fixed a priori: 500 trees (enough for the averaged probability to settle),
    √p features tried per split (Breiman's default for classification), at least 5 rows
    per leaf so that leaf frequencies are usable probabilities; ``n_jobs=1``."""

    name = "forest"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "n_estimators": 500,
        "max_features": "sqrt",
        "min_samples_leaf": 5,
    }

    def __init__(self, seed: int = 0, scaling: Scaling | None = None, **overrides: Any) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()
        self.settings = {**self.DEFAULTS, **overrides}

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Forest:
        """Fit the forest on these rows (category levels learned from them)."""
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.pipeline import make_pipeline

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        forest = RandomForestClassifier(**self.settings, random_state=self.seed, n_jobs=1)
        self.model = make_pipeline(
            _one_hot_prep(self.features, self.categorical, scale=False), forest
        )
        self.model.fit(_as_text(features, self.categorical), y)
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability: the trees' mean leaf frequency."""
        return self.model.predict_proba(_as_text(features[self.features], self.categorical))[:, 1]

    def out_of_fold_pd(
        self, features: pd.DataFrame, y: np.ndarray, categorical: list[str], splits: Splits
    ) -> np.ndarray:
        """The forest's out-of-bag votes for its training rows (each row scored by the
        trees whose bootstrap left it out): out-of-fold predictions without a refit.
        ``splits`` is not used."""
        prep, forest = self.model[0], self.model[-1]
        x = prep.transform(_as_text(features[self.features], self.categorical))
        trees = forest.estimators_
        votes, never = out_of_bag_mean(
            len(y),
            forest.estimators_samples_,
            lambda i, out: trees[i].predict_proba(x[out])[:, 1],
        )
        if never.any():  # a row every tree drew (unlikely with hundreds): the forest's vote
            votes[never] = self.predict_pd(features[never])
        return votes

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {**self.settings, "scaling": self.scaling.as_dict()}


def _one_hot_prep(features: list[str], categorical: list[str], scale: bool) -> Any:
    """Median-imputed (and, if ``scale``, standardised) numbers beside one-hot
    categories; a category not seen in fitting is all zeros."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in features if c not in categorical]
    steps: list[Any] = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer(
        [
            ("num", make_pipeline(*steps), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )


def _as_text(features: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = features.copy()
    for c in categorical:
        out[c] = out[c].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return out


LEARNERS: dict[str, type[Learner]] = {
    "scorecard": Scorecard,
    "lgbm": GradientBoosting,
    "baseline": Baseline,
    "blend": Blend,
    "forest": Forest,
    "ensemble": Ensemble,
    "lgbm_cv": TunedBoosting,
    "stack": Stack,
}


def make_learner(name: str, seed: int = 0, **settings: Any) -> Learner:
    """A fresh, unfitted learner by name (``scorecard``, ``lgbm``, ``baseline``, ``blend``,
    ``forest``, ``ensemble``, ``lgbm_cv``, ``stack``)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r} (choose from {', '.join(LEARNERS)})")
    return LEARNERS[name](seed=seed, **settings)

"""Committees: learners made of other learners, every member fitted on the committee's
own training rows only.

``Ensemble`` and ``Blend`` combine their members with fixed, equal weights. ``Stack``
chooses its weights from the members' out-of-fold predictions of its training rows, so
the choice, too, happens inside any outer cross-validation. In a cross-validation of
several learners at once (``validation.cross_validate_many``) a committee takes its
members as the same run fitted them on the same rows, instead of fitting them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arrears.models.base import Learner, inner_splits
from arrears.models.scaling import Scaling


class Committee(Learner):
    """Learners made of other learners (``MEMBERS``, or ``members``, by name), each made
    by ``make_learner`` with the committee's seed and its ``member_settings`` and fitted
    on the same rows only; subclasses say how their PDs combine."""

    MEMBERS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        seed: int = 0,
        scaling: Scaling | None = None,
        members: Sequence[str] | None = None,
        member_settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()
        self.member_names = tuple(members or self.MEMBERS)
        self.member_settings = {k: dict(v) for k, v in (member_settings or {}).items()}

    def names(self) -> tuple[str, ...]:
        """The members' names, in order."""
        return tuple(getattr(self, "member_names", self.MEMBERS))

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Committee:
        """Fit every member on these rows."""
        return self.fit_with({}, features, y, categorical)

    def fit_with(
        self,
        fitted: Mapping[str, Learner],
        features: pd.DataFrame,
        y: np.ndarray,
        categorical: list[str],
    ) -> Committee:
        """As ``fit``, but a member named in ``fitted`` is taken from there as it is. The
        caller vouches that each was fitted on exactly these rows with the settings this
        committee would give it, so the result is the same as ``fit``'s."""
        from arrears.models.learners import make_learner

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        self.members = [
            fitted[name]
            if name in fitted
            else make_learner(name, seed=self.seed, **self.member_settings.get(name, {})).fit(
                features, y, categorical
            )
            for name in self.names()
        ]
        self._combine(features, np.asarray(y), categorical)
        return self

    def _combine(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> None:
        """Learn how to combine the fitted members (nothing, for fixed weights)."""

    def member_pds(self, features: pd.DataFrame) -> np.ndarray:
        """Each member's event probability, one row per member."""
        return np.vstack([m.predict_pd(features[m.features]) for m in self.members])

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        members = getattr(self, "members", None)
        return {
            "members": ({m.name: m.params() for m in members} if members else list(self.names())),
            "scaling": self.scaling.as_dict(),
        }


class Ensemble(Committee):
    """A heterogeneous ensemble in the spirit of Lessmann et al. (2015): the simple
    average of the PDs of a scorecard (settings by its own inner CV), the one-hot
    logistic-regression baseline, LightGBM and a random forest, each fitted with its
    default settings on the same rows only. Equal weights; nothing is fitted on the
    members' predictions, so there is nothing to tune."""

    name = "ensemble"
    MEMBERS: ClassVar[tuple[str, ...]] = ("scorecard", "baseline", "lgbm", "forest")

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """The members' mean event probability."""
        return self.member_pds(features).mean(axis=0)

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {**super().params(), "combination": "mean PD, equal weights"}


class Blend(Committee):
    """The mean log-odds of a scorecard and a LightGBM model, each fitted as above on the
    same rows: a heterogeneous ensemble of the kind Lessmann et al. (2015) found best on
    credit data. No weights are fitted; the two count equally."""

    name = "blend"
    MEMBERS: ClassVar[tuple[str, ...]] = ("scorecard", "lgbm")

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability at the members' mean log-odds."""
        p = np.clip(self.member_pds(features), 1e-9, 1 - 1e-9)
        return 1 / (1 + np.exp(-np.log(p / (1 - p)).mean(axis=0)))


# weights of a stack are multiples of 1/STEPS summing to one
STEPS = 12


class Stack(Committee):
    """A weighted mean of the members' PDs, the weights chosen inside the training rows:
    every member says what it would have predicted for each training row with that
    row's inner fold left out (the same 5 stratified inner folds for all; a member whose
    own inner CV made those predictions hands them over, a forest its out-of-bag
    votes), and the weights — multiples of 1/12 summing to one, 455 candidates for four
    members — are those whose weighted mean of these predictions has the highest AUC.
    Ties go to the weights nearest equal. Members by default: the scorecard, the
    baseline, the tuned LightGBM and the forest."""

    name = "stack"
    MEMBERS: ClassVar[tuple[str, ...]] = ("scorecard", "baseline", "lgbm_cv", "forest")

    def _combine(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> None:
        from arrears.models.metrics import auc

        splits = inner_splits(y, self.seed)
        oof = np.vstack(
            [m.out_of_fold_pd(features[m.features], y, categorical, splits) for m in self.members]
        )
        best, best_auc = None, -1.0
        for w in weight_grid(len(self.members), STEPS):
            score = auc(y, w @ oof)
            if score > best_auc:
                best, best_auc = w, score
        assert best is not None
        self.weights = best
        self.inner_auc = best_auc

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """The weighted mean of the members' PDs."""
        return np.asarray(self.weights @ self.member_pds(features))

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata (with the weights, once fitted)."""
        out = {**super().params(), "combination": f"weighted mean PD, weights in 1/{STEPS}"}
        if hasattr(self, "weights"):
            out["weights"] = dict(zip(self.names(), map(float, self.weights), strict=True))
            out["inner_cv_auc"] = self.inner_auc
        return out


def weight_grid(members: int, steps: int) -> list[np.ndarray]:
    """Every weight vector of ``members`` multiples of 1/``steps`` summing to one, the
    nearest to equal weights first (then in lexicographic order)."""
    grid = []
    # stars and bars: choose where the members-1 bars sit among steps+members-1 places
    for bars in combinations(range(steps + members - 1), members - 1):
        edges = (-1, *bars, steps + members - 1)
        counts = [edges[i + 1] - edges[i] - 1 for i in range(members)]
        grid.append(np.array(counts, dtype=float) / steps)
    equal = np.full(members, 1 / members)
    grid.sort(key=lambda w: (round(float(np.abs(w - equal).sum()), 9), tuple(-w)))
    return grid

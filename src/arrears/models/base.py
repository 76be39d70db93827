"""What every learner is: fitted on the rows it is given only, reproducible from its seed,
and able to say what it would have predicted for its own training rows had each of
them been left out (the out-of-fold predictions a stacked committee is weighted on).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arrears.models.scaling import Scaling

INNER_FOLDS = 5

Splits = list[tuple[np.ndarray, np.ndarray]]


def inner_splits(y: np.ndarray, seed: int, folds: int = INNER_FOLDS) -> Splits:
    """The stratified ``folds``-fold splits of the rows given (positions), shuffled with
    ``seed``: every inner choice of a learner and every committee's weights use these,
    so one learner's inner predictions line up with another's."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def out_of_bag_mean(
    rows: int, drawn: Sequence[np.ndarray], predict: Callable[[int, np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``rows`` training rows' mean prediction by the members of a bag whose
    sample (``drawn[i]``: positions) left it out; ``predict(i, out)`` is member i's
    prediction of the rows of the mask ``out``. Returns the means and the mask of rows
    every sample drew (their mean is left at 0, for the caller's fallback)."""
    total, count = np.zeros(rows), np.zeros(rows)
    for i, positions in enumerate(drawn):
        out = np.ones(rows, dtype=bool)
        out[positions] = False
        total[out] += predict(i, out)
        count[out] += 1
    never = count == 0
    return total / np.where(never, 1, count), never


def one_blas_thread() -> Any:
    """A context in which BLAS runs on one thread. The learners' matrices are small: a
    second BLAS thread buys nothing and, on a busy machine, its spinning made each
    logistic regression fit ~10x slower. The numbers are the same either way."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


class Learner:
    """Common shape: ``fit(features, y, categorical)``, ``predict_pd(features)``,
    ``points(features)`` (int points, higher = lower risk) and ``params()``."""

    name: ClassVar[str] = ""
    # attributes kept in memory for a committee's use but not saved with the model
    TRANSIENT: ClassVar[tuple[str, ...]] = ()
    scaling: Scaling = Scaling()
    seed: int = 0
    features: list[str]
    categorical: list[str]

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Learner:
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self.TRANSIENT}

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def points(self, features: pd.DataFrame) -> np.ndarray:
        """Scaled points of each row, rounded to whole points."""
        return self.score(features)[1]

    def score(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The PD and the points of each row, from one prediction (scoring a book or a
        file needs both; predicting twice doubled the work)."""
        pd_ = np.asarray(self.predict_pd(features), dtype=np.float64)
        return pd_, np.rint(self.scaling.points_from_pd(pd_)).astype(np.int32)

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    def out_of_fold_pd(
        self, features: pd.DataFrame, y: np.ndarray, categorical: list[str], splits: Splits
    ) -> np.ndarray:
        """The PD of every row of ``features`` (the rows this learner was fitted on) from
        a learner with the same settings fitted without that row's fold of ``splits``.
        This default refits a copy per fold; learners whose own inner CV already made
        these predictions hand those back instead."""
        out = np.full(len(y), np.nan)
        for train, test in splits:
            # a shallow copy keeps the settings; fit replaces every fitted attribute
            part = copy.copy(self).fit(features.iloc[train], y[train], categorical)
            out[test] = part.predict_pd(features.iloc[test])
        return out

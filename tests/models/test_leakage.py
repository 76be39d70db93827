"""No leakage: binning and selection are fitted inside each training fold.

The data: a random target and 30 pure-noise features on 300 rows. Bins fitted on every
row learn the noise of the test rows too, and a logistic regression on those WOEs then
"predicts" the test folds (AUC near 1). Fitted on the training fold only, the bins
carry nothing to the test fold and its AUC stays near 0.5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from arrears.models import metrics
from arrears.models.base import INNER_FOLDS
from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.derived import Ratio, with_ratios
from arrears.models.learners import Baseline, Forest, Scorecard, Stack, TunedBoosting
from arrears.models.validation import cross_validate

FREE = BinningConfig(monotonic_trend=None)  # bins free to follow the noise


@pytest.fixture(scope="module")
def noise() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    n = 300
    y = rng.integers(0, 2, n)
    features = pd.DataFrame(rng.normal(size=(n, 30)), columns=[f"x{i}" for i in range(30)])
    return features, y


def test_binning_fitted_on_all_rows_would_leak(noise):
    # the counterfactual, showing the data exposes a leak: bin on every row, then CV
    features, y = noise
    woe = WoeBinner(FREE).fit(features, y, []).transform(features)
    aucs = []
    for train, test in StratifiedKFold(3, shuffle=True, random_state=0).split(woe, y):
        model = LogisticRegression().fit(woe.iloc[train], y[train])
        aucs.append(metrics.auc(y[test], model.predict_proba(woe.iloc[test])[:, 1]))
    assert np.mean(aucs) > 0.85


def test_cross_validation_fits_binning_inside_each_training_fold(noise):
    features, y = noise
    # bagged (ten fits keep it quick): the bootstrap samples are drawn from the training
    # fold too, so the bag's noise carries nothing to the test fold either
    cv = cross_validate(
        lambda: Scorecard(seed=0, c=1.0, min_iv=0.0, binning=FREE, bags=10),
        features,
        y,
        [],
        folds=3,
    )
    assert cv.mean_auc < 0.6
    assert not np.isnan(cv.out_of_fold).any()  # every row predicted by the fold left out


def test_each_fit_sees_only_its_training_rows(noise):
    features, y = noise
    features = features[["x0", "x1", "x2"]]
    seen: list[set[int]] = []

    class Recording(Scorecard):
        def fit(self, features, y, categorical):
            seen.append(set(features.index))
            return super().fit(features, y, categorical)

        def predict_pd(self, features):
            assert not seen[-1] & set(features.index), "a test row was in the training fit"
            return super().predict_pd(features)

    cross_validate(lambda: Recording(seed=0, c=1.0, min_iv=0.0), features, y, [], folds=3)
    assert len(seen) == 3 and set().union(*seen) == set(features.index)


def test_ratios_are_computed_from_each_row_alone(noise):
    features, _ = noise
    frame = features[["x0", "x1", "x2"]].abs() + 0.1
    ratios = (Ratio("r", "x0", ("x1",)), Ratio("s", "x0", ("x1", "x2")))
    whole = with_ratios(frame, ratios)
    part = with_ratios(frame.iloc[40:60], ratios)
    assert whole.iloc[40:60].equals(part)
    assert np.allclose(whole["s"], frame["x0"] / (frame["x1"] * frame["x2"]))
    assert list(whole.columns[:3]) == ["x0", "x1", "x2"]


def test_scorecard_with_ratios_bins_them_inside_each_training_fold(noise, monkeypatch):
    features, y = noise
    features = features[["x0", "x1", "x2", "x3"]].abs() + 0.1
    ratios = (Ratio("r01", "x0", ("x1",)), Ratio("r23", "x2", ("x3",)))
    seen: list[tuple[frozenset[int], list[str]]] = []
    original = WoeBinner.fit

    def recording(self, x, target, cats, **options):
        seen.append((frozenset(x.index), list(x.columns)))
        return original(self, x, target, cats, **options)

    monkeypatch.setattr(WoeBinner, "fit", recording)
    outer: list[tuple[frozenset[int], int]] = []

    class Watched(Scorecard):
        def fit(self, x, target, cats):
            outer.append((frozenset(x.index), len(seen)))
            return super().fit(x, target, cats)

    make = lambda: Watched(seed=0, binning=FREE, min_iv=0.0, c=(0.1, 1.0), ratios=ratios)  # noqa: E731
    cv = cross_validate(make, features, y, [], folds=3)
    assert cv.mean_auc < 0.6  # the ratios of noise carry nothing to the test folds
    bounds = [start for _, start in outer] + [len(seen)]
    for (train, _), start, end in zip(outer, bounds[:-1], bounds[1:], strict=True):
        fits = seen[start:end]
        assert fits and all(rows <= train for rows, _ in fits)
        # the inner CV's fits and the chosen one bin the ratios; the bagged fits after
        # them bin the columns of the choice
        n_choice = INNER_FOLDS * Scorecard().repeats_for(len(train)) + 1
        assert all({"r01", "r23"} <= set(columns) for _, columns in fits[:n_choice])
        assert all(set(columns) <= set(fits[0][1]) for _, columns in fits[n_choice:])


def test_tuned_lightgbm_fits_only_training_rows(noise, monkeypatch):
    import lightgbm as lgb

    features, y = noise
    features = features[["x0", "x1", "x2"]]
    seen: list[frozenset[int]] = []
    original = lgb.LGBMClassifier.fit

    def recording(self, x, target, *args, **options):
        seen.append(frozenset(x.index))
        return original(self, x, target, *args, **options)

    monkeypatch.setattr(lgb.LGBMClassifier, "fit", recording)
    outer: list[tuple[frozenset[int], int]] = []

    class Watched(TunedBoosting):
        def fit(self, x, target, cats):
            outer.append((frozenset(x.index), len(seen)))
            return super().fit(x, target, cats)

    cv = cross_validate(lambda: Watched(seed=0, depths=(2, 3), trees=(20, 40)), features, y, [], 3)
    assert cv.mean_auc < 0.6
    bounds = [start for _, start in outer] + [len(seen)]
    for (train, _), start, end in zip(outer, bounds[:-1], bounds[1:], strict=True):
        fits = seen[start:end]
        # 5 inner folds x 2 depths, then the choice on every training row
        assert len(fits) == 5 * 2 + 1 and fits[-1] == train
        assert all(rows < train for rows in fits[:-1])


def test_stack_weighs_its_members_on_training_rows_only(noise, monkeypatch):
    features, y = noise
    features = features[["x0", "x1", "x2", "x3"]]
    fits: list[tuple[str, frozenset[int]]] = []
    for cls in (Scorecard, Baseline, TunedBoosting, Forest):

        def recording(self, x, target, cats, _original=cls.fit):
            fits.append((self.name, frozenset(x.index)))
            return _original(self, x, target, cats)

        monkeypatch.setattr(cls, "fit", recording)
    outer: list[tuple[frozenset[int], int]] = []

    class Watched(Stack):
        def fit(self, x, target, cats):
            outer.append((frozenset(x.index), len(fits)))
            return super().fit(x, target, cats)

    settings = {
        "scorecard": {"binning": FREE, "min_iv": 0.0, "c": (0.1, 1.0)},
        "lgbm_cv": {"depths": (2,), "trees": (20, 40)},
        "forest": {"n_estimators": 50},
    }
    cv = cross_validate(lambda: Watched(seed=0, member_settings=settings), features, y, [], 3)
    assert cv.mean_auc < 0.6
    bounds = [start for _, start in outer] + [len(fits)]
    for (train, _), start, end in zip(outer, bounds[:-1], bounds[1:], strict=True):
        chunk = fits[start:end]
        # the four members, then the baseline's refits on the inner folds (the others
        # hand over predictions they already made: inner CV, out-of-bag votes)
        assert [name for name, _ in chunk[:4]] == list(Stack.MEMBERS)
        assert all(rows == train for _, rows in chunk[:4])
        assert [name for name, _ in chunk[4:]] == ["baseline"] * 5
        assert all(rows < train for _, rows in chunk[4:])

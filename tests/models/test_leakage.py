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
from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.learners import Scorecard
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
    cv = cross_validate(
        lambda: Scorecard(seed=0, c=1.0, min_iv=0.0, binning=FREE), features, y, [], folds=3
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

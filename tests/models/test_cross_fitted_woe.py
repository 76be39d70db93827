"""The scorecard's regression is fitted on cross-fitted WOEs: a training row's WOE is
counted on the other folds' rows only, in the same bins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from arrears.models.base import inner_splits
from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.learners import Scorecard


@pytest.fixture(scope="module")
def sample(german_sample_of):  # type: ignore[no-untyped-def]
    return german_sample_of(400, 6, 3)


def test_a_rows_cross_fitted_woe_ignores_its_own_outcome(sample):
    features, y, categorical = sample
    binner = WoeBinner().fit(features, y, categorical)
    splits = inner_splits(y, 0)
    before = binner.cross_fitted_woe(features, y, splits)
    for row in (0, 17, 311):
        flipped = y.copy()
        flipped[row] = 1 - flipped[row]
        after = binner.cross_fitted_woe(features, flipped, splits)
        pd.testing.assert_series_equal(after.iloc[row], before.iloc[row])
        # the flip is evidence for the rows of the other folds in the row's bins
        fold = next(i for i, (_, test) in enumerate(splits) if row in test)
        others = np.setdiff1d(np.arange(len(y)), splits[fold][1])
        assert not np.allclose(after.iloc[others].to_numpy(), before.iloc[others].to_numpy())


def test_cross_fitted_woe_is_the_bin_woe_of_the_other_folds(sample):
    features, y, categorical = sample
    binner = WoeBinner().fit(features, y, categorical)
    splits = inner_splits(y, 1)
    woe = binner.cross_fitted_woe(features, y, splits)
    name = "duration_in_month"
    labels = binner.bin_labels(features)[name].to_numpy()
    train, test = splits[2]
    row = test[0]
    same_bin = train[labels[train] == labels[row]]
    e, n = y[same_bin].sum(), len(same_bin)
    events, rate = y[train].sum(), y[train].mean()
    expected = np.log(((n - e + 1 - rate) / (len(train) - events)) / ((e + rate) / events))
    assert woe[name].iloc[row] == pytest.approx(expected)


def test_missing_values_keep_woe_zero_as_in_transform(sample):
    features, y, categorical = sample
    features = features.copy()
    features.loc[features.index[:30], "credit_amount"] = np.nan
    binner = WoeBinner().fit(features, y, categorical)
    woe = binner.cross_fitted_woe(features, y, inner_splits(y, 0))
    assert (woe["credit_amount"].iloc[:30] == 0).all()
    assert (binner.transform(features)["credit_amount"].iloc[:30] == 0).all()


def test_scorecard_regression_is_fitted_on_cross_fitted_woe(sample):
    features, y, categorical = sample
    fixed = {"binning": BinningConfig(), "min_iv": 0.0, "chi_alpha": None, "c": 0.3}
    card = Scorecard(seed=4, **fixed).fit(features, y, categorical)
    kept = card.selection.kept
    crossed = card.binner.cross_fitted_woe(features, y, inner_splits(y, 4))[kept]
    refit = LogisticRegression(C=0.3, max_iter=2000, random_state=4).fit(crossed.to_numpy(), y)
    np.testing.assert_allclose(card.model.coef_[0], refit.coef_[0], rtol=1e-6)
    # the in-sample design fits other coefficients on the same rows
    plain = Scorecard(seed=4, cross_fit=None, **fixed).fit(features, y, categorical)
    assert plain.selection.kept == kept
    assert not np.allclose(plain.model.coef_[0], card.model.coef_[0])

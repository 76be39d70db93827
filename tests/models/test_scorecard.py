"""Points scaling (PDO), the points table, binning and the learners' reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.data import german_credit
from arrears.models.learners import GradientBoosting, Scorecard, make_learner
from arrears.models.scaling import Scaling


def test_pdo_points_double_the_odds():
    s = Scaling(pdo=20, base_points=600, base_odds=50)
    # good:bad odds 50 -> bad log-odds ln(1/50)
    assert s.points_from_log_odds(np.array([math.log(1 / 50)]))[0] == pytest.approx(600)
    assert s.points_from_log_odds(np.array([math.log(1 / 100)]))[0] == pytest.approx(620)
    assert s.points_from_log_odds(np.array([math.log(1 / 25)]))[0] == pytest.approx(580)
    assert s.points_from_pd(np.array([1 / 51]))[0] == pytest.approx(600)


@pytest.fixture(scope="module")
def german() -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    data = german_credit()
    return data.features, data.target, data.categorical


@pytest.fixture(scope="module")
def scorecard(german) -> Scorecard:
    # the default: binning, filters and C chosen by the inner CV, that choice bagged
    features, y, categorical = german
    return Scorecard(seed=0).fit(features, y, categorical)


@pytest.fixture(scope="module")
def single(german) -> Scorecard:
    # the inner CV's choice fitted once on all rows (design 4)
    features, y, categorical = german
    return Scorecard(seed=0, bags=0).fit(features, y, categorical)


def test_german_credit_loads_from_the_installed_wheel(german):
    features, y, categorical = german
    assert features.shape == (1000, 20)
    assert int(y.sum()) == 300  # 300 bad, 700 good
    assert "purpose" in categorical and "duration_in_month" not in categorical


def test_scorecard_score_is_the_sum_of_its_bin_points(single, german):
    features, _, _ = german
    table = single.points_table()
    bins = single.binner.bin_labels(features)
    row = 7
    total = 0
    for name in single.selection.kept:
        label = bins.loc[row, name]
        hits = table[(table["feature"] == name) & (table["bin"] == str(label))]
        assert len(hits) == 1, (name, label)
        total += int(hits["points"].iloc[0])
    assert single.points(features.iloc[[row]])[0] == total


def test_the_default_scorecard_on_a_small_table_is_bagged(scorecard, single, german):
    features, _, _ = german
    assert len(scorecard.members) == scorecard.bags_for(len(features)) > 0
    # the same settings were chosen: bagging comes after the inner CV's choice
    assert scorecard.choice() == {**single.choice(), "bags": len(scorecard.members)}
    assert set(scorecard.points_table()["feature"]) == set(scorecard.selection.kept)


@pytest.mark.parametrize("card", ["scorecard", "single"])
def test_scorecard_points_follow_the_scaled_log_odds(card, german, request):
    scorecard = request.getfixturevalue(card)
    features, _, _ = german
    pd_ = scorecard.predict_pd(features)
    exact = scorecard.scaling.points_from_pd(pd_)
    # each of the n bin contributions is rounded once: at most n/2 points off
    n = len(scorecard.selection.kept)
    assert np.max(np.abs(scorecard.points(features) - exact)) <= n / 2


def test_score_gives_a_learners_pd_and_points_of_each_row(scorecard, german):
    features, y, categorical = german
    lgbm = GradientBoosting(seed=0, n_estimators=20).fit(features, y, categorical)
    for learner in (scorecard, lgbm):
        pd_, points = learner.score(features)
        assert pd_.dtype == np.float64 and points.dtype == np.int32
        assert np.array_equal(pd_, learner.predict_pd(features))
        assert np.array_equal(points, learner.points(features))
    # the scorecard's points are its bins' points, not the rounded scaled PD
    pd_, points = scorecard.score(features)
    assert not np.array_equal(points, np.rint(scorecard.scaling.points_from_pd(pd_)))


def test_scorecard_coefficients_all_negative_on_woe(scorecard, single):
    # positive WOE is the lower-risk side, so lower risk must mean more points
    assert (single.model.coef_[0] < 0).all()
    assert all((member.model.coef_[0] < 0).all() for member in scorecard.members)


def test_monotonic_binning_gives_a_monotonic_event_rate(german):
    features, y, _ = german
    binner = WoeBinner(BinningConfig(monotonic_trend="ascending")).fit(
        features[["duration_in_month"]], y, []
    )
    rates = binner.table("duration_in_month")["event_rate"].to_numpy()
    assert len(rates) >= 3 and (np.diff(rates) >= 0).all()


def test_learners_are_reproducible_from_their_seed(german):
    features, y, categorical = german
    cases = (("lgbm", {"n_estimators": 30}), ("baseline", {}), ("forest", {"n_estimators": 30}))
    for name, settings in cases:
        a = make_learner(name, seed=3, **settings).fit(features, y, categorical)
        b = make_learner(name, seed=3, **settings).fit(features, y, categorical)
        assert np.array_equal(a.predict_pd(features), b.predict_pd(features)), name


def test_lgbm_handles_unseen_categories(german):
    features, y, categorical = german
    model = GradientBoosting(seed=0, n_estimators=20).fit(features, y, categorical)
    odd = features.iloc[:3].copy()
    odd["purpose"] = "never seen"
    assert np.isfinite(model.predict_pd(odd)).all()
    assert set(model.importance()) == set(features.columns)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"binning": "auto"}, "Scorecard binning: 'auto' is not a BinningConfig or a list of them"),
        ({"binning": [BinningConfig(), "x"]}, "Scorecard binning: 'x' is not a BinningConfig"),
        ({"c": "1.0"}, "Scorecard c: '1.0' is not a float or a list of them"),
        ({"min_iv": []}, "Scorecard min_iv: [] is not a float or a list of them"),
        ({"chi_alpha": [None, "0.05"]}, "Scorecard chi_alpha: '0.05' is not a float"),
    ],
)
def test_a_wrong_setting_is_named_before_anything_is_fitted(settings, message):
    with pytest.raises(TypeError) as raised:
        Scorecard(seed=0, **settings).candidates()
    assert str(raised.value) == message


def test_settings_take_one_value_or_a_list_of_candidates():
    binnings, ivs, alphas, cs = Scorecard(
        seed=0, binning=BinningConfig(), min_iv=0, chi_alpha=None, c=(0.1, 1)
    ).candidates()
    assert (binnings, ivs, alphas, cs) == ([BinningConfig()], [0], [None], [0.1, 1])

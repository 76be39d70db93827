"""The bagged scorecard (German credit design 5): the chosen settings fitted again on
stratified bootstrap samples of the training rows, their log-odds averaged; still a
points scorecard whose table gives every score, with out-of-bag predictions for the
stack."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.models import bagging, metrics
from arrears.models.base import Learner, inner_splits
from arrears.models.binning import BinningConfig
from arrears.models.scorecard import INNER_ROWS, Scorecard

FIXED = {"binning": BinningConfig(), "min_iv": 0.0, "chi_alpha": None, "c": 1.0}


@pytest.fixture(scope="module")
def small(german_sample_of) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """300 rows and 6 columns of the German credit data (2 categorical)."""
    return german_sample_of(300, 6, seed=3)


@pytest.fixture(scope="module")
def bagged(small) -> Scorecard:
    features, y, categorical = small
    return Scorecard(seed=2, bags=12, **FIXED).fit(features, y, categorical)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 1), min_size=2, max_size=80).filter(lambda v: 0 < sum(v) < len(v)),
    st.integers(0, 2**32 - 1),
)
def test_a_stratified_bootstrap_keeps_each_class_count_and_draws_only_given_rows(labels, seed):
    y = np.array(labels)
    drawn = bagging.stratified_bootstrap(y, np.random.default_rng(seed))
    assert len(drawn) == len(y)
    assert ((drawn >= 0) & (drawn < len(y))).all()
    assert int(y[drawn].sum()) == int(y.sum())  # the events, in the same number
    assert (np.diff(drawn) >= 0).all()


def test_the_default_bags_small_tables_only():
    card = Scorecard()
    assert card.bags_for(1000) == bagging.BAGS
    assert card.bags_for(INNER_ROWS) == bagging.BAGS
    assert card.bags_for(INNER_ROWS + 1) == 0
    assert Scorecard(bags=0).bags_for(1000) == 0
    assert Scorecard(bags=7).bags_for(10**6) == 7
    assert card.params()["bags"] is None  # the automatic rule, recorded as such


def test_the_bagged_pd_is_the_mean_log_odds_of_its_fits(bagged, small):
    features, _, _ = small
    assert len(bagged.members) == 12 and bagged.choice()["bags"] == 12
    mean = np.mean([_logit(m.predict_pd(features)) for m in bagged.members], axis=0)
    assert np.allclose(_logit(bagged.predict_pd(features)), mean, rtol=0, atol=1e-9)
    # the fits differ (their samples do), so this is not one model twelve times
    assert len({tuple(np.round(m.predict_pd(features), 9)) for m in bagged.members}) > 1


def test_each_fit_sees_a_bootstrap_of_the_training_rows_with_their_event_count(bagged, small):
    _, y, _ = small
    for drawn in bagged.in_bag:
        assert len(drawn) == len(y) and int(y[drawn].sum()) == int(y.sum())
        assert len(np.unique(drawn)) < len(y)  # drawn with replacement
    for member in bagged.members:
        assert (member.model.coef_[0] < 0).all()  # the wrong-sign rule holds in every fit
        # each fit keeps the settings chosen for the whole
        assert member.c_chosen == bagged.c_chosen
        assert member.binning_chosen == bagged.binning_chosen


def _score_from_table(table: pd.DataFrame, features: pd.DataFrame, categorical: list[str]):
    """Each row's score looked up in the points table by its bin labels only."""
    total = np.zeros(len(features), dtype=int)
    for name, rows in table.groupby("feature", sort=False):
        values = features[name]
        if name in categorical:
            points = dict(zip(rows["bin"], rows["points"], strict=True))
            total += np.array(
                [points[str(v)] if str(v) in points else points["(unseen)"] for v in values]
            )
            continue
        intervals = rows[rows["bin"] != "Missing"]
        uppers = [float(b.split(",")[1].strip(" )")) for b in intervals["bin"]]
        x = values.to_numpy(dtype=float)
        found = np.searchsorted(np.array(uppers), x, side="right")  # [lower, upper)
        total += intervals["points"].to_numpy()[found]
    return total


def test_every_score_is_the_sum_of_its_bins_points_in_the_table(bagged, small):
    features, _, categorical = small
    table = bagged.points_table()
    assert list(table.columns) == [
        "feature",
        "bin",
        "count",
        "events",
        "event_rate",
        "fits",
        "points",
    ]
    assert set(table["feature"]) == set(bagged.selection.kept)
    assert np.array_equal(bagged.points(features), _score_from_table(table, features, categorical))
    # the counts are the training rows', each row in one bin of each feature
    for _, rows in table.groupby("feature"):
        assert rows["count"].sum() == len(features)
    # neighbouring intervals never carry the same points (they are merged)
    for name, rows in table.groupby("feature"):
        if name not in categorical:
            assert (np.diff(rows["points"].to_numpy()) != 0).all()


def test_a_category_never_seen_scores_on_the_unseen_row(bagged, small):
    features, _, categorical = small
    name = next(n for n in categorical if n in bagged.selection.kept)
    row = features.iloc[[0]].copy()
    table = bagged.points_table().set_index(["feature", "bin"])["points"]
    before = int(bagged.points(row)[0])
    old = table[(name, str(row[name].iloc[0]))]
    row[name] = "a category nobody wrote"
    assert int(bagged.points(row)[0]) == before - old + table[(name, bagging.UNSEEN)]


def test_points_follow_the_scaled_mean_log_odds(bagged, small):
    features, _, _ = small
    pd_, points = bagged.score(features)
    assert np.array_equal(pd_, bagged.predict_pd(features))
    exact = bagged.scaling.points_from_pd(pd_)
    assert np.max(np.abs(points - exact)) <= len(bagged.selection.kept) / 2


def test_out_of_bag_predictions_score_each_row_by_the_fits_that_never_drew_it(bagged, small):
    features, y, categorical = small
    oob = bagged.out_of_fold_pd(features, y, categorical, inner_splits(y, 0))
    for i in (0, 17, 123):
        out = [m for m, drawn in zip(bagged.members, bagged.in_bag, strict=True) if i not in drawn]
        assert out
        mean = np.mean([_logit(m.predict_pd(features.iloc[[i]]))[0] for m in out])
        assert _logit(oob[i]) == pytest.approx(mean, abs=1e-9)


def test_out_of_bag_predictions_do_not_see_their_own_outcome():
    # pure noise: in-sample the bag ranks its own rows well, out of bag it cannot
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 300)
    noise = pd.DataFrame(rng.normal(size=(300, 6)), columns=[f"x{i}" for i in range(6)])
    card = Scorecard(seed=0, bags=20, **FIXED).fit(noise, y, [])
    assert metrics.auc(y, card.predict_pd(noise)) > 0.65
    oob = card.out_of_fold_pd(noise, y, [], inner_splits(y, 0))
    assert abs(metrics.auc(y, oob) - 0.5) < 0.08


def test_a_saved_bag_scores_the_same_and_keeps_no_rows(bagged, small):
    features, y, categorical = small
    loaded = pickle.loads(pickle.dumps(bagged))
    for name in Scorecard.TRANSIENT:
        assert not hasattr(loaded, name)
    assert np.array_equal(loaded.predict_pd(features), bagged.predict_pd(features))
    assert np.array_equal(loaded.points(features), bagged.points(features))
    assert loaded.points_table().equals(bagged.points_table())
    # each fit keeps the binnings of its own features only
    for member in loaded.members:
        assert set(member.binner.binnings) == set(member.selection.kept)
    # without the drawn rows, out-of-fold predictions are refits
    splits = inner_splits(y, 0)
    assert np.array_equal(
        loaded.out_of_fold_pd(features, y, categorical, splits),
        Learner.out_of_fold_pd(bagged, features, y, categorical, splits),
    )


def test_a_bag_is_reproducible_from_its_seed(small):
    features, y, categorical = small
    a = Scorecard(seed=5, bags=6, **FIXED).fit(features, y, categorical)
    b = Scorecard(seed=5, bags=6, **FIXED).fit(features, y, categorical)
    c = Scorecard(seed=6, bags=6, **FIXED).fit(features, y, categorical)
    assert np.array_equal(a.predict_pd(features), b.predict_pd(features))
    assert not np.array_equal(a.predict_pd(features), c.predict_pd(features))


def test_no_bags_is_the_one_fit_of_the_chosen_settings(small):
    features, y, categorical = small
    single = Scorecard(seed=2, bags=0, **FIXED).fit(features, y, categorical)
    assert not single.members and "bags" not in single.choice()
    assert "coefficient" in single.points_table().columns

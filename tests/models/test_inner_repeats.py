"""The scorecard's inner CV repeated on small tables (design 4): the candidates are
ranked on the mean AUC of every fold of every repeat, each repeat its own shuffle, and
the inner predictions a stack weighs are still those of the shared first-repeat splits."""

from __future__ import annotations

import numpy as np
import pytest

from arrears.models.base import inner_splits
from arrears.models.binning import BinningConfig
from arrears.models.choice import Grid, rank_candidates
from arrears.models.learners import Scorecard
from arrears.models.metrics import auc
from arrears.models.scorecard import INNER_ROWS, MAX_INNER_REPEATS

# unbagged: the inner CV's own predictions are what a stack weighs
GRID = {"binning": BinningConfig(), "min_iv": 0.0, "chi_alpha": None, "c": (0.01, 1.0), "bags": 0}


@pytest.fixture(scope="module")
def small(german_sample_of):
    return german_sample_of(300, 6, seed=5)


@pytest.mark.parametrize(
    ("rows", "repeats"),
    [(300, MAX_INNER_REPEATS), (800, 3), (2000, 2), (2600, 1), (INNER_ROWS, 1), (36000, 1)],
)
def test_small_tables_repeat_the_inner_cv_up_to_the_work_of_a_sampled_book(rows, repeats):
    assert Scorecard().repeats_for(rows) == repeats
    assert Scorecard(inner_repeats=1).repeats_for(rows) == 1


def test_ranking_is_the_mean_over_every_fold_of_every_repeat(small):
    features, y, categorical = small
    grid = Grid([BinningConfig()], [0.0], [None], [0.01, 1.0], (False,))
    once = [rank_candidates(features, y, categorical, [], grid, 0.7, seed) for seed in (7, 8)]
    twice, oof = rank_candidates(features, y, categorical, [], grid, 0.7, 7, repeats=2)
    alone = [dict(ranking) for ranking, _ in once]
    # five folds each: the mean of all ten is the mean of the two runs' means
    for candidate, score in twice:
        assert score == pytest.approx((alone[0][candidate] + alone[1][candidate]) / 2)
    # the two shuffles differ, so the repeat is not the same CV counted twice
    assert alone[0] != alone[1]
    # the out-of-fold predictions are those of the first repeat's (shared) splits
    for candidate, p in oof.items():
        assert np.array_equal(p, once[0][1][candidate])


def test_a_fitted_scorecard_records_its_repeats_and_hands_the_stack_first_repeat_predictions(
    small,
):
    features, y, categorical = small
    fitted = Scorecard(seed=3, **GRID).fit(features, y, categorical)
    assert fitted.choice()["inner_cv_repeats"] == MAX_INNER_REPEATS
    assert fitted.params()["inner_cv_repeats"] is None  # the automatic rule
    splits = inner_splits(y, 3)
    oof = fitted.out_of_fold_pd(features, y, categorical, splits)
    # the chosen candidate's predictions of the shared splits: each fold's rows predicted
    # by a model that never saw them, scoring as the inner CV of one repeat does
    assert not np.isnan(oof).any()
    fold_aucs = [auc(y[test], oof[test]) for _, test in splits]
    single = dict(
        rank_candidates(
            features,
            y,
            categorical,
            [],
            Grid([BinningConfig()], [0.0], [None], [0.01, 1.0], (False,)),
            0.7,
            3,
        )[0]
    )
    assert np.mean(fold_aucs) == pytest.approx(single[fitted.candidate_chosen])


def test_a_fixed_repeat_count_is_kept(small):
    features, y, categorical = small
    fitted = Scorecard(seed=3, inner_repeats=1, **GRID).fit(features, y, categorical)
    assert fitted.choice()["inner_cv_repeats"] == 1
    assert fitted.params()["inner_cv_repeats"] == 1

"""Several learners cross-validated at once: each fitted once per training fold, the
committees taking their members from that fold, with the same predictions as when every
learner is cross-validated on its own; and the stack's weights, chosen from out-of-fold
predictions of the training rows, reproducible and from its grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arrears.models.base import inner_splits
from arrears.models.binning import BinningConfig
from arrears.models.committees import STEPS, Stack, weight_grid
from arrears.models.derived import GERMAN_CREDIT_RATIOS
from arrears.models.learners import Forest, GradientBoosting, Scorecard, make_learner
from arrears.models.validation import cross_validate, cross_validate_many

# cheap members: a scorecard with two candidates (so it runs its inner CV) and a few
# bagged fits, a small forest, a small tuned LightGBM
SETTINGS = {
    "scorecard": {
        "binning": BinningConfig(),
        "min_iv": 0.0,
        "chi_alpha": None,
        "c": (0.1, 1.0),
        "bags": 4,
    },
    "forest": {"n_estimators": 60},
    "lgbm_cv": {"depths": (2,), "trees": (50, 100)},
}


@pytest.fixture(scope="module")
def small(german_sample_of) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """300 rows and 6 columns of the German credit data (2 categorical)."""
    return german_sample_of(300, 6, seed=3)


def _maker(name: str):
    def make():
        if name in ("ensemble", "blend", "stack"):
            return make_learner(name, seed=1, member_settings=SETTINGS)
        return make_learner(name, seed=1, **SETTINGS.get(name, {}))

    return make


NAMES = ("scorecard", "baseline", "lgbm", "lgbm_cv", "forest", "blend", "ensemble", "stack")


def test_shared_cv_gives_each_learner_the_predictions_of_its_own_cv(small):
    features, y, categorical = small
    shared = cross_validate_many(
        {n: _maker(n) for n in NAMES}, features, y, categorical, folds=3, repeats=1, seed=2
    )
    for name in NAMES:
        alone = cross_validate(_maker(name), features, y, categorical, folds=3, seed=2)
        assert shared[name].fold_auc == alone.fold_auc, name
        assert np.array_equal(shared[name].out_of_fold, alone.out_of_fold), name


def test_shared_cv_fits_each_learner_once_and_committees_reuse_them(small):
    features, y, categorical = small
    fits: list[tuple[str, object]] = []

    def seen(name, learner):
        fits.append((name, learner))

    cross_validate_many(
        {n: _maker(n) for n in NAMES}, features, y, categorical, 2, 1, 0, fitted=seen
    )
    assert len(fits) == 2 * len(NAMES)  # once per learner and fold
    for k in range(2):
        fold = dict(fits[k * len(NAMES) : (k + 1) * len(NAMES)])
        assert set(fold) == set(NAMES)
        for committee in ("blend", "ensemble", "stack"):
            members = fold[committee].members
            # the very objects the fold fitted, not refits
            assert all(m is fold[n] for m, n in zip(members, fold[committee].names(), strict=True))


def test_stack_weights_come_from_its_grid_and_are_reproducible(small):
    features, y, categorical = small
    a = Stack(seed=4, member_settings=SETTINGS).fit(features, y, categorical)
    b = Stack(seed=4, member_settings=SETTINGS).fit(features, y, categorical)
    assert np.array_equal(a.weights, b.weights)
    assert np.array_equal(a.predict_pd(features), b.predict_pd(features))
    assert any(np.array_equal(a.weights, w) for w in weight_grid(4, STEPS))
    assert a.weights.sum() == pytest.approx(1.0)
    assert np.allclose(a.predict_pd(features), a.weights @ a.member_pds(features))
    assert 0.5 < a.inner_auc < 1.0
    assert set(a.params()["weights"]) == set(Stack.MEMBERS)


def test_weight_grid_is_every_composition_nearest_equal_first():
    grid = weight_grid(4, 12)
    assert len(grid) == 455  # C(15, 3)
    assert np.allclose(grid[0], 0.25)
    assert all(w.min() >= 0 and w.sum() == pytest.approx(1.0) for w in grid)
    assert len({tuple(w) for w in grid}) == 455


def test_scorecard_out_of_fold_predictions_are_refits_of_its_choice(small):
    # the inner CV's predictions, handed to the stack for free, are exactly what the
    # chosen settings give when refitted on each inner fold (unbagged: a bag hands over
    # its out-of-bag predictions, tests/models/test_bagging.py)
    features, y, categorical = small
    card = Scorecard(seed=0, **{**SETTINGS["scorecard"], "bags": 0}).fit(features, y, categorical)
    splits = inner_splits(y, 0)
    free = card.out_of_fold_pd(features, y, categorical, splits)
    fixed = Scorecard(
        seed=0,
        binning=card.binning_chosen,
        min_iv=card.min_iv_chosen,
        chi_alpha=card.chi_alpha_chosen,
        c=card.c_chosen,
        bags=0,
    )
    refit = np.full(len(y), np.nan)
    for train, test in splits:
        fixed.fit(features.iloc[train], y[train], categorical)
        refit[test] = fixed.predict_pd(features.iloc[test])
    assert np.array_equal(free, refit)


def test_tuned_lightgbm_out_of_fold_predictions_are_refits_of_its_choice(small):
    features, y, categorical = small
    tuned = make_learner("lgbm_cv", seed=0, ratios=GERMAN_CREDIT_RATIOS, depths=(2, 3))
    tuned.fit(features, y, categorical)
    assert tuned.choice_["max_depth"] in (2, 3)
    splits = inner_splits(y, 0)
    free = tuned.out_of_fold_pd(features, y, categorical, splits)
    refit = np.full(len(y), np.nan)
    from arrears.models.derived import with_ratios

    frame = with_ratios(features, tuned.ratios_usable)[tuned.model_columns]
    depth, trees = tuned.choice_["max_depth"], tuned.choice_["n_estimators"]
    for train, test in splits:
        part = GradientBoosting(
            seed=0, max_depth=depth, num_leaves=2**depth - 1, n_estimators=trees
        ).fit(frame.iloc[train], y[train], categorical)
        refit[test] = part.predict_pd(frame.iloc[test])
    assert np.allclose(free, refit, rtol=0, atol=1e-12)


def test_forest_out_of_bag_votes_leave_each_row_out(small):
    # pure noise: the forest's own training rows are predicted far too well, its
    # out-of-bag votes (each row by the trees that never saw it) are not
    from arrears.models import metrics

    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 300)
    noise = pd.DataFrame(rng.normal(size=(300, 8)), columns=[f"x{i}" for i in range(8)])
    forest = Forest(seed=0, n_estimators=100).fit(noise, y, [])
    assert metrics.auc(y, forest.predict_pd(noise)) > 0.9
    oob = forest.out_of_fold_pd(noise, y, [], inner_splits(y, 0))
    assert not np.isnan(oob).any()
    assert abs(metrics.auc(y, oob) - 0.5) < 0.1


def test_inner_predictions_stay_in_memory_not_in_the_saved_model(small):
    import pickle

    features, y, categorical = small
    card = Scorecard(seed=0, **SETTINGS["scorecard"]).fit(features, y, categorical)
    assert card.inner_oof
    loaded = pickle.loads(pickle.dumps(card))
    assert not hasattr(loaded, "inner_oof")
    assert np.array_equal(loaded.predict_pd(features), card.predict_pd(features))
    # without them the out-of-fold predictions are refits (each choosing anew)
    from arrears.models.base import Learner

    splits = inner_splits(y, 0)
    assert np.array_equal(
        loaded.out_of_fold_pd(features, y, categorical, splits),
        Learner.out_of_fold_pd(card, features, y, categorical, splits),
    )

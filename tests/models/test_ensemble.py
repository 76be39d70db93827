"""The nested scorecard and the heterogeneous ensemble: every inner choice and every
member is fitted on the outer training rows only, the ensemble is the mean of its
members, and both are reproducible from their seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arrears.models.bagging import BAGS
from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.learners import (
    BINNING_GRID,
    C_GRID,
    INNER_FOLDS,
    LEARNERS,
    MIN_IV_GRID,
    Baseline,
    Ensemble,
    Forest,
    GradientBoosting,
    Scorecard,
    make_learner,
)
from arrears.models.scorecard import MAX_INNER_REPEATS
from arrears.models.selection import chi_square_pvalues
from arrears.models.validation import cross_validate


@pytest.fixture(scope="module")
def small(german_sample_of) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """400 rows and 5 columns of the German credit data (2 categorical)."""
    return german_sample_of(400, 5, seed=5)


def test_every_learner_is_made_by_its_name():
    for name, cls in LEARNERS.items():
        learner = make_learner(name, seed=1)
        assert isinstance(learner, cls) and learner.name == name
    assert {"forest", "ensemble"} <= set(LEARNERS)


def test_ensemble_members_each_see_only_the_training_rows(monkeypatch, small):
    features, y, categorical = small
    fits: list[tuple[str, frozenset[int]]] = []
    for cls in (Scorecard, Baseline, GradientBoosting, Forest):

        def recording(self, x, target, cats, _original=cls.fit):
            fits.append((self.name, frozenset(x.index)))
            return _original(self, x, target, cats)

        monkeypatch.setattr(cls, "fit", recording)
    outer: list[frozenset[int]] = []

    class Watched(Ensemble):
        def fit(self, x, target, cats):
            start = len(fits)
            super().fit(x, target, cats)
            self.member_fits = fits[start:]
            outer.append(frozenset(x.index))
            return self

        def predict_pd(self, x):
            for name, rows in self.member_fits:
                assert not rows & set(x.index), f"{name} was fitted on a test row"
            return super().predict_pd(x)

    cv = cross_validate(lambda: Watched(seed=0), features, y, categorical, folds=2)
    assert len(outer) == 2 and outer[0] | outer[1] == set(features.index)
    assert not np.isnan(cv.out_of_fold).any()
    # each outer fold: one fit per member, on exactly that fold's training rows
    per_fold = len(Ensemble.MEMBERS)
    assert len(fits) == 2 * per_fold
    for k, rows in enumerate(outer):
        chunk = fits[k * per_fold : (k + 1) * per_fold]
        assert [name for name, _ in chunk] == list(Ensemble.MEMBERS)
        assert all(seen == rows for _, seen in chunk)


@pytest.fixture
def binned(monkeypatch) -> list[frozenset[int]]:
    """The rows of every ``WoeBinner.fit`` made during the test, in order."""
    seen: list[frozenset[int]] = []
    original = WoeBinner.fit

    def recording(self, x, target, cats, **options):
        seen.append(frozenset(x.index))
        return original(self, x, target, cats, **options)

    monkeypatch.setattr(WoeBinner, "fit", recording)
    return seen


def test_nested_scorecard_bins_only_rows_of_the_training_fold(binned, small):
    features, y, categorical = small
    outer: list[tuple[frozenset[int], list[frozenset[int]]]] = []

    class Watched(Scorecard):
        def fit(self, x, target, cats):
            start = len(binned)
            super().fit(x, target, cats)
            outer.append((frozenset(x.index), binned[start:]))
            return self

    cross_validate(lambda: Watched(seed=0), features, y, categorical, folds=3)
    assert len(outer) == 3
    for train, fits in outer:
        # every binning candidate in every inner fold of every repeat, then the chosen
        # one on all rows, then one per bagged fit on its bootstrap sample of them
        repeats = Scorecard().repeats_for(len(train))
        assert repeats == MAX_INNER_REPEATS  # a small table: the inner CV is repeated
        bags = Scorecard().bags_for(len(train))
        assert bags == BAGS  # and its chosen settings bagged
        n_inner = len(BINNING_GRID) * INNER_FOLDS * repeats
        assert len(fits) == n_inner + 1 + bags
        assert all(rows <= train for rows in fits)  # never a row of the outer test fold
        inner, chosen, bagged = fits[:n_inner], fits[n_inner], fits[n_inner + 1 :]
        assert all(len(rows) < len(train) for rows in inner)
        assert frozenset().union(*inner) == train and chosen == train
        # a bootstrap draws some rows twice, so misses others
        assert all(len(rows) < len(train) for rows in bagged)


def test_inner_choice_on_a_large_fit_uses_a_sample_of_its_rows(binned, small):
    features, y, categorical = small
    card = Scorecard(seed=0, inner_rows=150, bags=0).fit(features, y, categorical)
    inner, final = binned[:-1], binned[-1]
    assert len(inner) == len(BINNING_GRID) * INNER_FOLDS * card.repeats_for(150)
    sample = frozenset().union(*inner)
    assert len(sample) == 150 and sample < set(features.index)
    assert final == set(features.index)  # the chosen settings are fitted on every row
    assert card.params()["inner_cv_rows"] == 150


def test_nested_scorecard_is_reproducible_and_chooses_from_its_grid(small):
    features, y, categorical = small
    a = Scorecard(seed=4).fit(features, y, categorical)
    b = Scorecard(seed=4).fit(features, y, categorical)
    assert a.choice() == b.choice()
    assert np.array_equal(a.predict_pd(features), b.predict_pd(features))
    assert a.binning_chosen in BINNING_GRID and a.c_chosen in C_GRID
    assert a.min_iv_chosen in MIN_IV_GRID and a.chi_alpha_chosen in (None, 0.05)
    assert 0.5 < a.choice()["inner_cv_auc"] < 1.0
    assert a.params()["chosen"] == a.choice()
    # every kept feature clears the chosen IV floor and has a negative coefficient
    assert all(a.iv[n] >= a.min_iv_chosen for n in a.selection.kept)
    assert (a.model.coef_[0] < 0).all()


def test_chi_square_filter_keeps_only_associated_features():
    rng = np.random.default_rng(8)
    n = 1500
    signal = rng.normal(size=n)
    y = (signal + rng.normal(size=n) > 1.0).astype(int)
    features = pd.DataFrame(
        {"signal": signal} | {f"noise{i}": rng.normal(size=n) for i in range(6)}
    )
    # one fit on all rows (bagged fits filter their own samples)
    card = Scorecard(seed=0, binning=BinningConfig(), min_iv=0.0, chi_alpha=0.05, c=1.0, bags=0)
    card.fit(features, y, [])
    p = chi_square_pvalues(card.binner.bin_labels(features), y)
    assert "signal" in card.selection.kept
    assert all(p[n] < 0.05 for n in card.selection.kept)
    by_chi = [n for n, why in card.selection.dropped.items() if why.startswith("chi-square")]
    assert by_chi and all(p[n] >= 0.05 for n in by_chi)
    assert card.inner_auc is None  # nothing to choose: no inner CV


def test_ensemble_is_the_mean_of_its_members_and_reproducible(small):
    features, y, categorical = small
    a = Ensemble(seed=2).fit(features, y, categorical)
    b = Ensemble(seed=2).fit(features, y, categorical)
    pd_a = a.predict_pd(features)
    assert np.array_equal(pd_a, b.predict_pd(features))
    assert [m.name for m in a.members] == list(Ensemble.MEMBERS)
    # each member is the learner fitted alone with the same seed on the same rows
    alone = np.vstack(
        [
            make_learner(n, seed=2).fit(features, y, categorical).predict_pd(features)
            for n in a.MEMBERS
        ]
    )
    assert np.allclose(a.member_pds(features), alone)
    assert np.allclose(pd_a, alone.mean(axis=0))
    assert ((pd_a > 0) & (pd_a < 1)).all()
    # higher PD, fewer points
    order = np.argsort(pd_a)
    assert (np.diff(a.points(features)[order]) <= 0).all()


def test_forest_handles_unseen_categories_and_is_reproducible(small):
    features, y, categorical = small
    a = Forest(seed=3, n_estimators=50).fit(features, y, categorical)
    b = Forest(seed=3, n_estimators=50).fit(features, y, categorical)
    assert np.array_equal(a.predict_pd(features), b.predict_pd(features))
    odd = features.iloc[:3].copy()
    odd["credit_history"] = "never seen"
    assert np.isfinite(a.predict_pd(odd)).all()
    assert not np.array_equal(
        a.predict_pd(features),
        Forest(seed=4, n_estimators=50).fit(features, y, categorical).predict_pd(features),
    )

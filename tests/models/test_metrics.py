"""Metrics against hand-computed values and scikit-learn on small cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from arrears.models import metrics


def test_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.normal(size=300) + y, 1)  # rounded: many ties
    assert metrics.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_auc_by_hand():
    # pairs (event, non-event): (0.8,0.1) win, (0.8,0.4) win, (0.3,0.1) win, (0.3,0.4) loss
    assert metrics.auc([1, 1, 0, 0], [0.8, 0.3, 0.1, 0.4]) == pytest.approx(0.75)


def test_gini_is_twice_auc_minus_one():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    score = rng.random(200) + 0.3 * y
    assert metrics.gini(y, score) == pytest.approx(2 * roc_auc_score(y, score) - 1)


def test_ks_by_hand():
    # events at 0.9, 0.8, 0.3; non-events at 0.7, 0.2, 0.1. At cut-off 0.8 two thirds
    # of events and no non-event lie at or above: the largest gap is 2/3.
    y = [1, 1, 1, 0, 0, 0]
    score = [0.9, 0.8, 0.3, 0.7, 0.2, 0.1]
    assert metrics.ks(y, score) == pytest.approx(2 / 3)


def test_ks_is_one_for_perfect_separation_and_matches_scipy():
    from scipy.stats import ks_2samp

    assert metrics.ks([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    score = rng.normal(size=400) + y
    expected = ks_2samp(score[y == 1], score[y == 0]).statistic
    assert metrics.ks(y, score) == pytest.approx(expected)


def test_psi_of_identical_samples_is_zero():
    sample = np.random.default_rng(4).normal(size=1000)
    assert metrics.psi(sample, sample.copy()) == pytest.approx(0.0, abs=1e-12)


def test_psi_of_a_known_shift():
    # two bins at edge 0.5; expected 50/50, actual 80/20
    expected = np.array([0.0] * 50 + [1.0] * 50)
    actual = np.array([0.0] * 80 + [1.0] * 20)
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert metrics.psi(expected, actual, edges=np.array([0.5])) == pytest.approx(by_hand)


def test_psi_grows_with_the_shift():
    rng = np.random.default_rng(5)
    base = rng.normal(size=5000)
    small = metrics.psi(base, rng.normal(0.1, 1, 5000))
    large = metrics.psi(base, rng.normal(1.0, 1, 5000))
    assert small < 0.1 < 0.25 < large


def test_psi_of_categories():
    expected = np.array(["a"] * 50 + ["b"] * 50, dtype=object)
    actual = np.array(["a"] * 80 + ["b"] * 20, dtype=object)
    by_hand = 0.3 * math.log(0.8 / 0.5) - 0.3 * math.log(0.2 / 0.5)
    assert metrics.psi(expected, actual) == pytest.approx(by_hand)


def test_confusion_matrix_precision_recall():
    y = [1, 1, 1, 0, 0, 0, 0]
    pd_ = [0.9, 0.6, 0.2, 0.7, 0.3, 0.1, 0.5]
    c = metrics.confusion(y, pd_, 0.5)
    assert (c["tp"], c["fn"], c["fp"], c["tn"]) == (2, 1, 2, 2)
    assert c["precision"] == pytest.approx(2 / 4)
    assert c["recall"] == pytest.approx(2 / 3)
    assert c["accuracy"] == pytest.approx(4 / 7)


def test_calibration_table_deciles():
    pd_ = np.linspace(0.01, 0.99, 100)
    y = (np.arange(100) % 10 == 0).astype(int)  # one event in every ten rows
    table = metrics.calibration_table(y, pd_)
    assert len(table) == 10
    assert [r["count"] for r in table] == [10] * 10
    assert all(r["observed"] == pytest.approx(0.1) for r in table)
    assert table[0]["predicted"] == pytest.approx(pd_[:10].mean())


def test_bootstrap_interval_brackets_the_estimate_and_narrows_with_rows():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 2000)
    score = rng.normal(size=2000) + y
    point = metrics.auc(y, score)
    lo, hi = metrics.bootstrap_ci(metrics.auc, y, score, rounds=300)
    assert lo < point < hi
    lo_s, hi_s = metrics.bootstrap_ci(metrics.auc, y[:200], score[:200], rounds=300)
    assert (hi_s - lo_s) > (hi - lo)


def test_resampled_auc_and_ks_equal_those_of_the_resampled_rows():
    # the bootstrap's shortcut (rows counted, scores sorted once) gives the very same
    # numbers as resampling the rows and measuring them, ties included
    from arrears.models.metrics import Resampled, auc, bootstrap_ci, ks

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 700)
    score = np.round(rng.normal(size=700) + 0.6 * y, 1)
    ranked = Resampled(y, score)
    for _ in range(30):
        idx = rng.integers(0, len(y), len(y))
        draws = np.bincount(idx, minlength=len(y))
        assert ranked.auc(draws) == auc(y[idx], score[idx])
        assert ranked.ks(draws) == ks(y[idx], score[idx])
    by_rows = bootstrap_ci(lambda a, b: auc(a, b), y, score, rounds=100)
    assert bootstrap_ci(auc, y, score, rounds=100) == by_rows


def test_gains_table_by_hand():
    # ten rows, riskiest first: PDs .9 .8 .8 .7 .6 .5 .4 .3 .2 .1; events at .9, the
    # first .8, .7 and .4
    pd_ = np.array([0.9, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])
    table = metrics.gains_table(y, pd_, groups=5)
    # a band holds the PDs that start in its fifth of the ranking: the two rows at .8
    # start in the first, so it takes three rows and the second only one
    assert [b["rows"] for b in table] == [3, 1, 2, 2, 2]
    assert [b["events"] for b in table] == [2, 1, 0, 1, 0]
    first = table[0]
    assert (first["pd_max"], first["pd_min"]) == (0.9, 0.8)
    assert first["event_rate"] == pytest.approx(2 / 3)
    assert first["odds"] == pytest.approx(0.5)
    assert first["lift"] == pytest.approx((2 / 3) / 0.4)
    assert first["cum_events"] == pytest.approx(0.5)
    assert first["cum_non_events"] == pytest.approx(1 / 6)
    assert first["ks"] == pytest.approx(0.5 - 1 / 6)
    second = table[1]
    assert second["cum_rows"] == pytest.approx(0.4)
    assert second["cum_events"] == pytest.approx(0.75)
    assert second["cum_event_rate"] == pytest.approx(3 / 4)
    assert table[2]["odds"] is None  # no events in the band
    assert table[-1]["cum_events"] == table[-1]["cum_non_events"] == 1.0


def test_gains_table_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        metrics.gains_table(np.zeros(5), np.linspace(0, 1, 5))


def test_monitoring_table_by_hand():
    y = np.array([1, 0, 0, 1, 0, 0, 0, 0])
    pd_ = np.array([0.9, 0.2, 0.1, 0.4, 0.6, 0.3, 0.2, 0.1])
    points = np.array([500, 560, 580, 540, 520, 550, 560, 580])
    labels = np.array(["2026-02"] + ["2026-01"] * 3 + ["2026-02"] * 2 + ["2026-03"] * 2)
    reference = metrics.score_distribution(points[:4])
    table = metrics.monitoring_table(y, pd_, points, labels, reference)
    assert [r["label"] for r in table] == ["2026-01", "2026-02", "2026-03"]
    january, february, march = table
    assert (january["rows"], january["events"]) == (3, 1)
    assert january["event_rate"] == pytest.approx(1 / 3)
    assert january["mean_pd"] == pytest.approx((0.2 + 0.1 + 0.4) / 3)
    assert january["auc"] == 1.0 and january["ks"] == 1.0
    assert february["auc"] == metrics.auc(np.array([1, 0, 0]), np.array([0.9, 0.6, 0.3]))
    assert march["auc"] is None and march["ks"] is None  # no event that month
    assert march["psi"] == metrics.psi_against(reference, points[6:])
    assert march["psi_reading"] == metrics.psi_reading(march["psi"])
    assert "psi" not in metrics.monitoring_table(y, pd_, points, labels)[0]

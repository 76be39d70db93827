"""Properties of the metrics on arbitrary samples (Hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.models import metrics

samples = st.lists(st.tuples(st.booleans(), st.integers(0, 20)), min_size=2, max_size=60).filter(
    lambda rows: 0 < sum(r[0] for r in rows) < len(rows)
)


@settings(max_examples=60, deadline=None)
@given(samples)
def test_auc_reverses_with_the_ranking_and_ks_bounds(rows):
    y = np.array([r[0] for r in rows], dtype=int)
    score = np.array([r[1] for r in rows], dtype=float)
    a = metrics.auc(y, score)
    assert 0.0 <= a <= 1.0
    assert metrics.auc(y, -score) == pytest.approx(1 - a)
    assert 0.0 <= metrics.ks(y, score) <= 1.0
    # AUC − 0.5 is the integral of (TPR − FPR) over FPR, so it cannot exceed the KS gap
    assert metrics.ks(y, score) >= abs(2 * a - 1) / 2 - 1e-12


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=10, max_size=80),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=10, max_size=80),
)
def test_psi_is_never_negative_and_zero_on_itself(expected, actual):
    e, a = np.array(expected), np.array(actual)
    assert metrics.psi(e, a) >= 0.0
    assert metrics.psi(e, e) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(samples, st.integers(1, 12))
def test_gains_bands_partition_the_rows_riskiest_first_and_bound_the_ks(rows, groups):
    y = np.array([r[0] for r in rows], dtype=int)
    pd_ = np.array([r[1] for r in rows], dtype=float) / 20
    table = metrics.gains_table(y, pd_, groups)
    assert 1 <= len(table) <= groups
    assert sum(b["rows"] for b in table) == len(y)
    assert sum(b["events"] for b in table) == int(y.sum())
    for upper, lower in itertools.pairwise(table):
        assert upper["pd_min"] > lower["pd_max"]  # a PD never spans two bands
        assert lower["cum_events"] >= upper["cum_events"]
        assert lower["cum_rows"] > upper["cum_rows"]
    assert table[-1]["cum_rows"] == table[-1]["cum_events"] == table[-1]["cum_non_events"] == 1.0
    # the gap at a band's end is the KS gap at one threshold, never above the KS
    assert max(b["ks"] for b in table) <= metrics.ks(y, pd_) + 1e-12
    # with a band per distinct PD every threshold is a band end: the largest gap is the KS
    every = metrics.gains_table(y, pd_, len(y))
    assert len(every) == len(np.unique(pd_))
    assert max(abs(b["ks"]) for b in every) == pytest.approx(metrics.ks(y, pd_))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(300, 800), min_size=10, max_size=80),
    st.lists(st.integers(300, 800), min_size=1, max_size=80),
)
def test_psi_against_a_kept_distribution_is_the_psi_of_the_scores_it_was_made_of(train, later):
    t, a = np.array(train, dtype=float), np.array(later, dtype=float)
    reference = metrics.score_distribution(t)
    assert reference["rows"] == len(t) and sum(reference["shares"]) == pytest.approx(1.0)
    assert metrics.psi_against(reference, a) == pytest.approx(metrics.psi(t, a), abs=1e-12)
    assert metrics.psi_against(reference, t) == pytest.approx(0.0, abs=1e-12)

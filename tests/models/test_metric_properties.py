"""Properties of the metrics on arbitrary samples (Hypothesis)."""

from __future__ import annotations

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

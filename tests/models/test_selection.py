"""Feature filters: IV, chi-square, correlation and tree importance on constructed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from arrears.models.selection import (
    chi_square_filter,
    chi_square_pvalues,
    correlation_filter,
    iv_filter,
    tree_importance,
)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(21)
    n = 2000
    signal = rng.normal(size=n)
    y = (signal + rng.normal(scale=0.8, size=n) > 0.8).astype(int)
    features = pd.DataFrame(
        {
            "signal": signal,
            "signal_copy": signal * 2 + rng.normal(scale=0.05, size=n),
            "noise": rng.normal(size=n),
            "grade": np.where(signal > 0, "A", "B").astype(object),
        }
    )
    return features, y


def test_iv_filter_keeps_only_features_at_the_floor():
    kept = iv_filter({"a": 0.5, "b": 0.019, "c": 0.02}, minimum=0.02)
    assert kept.kept == ["a", "c"] and "b" in kept.dropped


def test_chi_square_pvalues_match_scipy(data):
    features, y = data
    bins = pd.DataFrame({"grade": features["grade"], "noise_bin": features["noise"] > 0})
    p = chi_square_pvalues(bins, y)
    expected = chi2_contingency(pd.crosstab(features["grade"], y).to_numpy())[1]
    assert p["grade"] == pytest.approx(expected)
    kept = chi_square_filter(p, alpha=0.05)
    assert "grade" in kept.kept and p["noise_bin"] > 0.01


def test_correlation_filter_drops_the_weaker_of_a_correlated_pair(data):
    features, _ = data
    numeric = features[["signal", "signal_copy", "noise"]]
    kept = correlation_filter(numeric, {"signal": 0.9, "signal_copy": 0.8, "noise": 0.01})
    assert kept.kept == ["signal", "noise"]
    assert "with signal" in kept.dropped["signal_copy"]


def test_tree_importance_ranks_the_signal_above_the_noise(data):
    features, y = data
    gain = tree_importance(features[["signal", "noise", "grade"]], y, ["grade"], seed=0)
    assert gain["signal"] > gain["noise"]
    assert sum(gain.values()) == pytest.approx(1.0)

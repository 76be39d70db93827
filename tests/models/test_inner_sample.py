"""On a large fit the scorecard's inner CV chooses on a stratified sample of the rows
(``inner_rows``): the choice stays sane, scoring held-out rows about as well as the
choice made on every row, and keeping the features that carry the signal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arrears.models import metrics
from arrears.models.binning import BinningConfig
from arrears.models.learners import Scorecard


def test_choice_on_a_sample_scores_held_out_rows_as_well_as_the_full_choice():
    rng = np.random.default_rng(21)
    n = 9000
    signal = rng.normal(size=(n, 3))
    risk = signal @ np.array([0.9, -0.6, 0.4]) + 0.5 * np.abs(signal[:, 0])
    y = (risk + rng.logistic(size=n) > 1.5).astype(int)
    features = pd.DataFrame(
        {"a": signal[:, 0], "b": signal[:, 1], "c": signal[:, 2]}
        | {f"noise{i}": rng.normal(size=n) for i in range(4)}
        | {"tier": rng.choice(["x", "y", "z"], n)}
    )
    train, held = np.arange(6000), np.arange(6000, n)
    grid = {
        "binning": (BinningConfig(), BinningConfig(monotonic_trend=None)),
        "c": (0.01, 1.0),
    }
    x, target = features.iloc[train], y[train]
    sampled = Scorecard(seed=0, inner_rows=1500, **grid).fit(x, target, ["tier"])
    full = Scorecard(seed=0, inner_rows=None, **grid).fit(x, target, ["tier"])
    assert len(sampled.inner_rows_used) == 1500 and len(full.inner_rows_used) == 6000
    auc_sampled = metrics.auc(y[held], sampled.predict_pd(features.iloc[held]))
    auc_full = metrics.auc(y[held], full.predict_pd(features.iloc[held]))
    assert auc_sampled > 0.7
    assert auc_sampled >= auc_full - 0.01
    assert {"a", "b", "c"} <= set(sampled.selection.kept)

"""Feature filters: information value, chi-square, correlation, tree importance.

Each returns the kept names in input order plus the reason each dropped one went, so a
feature report can say why a feature is not in the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency


@dataclass
class Selection:
    """Kept features, in order, and a reason per dropped feature."""

    kept: list[str]
    dropped: dict[str, str] = field(default_factory=dict)


def iv_filter(iv: dict[str, float], minimum: float = 0.02) -> Selection:
    """Keep features whose information value is at least ``minimum`` (0.02 is the usual
    floor below which a feature is read as not predictive)."""
    kept = [n for n, v in iv.items() if v >= minimum]
    dropped = {n: f"IV {v:.4f} < {minimum}" for n, v in iv.items() if v < minimum}
    return Selection(kept, dropped)


def chi_square_pvalues(bins: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """p-value of the chi-square test of independence between each binned feature and
    the target (1.0 where a feature has a single bin)."""
    out = {}
    y_codes, y_levels = pd.factorize(np.asarray(y))
    for name in bins.columns:
        codes, levels = pd.factorize(bins[name].astype(str))
        if len(levels) < 2 or len(y_levels) < 2:
            out[name] = 1.0
            continue
        # the contingency table (bins × target values), as pd.crosstab would count it
        table = np.zeros((len(levels), len(y_levels)))
        np.add.at(table, (codes, y_codes), 1)
        out[name] = float(chi2_contingency(table)[1])
    return out


def chi_square_filter(pvalues: dict[str, float], alpha: float = 0.05) -> Selection:
    """Keep features whose bins are associated with the target at level ``alpha``."""
    kept = [n for n, p in pvalues.items() if p < alpha]
    dropped = {n: f"chi-square p {p:.3g} >= {alpha}" for n, p in pvalues.items() if p >= alpha}
    return Selection(kept, dropped)


def correlation_filter(
    values: pd.DataFrame, strength: dict[str, float], threshold: float = 0.7
) -> Selection:
    """Drop the weaker (by ``strength``, e.g. IV) of every pair of columns of ``values``
    whose absolute Pearson correlation exceeds ``threshold``; strongest considered first."""
    order = sorted(values.columns, key=lambda n: -strength.get(n, 0.0))
    corr = values[order].corr().abs().fillna(0.0)
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for name in order:
        partner = next((k for k in kept if corr.loc[name, k] > threshold), None)
        if partner is None:
            kept.append(name)
        else:
            dropped[name] = f"|r| {corr.loc[name, partner]:.2f} with {partner}"
    return Selection([n for n in values.columns if n in kept], dropped)


def tree_importance(
    features: pd.DataFrame, y: np.ndarray, categorical: list[str], seed: int = 0
) -> dict[str, float]:
    """LightGBM total gain per feature (share of the sum), from a small fixed forest."""
    import lightgbm as lgb

    encoded = encode_categories(features, categorical)
    model = lgb.LGBMClassifier(
        n_estimators=100,
        learning_rate=0.05,
        num_leaves=8,
        min_child_samples=20,
        importance_type="gain",
        random_state=seed,
        n_jobs=1,
        verbose=-1,
    )
    model.fit(encoded, y)
    gain = model.booster_.feature_importance(importance_type="gain")
    total = float(gain.sum()) or 1.0
    return {n: float(g) / total for n, g in zip(features.columns, gain, strict=True)}


def encode_categories(
    features: pd.DataFrame, categorical: list[str], levels: dict[str, list[str]] | None = None
) -> pd.DataFrame:
    """Categorical columns as pandas categories over fixed ``levels`` (learned from these
    rows if not given), so LightGBM sees the same codes at training and scoring."""
    out = features.copy()
    for name in categorical:
        known = levels[name] if levels else sorted(out[name].dropna().astype(str).unique())
        column = out[name]
        text = column.astype(str).where(column.notna(), None)
        # a level not seen in fitting is missing, as LightGBM treats it
        out[name] = pd.Categorical(text.where(text.isin(known)), known)
    return out

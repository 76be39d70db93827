"""Derived features a credit analyst writes down before looking at any outcome: ratios
of the raw columns (the monthly instalment is the amount over the duration, say).

A ratio is computed row by row from that row's own values; nothing is learned from
other rows, so adding one can leak nothing. Whether a model uses them is for its inner
cross-validation to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Ratio:
    """``name`` = ``numerator`` / (product of ``denominators``); a zero, missing or
    non-numeric part gives a missing value."""

    name: str
    numerator: str
    denominators: tuple[str, ...]
    meaning: str = ""

    def columns(self) -> set[str]:
        """The raw columns this ratio reads."""
        return {self.numerator, *self.denominators}

    def compute(self, features: pd.DataFrame) -> pd.Series:
        """The ratio of every row."""
        top = pd.to_numeric(features[self.numerator], errors="coerce").to_numpy(dtype=float)
        bottom = np.ones(len(features))
        for name in self.denominators:
            bottom = bottom * pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(bottom != 0, top / bottom, np.nan)
        return pd.Series(value, index=features.index, name=self.name)

    def as_dict(self) -> dict[str, Any]:
        """The definition, for the model's metadata."""
        return {
            "name": self.name,
            "numerator": self.numerator,
            "denominators": list(self.denominators),
            "meaning": self.meaning,
        }


def usable(ratios: Sequence[Ratio], features: pd.DataFrame) -> list[Ratio]:
    """The ratios whose columns are all in ``features`` and whose names are new."""
    present = set(features.columns)
    return [r for r in ratios if r.columns() <= present and r.name not in present]


def with_ratios(features: pd.DataFrame, ratios: Sequence[Ratio]) -> pd.DataFrame:
    """``features`` with one more column per ratio (the originals unchanged, first)."""
    if not ratios:
        return features
    extra = pd.DataFrame({r.name: r.compute(features) for r in ratios}, index=features.index)
    return pd.concat([features, extra], axis=1)


# Written down before any German credit run, from what the columns mean: the monthly
# instalment (amount / months), the amount per year of the applicant's age, and the
# instalment over its share of disposable income (the rate column is a 1–4 code of that
# share, so this is a rough, ordinal proxy for disposable income).
GERMAN_CREDIT_RATIOS = (
    Ratio(
        "monthly_instalment",
        "credit_amount",
        ("duration_in_month",),
        "credit amount / duration in months",
    ),
    Ratio(
        "amount_per_year_of_age",
        "credit_amount",
        ("age_in_years",),
        "credit amount / age in years",
    ),
    Ratio(
        "income_proxy",
        "credit_amount",
        ("duration_in_month", "installment_rate_in_percentage_of_disposable_income"),
        "monthly instalment / instalment-rate code (a proxy for disposable income)",
    ),
)

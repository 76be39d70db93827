"""Points scaling of a probability of default (higher points = lower risk).

score = offset + factor · ln(good:bad odds), with factor = PDO / ln 2 and
offset = base_points − factor · ln(base_odds): ``base_points`` is scored at good:bad
odds of ``base_odds``, and every ``pdo`` points more doubles the odds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scaling:
    """PDO / base odds / base points of a scorecard."""

    pdo: float = 20.0
    base_points: float = 600.0
    base_odds: float = 50.0

    @property
    def factor(self) -> float:
        """Points per unit of log-odds."""
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        """Points at even (1:1) odds."""
        return self.base_points - self.factor * math.log(self.base_odds)

    def points_from_log_odds(self, bad_log_odds: np.ndarray) -> np.ndarray:
        """Points for the log-odds of the event (ln(pd / (1 − pd)))."""
        return self.offset - self.factor * np.asarray(bad_log_odds, dtype=float)

    def points_from_pd(self, pd_: np.ndarray) -> np.ndarray:
        """Points for a probability of default (clipped away from 0 and 1)."""
        p = np.clip(np.asarray(pd_, dtype=float), 1e-9, 1 - 1e-9)
        return self.points_from_log_odds(np.log(p / (1 - p)))

    def as_dict(self) -> dict[str, float]:
        """The three settings, for the model's metadata."""
        return {"pdo": self.pdo, "base_points": self.base_points, "base_odds": self.base_odds}

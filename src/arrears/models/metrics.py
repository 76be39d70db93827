"""Discrimination, calibration and stability measures of a probability of default.

Conventions: ``y`` is 0/1 with 1 the event (bad); ``pd_`` is the predicted event
probability, higher = riskier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.stats import rankdata

# an empty PSI bin counts as this share, so the sum stays finite
PSI_FLOOR = 1e-4


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (probability a random event outranks a random non-event,
    ties counting half), by the rank-sum formula."""
    y = np.asarray(y).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC needs both classes")
    ranks = rankdata(score)
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def gini(y: np.ndarray, score: np.ndarray) -> float:
    """Gini (accuracy ratio) = 2·AUC − 1."""
    return 2 * auc(y, score) - 1


def ks(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov–Smirnov statistic: the largest gap between the cumulative score
    distributions of events and non-events, over every threshold."""
    curve = ks_curve(y, score)
    return float(np.max(np.abs(curve["events"] - curve["non_events"])))


def ks_curve(y: np.ndarray, score: np.ndarray) -> dict[str, np.ndarray]:
    """Cumulative share of events and non-events at or above each distinct score,
    from the riskiest down (for the KS chart)."""
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    thresholds = np.unique(score)[::-1]
    order = np.argsort(-score, kind="stable")
    s, t = score[order], y[order]
    # index of the last row with score >= threshold, per threshold
    last = np.searchsorted(-s, -thresholds, side="right")
    cum_events = np.concatenate([[0], np.cumsum(t)])[last]
    cum_non = np.concatenate([[0], np.cumsum(~t)])[last]
    return {
        "threshold": thresholds,
        "events": cum_events / max(t.sum(), 1),
        "non_events": cum_non / max((~t).sum(), 1),
    }


def roc_curve(y: np.ndarray, score: np.ndarray) -> dict[str, np.ndarray]:
    """False and true positive rates from the strictest threshold to the loosest,
    starting at (0, 0)."""
    curve = ks_curve(y, score)
    return {
        "fpr": np.concatenate([[0.0], curve["non_events"]]),
        "tpr": np.concatenate([[0.0], curve["events"]]),
    }


def confusion(y: np.ndarray, pd_: np.ndarray, cutoff: float) -> dict[str, Any]:
    """Confusion matrix with ``pd_ >= cutoff`` predicted as event, plus precision,
    recall (true positive rate), specificity and accuracy."""
    y = np.asarray(y).astype(bool)
    pred = np.asarray(pd_) >= cutoff
    tp = int((pred & y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    tn = int((~pred & ~y).sum())
    return {
        "cutoff": cutoff,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "specificity": tn / (tn + fp) if tn + fp else 0.0,
        "accuracy": (tp + tn) / len(y),
    }


def calibration_table(y: np.ndarray, pd_: np.ndarray, groups: int = 10) -> list[dict[str, Any]]:
    """Rows ranked by predicted PD and cut into ``groups`` near-equal groups (deciles by
    default); per group the mean predicted PD against the observed event rate."""
    y = np.asarray(y, dtype=float)
    pd_ = np.asarray(pd_, dtype=float)
    order = np.argsort(pd_, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, groups), start=1):
        if len(idx) == 0:
            continue
        rows.append(
            {
                "group": i,
                "count": len(idx),
                "pd_min": float(pd_[idx].min()),
                "pd_max": float(pd_[idx].max()),
                "predicted": float(pd_[idx].mean()),
                "observed": float(y[idx].mean()),
                "events": int(y[idx].sum()),
            }
        )
    return rows


def gains_table(y: np.ndarray, pd_: np.ndarray, groups: int = 10) -> list[dict[str, Any]]:
    """The score bands a cut-off is chosen from: rows ranked riskiest first and cut into
    about ``groups`` bands of near-equal size, rows of the same PD always in the same
    band (so ties may leave fewer, uneven bands). Per band its rows and events, event
    rate, odds (non-events per event; None without events), lift over the whole
    sample's rate, and down to the end of the band the cumulative shares of rows,
    events captured and non-events, their gap (KS at that cut-off) and the event rate
    of all the rows taken so far."""
    y = np.asarray(y).astype(bool)
    pd_ = np.asarray(pd_, dtype=float)
    n, n_events = len(y), int(y.sum())
    if n == 0 or n_events in (0, n):
        raise ValueError("a gains table needs both classes")
    values, inverse = np.unique(-pd_, return_inverse=True)  # riskiest value first
    rows_of = np.bincount(inverse, minlength=len(values))
    events_of = np.bincount(inverse, weights=y, minlength=len(values)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(rows_of)[:-1]])
    band_of = np.minimum(starts * groups // n, groups - 1)
    rate = n_events / n
    out: list[dict[str, Any]] = []
    taken = captured = 0
    for band in np.unique(band_of):
        mine = band_of == band
        rows, events = int(rows_of[mine].sum()), int(events_of[mine].sum())
        taken, captured = taken + rows, captured + events
        cum_events, cum_non = captured / n_events, (taken - captured) / (n - n_events)
        out.append(
            {
                "band": len(out) + 1,
                "rows": rows,
                "pd_max": float(-values[mine][0]),
                "pd_min": float(-values[mine][-1]),
                "events": events,
                "event_rate": events / rows,
                "odds": (rows - events) / events if events else None,
                "lift": events / rows / rate,
                "cum_rows": taken / n,
                "cum_events": cum_events,
                "cum_non_events": cum_non,
                "ks": cum_events - cum_non,
                "cum_event_rate": captured / taken,
            }
        )
    return out


def monitoring_table(
    y: np.ndarray,
    pd_: np.ndarray,
    points: np.ndarray,
    labels: np.ndarray,
    reference: dict[str, Any] | None = None,
    key: str = "label",
) -> list[dict[str, Any]]:
    """One row per distinct label (an observation month), in label order, the label
    under ``key``: rows, events, event rate, mean predicted PD, AUC and KS (None where
    the group lacks a class) and, given the training rows' ``score_distribution``, the
    PSI of the group's points against it with its reading: how a model holds up month
    by month."""
    y, pd_ = np.asarray(y).astype(bool), np.asarray(pd_, dtype=float)
    points, labels = np.asarray(points), np.asarray(labels)
    out = []
    for label in np.unique(labels):
        mine = labels == label
        ym, pm = y[mine], pd_[mine]
        both = 0 < int(ym.sum()) < len(ym)
        row: dict[str, Any] = {
            key: str(label),
            "rows": int(mine.sum()),
            "events": int(ym.sum()),
            "event_rate": float(ym.mean()),
            "mean_pd": float(pm.mean()),
            "auc": auc(ym, pm) if both else None,
            "ks": ks(ym, pm) if both else None,
        }
        if reference is not None:
            row["psi"] = psi_against(reference, points[mine])
            row["psi_reading"] = psi_reading(row["psi"])
        out.append(row)
    return out


def psi(expected: np.ndarray, actual: np.ndarray, edges: np.ndarray | None = None) -> float:
    """Population stability index Σ (a − e)·ln(a / e) over bins of the expected sample
    (its deciles unless ``edges`` are given); empty bins count as 0.0001 so the sum is
    finite. 0 means identical distributions; above 0.25 is usually read as a shift."""
    return _psi_of_shares(*psi_shares(expected, actual, edges))


def _psi_of_shares(e_share: np.ndarray, a_share: np.ndarray) -> float:
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def _decile_edges(values: np.ndarray) -> np.ndarray:
    """The distinct inner deciles of ``values``: the bin edges of a PSI."""
    return np.unique(np.nanquantile(values, np.linspace(0, 1, 11)[1:-1]))


def _bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How many ``values`` fall in each of the ``len(edges) + 1`` bins the edges make
    (a value on an edge counts in the bin above it)."""
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)


def score_distribution(scores: np.ndarray) -> dict[str, Any]:
    """The reference a later sample's scores are compared with (``psi_against``): the
    deciles of ``scores`` as bin edges and the share of the scores in each bin. Kept
    in a model's metadata, so drift is measured without the training rows."""
    scores = np.asarray(scores, dtype=float)
    edges = _decile_edges(scores)
    counts = _bin_counts(edges, scores)
    return {"rows": len(scores), "edges": edges.tolist(), "shares": (counts / len(scores)).tolist()}


def psi_against(reference: dict[str, Any], scores: np.ndarray) -> float:
    """``psi`` of ``scores`` against a ``score_distribution``: the same value as ``psi``
    of the reference's own scores and these."""
    counts = _bin_counts(np.asarray(reference["edges"], dtype=float), np.asarray(scores, float))
    e_share = np.maximum(np.asarray(reference["shares"], dtype=float), PSI_FLOOR)
    a_share = np.maximum(counts / max(counts.sum(), 1), PSI_FLOOR)
    return _psi_of_shares(e_share, a_share)


def psi_reading(value: float) -> str:
    """The usual reading of a PSI: below 0.1 stable, below 0.25 some shift, else shifted."""
    return "stable" if value < 0.1 else "some shift" if value < 0.25 else "shifted"


def psi_shares(
    expected: np.ndarray, actual: np.ndarray, edges: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Bin shares of both samples on the expected sample's bins (see ``psi``)."""
    expected = np.asarray(expected)
    actual = np.asarray(actual)
    if expected.dtype.kind in "OUSb":
        cats = sorted(set(map(str, expected)) | set(map(str, actual)))
        e = np.array([np.sum(expected.astype(str) == c) for c in cats], dtype=float)
        a = np.array([np.sum(actual.astype(str) == c) for c in cats], dtype=float)
    else:
        expected = expected.astype(float)
        actual = actual.astype(float)
        if edges is None:
            edges = _decile_edges(expected)
        e, a = _bin_counts(edges, expected), _bin_counts(edges, actual)
    e_share = np.maximum(e / max(e.sum(), 1), PSI_FLOOR)
    a_share = np.maximum(a / max(a.sum(), 1), PSI_FLOOR)
    return e_share, a_share


def bootstrap_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    score: np.ndarray,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y, score)`` over ``rounds`` resamples
    of the rows (resamples with one class only are redrawn)."""
    return bootstrap_mean_ci(metric, y, [score], rounds, seed, level)


def bootstrap_mean_ci(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y: np.ndarray,
    scores: Sequence[np.ndarray] | np.ndarray,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """``bootstrap_ci`` of the mean of ``metric`` over several scores of the same rows
    (a repeated CV's out-of-fold predictions, one per repeat): each resample draws the
    rows once for all of them."""
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    scores = [np.asarray(s) for s in scores]
    fast = Resampled.METRICS.get(metric)
    ranked = [Resampled(y, s) for s in scores] if fast else []
    values = []
    while len(values) < rounds:
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() == y[idx].max():
            continue
        if fast is not None:  # the same values, without sorting every resample
            draws = np.bincount(idx, minlength=len(y))
            values.append(np.mean([fast(r, draws) for r in ranked]))
        else:
            values.append(np.mean([metric(y[idx], s[idx]) for s in scores]))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)


def summary(y: np.ndarray, pd_: np.ndarray, cutoff: float | None = None) -> dict[str, Any]:
    """Every headline measure of one sample as a JSON-ready dict: AUC, Gini, KS with
    bootstrap 95% intervals, the confusion matrix at ``cutoff`` (default: the observed
    event rate), the decile calibration table and the gains table of score bands."""
    y = np.asarray(y)
    pd_ = np.asarray(pd_, dtype=float)
    cut = float(y.mean()) if cutoff is None else cutoff
    return {
        "rows": len(y),
        "events": int(y.sum()),
        "event_rate": float(y.mean()),
        "auc": auc(y, pd_),
        "auc_ci95": bootstrap_ci(auc, y, pd_, rounds=500),
        "gini": gini(y, pd_),
        "ks": ks(y, pd_),
        "ks_ci95": bootstrap_ci(ks, y, pd_, rounds=200),
        "confusion": confusion(y, pd_, cut),
        "calibration": calibration_table(y, pd_),
        "gains": gains_table(y, pd_),
    }


class Resampled:
    """One sample's scores grouped by distinct value, sorted once, so that the AUC and
    KS of any bootstrap resample (given as how many times each row was drawn) need no
    sort. The counts are whole numbers, so every sum here is exact and each value is
    the same, to the bit, as ``auc`` or ``ks`` of the resampled rows."""

    def __init__(self, y: np.ndarray, score: np.ndarray) -> None:
        self.event = np.asarray(y).astype(bool)
        _, self.group = np.unique(np.asarray(score, dtype=float), return_inverse=True)
        self.groups = int(self.group.max()) + 1 if len(self.group) else 0

    def _split(self, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = draws.astype(float)
        events = np.bincount(self.group, weights=w * self.event, minlength=self.groups)
        non = np.bincount(self.group, weights=w * ~self.event, minlength=self.groups)
        return events, non

    def auc(self, draws: np.ndarray) -> float:
        """AUC of the resample: events outranking non-events, ties counting half."""
        events, non = self._split(draws)
        below = np.cumsum(non) - non
        return float((events * (below + non / 2)).sum() / (events.sum() * non.sum()))

    def ks(self, draws: np.ndarray) -> float:
        """KS of the resample: the largest gap of the cumulative shares, riskiest first."""
        events, non = self._split(draws)
        top_e, top_n = np.cumsum(events[::-1]), np.cumsum(non[::-1])
        return float(np.max(np.abs(top_e / events.sum() - top_n / non.sum())))

    METRICS: ClassVar[dict[Callable[..., float], Callable[[Resampled, np.ndarray], float]]] = {}


Resampled.METRICS.update({auc: Resampled.auc, ks: Resampled.ks})

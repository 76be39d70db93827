"""Bagging of the scorecard's final fit (German credit design 5).

On a small table the fitted scorecard moves a lot with the rows it happens to get: where
the bins are cut, how categories are grouped, which features pass the filters. Bagging
averages that variance away: the settings the inner CV chose are fitted again on
stratified bootstrap samples of the same rows, and the model's log-odds is the mean of
those fits' log-odds. Every fit is additive in its features' bins, so the mean is too:
the bagged model is still a points scorecard, whose bins are the union of the fits'
cut points (a category keeps its own row) and whose points are the fits' mean
contribution in each. This module holds that arithmetic; ``Scorecard`` fits the members.

A member here is a fitted single scorecard: ``selection.kept``, ``model`` (the logistic
regression on the WOEs of the kept features, in that order) and ``binner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from arrears.models.base import out_of_bag_mean
from arrears.models.scaling import Scaling

# members fitted on tables of up to INNER_ROWS rows (scorecard.py): Breiman's usual count;
# on the development tables the mean AUC still rose a little from 25 to 50 members
BAGS = 50
# the label of the row a category never seen in fitting scores on (WOE 0 in every fit)
UNSEEN = "(unseen)"


def stratified_bootstrap(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of a bootstrap sample drawn within each class, so every sample has the
    rows' events and non-events in the same numbers (no sample without events)."""
    y = np.asarray(y)
    parts = []
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        parts.append(rng.choice(rows, len(rows), replace=True))
    return np.sort(np.concatenate(parts))


def contributions(members: Sequence[Any], frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Each row's mean log-odds contribution of each feature in ``names`` over the
    members (coefficient × WOE of the row's bin; 0 in a member that left it out): a
    rows × features array. ``frame`` holds the columns the members bin."""
    out = np.zeros((len(frame), len(names)))
    column = {n: i for i, n in enumerate(names)}
    for member in members:
        for name, coef in zip(member.selection.kept, member.model.coef_[0], strict=True):
            if name in column:
                out[:, column[name]] += coef * member.binner.woe_of(name, frame[name])
    return out / len(members)


def mean_intercept(members: Sequence[Any]) -> float:
    """The members' mean intercept (log-odds)."""
    return float(np.mean([m.model.intercept_[0] for m in members]))


def log_odds(members: Sequence[Any], frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The event log-odds of each row: the mean of the members' log-odds."""
    return mean_intercept(members) + contributions(members, frame, names).sum(axis=1)


def pd_and_points(
    members: Sequence[Any], frame: pd.DataFrame, names: list[str], scaling: Scaling
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's PD (at the members' mean log-odds) and score: the sum over ``names``
    of the points of the row's bin, each rounded as in ``points_table``."""
    contribution = contributions(members, frame, names)
    odds = mean_intercept(members) + contribution.sum(axis=1)
    per_bin = _points(contribution, members, len(names), scaling)
    return _pd(odds), per_bin.sum(axis=1).astype(np.int32)


def _pd(odds: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-odds)), dtype=np.float64)


def _points(contribution: np.ndarray, members: Sequence[Any], n: int, scaling: Scaling) -> Any:
    """Rounded points of mean contributions: −factor · contribution plus an equal share
    of the offset and the (mean) intercept, as a single scorecard's bins."""
    base = (scaling.offset - scaling.factor * mean_intercept(members)) / n
    return np.rint(base - scaling.factor * contribution)


def out_of_bag_pd(
    members: Sequence[Any], in_bag: Sequence[np.ndarray], frame: pd.DataFrame, names: list[str]
) -> np.ndarray:
    """The PD of each training row from the members whose sample did not draw it (the
    bagged model's own out-of-fold predictions, as a forest's out-of-bag votes); a row
    every sample drew gets the whole bag's PD."""
    odds, never = out_of_bag_mean(
        len(frame), in_bag, lambda i, out: log_odds([members[i]], frame.iloc[out], names)
    )
    if never.any():
        odds[never] = log_odds(members, frame.iloc[never], names)
    return _pd(odds)


def points_table(
    members: Sequence[Any],
    names: list[str],
    frame: pd.DataFrame,
    y: np.ndarray,
    categorical: Sequence[str],
    scaling: Scaling,
) -> pd.DataFrame:
    """Every bin of the bagged scorecard: per feature, the intervals between the union of
    the members' cut points (``[a, b)``, as the members bin; neighbours of equal points
    merged, which changes no score) or each category seen in fitting, ``(unseen)``, and
    ``Missing`` where there were missing values; with the fitting rows' count, events and
    event rate in each, how many members use the feature and the points. A row's score
    is the sum of its bins' points."""
    frames = []
    for name in names:
        users = [m for m in members if name in m.selection.kept]
        if name in categorical:
            bins = _category_bins(frame[name])
        else:
            cuts = np.unique(np.concatenate([m.binner.binnings[name].splits for m in users]))
            bins = _interval_bins(frame[name], cuts)
        values = pd.DataFrame({name: pd.Series([b.value for b in bins], dtype=object)})
        if name not in categorical:
            values[name] = values[name].astype(float)
        contribution = contributions(members, values, [name])
        points = _points(contribution, members, len(names), scaling)[:, 0].astype(int)
        if name not in categorical:
            bins, points = _merge_equal(bins, points)
        counts = [int(b.rows.sum()) for b in bins]
        events = [int(y[b.rows].sum()) for b in bins]
        frames.append(
            pd.DataFrame(
                {
                    "feature": name,
                    "bin": [b.label for b in bins],
                    "count": counts,
                    "events": events,
                    "event_rate": [
                        e / c if c else np.nan for e, c in zip(events, counts, strict=True)
                    ],
                    "fits": len(users),
                    "points": points,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@dataclass
class _Bin:
    """One row of the points table: its label, a value that falls in it, and the mask of
    the fitting rows in it."""

    label: str
    value: Any
    rows: np.ndarray


def _number(value: float) -> str:
    """A cut point as written in a bin's label: the shortest text that reads back as
    the same float."""
    return np.format_float_positional(value, trim="-")


def _interval_bins(values: pd.Series, cuts: np.ndarray) -> list[_Bin]:
    """The intervals between ``cuts``, then Missing where there were missing values."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    edges = [-np.inf, *cuts, np.inf]
    bins = []
    for lo, hi in pairwise(edges):
        if np.isinf(lo) and np.isinf(hi):
            value = 0.0
        elif np.isinf(lo):
            value = hi - 1.0
        elif np.isinf(hi):
            value = lo + 1.0
        else:
            value = (lo + hi) / 2
        label = f"[{_number(lo)}, {_number(hi)})" if lo > -np.inf else f"(-inf, {_number(hi)})"
        bins.append(_Bin(label, value, (x >= lo) & (x < hi)))
    missing = np.isnan(x)
    if missing.any():
        bins.append(_Bin("Missing", np.nan, missing))
    return bins


def _merge_equal(bins: list[_Bin], points: np.ndarray) -> tuple[list[_Bin], np.ndarray]:
    """Neighbouring intervals of equal points as one (Missing stays apart)."""
    merged: list[_Bin] = []
    kept: list[int] = []
    for b, p in zip(bins, points, strict=True):
        last = merged[-1] if merged else None
        if last is not None and b.label != "Missing" and last.label != "Missing" and kept[-1] == p:
            lo = last.label.split(",")[0]
            hi = b.label.split(",")[1]
            merged[-1] = _Bin(f"{lo},{hi}", last.value, last.rows | b.rows)
        else:
            merged.append(b)
            kept.append(int(p))
    return merged, np.array(kept, dtype=int)


def _category_bins(values: pd.Series) -> list[_Bin]:
    """Each category seen in fitting, then ``(unseen)``, then Missing where there were
    missing values."""
    text = values.map(lambda v: v if pd.isna(v) else str(v))
    seen = sorted(text.dropna().unique())
    bins = [_Bin(v, v, (text == v).to_numpy()) for v in seen]
    bins.append(_Bin(UNSEEN, _never_seen(seen), np.zeros(len(text), dtype=bool)))
    missing = text.isna().to_numpy()
    if missing.any():
        bins.append(_Bin("Missing", np.nan, missing))
    return bins


def _never_seen(seen: Sequence[str]) -> str:
    """A category value that is none of ``seen``."""
    value = UNSEEN
    while value in seen:
        value += "_"
    return value

"""WOE/IV binning with optbinning, one optimal binning per feature.

Weight of evidence follows optbinning's sign: WOE = ln(share of non-events / share of
events), so a positive WOE marks a lower-risk bin. A category or value never seen in
fitting gets WOE 0 (the population average).
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# On up to this many rows a bin holds at least ``min_bin_size`` of them; on more, at
# least as many rows as that share of SIZE_ROWS (250 rows at 5%), and never under
# MIN_BIN_SHARE. A WOE on 250 rows is as steady in a large table as in a small one, and
# a 5% floor on a 30,000-row book merges away a 2–4% group (loans delinquent in the
# last six months) whose event rate is ten times the rest.
SIZE_ROWS = 5000
MIN_BIN_SHARE = 0.01
# optbinning's own floor for its pre-bins (its default)
PREBIN_SHARE = 0.05
# the directions an analyst may fix for a numeric feature's event rate as its value
# rises (optbinning's monotonic trends of the same names)
TRENDS = ("ascending", "descending")


def checked_trends(trends: Mapping[str, str] | None) -> dict[str, str]:
    """Directions asked for features (name → one of ``TRENDS``) as a plain dict; a
    ValueError names a direction that is not one of them."""
    out = dict(trends or {})
    for name, trend in out.items():
        if trend not in TRENDS:
            raise ValueError(
                f"monotonic {name}: {trend!r} is not a direction (choose {' or '.join(TRENDS)})"
            )
    return out


def check_trend_features(
    trends: Mapping[str, str], features: Sequence[str], categorical: Sequence[str]
) -> None:
    """A ValueError naming a feature given a direction that is not a numeric feature of
    the rows (a category's bins have no order)."""
    for name in trends:
        if name not in features:
            raise ValueError(f"monotonic {name}: not a feature of these rows")
        if name in categorical:
            raise ValueError(f"monotonic {name}: a category has no order to be monotonic in")


@dataclass
class BinningConfig:
    """How each feature is binned. ``monotonic_trend`` is optbinning's (``auto_asc_desc``
    asks for a monotonic event rate, its direction chosen from the data; None lets the
    bins follow the data). ``trends`` fixes the direction of named numeric features
    (``TRENDS``), whatever ``monotonic_trend`` is: what the analyst asked for."""

    monotonic_trend: str | None = "auto_asc_desc"
    max_n_prebins: int = 20
    min_bin_size: float = 0.05
    max_n_bins: int | None = 6
    trends: dict[str, str] = field(default_factory=dict)

    def trend_of(self, name: str, categorical: bool) -> str | None:
        """The monotonic trend a feature is binned with (none for a category)."""
        if categorical:
            return None
        return self.trends.get(name, self.monotonic_trend)

    def bin_share(self, rows: int) -> float:
        """The smallest bin as a share of ``rows`` training rows (see ``SIZE_ROWS``)."""
        if rows <= SIZE_ROWS:
            return self.min_bin_size
        return max(self.min_bin_size * SIZE_ROWS / rows, MIN_BIN_SHARE)

    def as_dict(self) -> dict[str, Any]:
        """The settings, for the model's metadata."""
        out: dict[str, Any] = {
            "monotonic_trend": self.monotonic_trend,
            "max_n_prebins": self.max_n_prebins,
            "min_bin_size": self.min_bin_size,
            "max_n_bins": self.max_n_bins,
        }
        if self.trends:
            out["trends"] = dict(sorted(self.trends.items()))
        return out


@dataclass
class WoeBinner:
    """Fits one ``OptimalBinning`` per feature on the training rows only and maps any
    later rows to the WOE of their bin."""

    config: BinningConfig = field(default_factory=BinningConfig)
    binnings: dict[str, Any] = field(default_factory=dict)
    categorical: list[str] = field(default_factory=list)

    def fit(
        self,
        features: pd.DataFrame,
        y: np.ndarray,
        categorical: list[str],
        reuse: WoeBinner | None = None,
        share_rows: int | None = None,
    ) -> WoeBinner:
        """Bin every column of ``features`` against ``y`` (columns in ``categorical`` as
        categories, the rest as numbers). ``reuse``: a binner fitted on these same rows
        and target, whose binning of a column is taken as it is wherever this config
        would bin that column the same way (a category ignores the monotonic trend), as
        refitting would give the same bins. ``share_rows``: the table size the smallest
        bin's share is set for (``BinningConfig.bin_share``; default: these rows), so an
        inner fold bins as the fit on its whole table would."""
        from optbinning import OptimalBinning

        self.categorical = list(categorical)
        self.binnings = {}
        self._fitted_on = _rows_key(features.index, y)
        same_rows = reuse is not None and getattr(reuse, "_fitted_on", None) == self._fitted_on
        share = self.config.bin_share(len(features) if share_rows is None else share_rows)
        for name in features.columns:
            is_cat = name in self.categorical
            trend = self.config.trend_of(name, is_cat)
            if (
                same_rows
                and reuse is not None
                and name in reuse.binnings
                and reuse._settings(name) == self._settings(name)
            ):
                self.binnings[name] = reuse.binnings[name]
                continue
            binning = OptimalBinning(
                name=str(name),
                dtype="categorical" if is_cat else "numerical",
                solver="cp",
                monotonic_trend=trend,
                max_n_prebins=self.config.max_n_prebins,
                min_bin_size=share,
                min_prebin_size=min(share, PREBIN_SHARE),
                max_n_bins=self.config.max_n_bins,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                binning.fit(_values(features[name], is_cat), y)
            self.binnings[name] = binning
        return self

    def _settings(self, name: str) -> tuple[Any, ...]:
        is_cat = name in self.categorical
        c = self.config
        return (is_cat, c.trend_of(name, is_cat), c.max_n_prebins, c.min_bin_size, c.max_n_bins)

    def transform(self, features: pd.DataFrame) -> pd.DataFrame:
        """WOE of each row's bin, column by column (same column names)."""
        return pd.DataFrame(self._per_feature(features, "woe"), index=features.index)

    def bin_labels(self, features: pd.DataFrame) -> pd.DataFrame:
        """The bin label of each row, as in ``table`` (for chi-square tests and points)."""
        out = {}
        for name, index in self._per_feature(features, "indices").items():
            # the binning table lists bins in index order, then Special and Missing
            table = _table(self.binnings[name]).drop(index="Totals")
            labels = [_label(b) for b in table["Bin"]]
            out[name] = [labels[i] for i in index]
        return pd.DataFrame(out, index=features.index)

    def bin_indices(self, features: pd.DataFrame) -> pd.DataFrame:
        """The bin index of each row (one index per label of ``bin_labels``), cheaper
        to get when only the grouping of rows matters."""
        return pd.DataFrame(self._per_feature(features, "indices"), index=features.index)

    def woe_of(self, name: str, column: pd.Series) -> np.ndarray:
        """The WOE of the bin of each value of one feature's column."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            woe = self.binnings[name].transform(
                _values(column, name in self.categorical), metric="woe"
            )
        return np.asarray(woe, dtype=float)

    def _per_feature(self, features: pd.DataFrame, metric: str) -> dict[str, Any]:
        """``metric`` ("woe" or "indices") of each row's bin, feature by feature."""
        out = {}
        for name, binning in self.binnings.items():
            values = _values(features[name], name in self.categorical)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[name] = binning.transform(values, metric=metric)
        return out

    def iv(self) -> dict[str, float]:
        """Information value of each feature's binning (the total of its binning table,
        computed from the bin counts without building the table)."""
        return {name: _iv(b) for name, b in self.binnings.items()}

    def table(self, name: str) -> pd.DataFrame:
        """Bins of one feature: label, count, non-events, events, event rate, WOE, IV
        (the empty Special/Missing rows dropped, no totals row)."""
        raw = _table(self.binnings[name]).drop(index="Totals")
        raw = raw[(raw["Count"] > 0) | ~raw["Bin"].isin(["Special", "Missing"])]
        return pd.DataFrame(
            {
                "bin": [_label(b) for b in raw["Bin"]],
                "count": raw["Count"].astype(int).to_numpy(),
                "non_events": raw["Non-event"].astype(int).to_numpy(),
                "events": raw["Event"].astype(int).to_numpy(),
                "event_rate": raw["Event rate"].astype(float).to_numpy(),
                "woe": raw["WoE"].astype(float).to_numpy(),
                "iv": raw["IV"].astype(float).to_numpy(),
            }
        )


def _rows_key(index: pd.Index, y: np.ndarray) -> tuple[int, str]:
    """A fingerprint of the rows and target a binner was fitted on."""
    import hashlib

    digest = hashlib.sha256(pd.util.hash_pandas_object(index).to_numpy().tobytes())
    digest.update(np.ascontiguousarray(np.asarray(y, dtype=np.int64)).tobytes())
    return len(y), digest.hexdigest()


def _iv(binning: Any) -> float:
    """The binning table's total IV, by the same arithmetic as optbinning's table
    (Jeffrey's divergence of the event and non-event shares, over bins holding both)."""
    from scipy import special

    cached = _TABLES.get(binning)
    if cached is not None:
        return float(cached.loc["Totals", "IV"])
    table = binning.binning_table
    n_nonevent, n_event = table.n_nonevent, table.n_event
    p_event = n_event / n_event.sum()
    p_nonevent = n_nonevent / n_nonevent.sum()
    mask = (n_event > 0) & (n_nonevent > 0)
    iv = np.zeros(len(n_event))
    p_ev, p_nev = np.asarray(p_event[mask], dtype=float), np.asarray(p_nonevent[mask], dtype=float)
    iv[mask] = special.xlogy(p_ev - p_nev, p_ev / p_nev)
    return float(iv.sum())


def _values(column: pd.Series, categorical: bool) -> np.ndarray:
    if categorical:
        # optbinning treats NaN as its Missing bin; keep real text otherwise
        return np.array([v if pd.isna(v) else str(v) for v in column], dtype=object)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


# a fitted binning's table never changes: build it once (callers only read it)
_TABLES: weakref.WeakKeyDictionary[Any, pd.DataFrame] = weakref.WeakKeyDictionary()


def _table(binning: Any) -> pd.DataFrame:
    cached = _TABLES.get(binning)
    if cached is not None:
        return cached
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = binning.binning_table.build()
    _TABLES[binning] = built
    return built


def _label(bin_: Any) -> str:
    if isinstance(bin_, str):
        return bin_
    return ", ".join(map(str, list(bin_)))

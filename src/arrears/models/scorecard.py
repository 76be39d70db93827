"""The points scorecard: WOE binning, IV / chi-square / correlation filters and a
logistic regression with signed coefficients, its settings chosen by a cross-validation
inside the rows it is fitted on (nested inside any outer cross-validation), and on a
small table that fit bagged (``arrears.models.bagging``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from arrears.models import bagging
from arrears.models.base import INNER_FOLDS, Learner, Splits, inner_splits, one_blas_thread
from arrears.models.binning import (
    BinningConfig,
    WoeBinner,
    check_trend_features,
    checked_trends,
)
from arrears.models.choice import Candidate, Grid, rank_candidates, select_features, signed_logit
from arrears.models.derived import Ratio, usable, with_ratios
from arrears.models.errors import ModelDataError
from arrears.models.scaling import Scaling
from arrears.models.selection import Selection, chi_square_pvalues

# Candidate settings of the scorecard, fixed before any benchmark run: the inner CV of
# each training fold picks one of each. Binnings: the usual monotonic one; the same
# without the monotonic constraint (U-shaped risks such as age); a coarser monotonic one.
BINNING_GRID = (
    BinningConfig(),
    BinningConfig(monotonic_trend=None),
    BinningConfig(max_n_bins=4, min_bin_size=0.1),
)
# IV floors: keep every feature, or the usual 0.02 "not predictive" floor
MIN_IV_GRID = (0.0, 0.02)
# chi-square filter: off, or the conventional 5% level
CHI_ALPHA_GRID: tuple[float | None, ...] = (None, 0.05)
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
# above this many training rows the inner CV chooses on a stratified sample of them
INNER_ROWS = 5000
# On fewer rows the inner CV is repeated (new shuffles) up to about the work it does on
# INNER_ROWS rows, at most this many times: on 800 rows one 5-fold CV's mean AUC moves
# by more between shuffles than the top candidates differ by, so a single run picks
# partly on noise (design 4 of the German credit benchmark; docs/models.md).
MAX_INNER_REPEATS = 3


class Scorecard(Learner):
    """WOE binning → IV filter → chi-square filter → correlation filter → logistic
    regression, dropping features whose coefficient has the wrong sign; scaled to points
    per bin.

    ``binning``, ``min_iv``, ``chi_alpha`` and ``c`` each take one value (fixed) or a
    sequence of candidates; with more than one candidate anywhere, the combination with
    the best mean AUC under a 5-fold CV *inside the rows given to* ``fit`` is used, each
    inner fold binned and filtered on its own inner training rows (on more than
    ``inner_rows`` rows, a stratified sample of them; ``None``: all). ``None`` for
    ``binning``, ``min_iv`` or ``c`` means the default grid; ``chi_alpha=None`` means no
    chi-square filter (its default grid is: none, or p < 0.05).

    ``inner_repeats``: how many times that inner CV runs, each with its own shuffle
    (seeds ``seed``, ``seed + 1``, …), the candidates ranked on the mean AUC of all
    their inner folds; ``None`` (default): ``INNER_ROWS // rows`` capped to
    1…``MAX_INNER_REPEATS`` (3 on a 1,000-row table, 1 on a sampled book).

    ``ratios``: derived features (see ``arrears.models.derived``); with any, the inner
    CV also chooses whether the model may use them (the raw columns alone, or the raw
    columns and the ratios, through the same filters).

    ``monotonic``: numeric features whose event rate must rise (``ascending``) or fall
    (``descending``) with their value, in every candidate binning; with the wrong-sign
    rule, their points then move one way only.

    ``bags``: how many scorecards with the chosen settings are fitted on stratified
    bootstrap samples of the rows, the model being their mean log-odds (still a points
    scorecard: ``arrears.models.bagging``); 0 fits the chosen settings once on all rows;
    ``None`` (default): ``bagging.BAGS`` on up to ``INNER_ROWS`` rows, where a single
    fit's variance costs most, else 0 (German credit design 5)."""

    name = "scorecard"
    # every candidate's inner predictions: megabytes on a book, no use once saved; the
    # rows each bagged fit drew and the target, for the out-of-bag predictions
    TRANSIENT = ("inner_oof", "inner_rows_used", "in_bag", "bag_y")

    def __init__(
        self,
        seed: int = 0,
        binning: BinningConfig | Sequence[BinningConfig] | None = None,
        min_iv: float | Sequence[float] | None = None,
        max_correlation: float = 0.7,
        c: float | Sequence[float] | None = None,
        scaling: Scaling | None = None,
        chi_alpha: float | Sequence[float | None] | None = CHI_ALPHA_GRID,
        inner_rows: int | None = INNER_ROWS,
        ratios: Sequence[Ratio] = (),
        inner_repeats: int | None = None,
        monotonic: Mapping[str, str] | None = None,
        bags: int | None = None,
    ) -> None:
        self.seed = seed
        self.bags = bags
        self.monotonic = checked_trends(monotonic)
        self.inner_rows = inner_rows
        self.inner_repeats = inner_repeats
        self.binning = binning
        self.min_iv = min_iv
        self.max_correlation = max_correlation
        self.c = c
        self.chi_alpha = chi_alpha
        self.ratios = tuple(ratios)
        self.scaling = scaling or Scaling()
        self.selection = Selection([])

    def candidates(
        self,
    ) -> tuple[list[BinningConfig], list[float], list[float | None], list[float]]:
        """The candidate binnings, IV floors, chi-square levels and Cs, in grid order."""
        binnings = _as_list(self.binning, BINNING_GRID, BinningConfig, name="binning")
        trends = getattr(self, "monotonic", {})
        if trends:
            binnings = [replace(b, trends={**b.trends, **trends}) for b in binnings]
        return (
            binnings,
            _as_list(self.min_iv, MIN_IV_GRID, float, name="min_iv"),
            _as_list(self.chi_alpha, CHI_ALPHA_GRID, float, none_is_value=True, name="chi_alpha"),
            _as_list(self.c, C_GRID, float, name="c"),
        )

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Scorecard:
        """Choose the settings by inner CV on these rows, then bin, select and fit on
        these rows only."""
        with one_blas_thread():
            return self._fit(features, y, categorical)

    def _fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Scorecard:
        y = np.asarray(y)
        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        check_trend_features(getattr(self, "monotonic", {}), self.features, self.categorical)
        self.ratios_usable = usable(getattr(self, "ratios", ()), features)
        frame = with_ratios(features, self.ratios_usable)
        derived = [r.name for r in self.ratios_usable]
        binnings, ivs, alphas, cs = self.candidates()
        uses = (False, True) if derived else (False,)
        self.inner_oof: dict[Candidate, np.ndarray] | None = None
        self.inner_rows_used: np.ndarray | None = None
        self.inner_repeats_used: int | None = None
        ranked: list[tuple[Candidate, float | None]]
        if len(binnings) * len(ivs) * len(alphas) * len(cs) * len(uses) > 1:
            rows = self._inner_sample(y)
            self.inner_repeats_used = self.repeats_for(len(rows))
            ranking, oof = rank_candidates(
                frame.iloc[rows],
                y[rows],
                self.categorical,
                derived,
                Grid(binnings, ivs, alphas, cs, uses),
                self.max_correlation,
                self.seed,
                self.inner_repeats_used,
                # inner folds bin with the smallest bin share of the final fit, so the
                # choice is made on the bins the model gets (see binning.SIZE_ROWS)
                share_rows=len(y),
            )
            ranked = list(ranking)
            self.inner_oof, self.inner_rows_used = oof, rows
        else:
            ranked = [((0, ivs[0], alphas[0], cs[0], uses[0]), None)]
        # the best candidate whose filters leave a feature on these rows (on pure noise
        # a filter that keeps nothing can tie with the rest in the inner CV)
        binners: dict[int, WoeBinner] = {}
        picked = None
        for candidate, score in ranked:
            b, min_iv, alpha, _, use = candidate
            if b not in binners:
                binners[b] = WoeBinner(binnings[b]).fit(frame, y, self.categorical)
            binner = binners[b]
            pool = _pool(binner, derived, use)
            woe = binner.transform(frame)[pool]
            pvalues = chi_square_pvalues(binner.bin_indices(frame)[pool], y) if alpha else {}
            iv = binner.iv()
            chosen, dropped = select_features(
                woe, {n: iv[n] for n in pool}, pvalues, min_iv, alpha, self.max_correlation
            )
            if chosen:
                picked = (candidate, score)
                break
        if picked is None:
            raise ModelDataError(
                f"no feature passes the filters (IV >= {min_iv}"
                + (f", chi-square p < {alpha})" if alpha else ")")
            )
        (b, min_iv, alpha, c, use), self.inner_auc = picked
        self.binning_chosen, self.min_iv_chosen, self.chi_alpha_chosen, self.c_chosen = (
            binnings[b],
            min_iv,
            alpha,
            c,
        )
        self.ratios_chosen = use
        self.candidate_chosen: Candidate = picked[0]
        pool = _pool(binner, derived, use)
        # the binner keeps the pool's columns only (the ratios too, when used)
        kept_bins = {n: binner.binnings[n] for n in pool}
        self.binner = WoeBinner(binner.config, kept_bins, binner.categorical)
        self.iv = self.binner.iv()
        self.model, chosen, wrong = signed_logit(woe, y, chosen, self.c_chosen, self.seed)
        dropped.update({n: "coefficient of the wrong sign" for n in wrong})
        self.selection = Selection(chosen, dropped)
        self._bag(frame[pool], y)
        return self

    def _bag(self, frame: pd.DataFrame, y: np.ndarray) -> None:
        """Fit the chosen settings again on ``bags_for`` stratified bootstrap samples of
        these rows (a sample on which no feature passes the filters is left out); the
        selection becomes the features any of them kept."""
        self.members: list[Scorecard] = []
        self.in_bag: list[np.ndarray] = []
        rng = np.random.default_rng(self.seed)
        for _ in range(self.bags_for(len(y))):
            drawn = bagging.stratified_bootstrap(y, rng)
            member = Scorecard(
                seed=self.seed,
                binning=self.binning_chosen,
                min_iv=self.min_iv_chosen,
                chi_alpha=self.chi_alpha_chosen,
                c=self.c_chosen,
                max_correlation=self.max_correlation,
                scaling=self.scaling,
                bags=0,
            )
            try:
                member._fit(frame.iloc[drawn], y[drawn], self.categorical)
            except ModelDataError:
                continue
            kept = member.selection.kept
            member.binner = WoeBinner(
                member.binner.config,
                {n: member.binner.binnings[n] for n in kept},
                member.binner.categorical,
            )
            self.members.append(member)
            self.in_bag.append(drawn)
        if not self.members:
            return
        self.bag_y = y
        used = {n for m in self.members for n in m.selection.kept}
        left = {
            n: self.selection.dropped.get(n, "left out by every bagged fit")
            for n in frame.columns
            if n not in used
        }
        self.selection = Selection([n for n in frame.columns if n in used], left)
        # its bins' counts are those of these rows, which the model does not keep
        self.bag_table = bagging.points_table(
            self.members, self.selection.kept, frame, y, self.categorical, self.scaling
        )

    def bags_for(self, rows: int) -> int:
        """How many bagged fits a fit on ``rows`` rows makes (0: one fit on all rows)."""
        fixed = getattr(self, "bags", 0)  # models saved before design 5: none
        if fixed is not None:
            return int(fixed)
        return bagging.BAGS if rows <= INNER_ROWS else 0

    def _bagged(self) -> list[Scorecard]:
        """The bagged fits the model averages (none: the one fit on all rows)."""
        return list(getattr(self, "members", None) or [])

    def model_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` with the derived ratios this fit may use (what ``binner`` bins)."""
        return with_ratios(features, getattr(self, "ratios_usable", []))

    def repeats_for(self, rows: int) -> int:
        """How many times the inner CV runs when it chooses on ``rows`` rows."""
        fixed = getattr(self, "inner_repeats", 1)  # models saved before design 4: once
        if fixed is not None:
            return int(fixed)
        return min(MAX_INNER_REPEATS, max(1, INNER_ROWS // max(rows, 1)))

    def _inner_sample(self, y: np.ndarray) -> np.ndarray:
        """Positions of the rows the inner CV chooses on: all of them, or on more than
        ``inner_rows`` rows a stratified sample of that many (seeded; still rows given
        to ``fit`` only), which keeps the choice affordable on a large book."""
        rows = np.arange(len(y))
        inner_rows = getattr(self, "inner_rows", None)
        if inner_rows is None or len(y) <= inner_rows:
            return rows
        from sklearn.model_selection import train_test_split

        sample, _ = train_test_split(
            rows, train_size=inner_rows, stratify=y, random_state=self.seed
        )
        return np.sort(sample)

    def out_of_fold_pd(
        self, features: pd.DataFrame, y: np.ndarray, categorical: list[str], splits: Splits
    ) -> np.ndarray:
        """A bagged model's out-of-bag predictions of its training rows (``splits`` not
        used); the inner CV's own predictions of the chosen settings when it ran on every
        row with these splits (it is then free); otherwise a refit per fold, each making
        its inner choice anew."""
        members, in_bag = self._bagged(), getattr(self, "in_bag", None)
        fitted_y = getattr(self, "bag_y", None)
        if members and in_bag and fitted_y is not None and np.array_equal(fitted_y, y):
            frame = self.model_frame(features)
            return bagging.out_of_bag_pd(members, in_bag, frame, self.selection.kept)
        oof = getattr(self, "inner_oof", None)
        rows = getattr(self, "inner_rows_used", None)
        if (
            oof is not None
            and rows is not None
            and len(rows) == len(y)
            and _same_splits(splits, inner_splits(y, self.seed))
        ):
            return oof[self.candidate_chosen].copy()
        return super().out_of_fold_pd(features, y, categorical, splits)

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability from the logistic regression on the selected WOEs (bagged:
        at the fits' mean log-odds)."""
        if self._bagged():
            return self.score(features)[0]
        return self._pd_of(self._woe(features))

    def _pd_of(self, woe: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(woe.to_numpy())[:, 1]

    def _woe(self, features: pd.DataFrame) -> pd.DataFrame:
        chosen = self.selection.kept
        sub = WoeBinner(
            self.binner.config, {n: self.binner.binnings[n] for n in chosen}, self.categorical
        )
        return sub.transform(self.model_frame(features))[chosen]

    def points_table(self) -> pd.DataFrame:
        """Points of every bin of every selected feature: −factor · coef · WOE plus an
        equal share of the intercept and offset, rounded; a row's score is the sum. A
        bagged model's bins are the union of its fits' (``bagging.points_table``)."""
        if self._bagged():
            return self.bag_table.copy()
        coef = dict(zip(self.selection.kept, self.model.coef_[0], strict=True))
        n = len(coef)
        base = (self.scaling.offset - self.scaling.factor * float(self.model.intercept_[0])) / n
        frames = []
        for name, c in coef.items():
            table = self.binner.table(name)
            table.insert(0, "feature", name)
            table["coefficient"] = c
            table["points"] = np.rint(base - self.scaling.factor * c * table["woe"]).astype(int)
            frames.append(table)
        return pd.concat(frames, ignore_index=True)

    def points(self, features: pd.DataFrame) -> np.ndarray:
        """The scorecard score: the sum of each selected feature's bin points."""
        if self._bagged():
            return self.score(features)[1]
        return self._points_of(self._woe(features))

    def score(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The PD and the scorecard points of each row, from one WOE transform."""
        members = self._bagged()
        if members:
            frame = self.model_frame(features)
            return bagging.pd_and_points(members, frame, self.selection.kept, self.scaling)
        woe = self._woe(features)
        return np.asarray(self._pd_of(woe), dtype=np.float64), self._points_of(woe)

    def _points_of(self, woe: pd.DataFrame) -> np.ndarray:
        coef = self.model.coef_[0]
        n = len(coef)
        base = (self.scaling.offset - self.scaling.factor * float(self.model.intercept_[0])) / n
        per_bin = np.rint(base - self.scaling.factor * woe.to_numpy() * coef)
        return per_bin.sum(axis=1).astype(np.int32)

    def choice(self) -> dict[str, Any]:
        """The settings used by the fitted model (chosen by the inner CV where there
        was a choice) and their inner-CV AUC."""
        out = {
            "binning": self.binning_chosen.as_dict(),
            "min_iv": self.min_iv_chosen,
            "chi_alpha": self.chi_alpha_chosen,
            "C": self.c_chosen,
            "inner_cv_auc": self.inner_auc,
        }
        if getattr(self, "inner_repeats_used", None):
            out["inner_cv_repeats"] = self.inner_repeats_used
        if getattr(self, "ratios_usable", None):
            out["ratios"] = bool(self.ratios_chosen)
        if self._bagged():
            out["bags"] = len(self._bagged())
        return out

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata: the candidates and, once fitted, the
        choice."""
        binnings, ivs, alphas, cs = self.candidates()
        out: dict[str, Any] = {
            "binning_candidates": [b.as_dict() for b in binnings],
            "min_iv_candidates": ivs,
            "chi_alpha_candidates": alphas,
            "C_candidates": cs,
            "max_correlation": self.max_correlation,
            "inner_cv_folds": INNER_FOLDS,
            "inner_cv_rows": self.inner_rows,
            "inner_cv_repeats": getattr(self, "inner_repeats", 1),
            "bags": getattr(self, "bags", 0),
            "scaling": self.scaling.as_dict(),
        }
        if getattr(self, "ratios", ()):
            out["ratio_candidates"] = [r.as_dict() for r in self.ratios]
        if getattr(self, "monotonic", {}):
            out["monotonic"] = dict(sorted(self.monotonic.items()))
        if hasattr(self, "c_chosen"):
            out["chosen"] = self.choice()
        return out


def _as_list(
    value: Any, grid: Sequence[Any], kind: type, none_is_value: bool = False, name: str = ""
) -> list[Any]:
    """One setting as its list of candidates: None is the default ``grid`` (or, with
    ``none_is_value``, the single value None), a value of ``kind`` is one candidate,
    a sequence of them is the candidates; anything else is a TypeError naming it."""
    if value is None and not none_is_value:
        return list(grid)

    def fits(v: Any) -> bool:
        if v is None:
            return none_is_value
        if kind is float:
            return isinstance(v, float | int) and not isinstance(v, bool)
        return isinstance(v, kind)

    if fits(value):
        return [value]
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise TypeError(f"Scorecard {name}: {value!r} is not a {kind.__name__} or a list of them")
    wrong = [v for v in value if not fits(v)]
    if wrong:
        raise TypeError(f"Scorecard {name}: {wrong[0]!r} is not a {kind.__name__}")
    return list(value)


def _pool(binner: WoeBinner, derived: list[str], use: bool) -> list[str]:
    """The columns a candidate may select from: every binned column, or (``use`` off)
    all but the derived ratios."""
    return [n for n in binner.binnings if use or n not in derived]


def _same_splits(a: Splits, b: Splits) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True)
    )

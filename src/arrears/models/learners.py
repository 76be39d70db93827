"""The learners: a points scorecard (WOE + logistic regression), LightGBM, a
one-hot logistic-regression baseline, a random forest and two ensembles of them. Each
is fitted on the rows it is given only (so binning, selection and any inner choice of
settings happen inside every cross-validation training fold) and is reproducible from
its seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.errors import ModelDataError
from arrears.models.scaling import Scaling
from arrears.models.selection import (
    Selection,
    chi_square_filter,
    chi_square_pvalues,
    correlation_filter,
    encode_categories,
    iv_filter,
)


class Learner:
    """Common shape: ``fit(features, y, categorical)``, ``predict_pd(features)``,
    ``points(features)`` (int points, higher = lower risk) and ``params()``."""

    name: ClassVar[str] = ""
    scaling: Scaling = Scaling()
    features: list[str]
    categorical: list[str]

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Learner:
        raise NotImplementedError

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError

    def points(self, features: pd.DataFrame) -> np.ndarray:
        """Scaled points of each row, rounded to whole points."""
        return np.rint(self.scaling.points_from_pd(self.predict_pd(features))).astype(np.int32)

    def params(self) -> dict[str, Any]:
        raise NotImplementedError


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
INNER_FOLDS = 5
# above this many training rows the inner CV chooses on a stratified sample of them
INNER_ROWS = 5000


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
    chi-square filter (its default grid is: none, or p < 0.05)."""

    name = "scorecard"

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
    ) -> None:
        self.seed = seed
        self.inner_rows = inner_rows
        self.binning = binning
        self.min_iv = min_iv
        self.max_correlation = max_correlation
        self.c = c
        self.chi_alpha = chi_alpha
        self.scaling = scaling or Scaling()
        self.selection = Selection([])

    def candidates(
        self,
    ) -> tuple[list[BinningConfig], list[float], list[float | None], list[float]]:
        """The candidate binnings, IV floors, chi-square levels and Cs, in grid order."""
        return (
            _as_list(self.binning, BINNING_GRID, BinningConfig),
            _as_list(self.min_iv, MIN_IV_GRID, float),
            _as_list(self.chi_alpha, CHI_ALPHA_GRID, float, none_is_value=True),
            _as_list(self.c, C_GRID, float),
        )

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Scorecard:
        """Choose the settings by inner CV on these rows, then bin, select and fit on
        these rows only."""
        y = np.asarray(y)
        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        binnings, ivs, alphas, cs = self.candidates()
        ranked: list[tuple[tuple[int, float, float | None, float], float | None]]
        if len(binnings) * len(ivs) * len(alphas) * len(cs) > 1:
            rows = self._inner_sample(y)
            ranked = list(
                _inner_cv_ranking(
                    features.iloc[rows],
                    y[rows],
                    self.categorical,
                    binnings,
                    ivs,
                    alphas,
                    cs,
                    self.max_correlation,
                    self.seed,
                )
            )
        else:
            ranked = [((0, ivs[0], alphas[0], cs[0]), None)]
        # the best candidate whose filters leave a feature on these rows (on pure noise
        # a filter that keeps nothing can tie with the rest in the inner CV)
        binners: dict[int, WoeBinner] = {}
        picked = None
        for candidate, score in ranked:
            b, min_iv, alpha, _ = candidate
            if b not in binners:
                binners[b] = WoeBinner(binnings[b]).fit(features, y, self.categorical)
            binner = binners[b]
            woe = binner.transform(features)
            pvalues = chi_square_pvalues(binner.bin_labels(features), y) if alpha else {}
            chosen, dropped = _select(
                woe, binner.iv(), pvalues, min_iv, alpha, self.max_correlation
            )
            if chosen:
                picked = (candidate, score)
                break
        if picked is None:
            raise ModelDataError(
                f"no feature passes the filters (IV >= {min_iv}"
                + (f", chi-square p < {alpha})" if alpha else ")")
            )
        (b, min_iv, alpha, c), self.inner_auc = picked
        self.binning_chosen, self.min_iv_chosen, self.chi_alpha_chosen, self.c_chosen = (
            binnings[b],
            min_iv,
            alpha,
            c,
        )
        self.binner = binner
        self.iv = binner.iv()
        self.model, chosen, wrong = _signed_logit(woe, y, chosen, self.c_chosen, self.seed)
        dropped.update({n: "coefficient of the wrong sign" for n in wrong})
        self.selection = Selection(chosen, dropped)
        return self

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

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability from the logistic regression on the selected WOEs."""
        woe = self._woe(features)
        return self.model.predict_proba(woe.to_numpy())[:, 1]

    def _woe(self, features: pd.DataFrame) -> pd.DataFrame:
        chosen = self.selection.kept
        sub = WoeBinner(
            self.binner.config, {n: self.binner.binnings[n] for n in chosen}, self.categorical
        )
        return sub.transform(features)[chosen]

    def points_table(self) -> pd.DataFrame:
        """Points of every bin of every selected feature: −factor · coef · WOE plus an
        equal share of the intercept and offset, rounded; a row's score is the sum."""
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
        woe = self._woe(features)
        coef = self.model.coef_[0]
        n = len(coef)
        base = (self.scaling.offset - self.scaling.factor * float(self.model.intercept_[0])) / n
        per_bin = np.rint(base - self.scaling.factor * woe.to_numpy() * coef)
        return per_bin.sum(axis=1).astype(np.int32)

    def choice(self) -> dict[str, Any]:
        """The settings used by the fitted model (chosen by the inner CV where there
        was a choice) and their inner-CV AUC."""
        return {
            "binning": self.binning_chosen.as_dict(),
            "min_iv": self.min_iv_chosen,
            "chi_alpha": self.chi_alpha_chosen,
            "C": self.c_chosen,
            "inner_cv_auc": self.inner_auc,
        }

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
            "scaling": self.scaling.as_dict(),
        }
        if hasattr(self, "c_chosen"):
            out["chosen"] = self.choice()
        return out


def _as_list(value: Any, grid: Sequence[Any], kind: type, none_is_value: bool = False) -> list[Any]:
    if value is None and not none_is_value:
        return list(grid)
    if value is None or (isinstance(value, kind | int) and not isinstance(value, bool)):
        return [value]
    return list(value)


def _select(
    woe: pd.DataFrame,
    iv: dict[str, float],
    pvalues: dict[str, float],
    min_iv: float,
    chi_alpha: float | None,
    max_correlation: float,
) -> tuple[list[str], dict[str, str]]:
    """IV floor, then chi-square level (if any), then the correlation filter."""
    by_iv = iv_filter(iv, min_iv)
    dropped = dict(by_iv.dropped)
    kept = by_iv.kept
    if chi_alpha is not None:
        by_chi = chi_square_filter({n: pvalues[n] for n in kept}, chi_alpha)
        dropped.update(by_chi.dropped)
        kept = by_chi.kept
    if not kept:
        return [], dropped
    by_corr = correlation_filter(woe[kept], iv, max_correlation)
    dropped.update(by_corr.dropped)
    return list(by_corr.kept), dropped


def _signed_logit(
    woe: pd.DataFrame, y: np.ndarray, chosen: list[str], c: float, seed: int
) -> tuple[Any, list[str], list[str]]:
    """Logistic regression on the chosen WOEs, refitted without the features whose
    coefficient has the wrong sign until none has (positive WOE = lower risk, so every
    coefficient must be negative). Returns the model, the kept and the dropped names."""
    from sklearn.linear_model import LogisticRegression

    wrong_all: list[str] = []
    while True:
        model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        model.fit(woe[chosen].to_numpy(), y)
        wrong = [n for n, k in zip(chosen, model.coef_[0], strict=True) if k >= 0]
        if not wrong or len(wrong) == len(chosen):
            return model, chosen, wrong_all
        wrong_all += wrong
        chosen = [n for n in chosen if n not in wrong]


def _inner_cv_ranking(
    features: pd.DataFrame,
    y: np.ndarray,
    categorical: list[str],
    binnings: list[BinningConfig],
    ivs: list[float],
    alphas: list[float | None],
    cs: list[float],
    max_correlation: float,
    seed: int,
) -> list[tuple[tuple[int, float, float | None, float], float]]:
    """Every (binning index, IV floor, chi-square level, C) with its mean AUC under a
    stratified 5-fold CV inside the rows given (never an outer test fold), best first:
    in every inner fold each binning is fitted, and each filter applied, on the inner
    training rows only. A candidate whose filters leave no feature in an inner fold
    scores 0.5 there. Ties keep grid order."""
    from sklearn.model_selection import StratifiedKFold

    from arrears.models.metrics import auc

    scores: dict[tuple[int, float, float | None, float], list[float]] = {}
    splitter = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed)
    need_chi = any(a is not None for a in alphas)
    for train, test in splitter.split(features, y):
        x_train, x_test = features.iloc[train], features.iloc[test]
        for b, config in enumerate(binnings):
            binner = WoeBinner(config).fit(x_train, y[train], categorical)
            iv = binner.iv()
            woe_train, woe_test = binner.transform(x_train), binner.transform(x_test)
            pvalues = chi_square_pvalues(binner.bin_labels(x_train), y[train]) if need_chi else {}
            for min_iv in ivs:
                for alpha in alphas:
                    chosen, _ = _select(woe_train, iv, pvalues, min_iv, alpha, max_correlation)
                    for c in cs:
                        if chosen:
                            model, kept, _ = _signed_logit(woe_train, y[train], chosen, c, seed)
                            p = model.predict_proba(woe_test[kept].to_numpy())[:, 1]
                            score = auc(y[test], p)
                        else:
                            score = 0.5  # nothing left to predict with
                        scores.setdefault((b, min_iv, alpha, c), []).append(score)
    means = {k: float(np.mean(v)) for k, v in scores.items()}
    return sorted(means.items(), key=lambda item: -item[1])  # stable: ties keep grid order


class GradientBoosting(Learner):
    """LightGBM with small, strongly regularised trees; settings fixed a priori (not
    tuned on any test fold). Categories are native LightGBM categoricals."""

    name = "lgbm"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "n_estimators": 400,
        "learning_rate": 0.02,
        "num_leaves": 7,
        "max_depth": 3,
        "min_child_samples": 25,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.5,
        "reg_lambda": 5.0,
        "min_split_gain": 0.0,
    }

    def __init__(self, seed: int = 0, scaling: Scaling | None = None, **overrides: Any) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()
        self.settings = {**self.DEFAULTS, **overrides}

    def fit(
        self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]
    ) -> GradientBoosting:
        """Fit the forest on these rows (category levels learned from them)."""
        import lightgbm as lgb

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        encoded = encode_categories(features, self.categorical)
        self.levels = {c: list(encoded[c].cat.categories) for c in self.categorical}
        self.model = lgb.LGBMClassifier(
            **self.settings, random_state=self.seed, n_jobs=1, verbose=-1, deterministic=True
        )
        self.model.fit(encoded, y)
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability; unseen categories are treated as missing."""
        encoded = encode_categories(features[self.features], self.categorical, self.levels)
        return self.model.predict_proba(encoded)[:, 1]

    def importance(self) -> dict[str, float]:
        """Share of total gain per feature."""
        gain = self.model.booster_.feature_importance(importance_type="gain")
        total = float(gain.sum()) or 1.0
        return {n: float(g) / total for n, g in zip(self.features, gain, strict=True)}

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {**self.settings, "scaling": self.scaling.as_dict()}


class Baseline(Learner):
    """Logistic regression on raw numbers (median-imputed, standardised) and one-hot
    categories: the reference the other learners are measured against."""

    name = "baseline"

    def __init__(self, seed: int = 0, c: float = 1.0, scaling: Scaling | None = None) -> None:
        self.seed = seed
        self.c = c
        self.scaling = scaling or Scaling()

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Baseline:
        """Fit the pipeline on these rows."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        prep = _one_hot_prep(self.features, self.categorical, scale=True)
        model = LogisticRegression(C=self.c, max_iter=5000, random_state=self.seed)
        self.model = make_pipeline(prep, model)
        self.model.fit(_as_text(features, self.categorical), y)
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability."""
        return self.model.predict_proba(_as_text(features[self.features], self.categorical))[:, 1]

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {"C": self.c, "scaling": self.scaling.as_dict()}


class Forest(Learner):
    """A random forest (scikit-learn) on median-imputed numbers and one-hot categories.
    Settings fixed a priori: 500 trees (enough for the averaged probability to settle),
    √p features tried per split (Breiman's default for classification), at least 5 rows
    per leaf so that leaf frequencies are usable probabilities; ``n_jobs=1``."""

    name = "forest"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "n_estimators": 500,
        "max_features": "sqrt",
        "min_samples_leaf": 5,
    }

    def __init__(self, seed: int = 0, scaling: Scaling | None = None, **overrides: Any) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()
        self.settings = {**self.DEFAULTS, **overrides}

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Forest:
        """Fit the forest on these rows (category levels learned from them)."""
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.pipeline import make_pipeline

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        forest = RandomForestClassifier(**self.settings, random_state=self.seed, n_jobs=1)
        self.model = make_pipeline(
            _one_hot_prep(self.features, self.categorical, scale=False), forest
        )
        self.model.fit(_as_text(features, self.categorical), y)
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability: the trees' mean leaf frequency."""
        return self.model.predict_proba(_as_text(features[self.features], self.categorical))[:, 1]

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {**self.settings, "scaling": self.scaling.as_dict()}


class _Committee(Learner):
    """Learners made of other learners (``MEMBERS``, by name), each fitted with its
    default settings on the same rows only; subclasses say how their PDs combine."""

    MEMBERS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, seed: int = 0, scaling: Scaling | None = None) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> _Committee:
        """Fit every member on these rows."""
        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        self.members = [
            make_learner(name, seed=self.seed).fit(features, y, categorical)
            for name in self.MEMBERS
        ]
        return self

    def member_pds(self, features: pd.DataFrame) -> np.ndarray:
        """Each member's event probability, one row per member."""
        return np.vstack([m.predict_pd(features[m.features]) for m in self.members])


class Ensemble(_Committee):
    """A heterogeneous ensemble in the spirit of Lessmann et al. (2015): the simple
    average of the PDs of a scorecard (settings by its own inner CV), the one-hot
    logistic-regression baseline, LightGBM and a random forest, each fitted with its
    default settings on the same rows only. Equal weights; nothing is fitted on the
    members' predictions, so there is nothing to tune."""

    name = "ensemble"
    MEMBERS: ClassVar[tuple[str, ...]] = ("scorecard", "baseline", "lgbm", "forest")

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """The members' mean event probability."""
        return self.member_pds(features).mean(axis=0)

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        members = getattr(self, "members", None)
        return {
            "members": ({m.name: m.params() for m in members} if members else list(self.MEMBERS)),
            "combination": "mean PD, equal weights",
            "scaling": self.scaling.as_dict(),
        }


class Blend(_Committee):
    """The mean log-odds of a scorecard and a LightGBM model, each fitted as above on the
    same rows: a heterogeneous ensemble of the kind Lessmann et al. (2015) found best on
    credit data. No weights are fitted; the two count equally."""

    name = "blend"
    MEMBERS: ClassVar[tuple[str, ...]] = ("scorecard", "lgbm")

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability at the members' mean log-odds."""
        p = np.clip(self.member_pds(features), 1e-9, 1 - 1e-9)
        return 1 / (1 + np.exp(-np.log(p / (1 - p)).mean(axis=0)))

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {
            "members": {m.name: m.params() for m in self.members},
            "scaling": self.scaling.as_dict(),
        }


def _one_hot_prep(features: list[str], categorical: list[str], scale: bool) -> Any:
    """Median-imputed (and, if ``scale``, standardised) numbers beside one-hot
    categories; a category not seen in fitting is all zeros."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in features if c not in categorical]
    steps: list[Any] = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    return ColumnTransformer(
        [
            ("num", make_pipeline(*steps), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )


def _as_text(features: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = features.copy()
    for c in categorical:
        out[c] = out[c].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    return out


LEARNERS: dict[str, type[Learner]] = {
    "scorecard": Scorecard,
    "lgbm": GradientBoosting,
    "baseline": Baseline,
    "blend": Blend,
    "forest": Forest,
    "ensemble": Ensemble,
}


def make_learner(name: str, seed: int = 0, **settings: Any) -> Learner:
    """A fresh, unfitted learner by name (``scorecard``, ``lgbm``, ``baseline``, ``blend``,
    ``forest``, ``ensemble``)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r} (choose from {', '.join(LEARNERS)})")
    return LEARNERS[name](seed=seed, **settings)

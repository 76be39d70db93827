"""The learners: a points scorecard (WOE + logistic regression), LightGBM and a
one-hot logistic-regression baseline. Each is fitted on the rows it is given only (so
binning and selection happen inside every cross-validation training fold) and is
reproducible from its seed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from arrears.models.binning import BinningConfig, WoeBinner
from arrears.models.errors import ModelDataError
from arrears.models.scaling import Scaling
from arrears.models.selection import Selection, correlation_filter, encode_categories, iv_filter


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


class Scorecard(Learner):
    """WOE binning → IV filter → correlation filter → logistic regression, dropping
    features whose coefficient has the wrong sign; scaled to points per bin."""

    name = "scorecard"

    def __init__(
        self,
        seed: int = 0,
        binning: BinningConfig | None = None,
        min_iv: float = 0.02,
        max_correlation: float = 0.7,
        c: float | None = None,
        scaling: Scaling | None = None,
    ) -> None:
        self.seed = seed
        self.binning = binning or BinningConfig()
        self.min_iv = min_iv
        self.max_correlation = max_correlation
        self.c = c
        self.scaling = scaling or Scaling()
        self.selection = Selection([])

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Scorecard:
        """Bin, select and fit on these rows only."""
        from sklearn.linear_model import LogisticRegression

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        self.binner = WoeBinner(self.binning).fit(features, y, self.categorical)
        iv = self.binner.iv()
        by_iv = iv_filter(iv, self.min_iv)
        woe = self.binner.transform(features)
        by_corr = correlation_filter(woe[by_iv.kept], iv, self.max_correlation)
        dropped = {**by_iv.dropped, **by_corr.dropped}
        chosen = list(by_corr.kept)
        if not chosen:
            raise ModelDataError(f"no feature has an information value of {self.min_iv} or more")
        self.c_chosen = self.c if self.c is not None else _inner_cv_c(woe[chosen], y, self.seed)
        while True:
            model = LogisticRegression(C=self.c_chosen, max_iter=2000, random_state=self.seed)
            model.fit(woe[chosen].to_numpy(), y)
            # positive WOE = lower risk, so every coefficient must be negative
            wrong = [n for n, c in zip(chosen, model.coef_[0], strict=True) if c >= 0]
            if not wrong or len(wrong) == len(chosen):
                break
            for name in wrong:
                dropped[name] = "coefficient of the wrong sign"
            chosen = [n for n in chosen if n not in wrong]
        self.model = model
        self.selection = Selection(chosen, dropped)
        self.iv = iv
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability from the logistic regression on the selected WOEs."""
        woe = self._woe(features)
        return self.model.predict_proba(woe.to_numpy())[:, 1]

    def _woe(self, features: pd.DataFrame) -> pd.DataFrame:
        chosen = self.selection.kept
        sub = WoeBinner(
            self.binning, {n: self.binner.binnings[n] for n in chosen}, self.categorical
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

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {
            "binning": self.binning.as_dict(),
            "min_iv": self.min_iv,
            "max_correlation": self.max_correlation,
            "C": self.c if self.c is not None else "inner 5-fold CV over C_GRID",
            "scaling": self.scaling.as_dict(),
        }


C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def _inner_cv_c(values: pd.DataFrame, y: np.ndarray, seed: int) -> float:
    """The regularisation strength with the best mean AUC under a 5-fold CV inside the
    training rows it is given (never the outer test fold)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    from arrears.models.metrics import auc

    x = values.to_numpy()
    splits = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y))
    best_c, best_auc = C_GRID[0], -1.0
    for c in C_GRID:
        scores = []
        for train, test in splits:
            model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
            model.fit(x[train], y[train])
            scores.append(auc(y[test], model.predict_proba(x[test])[:, 1]))
        if np.mean(scores) > best_auc + 1e-12:
            best_c, best_auc = c, float(np.mean(scores))
    return best_c


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
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        numeric = [c for c in self.features if c not in self.categorical]
        prep = ColumnTransformer(
            [
                ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="(missing)"),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    self.categorical,
                ),
            ]
        )
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


class Blend(Learner):
    """The mean log-odds of a scorecard and a LightGBM model, each fitted as above on the
    same rows: a heterogeneous ensemble of the kind Lessmann et al. (2015) found best on
    credit data. No weights are fitted; the two count equally."""

    name = "blend"

    def __init__(self, seed: int = 0, scaling: Scaling | None = None) -> None:
        self.seed = seed
        self.scaling = scaling or Scaling()

    def fit(self, features: pd.DataFrame, y: np.ndarray, categorical: list[str]) -> Blend:
        """Fit both members on these rows."""
        self.features = list(features.columns)
        self.categorical = [c for c in categorical if c in self.features]
        self.members = [
            Scorecard(seed=self.seed).fit(features, y, categorical),
            GradientBoosting(seed=self.seed).fit(features, y, categorical),
        ]
        return self

    def predict_pd(self, features: pd.DataFrame) -> np.ndarray:
        """Event probability at the members' mean log-odds."""
        logits = []
        for member in self.members:
            p = np.clip(member.predict_pd(features), 1e-9, 1 - 1e-9)
            logits.append(np.log(p / (1 - p)))
        return 1 / (1 + np.exp(-np.mean(logits, axis=0)))

    def params(self) -> dict[str, Any]:
        """Settings, for the model's metadata."""
        return {
            "members": {m.name: m.params() for m in self.members},
            "scaling": self.scaling.as_dict(),
        }


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
}


def make_learner(name: str, seed: int = 0, **settings: Any) -> Learner:
    """A fresh, unfitted learner by name (``scorecard``, ``lgbm``, ``baseline``, ``blend``)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r} (choose from {', '.join(LEARNERS)})")
    return LEARNERS[name](seed=seed, **settings)

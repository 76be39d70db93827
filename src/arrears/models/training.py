"""Training a model end to end: cross-validate, fit on all rows, save with metadata.

The learner is cross-validated (repeated stratified k-fold, everything fitted inside
each training fold), then refitted on every row; the saved metrics are the CV figures
and, for reference only, the in-sample ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arrears.files import write_atomically
from arrears.models import metrics
from arrears.models.learners import Learner, make_learner
from arrears.models.registry import SavedModel, load_model, save_model
from arrears.models.validation import CrossValidation, cross_validate


@dataclass
class TrainingResult:
    """The saved model, its cross-validation and the summary written to its metadata."""

    saved: SavedModel
    cv: CrossValidation | None
    summary: dict[str, Any]


def train_model(
    features: pd.DataFrame,
    y: np.ndarray,
    categorical: list[str],
    out: Path,
    *,
    name: str,
    target: str,
    data_info: dict[str, Any],
    learner: str = "scorecard",
    folds: int = 5,
    repeats: int = 1,
    seed: int = 0,
    groups: np.ndarray | None = None,
    settings: dict[str, Any] | None = None,
    extra_meta: dict[str, Any] | None = None,
    holdout: tuple[pd.DataFrame, np.ndarray, str] | None = None,
) -> TrainingResult:
    """Cross-validate ``learner`` (``folds`` < 2 skips it), fit it on all rows and save
    it to ``out``. ``data_info`` must hold the data's ``sha256``. ``holdout``: later
    rows never trained on (features, target, a description), measured once the model
    is fitted, with the PSI of the score from the training rows to them."""
    settings = settings or {}

    def make() -> Learner:
        return make_learner(learner, seed=seed, **settings)

    cv = None
    if folds >= 2:
        cv = cross_validate(make, features, y, categorical, folds, repeats, seed, groups)
    fitted = make().fit(features, y, categorical)
    in_sample = metrics.summary(y, fitted.predict_pd(features))
    # the training rows' scores, for the PSI of every later sample (score, evaluate)
    reference = metrics.score_distribution(fitted.points(features))
    summary: dict[str, Any] = {
        "cv": cv.summary() if cv is not None else None,
        "in_sample": {k: in_sample[k] for k in ("auc", "gini", "ks")},
    }
    if holdout is not None:
        later, y_later, description = holdout
        inputs = later[fitted.features]
        measured = metrics.summary(y_later, fitted.predict_pd(inputs))
        psi = metrics.psi_against(reference, fitted.points(inputs))
        summary["out_of_time"] = {
            "rows_of": description,
            **{
                k: measured[k]
                for k in ("rows", "events", "auc", "auc_ci95", "gini", "ks", "ks_ci95")
            },
            "psi_score": psi,
            "psi_reading": metrics.psi_reading(psi),
        }
    meta = {
        "name": name,
        "target": target,
        "seed": seed,
        "data": {**data_info, "rows": len(y), "events": int(np.sum(y))},
        "metrics": summary,
        "score_reference": reference,
        **(extra_meta or {}),
    }
    save_model(out, fitted, meta)
    return TrainingResult(load_model(out), cv, summary)


def write_reports(
    result: TrainingResult, features: pd.DataFrame, y: np.ndarray, categorical: list[str], seed: int
) -> dict[str, float]:
    """The feature report (binning of all rows) and the model report (charts from the
    out-of-fold predictions of the first CV repeat, else in-sample) beside the model.
    Returns the features whose bins alone reach an AUC of ``ALONE_AUC_CHECK`` (a leak,
    more often than not), with that AUC."""
    from arrears.models.binning import BinningConfig, WoeBinner
    from arrears.models.learners import Scorecard
    from arrears.models.report import ALONE_AUC_CHECK, auc_alone, feature_report, model_report
    from arrears.models.selection import chi_square_pvalues, tree_importance

    saved = result.saved
    learner = saved.learner
    binned = features
    if isinstance(learner, Scorecard):  # its binner may bin derived ratios too
        binner, binned = learner.binner, learner.model_frame(features)
    else:
        # the directions a learner was given (lgbm's monotonic) bin the report's view too
        config = BinningConfig(trends=dict(getattr(learner, "monotonic", {}) or {}))
        binner = WoeBinner(config).fit(features, y, categorical)
    selected = learner.selection.kept if isinstance(learner, Scorecard) else list(features.columns)
    dropped = learner.selection.dropped if isinstance(learner, Scorecard) else {}
    alone = auc_alone(binner, binned, y)
    page = feature_report(
        f"Features of {saved.name}",
        binner,
        chi_square_pvalues(binner.bin_labels(binned), y),
        tree_importance(binned, y, categorical, seed),
        selected,
        dropped,
        saved.meta.get("excluded_columns") or {},
        alone,
    )
    write_atomically(saved.folder / "feature_report.html", page)
    if result.cv is not None:
        pd_, title = result.cv.out_of_fold[0], "out-of-fold predictions, first repeat"
    else:
        pd_, title = learner.predict_pd(features), "in-sample predictions"
    evaluation = metrics.summary(np.asarray(y), pd_)
    page = model_report(
        f"Model {saved.name} {saved.version} ({title})", learner, saved.meta, y, pd_, evaluation
    )
    write_atomically(saved.folder / "model_report.html", page)
    return {n: v for n, v in alone.items() if v >= ALONE_AUC_CHECK}

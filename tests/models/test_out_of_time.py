"""`models train --data F --time COLUMN --holdout-from D`: the rows dated from D on are
kept out of training and cross-validation and measured once on the final model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.metrics import auc, psi
from arrears.models.registry import load_model

runner = CliRunner()
ROWS = 500


def _dated() -> pd.DataFrame:
    rng = np.random.default_rng(21)
    income = rng.normal(5000, 1500, ROWS)
    return pd.DataFrame(
        {
            "applied": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 365, ROWS), "D"),
            "income": income,
            "bad": (rng.random(ROWS) < 1 / (1 + np.exp((income - 5000) / 1000))).astype(int),
        }
    ).assign(applied=lambda f: f["applied"].dt.strftime("%Y-%m-%d"))


def _train(path: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["models", "train", "--data", str(path), "--target", "bad", "--learner", "lgbm"]
    return runner.invoke(app, [*args, "--cv", "3", "--out", str(out), *extra])


def test_later_rows_are_held_out_and_measured_on_the_final_model(tmp_path: Path):
    frame, data, out = _dated(), tmp_path / "apps.csv", tmp_path / "m"
    frame.to_csv(data, index=False)
    result = _train(data, out, "--time", "applied", "--holdout-from", "2025-10-01")
    assert result.exit_code == 0, result.output
    later = frame["applied"] >= "2025-10-01"
    meta = json.loads((out / "model.json").read_text())
    assert meta["data"]["rows"] == int((~later).sum())  # trained on the earlier rows only
    assert meta["features"] == ["income"]
    assert "--time column" in meta["excluded_columns"]["applied"]
    oot = meta["metrics"]["out_of_time"]
    assert oot["rows_of"] == "applied from 2025-10-01"
    assert (oot["rows"], oot["events"]) == (int(later.sum()), int(frame["bad"][later].sum()))
    learner = load_model(out).learner
    held, kept = frame[later], frame[~later]
    assert oot["auc"] == auc(held["bad"].to_numpy(), learner.predict_pd(held[["income"]]))
    points = learner.points
    assert oot["psi_score"] == pytest.approx(
        psi(points(kept[["income"]]), points(held[["income"]]))
    )
    assert oot["auc_ci95"][0] <= oot["auc"] <= oot["auc_ci95"][1]
    assert "Out of time: " in (out / "model_report.html").read_text()
    listed = runner.invoke(app, ["models", "list", "--registry", str(tmp_path)])
    assert "OOT AUC" in listed.output and f"{oot['auc']:.4f}" in listed.output


@pytest.mark.parametrize(
    ("change", "extra", "message"),
    [
        (
            lambda f: f.assign(applied=f["applied"].where(f.index != 4, "soon")),
            ["--time", "applied", "--holdout-from", "2025-10-01"],
            "column 'applied', row 6: 'soon' is not a date",
        ),
        (lambda f: f, ["--time", "applied"], "--time COLUMN and --holdout-from DATE go together"),
        (
            lambda f: f,
            ["--time", "applied", "--holdout-from", "2026-06-01"],
            "rows dated from 2026-06-01 by 'applied': 0 rows",
        ),
        (lambda f: f, ["--time", "when", "--holdout-from", "2025-10-01"], "--time 'when'"),
    ],
)
def test_a_bad_holdout_is_refused_and_nothing_written(tmp_path: Path, change, extra, message):
    data, out = tmp_path / "apps.csv", tmp_path / "m"
    change(_dated()).to_csv(data, index=False)
    result = _train(data, out, *extra)
    assert result.exit_code == 1 and message in result.output
    assert not out.exists()

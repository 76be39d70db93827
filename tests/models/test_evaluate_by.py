"""`arrears models evaluate --data FILE --by COLUMN`: the model's measures for each group
of rows (a month, a channel, a branch), the column read as written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models import metrics
from arrears.models.registry import load_model

runner = CliRunner()


def _applications(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(5000, 1500, rows).round(2)
    channel = rng.choice(["app", "branch", "broker"], rows)
    # the broker channel's risk does not follow income: the model serves it least
    log_odds = np.where(channel == "broker", 0.0, -(income - 5000) / 800) - 1.0
    bad = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    month = rng.choice(["2026-01", "2026-02", ""], rows)
    return pd.DataFrame({"applicant": [f"A{i:05d}" for i in range(rows)], "income": income}).assign(
        channel=channel, month=month, bad=bad
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("by")
    data = folder / "applications.csv"
    _applications(900, 1).to_csv(data, index=False)
    args = ["models", "train", "--data", str(data), "--target", "bad", "--learner", "lgbm"]
    extra = ["--drop", "channel", "--drop", "month", "--cv", "0", "--no-reports"]
    result = runner.invoke(app, [*args, *extra, "--out", str(folder / "m")])
    assert result.exit_code == 0, result.output
    return folder / "m", data


def _evaluate(model: Path, data: Path, *extra: str):
    args = ["models", "evaluate", "--model", str(model), "--data", str(data), "--target", "bad"]
    return runner.invoke(app, [*args, *extra])


def test_each_group_gets_the_measures_of_its_own_rows(trained, tmp_path):
    model, _ = trained
    later = tmp_path / "later.csv"
    frame = _applications(600, 2)
    frame.to_csv(later, index=False)
    report = tmp_path / "report.html"
    result = _evaluate(model, later, "--by", "channel", "--report", str(report))
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    by = out["by"]
    assert by["column"] == "channel"
    assert [g["value"] for g in by["groups"]] == ["app", "branch", "broker"]
    assert sum(g["rows"] for g in by["groups"]) == 600
    saved = load_model(model)
    for group in by["groups"]:
        rows = frame[frame["channel"] == group["value"]]
        pd_ = saved.learner.predict_pd(rows[saved.learner.features])
        assert group["rows"] == len(rows) and group["events"] == int(rows["bad"].sum())
        assert group["auc"] == pytest.approx(metrics.auc(rows["bad"].to_numpy(), pd_))
        points = saved.learner.points(rows[saved.learner.features])
        assert group["psi"] == pytest.approx(
            metrics.psi_against(saved.meta["score_reference"], points)
        )
    auc = {g["value"]: g["auc"] for g in by["groups"]}
    assert auc["broker"] < min(auc["app"], auc["branch"])  # where the model serves least
    page = report.read_text(encoding="utf-8")
    assert "<h2>By channel</h2>" in page and ">broker<" in page


def test_an_empty_cell_is_its_own_group(trained):
    model, data = trained
    result = _evaluate(model, data, "--by", "month")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{") :])
    assert [g["value"] for g in out["by"]["groups"]] == ["(empty)", "2026-01", "2026-02"]


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("region", "--by 'region': no such column"),
        ("applicant", "--by 'applicant': 900 distinct values; group by a column of at most 50"),
    ],
)
def test_a_column_that_cannot_group_is_refused(trained, column, message):
    model, data = trained
    result = _evaluate(model, data, "--by", column)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())

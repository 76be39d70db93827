"""`models train --bags`: how many bagged fits the scorecard averages (0: one fit on all
rows, the shortest points table), saved in the model's parameters and visible in its
points table; refused for other learners and out of range."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.registry import load_model

runner = CliRunner()


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(12)
    x = rng.normal(size=400)
    frame = pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=400),
            "grade": rng.choice(["A", "B", "C"], 400),
            "bad": (rng.random(400) < 1 / (1 + np.exp(-x))).astype(int),
        }
    )
    path = tmp_path_factory.mktemp("bags") / "t.csv"
    frame.to_csv(path, index=False)
    return path


def _train(table: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["models", "train", "--data", str(table), "--target", "bad", "--cv", "0"]
    return runner.invoke(app, [*args, "--out", str(out), *extra])


@pytest.mark.parametrize(("value", "fits"), [("0", 0), ("5", 5), (None, 50)])
def test_the_bags_asked_for_are_fitted_saved_and_reported(table: Path, tmp_path, value, fits):
    result = _train(table, tmp_path / "m", *(["--bags", value] if value else []))
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["params"]["bags"] == (int(value) if value else None)
    card = load_model(tmp_path / "m").learner
    assert len(card.members) == fits
    assert meta["params"]["chosen"].get("bags", 0) == fits
    report = (tmp_path / "m" / "model_report.html").read_text()
    # the points table says how many fits use each feature when bagged
    assert ('<th class="l">fits</th>' in report) == bool(fits)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--bags", "501"], "from 0 to 500, not 501"),
        (["--bags", "-1"], "from 0 to 500, not -1"),
        (["--bags", "3", "--learner", "lgbm"], "a setting of the scorecard, not of 'lgbm'"),
    ],
)
def test_bad_bags_are_refused_before_anything_is_written(table, tmp_path, extra, message):
    result = _train(table, tmp_path / "m", *extra)
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "m").exists()

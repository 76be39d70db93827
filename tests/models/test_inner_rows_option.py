"""`models train --inner-rows`: the scorecard's inner choice on a sample or every row,
saved in the model's parameters; refused for other learners and for nonsense."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    x = rng.normal(size=400)
    frame = pd.DataFrame(
        {"x": x, "z": rng.normal(size=400), "bad": (rng.random(400) < 1 / (1 + np.exp(-x)))}
    )
    path = tmp_path_factory.mktemp("inner-rows") / "t.csv"
    frame.astype({"bad": int}).to_csv(path, index=False)
    return path


def _train(table: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["models", "train", "--data", str(table), "--target", "bad", "--cv", "0"]
    return runner.invoke(app, [*args, "--no-reports", "--out", str(out), *extra])


@pytest.mark.parametrize(("value", "saved"), [("all", None), ("300", 300), (None, 5000)])
def test_the_inner_rows_asked_for_are_used_and_saved(table: Path, tmp_path, value, saved):
    result = _train(table, tmp_path / "m", *(["--inner-rows", value] if value else []))
    assert result.exit_code == 0, result.output
    params = json.loads((tmp_path / "m" / "model.json").read_text())["params"]
    assert params["inner_cv_rows"] == saved


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--inner-rows", "50"], "at least 100, not '50'"),
        (["--inner-rows", "many"], "'all' or a number of rows"),
        (["--inner-rows", "all", "--learner", "lgbm"], "a setting of the scorecard, not of 'lgbm'"),
    ],
)
def test_bad_inner_rows_are_refused_before_anything_is_written(table, tmp_path, extra, message):
    result = _train(table, tmp_path / "m", *extra)
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "m").exists()

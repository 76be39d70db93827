"""A user's own CSV: columns no model should learn from are left out of the features,
each named with its reason on the terminal, in the model's metadata and in the feature
report; real features that merely look unusual are kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.data import from_frame, unusable_columns
from arrears.models.errors import ModelDataError

runner = CliRunner()
ROWS = 300


def _messy() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    income = rng.normal(5000, 1500, ROWS)
    y = (rng.random(ROWS) < 1 / (1 + np.exp((income - 5000) / 1000))).astype(int)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(ROWS)],
            "row": np.arange(1, ROWS + 1),
            "opened": pd.date_range("2021-01-01", periods=ROWS, freq="D").strftime("%Y-%m-%d"),
            "income": income,
            "city": rng.choice(["BJ", "SH", "GZ"], ROWS),
            "product": "card",
            "empty": np.nan,
            "bad": y,
        }
    )
    frame.loc[::29, "income"] = np.nan
    return frame


def test_identifier_row_number_dates_constant_and_empty_columns_are_named():
    reasons = unusable_columns(_messy().drop(columns=["bad"]))
    assert set(reasons) == {"customer_id", "row", "opened", "product", "empty"}
    assert "identifier" in reasons["customer_id"] and "300 distinct" in reasons["customer_id"]
    assert "row number" in reasons["row"]
    assert "dates" in reasons["opened"] and "2021-01-01" in reasons["opened"]
    assert "'card'" in reasons["product"]
    assert reasons["empty"] == "every value is empty"


def test_real_features_that_look_unusual_are_kept():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100, 10, ROWS),  # every value distinct, not integers
            "cents": rng.choice(10**7, ROWS, replace=False),  # distinct integers, not a run
            "flagged": np.where(np.arange(ROWS) % 3 == 0, "y", None),  # one value or missing
            "grade": rng.choice(list("ABCDEFG"), ROWS),
            "few": [f"v{i}" for i in range(10)] + ["v0"] * (ROWS - 10),
        }
    )
    assert unusable_columns(frame) == {}


def test_drop_names_a_column_and_refuses_an_unknown_one():
    table = from_frame(_messy(), "bad", "mine.csv")
    screened = table.for_training(["city"])
    assert list(screened.features.columns) == ["income"]
    assert screened.excluded["city"] == "left out by --drop"
    assert screened.categorical == []
    with pytest.raises(ModelDataError, match=r"mine.csv: --drop 'town': no such feature column"):
        table.for_training(["town"])


def test_a_table_of_nothing_usable_is_refused_with_every_reason():
    frame = _messy()[["customer_id", "row", "bad"]]
    with pytest.raises(
        ModelDataError, match=r"mine.csv: no usable feature columns \(customer_id: "
    ):
        from_frame(frame, "bad", "mine.csv").for_training()


def test_train_on_a_messy_file_leaves_them_out_and_says_so(tmp_path: Path):
    data, out = tmp_path / "loans.csv", tmp_path / "model"
    _messy().to_csv(data, index=False)
    args = ["models", "train", "--data", str(data), "--target", "bad", "--learner", "lgbm"]
    result = runner.invoke(app, [*args, "--cv", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for column in ("customer_id", "row", "opened", "product", "empty"):
        assert f"not a feature: {column}: " in result.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["features"] == ["income", "city"]
    assert set(meta["excluded_columns"]) == {"customer_id", "row", "opened", "product", "empty"}
    assert meta["metrics"]["cv"]["auc_mean"] > 0.6  # income carries the signal
    page = (out / "feature_report.html").read_text()
    assert "Columns not used" in page and "a row number" in page
    assert "customer_id, empty, opened, product, row" in (out / "model_report.html").read_text()
    # the same file evaluates: the model reads only its own features
    evaluated = runner.invoke(app, ["models", "evaluate", "--model", str(out), "--data", str(data)])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output[evaluated.output.index("{") :])["rows"] == ROWS

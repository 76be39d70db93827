"""A feature that alone nearly separates the classes is pointed out at training, and
the feature report reads every IV in the usual bands (suspicious above 0.5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.report import iv_reading

runner = CliRunner()


def test_iv_bands_read_as_a_scorecard_analyst_reads_them():
    readings = [iv_reading(v) for v in (0.0, 0.019, 0.02, 0.15, 0.3, 0.49, 0.5, 3.0)]
    assert readings[:6] == ["not predictive"] * 2 + ["weak", "medium", "strong", "strong"]
    assert readings[6].startswith("suspicious") and readings[7].startswith("suspicious")


def test_a_leaked_outcome_column_is_pointed_out(tmp_path: Path):
    rng = np.random.default_rng(5)
    rows = 600
    income = rng.normal(5000, 1500, rows)
    bad = (rng.random(rows) < 1 / (1 + np.exp((income - 5000) / 1000))).astype(int)
    # days past due a month after the outcome date: known only once the outcome is
    flip = rng.random(rows) < 0.02
    dpd_later = np.where(bad ^ flip, rng.integers(31, 90, rows), rng.integers(0, 5, rows))
    data, out = tmp_path / "loans.csv", tmp_path / "m"
    pd.DataFrame({"income": income, "dpd_later": dpd_later, "bad": bad}).to_csv(data, index=False)
    args = ["models", "train", "--data", str(data), "--target", "bad", "--learner", "lgbm"]
    result = runner.invoke(app, [*args, "--cv", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "check: dpd_later alone ranks the rows with AUC 0.9" in result.output
    assert "check: income" not in result.output
    page = (out / "feature_report.html").read_text()
    assert "AUC alone" in page and "suspicious: check it is known before the outcome" in page

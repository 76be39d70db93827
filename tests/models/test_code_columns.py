"""Codes written with leading zeros ('01', '007') in a training file are categories, not
quantities: read as text as written, kept so when scoring, and said at training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.data import german_credit, load_csv, read_csv

runner = CliRunner()

HEADER = "branch,region,kids,rate,bad\n"


def _write(path: Path, rows: int = 60) -> Path:
    rng = np.random.default_rng(7)
    lines = []
    for i in range(rows):
        branch = f"{int(rng.integers(1, 13)):02d}"  # 01 … 12: codes
        region = "" if i % 10 == 3 else f"{int(rng.integers(1, 4)):03d}"  # 001 …, some empty
        kids = int(rng.integers(0, 4))  # a count: never written with a zero in front
        rate = f"{rng.uniform(0, 1):.3f}"  # 0.xyz: a zero in front, but a fraction
        lines.append(f"{branch},{region},{kids},{rate},{i % 2}\n")
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_digits_with_leading_zeros_are_read_as_text_as_written(tmp_path: Path):
    table = load_csv(_write(tmp_path / "rows.csv"), "bad")
    written = pd.read_csv(tmp_path / "rows.csv", dtype=str)
    assert table.features["branch"].tolist() == written["branch"].tolist()
    assert set(table.features["branch"]) <= {f"{n:02d}" for n in range(1, 13)}
    assert table.features["region"].isna().sum() == 6
    assert table.features["region"].dropna().str.fullmatch(r"00[1-3]").all()
    assert table.categorical == ["branch", "region"]
    assert list(table.codes) == ["branch", "region"]
    assert table.codes["branch"].startswith("0") and len(table.codes["branch"]) == 2


def test_counts_fractions_and_a_single_zero_stay_numbers(tmp_path: Path):
    table = load_csv(_write(tmp_path / "rows.csv"), "bad")
    assert table.features["kids"].dtype.kind == "i"
    assert table.features["rate"].dtype.kind == "f"
    assert "kids" not in table.codes and "rate" not in table.codes


def test_a_number_with_a_fraction_keeps_the_column_numeric(tmp_path: Path):
    path = tmp_path / "amounts.csv"
    path.write_text("amount,bad\n012,0\n15.5,1\n20,0\n7,1\n", encoding="utf-8")
    frame = read_csv(path, find_codes=True)
    assert frame["amount"].tolist() == [12.0, 15.5, 20.0, 7.0]
    assert frame.attrs["codes"] == {}


def test_scoring_reads_the_file_as_the_model_was_given_it_not_by_its_own_look(tmp_path: Path):
    path = tmp_path / "later.csv"
    path.write_text("branch,kids\n10,01\n11,2\n", encoding="utf-8")
    frame = read_csv(path, ["branch"])  # what a fitted model names as text
    assert frame["branch"].tolist() == ["10", "11"]
    assert frame["kids"].tolist() == [1, 2]  # no guessing when the model says numbers
    assert frame.attrs["codes"] == {}


def test_german_credit_has_no_code_columns():
    table = german_credit()
    assert table.codes == {}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("codes")
    data = _write(folder / "rows.csv", rows=300)
    args = ["models", "train", "--data", str(data), "--target", "bad", "--learner", "lgbm"]
    result = runner.invoke(app, [*args, "--cv", "0", "--no-reports", "--out", str(folder / "m")])
    assert result.exit_code == 0, result.output
    return folder / "m", result.output


def test_training_says_which_columns_it_read_as_codes_and_saves_them(trained):
    folder, output = trained
    said = " ".join(output.split())
    assert "read as codes (text): branch: whole numbers written with leading zeros" in said
    assert "read as codes (text): region:" in said
    meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert list(meta["code_columns"]) == ["branch", "region"]
    assert "kids" not in meta["code_columns"]


def test_a_code_scores_the_same_whether_or_not_the_new_file_pads_others(trained, tmp_path):
    folder, _ = trained
    padded = tmp_path / "padded.csv"
    padded.write_text("branch,region,kids,rate\n10,002,1,0.5\n03,001,1,0.5\n", encoding="utf-8")
    plain = tmp_path / "plain.csv"
    plain.write_text("branch,region,kids,rate\n10,002,1,0.5\n10,002,1,0.5\n", encoding="utf-8")
    scores = []
    for name, path in (("padded", padded), ("plain", plain)):
        out = tmp_path / f"{name}-scored.csv"
        args = ["models", "score", "--data", str(path), "--model", str(folder), "--out", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        scores.append(pd.read_csv(out, dtype=str))
    assert scores[0]["branch"].tolist() == ["10", "03"]
    assert scores[0].loc[0, "pd"] == scores[1].loc[0, "pd"] == scores[1].loc[1, "pd"]

"""`arrears models score --data FILE --model DIR --out FILE`: a model trained on a
user's table scores new rows of the same shape, the file passed through as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models import metrics
from arrears.models.registry import load_model

runner = CliRunner()


def _applicants(rows: int, seed: int, with_target: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(5000, 1500, rows).round(2)
    frame = pd.DataFrame(
        {
            "applicant": [f"A-{seed}-{i:05d}" for i in range(rows)],
            "income": income,
            "branch": rng.choice(["01", "02", "A1"], rows),  # text: codes, one with a letter
        }
    )
    if with_target:
        frame["bad"] = (rng.random(rows) < 1 / (1 + np.exp((income - 5000) / 1000))).astype(int)
    return frame


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("score-csv")
    data = folder / "train.csv"
    _applicants(400, 1, with_target=True).to_csv(data, index=False)
    args = ["models", "train", "--data", str(data), "--target", "bad", "--learner", "lgbm"]
    result = runner.invoke(app, [*args, "--cv", "0", "--no-reports", "--out", str(folder / "m")])
    assert result.exit_code == 0, result.output
    return folder / "m"


def test_new_rows_get_the_models_points_and_pd_beside_their_own_cells(model: Path, tmp_path):
    data, out = tmp_path / "new.csv", tmp_path / "scored.csv"
    # a new month's file: no target, a branch code only ever '01' (it would read as 1)
    fresh = _applicants(50, 2, with_target=False).assign(branch="01", note="")
    fresh.loc[3, "income"] = np.nan
    fresh.to_csv(data, index=False)
    result = runner.invoke(
        app, ["models", "score", "--model", str(model), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "50 rows scored" in result.output
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    written = pd.read_csv(data, dtype=str, keep_default_na=False)
    assert list(scored.columns) == [*written.columns, "score", "pd"]
    pd.testing.assert_frame_equal(scored[written.columns], written)  # cells as written
    learner = load_model(model).learner
    inputs = fresh[learner.features].astype({"branch": object})
    np.testing.assert_allclose(scored["pd"].astype(float), learner.predict_pd(inputs), atol=5e-7)
    assert scored["score"].astype(int).tolist() == learner.points(inputs).tolist()
    assert learner.categorical == ["branch"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["branch"]), "columns the model needs are missing: ['branch']"),
        (
            lambda f: f.astype({"income": object}).assign(
                income=lambda g: g["income"].where(g.index != 7, "4,5OO")
            ),
            "column 'income', row 9: '4,5OO' is not a number",
        ),
        (lambda f: f.assign(pd=0.1), "already has column(s) ['pd']"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_written(model: Path, tmp_path, change, message):
    data, out = tmp_path / "new.csv", tmp_path / "scored.csv"
    change(_applicants(30, 3, with_target=False)).to_csv(data, index=False)
    result = runner.invoke(
        app, ["models", "score", "--model", str(model), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert str(data) in result.output and message in result.output
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--data needs --model DIR (a model trained on --data) and --out FILE"),
        (["--out", "x.csv", "--as-of", "2026-11-30"], "--as-of scores a snapshot"),
    ],
)
def test_score_data_refuses_a_half_given_command(model: Path, tmp_path, extra, message):
    result = runner.invoke(
        app, ["models", "score", "--model", str(model), "--data", str(tmp_path / "n.csv"), *extra]
    )
    assert result.exit_code == 1 and message in result.output


def test_a_later_file_is_compared_with_an_earlier_one_without_any_target(model: Path, tmp_path):
    earlier, later, out = tmp_path / "earlier.csv", tmp_path / "later.csv", tmp_path / "s.csv"
    _applicants(400, 4, with_target=False).to_csv(earlier, index=False)
    shifted = _applicants(400, 5, with_target=False)
    shifted["income"] = shifted["income"] * 1.5  # incomes moved, branches did not
    shifted.to_csv(later, index=False)
    args = ["models", "score", "--model", str(model), "--data", str(later), "--out", str(out)]
    result = runner.invoke(app, [*args, "--reference", str(earlier)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if "│" in line}
    assert "shifted" in lines["income"] and "stable" in lines["branch"]
    assert "score" in lines and out.exists()


def test_psi_readings_follow_the_usual_bands():
    from arrears.models.metrics import psi_reading

    assert [psi_reading(v) for v in (0.0, 0.099, 0.1, 0.249, 0.25, 2.0)] == [
        "stable",
        "stable",
        "some shift",
        "some shift",
        "shifted",
        "shifted",
    ]


def test_scoring_says_how_far_the_scores_drifted_from_the_training_rows(model: Path, tmp_path):
    def score(frame: pd.DataFrame, name: str, lang: str = "en") -> str:
        data, out = tmp_path / f"{name}.csv", tmp_path / f"{name}-scored.csv"
        frame.to_csv(data, index=False)
        args = ["models", "score", "--model", str(model), "--data", str(data), "--out", str(out)]
        result = runner.invoke(app, [*args, "--lang", lang])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    # the training rows again: the very scores the reference was made of
    same = _applicants(400, 1, with_target=False)
    assert "score PSI against the model's training rows: 0.000 (stable)" in score(same, "same")
    # a month of far richer applicants: their scores sit where few training rows did
    richer = _applicants(400, 4, with_target=False).assign(income=lambda f: f["income"] + 6000)
    said = score(richer, "richer")
    psi = float(said.split("training rows: ")[1].split(" ")[0])
    assert psi >= 0.25 and "(shifted)" in said
    saved = load_model(model)
    points = saved.learner.points(richer[saved.learner.features].astype({"branch": object}))
    assert f"{metrics.psi_against(saved.meta['score_reference'], points):.3f}" == f"{psi:.3f}"
    # shifted scores are warned of, naming the file, in the language asked for
    assert (
        f"Scores of {tmp_path / 'richer.csv'} have shifted from the model's training rows "
        f"(PSI {psi:.3f}, 0.25 or more)"
    ) in said
    assert "have shifted" not in score(same, "same")
    zh = score(richer, "richer", "zh")
    assert f"已评分 400 行，写入 {tmp_path / 'richer-scored.csv'}" in zh
    assert f"评分 PSI（相对模型训练样本）：{psi:.3f}（已偏移）" in zh
    assert f"{tmp_path / 'richer.csv'} 的评分分布已偏离模型训练样本（PSI {psi:.3f}" in zh

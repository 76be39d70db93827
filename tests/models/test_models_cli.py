"""`arrears models train` / `evaluate` / `list` on the German credit data, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.data import german_credit_path

runner = CliRunner()
MOSTLY_NUMBERS = "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(30)) + "x7,1\n"


def _json(output: str) -> dict:
    return json.loads(output[output.index("{") :])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "german-scorecard"
    args = ["models", "train", "--data", str(german_credit_path()), "--target", "creditability"]
    # one fit, not the bagged default: these tests are about the command's output and
    # files; the bagged fits have their own (tests/models/test_bags_option.py)
    args += ["--bags", "0"]
    result = runner.invoke(app, [*args, "--cv", "3", "--repeats", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_train_prints_cross_validated_metrics_and_writes_the_model(trained: Path):
    meta = json.loads((trained / "model.json").read_text())
    cv = meta["metrics"]["cv"]
    assert (cv["folds"], cv["repeats"]) == (3, 1) and len(cv["fold_auc"]) == 3
    assert 0.72 < cv["auc_mean"] < 0.85
    assert cv["auc_ci95"][0] < cv["auc_mean"] < cv["auc_ci95"][1]
    assert cv["gini_mean"] == pytest.approx(2 * cv["auc_mean"] - 1)
    assert meta["learner"] == "scorecard" and meta["event"] == "bad"
    reference = meta["score_reference"]  # the training rows' scores, for later PSIs
    assert reference["rows"] == 1000 and sum(reference["shares"]) == pytest.approx(1.0)
    assert len(reference["shares"]) == len(reference["edges"]) + 1
    for report in ("feature_report.html", "model_report.html"):
        page = (trained / report).read_text()
        assert "data:image/png;base64," in page
    assert "Points table" in (trained / "model_report.html").read_text()


def test_evaluate_prints_every_metric_as_json(trained: Path, tmp_path: Path):
    data = str(german_credit_path())
    report = tmp_path / "report.html"
    args = ["models", "evaluate", "--model", str(trained), "--data", data, "--target"]
    result = runner.invoke(
        app,
        [*args, "creditability", "--cutoff", "0.5", "--reference", data, "--report", str(report)],
    )
    assert result.exit_code == 0, result.output
    out = _json(result.output)
    assert out["rows"] == 1000 and out["events"] == 300
    assert out["gini"] == pytest.approx(2 * out["auc"] - 1)
    c = out["confusion"]
    assert c["cutoff"] == 0.5 and c["tp"] + c["fn"] == 300 and c["fp"] + c["tn"] == 700
    assert len(out["calibration"]) == 10
    gains = out["gains"]
    assert sum(b["rows"] for b in gains) == 1000 and sum(b["events"] for b in gains) == 300
    assert max(b["ks"] for b in gains) <= out["ks"] + 1e-12
    assert out["psi"]["score"] == pytest.approx(0.0)  # same sample twice
    assert out["psi_score_vs_training"] == pytest.approx(0.0)  # the training rows again
    page = report.read_text(encoding="utf-8")
    assert "Score bands (gains table), riskiest first" in page
    assert f"<td>{len(gains)}</td>" in page and "events captured" in page


def test_train_every_other_learner_and_list_them(tmp_path: Path):
    data = str(german_credit_path())
    others = ("baseline", "lgbm", "forest", "ensemble")
    for learner in others:
        result = runner.invoke(
            app,
            [
                "models",
                "train",
                "--data",
                data,
                "--target",
                "creditability",
                "--learner",
                learner,
                "--cv",
                "0",
                "--no-reports",
                "--out",
                str(tmp_path / learner),
            ],
        )
        assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["models", "list", "--registry", str(tmp_path)])
    assert listed.exit_code == 0
    assert all(learner in listed.output for learner in others)
    meta = json.loads((tmp_path / "ensemble" / "model.json").read_text())
    assert meta["learner"] == "ensemble"
    assert set(meta["params"]["members"]) == {"scorecard", "baseline", "lgbm", "forest"}


@pytest.mark.parametrize(
    ("content", "target", "message"),
    [
        ("", "y", "empty"),
        ("a,y\n1,0\n2,1\n", "z", "no column 'z'"),
        ("a,y\n1,0\n2,1\n3,2\n", "y", "exactly 2 values"),
        (
            "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(30)) + "x7,1\n",
            "y",
            "'x7' is not a number",
        ),
        ("a,y\n1,p\n2,q\n3,p\n4,q\n", "y", "--event"),
        ("a,y\n1,0\n2,\n", "y", "row 3: target is empty"),
    ],
)
def test_bad_input_names_file_column_and_reason(tmp_path: Path, content, target, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    result = runner.invoke(
        app,
        ["models", "train", "--data", str(path), "--target", target, "--out", str(tmp_path / "m")],
    )
    assert result.exit_code == 1
    assert str(path) in result.output and message in result.output
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_missing_file_is_named(tmp_path: Path):
    result = runner.invoke(
        app, ["models", "evaluate", "--model", str(tmp_path), "--data", "x.csv", "--target", "y"]
    )
    assert result.exit_code == 1 and "not a model folder" in result.output


def test_train_help_names_every_learner() -> None:
    from arrears.models.learners import LEARNERS

    result = runner.invoke(app, ["models", "train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in LEARNERS:
        assert name in result.output, name


def test_the_stack_is_trained_saved_and_evaluated_from_the_cli(tmp_path: Path):
    data, out = str(german_credit_path()), tmp_path / "german-stack"
    args = ["models", "train", "--data", data, "--target", "creditability", "--learner", "stack"]
    trained = runner.invoke(app, [*args, "--cv", "2", "--out", str(out)])
    assert trained.exit_code == 0, trained.output
    meta = json.loads((out / "model.json").read_text())
    assert meta["learner"] == "stack" and 0.72 < meta["metrics"]["cv"]["auc_mean"] < 0.85
    args = ["models", "evaluate", "--model", str(out), "--data", data, "--target", "creditability"]
    evaluated = runner.invoke(app, args)
    assert evaluated.exit_code == 0, evaluated.output
    assert _json(evaluated.output)["rows"] == 1000

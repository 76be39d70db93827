"""--monotonic COLUMN=ascending|descending: the direction an analyst fixes for a
numeric feature's event rate, kept by the scorecard's bins and points and by LightGBM's
predictions, saved with the model, and refused where it cannot hold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.models.binning import BinningConfig, check_trend_features, checked_trends
from arrears.models.learners import make_learner
from arrears.models.scorecard import Scorecard

runner = CliRunner()


def _u_shaped(rows: int = 3000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk high at both ends of ``age`` (a U), falling with ``income``."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 75, rows)
    income = rng.normal(5000, 1500, rows)
    log_odds = -1.5 + 0.004 * (age - 45) ** 2 - (income - 5000) / 1500
    y = (rng.random(rows) < 1 / (1 + np.exp(-log_odds))).astype(int)
    region = rng.choice(["north", "south"], rows)
    return pd.DataFrame({"age": age, "income": income, "region": region}), y


def _fixed_scorecard(**settings) -> Scorecard:
    # one candidate everywhere: no inner choice, the bins follow the data unless asked
    return Scorecard(
        binning=BinningConfig(monotonic_trend=None), min_iv=0.0, chi_alpha=None, c=1.0, **settings
    )


def _rates(card: Scorecard, name: str) -> np.ndarray:
    table = card.binner.table(name)
    return table.loc[~table["bin"].isin(["Special", "Missing"]), "event_rate"].to_numpy()


def test_the_scorecard_bins_an_asked_feature_monotonic_and_leaves_the_rest():
    x, y = _u_shaped()
    free = _fixed_scorecard().fit(x, y, ["region"])
    rates = _rates(free, "age")
    assert (np.diff(rates) < 0).any() and (np.diff(rates) > 0).any()  # the U, as found
    asked = _fixed_scorecard(monotonic={"age": "ascending"}).fit(x, y, ["region"])
    assert (np.diff(_rates(asked, "age")) >= 0).all()
    # a feature not named keeps the binning it would have had
    assert asked.binner.table("income").equals(free.binner.table("income"))
    assert asked.params()["monotonic"] == {"age": "ascending"}
    assert asked.choice()["binning"]["trends"] == {"age": "ascending"}


def test_the_points_of_an_asked_feature_move_one_way():
    x, y = _u_shaped()
    card = _fixed_scorecard(monotonic={"age": "descending", "income": "descending"})
    card.fit(x, y, ["region"])
    assert "age" in card.selection.kept
    grid = x.iloc[[0] * 58].copy()
    grid["age"] = np.arange(18, 76)
    points = card.points(grid)
    assert (np.diff(points) >= 0).all()  # risk falls with age, so points never drop


def test_lightgbm_predictions_rise_along_an_ascending_feature():
    x, y = _u_shaped()
    free = make_learner("lgbm").fit(x, y, ["region"])
    asked = make_learner("lgbm", monotonic={"age": "ascending"}).fit(x, y, ["region"])
    rising = []
    for i in range(10):
        grid = x.iloc[[i] * 58].copy()
        grid["age"] = np.arange(18, 76)
        assert (np.diff(asked.predict_pd(grid)) >= -1e-12).all()
        rising.append(bool((np.diff(free.predict_pd(grid)) >= -1e-12).all()))
    assert not all(rising)  # unconstrained, the U shows
    assert asked.params()["monotonic"] == {"age": "ascending"}
    assert "monotonic" not in free.params()


def test_a_direction_must_be_one_of_two_and_fit_a_numeric_feature():
    with pytest.raises(ValueError, match="'up' is not a direction"):
        checked_trends({"age": "up"})
    with pytest.raises(ValueError, match="monotonic region: a category has no order"):
        check_trend_features({"region": "ascending"}, ["age", "region"], ["region"])
    with pytest.raises(ValueError, match="monotonic tenure: not a feature"):
        check_trend_features({"tenure": "ascending"}, ["age", "region"], ["region"])
    x, y = _u_shaped(rows=300)
    with pytest.raises(ValueError, match="monotonic region"):
        make_learner("lgbm", monotonic={"region": "ascending"}).fit(x, y, ["region"])
    with pytest.raises(ValueError, match="lgbm_cv takes no monotonic"):
        make_learner("lgbm_cv", monotonic={"age": "ascending"})


@pytest.fixture()
def table(tmp_path: Path) -> Path:
    x, y = _u_shaped(rows=600)
    path = tmp_path / "applicants.csv"
    x.assign(bad=y).round(2).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--learner", "forest", "--monotonic", "age=ascending"], "not of 'forest'"),
        (["--monotonic", "age"], "--monotonic 'age': expected COLUMN=DIRECTION"),
        (["--monotonic", "age=up"], "DIRECTION one of ascending, descending"),
        (
            ["--monotonic", "age=ascending", "--monotonic", "age=descending"],
            "--monotonic age: given both ascending and descending",
        ),
        (["--monotonic", "region=ascending"], "--monotonic region: a category has no order"),
        (["--monotonic", "tenure=ascending"], "--monotonic tenure: not a feature"),
    ],
)
def test_the_command_refuses_a_direction_it_cannot_keep(table, tmp_path, extra, message):
    out = tmp_path / "model"
    args = ["models", "train", "--data", str(table), "--target", "bad", "--cv", "0"]
    result = runner.invoke(app, [*args, "--no-reports", "--out", str(out), *extra])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_the_command_saves_the_directions_and_the_feature_report_shows_them(table, tmp_path):
    out = tmp_path / "model"
    args = ["models", "train", "--data", str(table), "--target", "bad", "--learner", "lgbm"]
    extra = ["--monotonic", "income=descending", "--cv", "0", "--out", str(out)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["params"]["monotonic"] == {"income": "descending"}
    page = (out / "feature_report.html").read_text(encoding="utf-8")
    summary = page[page.index("<h2>Summary</h2>") : page.index("</table>", page.index("Summary"))]
    rows = {row.split("</td>")[0].split(">")[-1]: row for row in summary.split("<tr>")[2:]}
    assert "descending (asked)" in rows["income"]
    assert "monotonic (direction from the data)" in rows["age"]
    assert ">categories<" in rows["region"]

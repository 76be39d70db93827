"""`arrears optimize learn | assign | evaluate` on files exactly as issue 28 specifies
them: LOG.parquet, ACCOUNTS.parquet, COSTS.toml in, POLICY_DIR and ACTIONS.parquet out."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.optimize.schema import NEEDS
from arrears.optimize.simulate_log import COSTS, COSTS_TOML, simulate_accounts, simulate_log

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["optimize", *args])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("optimize")
    log = simulate_log(2500, 21, "backfire")
    # an extra column an outside log may carry
    log = log.append_column("agent", pa.array(["x"] * log.num_rows))
    paths = {
        "log": root / "LOG.parquet",
        "eval_log": root / "EVAL.parquet",
        "accounts": root / "ACCOUNTS.parquet",
        "costs": root / "COSTS.toml",
        "policy": root / "POLICY_DIR",
        "actions": root / "ACTIONS.parquet",
    }
    pq.write_table(log, paths["log"])
    pq.write_table(simulate_log(1500, 22, "backfire"), paths["eval_log"])
    pq.write_table(simulate_accounts(1200, 23), paths["accounts"])
    paths["costs"].write_text(COSTS_TOML + "[capacity]\nvisit = 15\ncall = 100\n")
    result = run("learn", "--log", str(paths["log"]), "--out", str(paths["policy"]), "--seed", "5")
    assert result.exit_code == 0, result.output
    return paths


def test_learn_prints_and_saves_its_quality(files):
    saved = json.loads((files["policy"] / "quality.json").read_text())
    assert saved["rows"] == 2500 and saved["seed"] == 5
    assert set(saved["actions"]) == {"none", "sms", "email", "call", "letter", "visit"}
    assert (files["policy"] / "policy.json").exists()


def test_assign_writes_actions_within_every_constraint(files):
    result = run(
        "assign", "--policy", str(files["policy"]), "--accounts", str(files["accounts"]),
        "--costs", str(files["costs"]), "--budget", "900", "--out", str(files["actions"]),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"bound", "gap", "expected_net_uplift", "total_cost"} <= set(summary)
    actions = pq.read_table(files["actions"])
    assert actions.column_names == ["account_id", "action", "expected_uplift"]
    accounts = pq.read_table(files["accounts"]).to_pylist()
    rows = actions.to_pylist()
    assert [r["account_id"] for r in rows] == [a["account_id"] for a in accounts]
    spent = sum((Decimal(str(COSTS[r["action"]])) for r in rows), Decimal(0))
    assert spent <= Decimal(900) and str(spent) == summary["total_cost"]
    counts = {a: sum(r["action"] == a for r in rows) for a in COSTS}
    assert counts["visit"] <= 15 and counts["call"] <= 100
    for row, account in zip(rows, accounts, strict=True):
        if row["action"] in NEEDS:
            assert account[NEEDS[row["action"]]], row
        assert (row["action"] == "none") == (row["expected_uplift"] == 0)


def test_evaluate_reports_three_estimators_against_logging(files):
    result = run(
        "evaluate", "--log", str(files["eval_log"]), "--policy", str(files["policy"]),
        "--costs", str(files["costs"]), "--budget", "3000", "--bootstraps", "60",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for name in ("ips", "snips", "dr"):
        low, high = report[name]["95"]
        assert low <= report[name]["value"] <= high
        assert "vs_logging_95" in report[name]
    assert Decimal(report["assignment"]["total_cost"]) <= 3000
    again = run(
        "evaluate", "--log", str(files["eval_log"]), "--policy", str(files["policy"]),
        "--costs", str(files["costs"]), "--budget", "3000", "--bootstraps", "60",
    )  # fmt: skip
    repeated = json.loads(again.stdout)
    for one in (report, repeated):
        del one["assignment"]["seconds"]
    assert repeated == report  # a seeded bootstrap, a deterministic solver
    plain = run("evaluate", "--log", str(files["eval_log"]), "--policy", str(files["policy"]))
    assert plain.exit_code == 0, plain.output


def test_bad_inputs_exit_with_the_file_and_reason(files, tmp_path):
    broken = tmp_path / "LOG.parquet"
    pq.write_table(pq.read_table(files["log"]).drop_columns(["propensity"]), broken)
    result = run("learn", "--log", str(broken), "--out", str(tmp_path / "p"))
    assert result.exit_code == 1
    assert "LOG.parquet" in result.stderr and "'propensity' is missing" in result.stderr
    negative = run(
        "assign", "--policy", str(files["policy"]), "--accounts", str(files["accounts"]),
        "--costs", str(files["costs"]), "--budget", "-5", "--out", str(tmp_path / "a.parquet"),
    )  # fmt: skip
    assert negative.exit_code == 2 and "below 0" in negative.stderr
    costs = tmp_path / "COSTS.toml"
    costs.write_text(COSTS_TOML + "fax = 1\n")
    unknown = run(
        "assign", "--policy", str(files["policy"]), "--accounts", str(files["accounts"]),
        "--costs", str(costs), "--budget", "5", "--out", str(tmp_path / "a.parquet"),
    )  # fmt: skip
    assert unknown.exit_code == 1 and "'fax'" in unknown.stderr
    assert not (tmp_path / "a.parquet").exists()
    missing = run(
        "assign", "--policy", str(tmp_path / "nowhere"), "--accounts", str(files["accounts"]),
        "--costs", str(files["costs"]), "--budget", "5", "--out", str(tmp_path / "a.parquet"),
    )  # fmt: skip
    assert missing.exit_code == 1 and "policy.json" in missing.stderr

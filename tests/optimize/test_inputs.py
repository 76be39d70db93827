"""Bad files are refused with the file, the column (or key) and the reason."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arrears.optimize.schema import (
    OptimizeInputError,
    parse_budget,
    parse_costs,
    read_accounts,
    read_costs,
    read_log,
)
from arrears.optimize.simulate_log import simulate_accounts, simulate_log


def write(tmp_path: Path, table: pa.Table, name: str = "log.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(table, path)
    return path


def replaced(table: pa.Table, name: str, values: list) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, pa.array(values))


@pytest.fixture(scope="module")
def log_table() -> pa.Table:
    return simulate_log(20, 1, "uniform")


def refused(path: Path, *words: str) -> None:
    with pytest.raises(OptimizeInputError) as caught:
        read_log(path)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message, message


def test_a_good_log_with_extra_columns_is_read(tmp_path, log_table):
    extra = log_table.append_column("channel_note", pa.array(["x"] * 20))
    log = read_log(write(tmp_path, extra))
    assert len(log) == 20 and set(log.action) <= set(range(6))


def test_missing_column_is_named(tmp_path, log_table):
    refused(write(tmp_path, log_table.drop_columns(["propensity"])), "'propensity'", "missing")


@pytest.mark.parametrize("value", [0.0, -0.1, 1.5])
def test_propensity_outside_zero_one(tmp_path, log_table, value):
    values = [value, *log_table.column("propensity").to_pylist()[1:]]
    path = write(tmp_path, replaced(log_table, "propensity", values))
    refused(path, "'propensity'", "row 1", "not in (0, 1]")


def test_unknown_action(tmp_path, log_table):
    values = log_table.column("action").to_pylist()
    values[3] = "telegram"
    refused(write(tmp_path, replaced(log_table, "action", values)), "'telegram'", "row 4")


def test_non_numeric_column(tmp_path, log_table):
    values = [str(v) for v in log_table.column("paid_14d").to_pylist()]
    refused(write(tmp_path, replaced(log_table, "paid_14d", values)), "'paid_14d'", "not a number")


def test_null_where_a_value_is_needed_but_a_null_score_is_fine(tmp_path, log_table):
    values = log_table.column("dpd").to_pylist()
    values[2] = None
    refused(write(tmp_path, replaced(log_table, "dpd", values)), "'dpd'", "row 3")
    scores = [None] * 20
    assert len(read_log(write(tmp_path, replaced(log_table, "score", scores), "s.parquet"))) == 20


def test_score_outside_unit_interval(tmp_path, log_table):
    values = [1.7, *log_table.column("score").to_pylist()[1:]]
    refused(write(tmp_path, replaced(log_table, "score", values)), "'score'", "outside [0, 1]")


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "log.parquet"
    path.write_text("account_id,action\n")
    refused(path, "not a Parquet file")
    refused(tmp_path / "absent.parquet", "no such file")


def test_accounts_repeat_and_missing_flag(tmp_path):
    table = simulate_accounts(5, 1)
    repeated = replaced(table, "account_id", ["a", "b", "a", "c", "d"])
    with pytest.raises(OptimizeInputError, match="'account_id' repeats 'a'"):
        read_accounts(write(tmp_path, repeated, "accounts.parquet"))
    with pytest.raises(OptimizeInputError, match="'has_email' is missing"):
        read_accounts(write(tmp_path, table.drop_columns(["has_email"]), "a2.parquet"))


COSTS = "[cost]\nsms = 0.1\nemail = 0.05\ncall = 3\nletter = 2\nvisit = 30\n"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (COSTS + "fax = 1\n", ("[cost]", "'fax'", "unknown action")),
        (COSTS + "[capacity]\ncall = -1\n", ("[capacity] call", "below 0")),
        (COSTS + "[capacity]\ncall = 2.5\n", ("[capacity] call", "whole number")),
        (COSTS + "[capacity]\npigeon = 3\n", ("[capacity]", "'pigeon'")),
        (COSTS.replace("call = 3", "call = -3"), ("[cost] call", "below 0")),
        (COSTS.replace("call = 3\n", ""), ("[cost]", "'call'")),
        (COSTS.replace("call = 3", 'call = "three"'), ("[cost] call", "not a number")),
        ("[cost\n", ("not TOML",)),
        ("[budget]\nx = 1\n", ("[budget]",)),
    ],
)
def test_costs_refused(text, words):
    with pytest.raises(OptimizeInputError) as caught:
        parse_costs(text, Path("COSTS.toml"))
    assert "COSTS.toml" in str(caught.value)
    for word in words:
        assert word in str(caught.value)


def test_costs_read_with_capacity(tmp_path):
    path = tmp_path / "costs.toml"
    path.write_text(COSTS + "[capacity]\ncall = 10\n")
    costs = read_costs(path)
    assert str(costs.cost["sms"]) == "0.1" and costs.capacity["call"] == 10
    assert costs.capacity["visit"] is None and costs.cost["none"] == 0


@pytest.mark.parametrize("text", ["-1", "lots", "nan"])
def test_budget_refused(text):
    with pytest.raises(OptimizeInputError, match="--budget"):
        parse_budget(text)

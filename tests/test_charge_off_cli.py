"""`arrears loan replay` shows a charged-off loan (issue 25, contract 8): the stable keys
as before, plus ``charged_off`` and the ``shadow`` balances of a written-off loan."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from arrears.cli import app
from arrears.domain.products import DEFAULT_CATALOG_PATH

runner = CliRunner()

SCENARIO = """
product = "CONSUMER"
[loan]
principal = "6000.00"
term_months = 12
disbursed_on = 2025-03-05
[[events]]
kind = "payment"
on = 2025-10-10
amount = "500.00"
ref = "r1"
"""
STABLE = {"as_of", "status", "dpd", "bucket", "loan_class", "balances", "charged"}


DEFAULT_RULE = "charge_off = { at_dpd = 180 }\n"  # CONSUMER's in the default catalogue


def _replay(tmp_path: Path, as_of: str, rule: str | None = None) -> dict:
    """Replay SCENARIO with the default catalogue, CONSUMER's charge-off rule replaced by
    ``rule`` (a ``charge_off`` table's body; "" for none) unless it is None."""
    products = tmp_path / "products.toml"
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    if rule is not None:
        consumer = text.index("[products.CONSUMER]")
        at = text.index(DEFAULT_RULE, consumer)
        assert at < text.index("[products.", consumer + 1)  # CONSUMER's own rule
        table = f"charge_off = {{ {', '.join(rule.splitlines())} }}\n" if rule else ""
        text = text[:at] + table + text[at + len(DEFAULT_RULE) :]
    products.write_text(text, encoding="utf-8")
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    args = ["loan", "replay", str(scenario), "--as-of", as_of, "--products", str(products)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_charged_off_loan_replayed(tmp_path: Path):
    # #1 (due 5 Apr) never paid: 179 DPD on 1 Oct, charged off at the end of 2 Oct (180)
    # the default catalogue's CONSUMER rule: at 180 DPD
    before = _replay(tmp_path, "2025-10-01")
    assert set(before) == STABLE  # not written off: the keys of the contract, no more
    assert (before["status"], before["dpd"], before["loan_class"]) == (
        "active",
        179,
        "substandard",
    )
    out = _replay(tmp_path, "2025-10-20")
    assert set(out) == STABLE | {"charged_off", "shadow"}
    assert (out["status"], out["dpd"], out["bucket"], out["loan_class"]) == (
        "written_off",
        198,
        "M7+",
        "loss",
    )
    assert set(out["balances"].values()) == {"0.00"}
    # charges stopped on 2 Oct: 罚息 204.92 on 1 Oct + 2.15 that day
    assert out["charged"] == {
        "interest": "434.38",
        "penalty": "207.07",
        "compound": "34.72",
        "fees": "122.57",
    }
    # 6,798.74 written off; 500.00 on 10 Oct takes fees, 罚息, 复利, then 135.64 of interest
    assert out["charged_off"] is True
    assert out["shadow"] == {
        "written_off": "6798.74",
        "recovered": "500.00",
        "principal": "6000.00",
        "interest": "298.74",
        "penalty": "0.00",
        "compound": "0.00",
        "fees": "0.00",
        "costs": "0.00",
    }


def test_principal_first_and_no_rule(tmp_path: Path):
    out = _replay(tmp_path, "2025-10-20", 'at_dpd = 180\nrecovery_order = "principal_first"')
    assert (out["shadow"]["principal"], out["shadow"]["interest"]) == ("5500.00", "434.38")
    # CONSUMER without a rule: still active at 198 DPD, no added keys
    out = _replay(tmp_path, "2025-10-20", "")
    assert set(out) == STABLE and (out["status"], out["dpd"]) == ("active", 198)


def test_products_lists_each_products_charge_off_rule(tmp_path: Path):
    # the default catalogue, CONSUMER's rule taken out
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    (tmp_path / "products.toml").write_text(text.replace(DEFAULT_RULE, "", 1), encoding="utf-8")
    result = runner.invoke(app, ["products", "-w", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (
        "charge-off (核销 by rule): CONSUMER never, CARD at 180 DPD, MICRO at 180 DPD, "
        "SME on reaching loss (361 DPD)"
    ) in " ".join(result.stdout.split())  # as printed, lines wrapped at the console's width

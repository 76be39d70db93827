"""`arrears loan replay` of a revolving card (issue 25, contract 6), as a user runs it:
the worked example of docs/loan-rules.md ("Revolving cards") printed in full, and
errors that name the scenario field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()

CARD = """\
product = "REVOLVING"
[account]
opened_on = 2025-01-06
credit_limit = "10000.00"

[[events]]
kind = "purchase"
on = 2025-01-10
amount = "9800.00"

[[events]]
kind = "purchase"
on = 2025-02-20
amount = "500.00"

[[events]]
kind = "payment"
on = 2025-03-10
amount = "980.00"
"""

ZERO_PARTS = {"charges": "0.00", "past_due": "0.00", "over_limit": "0.00"}


def replay(tmp_path: Path, text: str, as_of: str):
    path = tmp_path / "card.toml"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(app, ["loan", "replay", str(path), "--as-of", as_of])


def test_card_replay_prints_the_worked_example_of_the_docs(tmp_path: Path):
    """docs/loan-rules.md, "Revolving cards": 9,800.00 bought 10 Jan, 500.00 on 20 Feb,
    980.00 paid 10 Mar, as of 30 Mar. Statement 1 (5 Feb): 9,800.00, minimum 980.00, not
    paid by 28 Feb: late fee 49.00 on 1 Mar. Statement 2 (5 Mar): interest 9,800.00 ×
    0.0005 × 54 = 264.60, balance 10,613.60, minimum 313.60 + 980.00 + 932.00 = 2,225.60.
    The 980.00 pays the 5 Feb minimum; 1,245.60 of the 5 Mar one is unpaid when grace
    ends 28 Mar: late fee 62.28 on 29 Mar, DPD 5 on 30 Mar (from 25 Mar). The 980.00
    settled the fees and interest (313.60) and 666.40 of the 9,800.00: principal
    9,133.60 + 500.00 = 9,633.60; balance 9,633.60 + 62.28 = 9,695.88."""
    result = replay(tmp_path, CARD, "2025-03-30")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("as_of", "status", "dpd", "bucket", "loan_class")} == {
        "as_of": "2025-03-30",
        "status": "active",
        "dpd": 5,
        "bucket": "M1",
        "loan_class": "special_mention",
    }
    assert report["balances"] == {
        "principal_outstanding": "9633.60",
        "principal_due": "9633.60",
        "interest_due": "0.00",
        "penalty": "0.00",
        "compound": "0.00",
        "fees": "62.28",
        "costs": "0.00",
        "credit": "0.00",
    }
    assert report["charged"] == {
        "interest": "264.60",
        "penalty": "0.00",
        "compound": "0.00",
        "fees": "111.28",
    }
    assert report["revolving"] == {
        "credit_limit": "10000.00",
        "balance": "9695.88",
        "available_credit": "304.12",
        "over_limit": "0.00",
        "unbilled": "62.28",
        "minimum_due": "1245.60",
        "past_due": "1245.60",
    }
    first, second = report["statements"]
    assert first == {
        "number": 1,
        "statement_date": "2025-02-05",
        "due_date": "2025-02-25",
        "grace_end": "2025-02-28",
        "opening_balance": "0.00",
        "purchases": "9800.00",
        "cash_advances": "0.00",
        "fees": "0.00",
        "interest": "0.00",
        "payments": "0.00",
        "refunds": "0.00",
        "balance": "9800.00",
        "minimum": "980.00",
        "minimum_parts": {**ZERO_PARTS, "principal_in_full": "0.00", "percentage": "980.00"},
        "paid_since": "980.00",
        "paid_in_full": False,
        "minimum_paid": True,
    }
    assert second == {
        "number": 2,
        "statement_date": "2025-03-05",
        "due_date": "2025-03-25",
        "grace_end": "2025-03-28",
        "opening_balance": "9800.00",
        "purchases": "500.00",
        "cash_advances": "0.00",
        "fees": "49.00",
        "interest": "264.60",
        "payments": "0.00",
        "refunds": "0.00",
        "balance": "10613.60",
        "minimum": "2225.60",
        "minimum_parts": {
            "charges": "313.60",
            "past_due": "980.00",
            "over_limit": "613.60",
            "principal_in_full": "980.00",
            "percentage": "932.00",
        },
        "paid_since": "980.00",
        "paid_in_full": False,
        "minimum_paid": False,
    }


def test_card_replay_before_the_grace_end_leaves_paid_in_full_open(tmp_path: Path):
    """On 10 Feb the 5 Feb statement's grace has not ended: paid_in_full is null."""
    result = replay(tmp_path, CARD, "2025-02-10")
    assert result.exit_code == 0, result.output
    (statement,) = json.loads(result.stdout)["statements"]
    assert statement["paid_in_full"] is None and statement["minimum_paid"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("[account]", "[loan]"),
            "loan: unknown field (a revolving card has [account], not [loan])",
        ),
        (("opened_on = 2025-01-06\n", ""), "account.opened_on: required field is missing"),
        (
            ('credit_limit = "10000.00"', 'credit_limit = "-5"'),
            "account.credit_limit: -5 must be positive",
        ),
        (
            ('kind = "payment"', 'kind = "waiver"'),
            "events #3.kind: 'waiver' is not one of purchase",
        ),
        (
            ('amount = "980.00"', 'amount = "980.001"'),
            "events #3.amount: '980.001' has more than 2 decimals",
        ),
        (
            ("on = 2025-01-10", "on = 2025-01-01"),
            "events #1.on: 2025-01-01 is before the account opened",
        ),
        (
            ('amount = "500.00"', 'amount = "1500.00"'),
            "events #2 (purchase on 2025-02-20): purchase of 1500.00",
        ),
        (
            ('product = "REVOLVING"', 'product = "REVOLVING"\ncolour = "gold"'),
            "colour: unknown field",
        ),
    ],
)
def test_bad_card_scenario_names_the_field(tmp_path: Path, change: tuple[str, str], message: str):
    old, new = change
    assert old in CARD
    result = replay(tmp_path, CARD.replace(old, new, 1), "2025-03-30")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "card.toml: " + message in " ".join(result.stderr.split())


def test_loan_product_scenario_with_account_is_refused(tmp_path: Path):
    text = CARD.replace('"REVOLVING"', '"CONSUMER"')
    result = replay(tmp_path, text, "2025-03-30")
    assert result.exit_code == 1
    assert "card.toml: account: CONSUMER is an instalment loan product" in " ".join(
        result.stderr.split()
    )


def test_schedule_of_a_revolving_product_is_refused():
    args = ["--principal", "100", "--rate", "0.1", "--term", "3", "--start", "2025-01-01"]
    result = runner.invoke(app, ["loan", "schedule", *args, "--product", "REVOLVING"])
    assert result.exit_code == 2
    assert "revolving card product" in result.output


def test_unknown_product_lists_the_revolving_products_too(tmp_path: Path):
    result = replay(tmp_path, CARD.replace('"REVOLVING"', '"AUTO"'), "2025-03-30")
    assert result.exit_code == 1
    assert "(known: CARD, CONSUMER, MICRO, SME) (revolving: REVOLVING)" in " ".join(
        result.stderr.split()
    )


CMB_PRODUCTS = """\
[portfolio]
currency = "CNY"

[products.CMB]
name = "招商银行-style card"
method = "revolving"
[products.CMB.revolving]
statement_day = 18
due_days = 19
grace_days = 0
daily_rate = 0.0005
interest_basis = "BASIS"
min_rate = 0.10
min_floor = 0
"""

CMB_SCENARIO = """\
product = "CMB"
[account]
opened_on = 2025-03-20

[[events]]
kind = "purchase"
on = 2025-03-30
amount = "1000.00"

[[events]]
kind = "payment"
on = 2025-05-07
amount = "100.00"
"""


@pytest.mark.parametrize(
    ("basis", "interest", "balance"),
    [("full_balance", "23.95", "923.95"), ("unpaid_balance", "22.05", "922.05")],
)
def test_card_replay_under_a_products_file_follows_its_interest_basis(
    tmp_path: Path, basis: str, interest: str, balance: str
):
    """The published 招商银行 example through --products: 1,000.00 × 0.0005 × 38 +
    900.00 × 0.0005 × 11 = 23.95 on the full balance, 900.00 × 0.0005 × 49 = 22.05 on
    the unpaid part; the account's limit is the product's default, 10,000.00."""
    products = tmp_path / "cards.toml"
    products.write_text(CMB_PRODUCTS.replace("BASIS", basis), encoding="utf-8")
    path = tmp_path / "cmb.toml"
    path.write_text(CMB_SCENARIO, encoding="utf-8")
    args = ["loan", "replay", str(path), "--as-of", "2025-05-18", "--products", str(products)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["charged"]["interest"] == interest
    assert report["revolving"]["credit_limit"] == "10000.00"
    assert report["revolving"]["balance"] == balance
    assert report["statements"][-1]["interest"] == interest

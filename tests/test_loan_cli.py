"""`arrears loan schedule` and `arrears loan replay` as a user (or an outside check)
runs them: the stable output contracts, the published figures, and errors that name
the option or the scenario field."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()
D = Decimal
MORTGAGE = ["--principal", "1000000", "--rate", "0.049", "--term", "360"]
MORTGAGE += ["--method", "equal_principal", "--start", "2025-01-15"]


def run(*args: str):
    return runner.invoke(app, ["loan", *args])


def scenario(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_equal_principal_schedule_matches_published_calculators():
    # 1,000,000 over 360 months at 4.9%: first payment 6,861.11, total interest 737,041.67
    result = run("schedule", *MORTGAGE)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 360
    assert rows[0] == {
        "seq": 1,
        "due_date": "2025-02-15",
        "principal": "2777.78",
        "interest": "4083.33",
        "amount": "6861.11",
    }
    assert sum(D(r["interest"]) for r in rows) == D("737041.67")
    assert sum(D(r["principal"]) for r in rows) == D("1000000.00")
    assert rows[-1]["principal"] == "2776.98"


def test_a_product_rounding_down_gives_the_earlier_figures(tmp_path: Path):
    products = tmp_path / "products.toml"
    products.write_text(
        '[products.MORTGAGE]\nmethod = "equal_principal"\nannual_rate = 0.049\n'
        'term_months = 360\nprincipal_rounding = "down"\n',
        encoding="utf-8",
    )
    result = run("schedule", *MORTGAGE, "--product", "MORTGAGE", "--products", str(products))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert (rows[0]["principal"], rows[0]["amount"]) == ("2777.77", "6861.10")
    assert sum(D(r["interest"]) for r in rows) == D("737043.71")
    assert rows[-1]["principal"] == "2780.57"


def test_schedule_as_csv_has_a_header_then_one_row_per_installment():
    result = run(
        "schedule", "--principal", "12000", "--rate", "18%", "--term", "12",
        "--method", "annuity", "--start", "2025-01-10", "--format", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["seq", "due_date", "principal", "interest", "amount"]
    # 12,000 at 18% (1.5% a month): 1,100.16 a month, #1 interest 180.00 (test_worked_example)
    assert rows[1] == ["1", "2025-02-10", "920.16", "180.00", "1100.16"]
    assert len(rows) == 13


def test_product_day_count_applies_and_day_count_option_overrides():
    common = ["--principal", "10000", "--rate", "0.1825", "--term", "1", "--start", "2025-01-10"]
    card = json.loads(run("schedule", *common, "--product", "CARD").stdout)
    assert card[0]["interest"] == "155.00"  # ACT/365: 10,000 × 0.0005 × 31 days
    plain = run("schedule", *common, "--product", "CARD", "--day-count", "30/360")
    assert json.loads(plain.stdout)[0]["interest"] == "152.08"  # 10,000 × 0.1825 / 12


CARD_SCENARIO = """\
product = "CARD"
[loan]
principal = "10000.00"
disbursed_on = 2025-01-10
"""


def test_card_replay_charges_155_for_31_days(tmp_path: Path):
    result = run("replay", scenario(tmp_path, CARD_SCENARIO), "--as-of", "2025-02-10")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {
        "as_of": "2025-02-10",
        "status": "active",
        "dpd": 0,
        "bucket": "M0",
        "loan_class": "normal",
        "balances": {
            "principal_outstanding": "10000.00",
            "principal_due": "1000.00",
            "interest_due": "155.00",
            "penalty": "0.00",
            "compound": "0.00",
            "fees": "0.00",
            "costs": "0.00",
            "credit": "0.00",
        },
        "charged": {"interest": "155.00", "penalty": "0.00", "compound": "0.00", "fees": "0.00"},
    }


CONSUMER_SCENARIO = """\
product = "CONSUMER"
[loan]
principal = "12000.00"
annual_rate = "0.18"
term_months = 12
disbursed_on = 2025-01-10

[[events]]
kind = "payment"
on = 2025-02-10
amount = "1100.16"
ref = "p1"
"""


def test_consumer_replay_in_arrears(tmp_path: Path):
    # #2 (933.96 + 166.20) missed on 10 Mar, grace 3 days: by 20 Mar DPD 10, late fee
    # 30.00, 罚息 933.96 × 0.27 / 360 = 0.70 and 复利 166.20 × 0.27 / 360 = 0.12 a day
    # for the 7 days 14–20 Mar: 4.90 and 0.84
    result = run("replay", scenario(tmp_path, CONSUMER_SCENARIO), "--as-of", "2025-03-20")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["status"], report["dpd"], report["bucket"]) == ("active", 10, "M1")
    assert report["loan_class"] == "special_mention"
    assert report["balances"] == {
        "principal_outstanding": "11079.84",
        "principal_due": "933.96",
        "interest_due": "166.20",
        "penalty": "4.90",
        "compound": "0.84",
        "fees": "30.00",
        "costs": "0.00",
        "credit": "0.00",
    }
    assert report["charged"] == {
        "interest": "346.20",
        "penalty": "4.90",
        "compound": "0.84",
        "fees": "30.00",
    }


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            CONSUMER_SCENARIO.replace('amount = "1100.16"', 'amount = "1100.165"'),
            "events #1.amount",
        ),
        (CONSUMER_SCENARIO.replace("on = 2025-02-10", 'on = "10/02/2025"'), "events #1.on"),
        (CONSUMER_SCENARIO.replace('principal = "12000.00"\n', ""), "loan.principal"),
        (CONSUMER_SCENARIO.replace('"CONSUMER"', '"AUTO"'), "product: unknown product 'AUTO'"),
        (CONSUMER_SCENARIO.replace('"payment"', '"refund"'), "events #1.kind: 'refund'"),
        (
            CONSUMER_SCENARIO.replace('"payment"', '"cost"').replace('"1100.16"', '"-5"'),
            "events #1.amount: -5 must be positive",
        ),
        (
            CONSUMER_SCENARIO + '[[events]]\nkind = "reversal"\non = 2025-02-12\nref = "p9"\n',
            "events #2.ref: no payment, waiver, fee or recovery 'p9'",
        ),
        ("product = ", "not valid TOML"),
    ],
)
def test_bad_scenarios_exit_1_naming_the_field(tmp_path: Path, text: str, named: str):
    result = run("replay", scenario(tmp_path, text), "--as-of", "2025-03-20")
    assert result.exit_code == 1, result.output
    assert named in " ".join(result.stderr.split())
    assert "scenario.toml" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["replay", "x.toml", "--as-of", "2025-02-30"], "--as-of"),
        (["schedule", *MORTGAGE, "--rate", "4.9"], "--rate"),
        (["schedule", *MORTGAGE, "--method", "balloon"], "--method"),
        (["schedule", *MORTGAGE, "--start", "15/01/2025"], "--start"),
        (["schedule", *MORTGAGE, "--product", "AUTO"], "--product"),
        (["schedule", *MORTGAGE, "--day-count", "30/365"], "--day-count"),
        (["schedule", *MORTGAGE, "--format", "xml"], "--format"),
        (["schedule", *MORTGAGE, "--principal", "1.000,00"], "--principal"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_option(args: list[str], option: str):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert option in result.output


def test_a_bad_products_file_exits_1_naming_the_field(tmp_path: Path):
    products = tmp_path / "products.toml"
    products.write_text('[products.X]\nmethod = "annuity"\n', encoding="utf-8")
    path = scenario(tmp_path, CARD_SCENARIO)
    result = run("replay", path, "--as-of", "2025-02-10", "--products", str(products))
    assert result.exit_code == 1
    assert "products.X.annual_rate" in result.stderr


def test_the_installed_command_prints_plain_json(tmp_path: Path):
    # as an outside check runs it: a real process, JSON alone on standard output
    path = scenario(tmp_path, CARD_SCENARIO)
    done = subprocess.run(
        [sys.executable, "-m", "arrears.cli", "loan", "replay", path, "--as-of", "2025-02-10"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["balances"]["interest_due"] == "155.00"


ISSUE_SCENARIO = """\
product = "CONSUMER"
[loan]
principal = "6000.00"
annual_rate = "0.18"
term_months = 12
disbursed_on = 2025-03-05
"""


def _event(kind: str, on: str, **fields: str) -> str:
    body = "".join(f'{k} = "{v}"\n' for k, v in fields.items())
    return f'\n[[events]]\nkind = "{kind}"\non = {on}\n{body}'


def _replay(tmp_path: Path, text: str, as_of: str) -> dict:
    result = run("replay", scenario(tmp_path, text), "--as-of", as_of)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_issue_25_payment_the_day_after_grace_is_late(tmp_path: Path):
    # #1 550.08 due 5 Apr, grace to 8 Apr, paid in full on 9 Apr: the late fee 30.00 is
    # settled first, 30.00 of principal is 4 days past due, 罚息 0.02 for the day
    text = ISSUE_SCENARIO + _event("payment", "2025-04-09", amount="550.08", ref="p1")
    report = _replay(tmp_path, text, "2025-04-09")
    assert (report["dpd"], report["bucket"], report["loan_class"]) == (4, "M1", "special_mention")
    assert report["balances"]["principal_due"] == "30.00"
    assert (report["balances"]["penalty"], report["charged"]["fees"]) == ("0.02", "30.00")


def test_issue_25_a_reversal_recharges_what_the_payment_avoided(tmp_path: Path):
    text = (
        ISSUE_SCENARIO
        + _event("payment", "2025-04-15", amount="600.00", ref="p1")
        + _event("reversal", "2025-04-20", ref="p1")
    )
    report = _replay(tmp_path, text, "2025-04-20")
    assert (report["balances"]["penalty"], report["balances"]["compound"]) == ("4.20", "0.84")
    assert (report["charged"]["penalty"], report["charged"]["compound"]) == ("4.20", "0.84")


def test_issue_25_a_written_off_loan_keeps_its_dpd_and_is_loss(tmp_path: Path):
    text = (
        CONSUMER_SCENARIO.split("[[events]]")[0]
        + _event("payment", "2025-02-10", amount="1100.16", ref="p1")
        + '\n[[events]]\nkind = "write_off"\non = 2025-04-19\n'
        + _event("recovery", "2025-04-25", amount="500.00", ref="r1")
    )
    report = _replay(tmp_path, text, "2025-06-30")
    assert (report["status"], report["dpd"], report["bucket"], report["loan_class"]) == (
        "written_off",
        112,
        "M4",
        "loss",
    )


def test_issue_25_cost_events_are_booked_as_costs(tmp_path: Path):
    text = ISSUE_SCENARIO + _event("cost", "2025-04-01", amount="800.00", ref="c1")
    report = _replay(tmp_path, text, "2025-04-02")
    assert report["balances"]["costs"] == "800.00"
    paid = text + _event("payment", "2025-04-03", amount="300.00", ref="p1")
    assert _replay(tmp_path, paid, "2025-04-03")["balances"]["costs"] == "500.00"


ROUNDING_PRODUCTS = """\
[products.BULLET-D]
method = "interest_only"
annual_rate = 0.18
term_months = 1
day_count = "30/360"
grace_days = 3
penalty_rate = 0.27
accrual_rounding = "daily"

[products.BULLET-M]
method = "interest_only"
annual_rate = 0.18
term_months = 1
day_count = "30/360"
grace_days = 3
penalty_rate = 0.27
accrual_rounding = "monthly"

[products.BULLET-P]
method = "interest_only"
annual_rate = 0.18
term_months = 1
day_count = "30/360"
grace_days = 3
penalty_rate = 0.27
accrual_rounding = "at_payment"

[products.ISDA]
method = "interest_only"
annual_rate = 0.18
term_months = 1
grace_days = 0
penalty_rate = 0.10
charge_days = "ACT/ACT"
accrual_rounding = "at_payment"
"""

BULLET_SCENARIO = """\
product = "{code}"
[loan]
principal = "{principal}"
disbursed_on = 2024-11-28
"""


def replay_bullet(tmp_path: Path, code: str, principal: str, as_of: str, events: str = ""):
    products = tmp_path / "products.toml"
    products.write_text(ROUNDING_PRODUCTS, encoding="utf-8")
    text = BULLET_SCENARIO.format(code=code, principal=principal) + events
    result = run("replay", scenario(tmp_path, text), "--as-of", as_of, "--products", str(products))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("principal", "figures"),
    [
        # the issue's: 罚息 at 27% on a 360-day year, 100.00 past due all 2025 (due 28 Dec
        # 2024, grace to 31 Dec): 0.075 a day rounds to 0.08, 365 × 0.08 = 29.20 a year;
        # unrounded 27.375 → 27.38. 6.66: 0.004995 a day rounds to 0.00 every day; 1.82
        ("100.00", {"BULLET-D": "29.20", "BULLET-M": "27.38", "BULLET-P": "0.00"}),
        ("6.66", {"BULLET-D": "0.00", "BULLET-M": "1.82", "BULLET-P": "0.00"}),
    ],
)
def test_replay_rounds_penalty_daily_monthly_or_at_payment(tmp_path: Path, principal, figures):
    got = {
        code: replay_bullet(tmp_path, code, principal, "2025-12-31")["charged"]["penalty"]
        for code in figures
    }
    assert got == figures


def test_replay_at_payment_posts_the_year_then_settles_it(tmp_path: Path):
    # paid 128.88 on 1 Jan 2026: 27.38 of 罚息 posted before it, then settled with the
    # 1.50 interest and the 100.00 principal: the loan is repaid
    pay = '\n[[events]]\nkind = "payment"\non = 2026-01-01\namount = "128.88"\nref = "p1"\n'
    report = replay_bullet(tmp_path, "BULLET-P", "100.00", "2026-01-01", pay)
    assert (report["status"], report["dpd"], report["loan_class"]) == ("closed", 0, "normal")
    assert report["charged"] == {
        "interest": "1.50",
        "penalty": "27.38",
        "compound": "0.00",
        "fees": "0.00",
    }
    assert set(report["balances"].values()) == {"0.00"}


def test_replay_act_act_penalty_over_the_published_isda_period(tmp_path: Path):
    # 10,000.00 due 1 Nov 2003, 罚息 at 10% ACT/ACT until paid on 2 May 2004: 10,000 ×
    # 0.10 × (61/365 + 121/366 = 0.497724380567) = 497.72, posted before the payment
    products = tmp_path / "products.toml"
    products.write_text(ROUNDING_PRODUCTS, encoding="utf-8")
    text = (
        'product = "ISDA"\n[loan]\nprincipal = "10000.00"\ndisbursed_on = 2003-10-01\n'
        '[[events]]\nkind = "payment"\non = 2004-05-02\namount = "10647.72"\nref = "p1"\n'
    )
    result = run(
        "replay", scenario(tmp_path, text), "--as-of", "2004-05-02", "--products", str(products)
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["charged"]["penalty"] == "497.72"
    assert (report["status"], report["balances"]["principal_outstanding"]) == ("closed", "0.00")


def test_a_bad_accrual_rounding_names_the_products_file_and_field(tmp_path: Path):
    products = tmp_path / "products.toml"
    products.write_text(ROUNDING_PRODUCTS.replace('"monthly"', '"weekly"'), encoding="utf-8")
    text = BULLET_SCENARIO.format(code="BULLET-M", principal="100.00")
    result = run(
        "replay", scenario(tmp_path, text), "--as-of", "2025-01-31", "--products", str(products)
    )
    assert result.exit_code == 1, result.output
    assert "products.BULLET-M.accrual_rounding: invalid value 'weekly'" in result.stderr


ARRANGED = """product = "CONSUMER"
[loan]
principal = "12000.00"
annual_rate = "0.18"
term_months = 12
disbursed_on = 2025-01-10

[[events]]
kind = "payment"
on = 2025-02-10
amount = "1100.16"
ref = "p1"

[[events]]
on = 2025-04-20
"""
CONTRACT_KEYS = {"as_of", "status", "dpd", "bucket", "loan_class", "balances", "charged"}


def test_issue_25_a_settlement_forgives_principal_not_yet_due(tmp_path: Path):
    text = ARRANGED + 'kind = "settlement"\namount = "9000.00"\n'
    result = run("replay", scenario(tmp_path, text), "--as-of", "2025-05-01")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == CONTRACT_KEYS | {"settlement"}  # the contract's keys, one added
    assert (out["status"], out["balances"]["principal_outstanding"]) == ("closed", "0.00")
    assert out["settlement"] == {
        "on": "2025-04-20",
        "paid": "9000.00",
        "forgiven": {
            "principal_not_due": "197.91",
            "principal_due": "1881.93",
            "interest_due": "318.39",
            "penalty": "31.57",
            "compound": "5.40",
            "fees": "60.00",
            "costs": "0.00",
        },
    }


def test_issue_25_a_plan_reamortises_overdue_and_not_yet_due(tmp_path: Path):
    text = ARRANGED + (
        'kind = "plan"\nterm = 6\nmethod = "annuity"\nrate = "0.12"\nfirst_due = 2025-05-20\n'
    )
    result = run("replay", scenario(tmp_path, text), "--as-of", "2025-04-21")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # contract 3 adds the restructured mark: current again, but 次级 under observation
    assert set(out) == CONTRACT_KEYS | {"plan", "restructured", "restructuring"}
    assert (out["dpd"], out["balances"]["principal_outstanding"]) == (0, "11398.23")
    assert (out["loan_class"], out["restructured"]) == ("substandard", True)
    plan = out["plan"]
    assert (plan["on"], plan["principal"], len(plan["schedule"])) == ("2025-04-20", "11398.23", 6)
    assert plan["schedule"][0] == {
        "seq": 4,
        "due_date": "2025-05-20",
        "principal": "1852.77",
        "interest": "113.98",
        "amount": "1966.75",
    }
    assert sum(D(row["principal"]) for row in plan["schedule"]) == D("11398.23")
    bad = run(
        "replay", scenario(tmp_path, text.replace("term = 6", "term = 0")), "--as-of", "2025-04-21"
    )
    assert bad.exit_code == 1 and "events #2.term" in bad.output

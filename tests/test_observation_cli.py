"""`arrears loan replay` with the restructured mark and DPD pauses (issue 25, contract
3), as outside checks run it: events kind pause (with until, reason) and resume; the
JSON keeps every key of the contract and adds restructured/restructuring and
paused/pauses only for a loan restructured or paused.

The loan is the CONSUMER worked example (docs/loan-rules.md): 12,000.00 at 18% from 10
Jan 2025, #1 paid, #2 (due 10 Mar) missed: DPD 21 on 31 Mar without a pause.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.domain.products import DEFAULT_CATALOG_PATH

runner = CliRunner()
CONTRACT_KEYS = {"as_of", "status", "dpd", "bucket", "loan_class", "balances", "charged"}
LOAN = """product = "CONSUMER"
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
PAUSE = """
[[events]]
kind = "pause"
on = 2025-03-20
until = 2025-03-31
reason = "hardship"
"""


def replay(tmp_path: Path, text: str, as_of: str, *extra: str) -> dict:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["loan", "replay", str(path), "--as-of", as_of, *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def failure(tmp_path: Path, text: str, as_of: str = "2025-04-30") -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["loan", "replay", str(path), "--as-of", as_of])
    assert result.exit_code == 1, result.output
    return result.output


def test_a_pause_holds_dpd_and_adds_only_the_pause_keys(tmp_path: Path):
    plain = replay(tmp_path, LOAN, "2025-03-31")
    out = replay(tmp_path, LOAN + PAUSE, "2025-03-31")
    assert set(plain) == CONTRACT_KEYS
    assert set(out) == CONTRACT_KEYS | {"paused", "pauses"}
    assert (plain["dpd"], out["dpd"], out["bucket"], out["paused"]) == (21, 9, "M1", True)
    assert out["pauses"] == [{"on": "2025-03-20", "until": "2025-03-31", "reason": "hardship"}]
    # charges run by the calendar: the balances and charges are those without the pause
    assert (out["balances"], out["charged"]) == (plain["balances"], plain["charged"])
    after = replay(tmp_path, LOAN + PAUSE, "2025-04-01")
    assert (after["dpd"], after["paused"]) == (10, False)


def test_a_resume_ends_an_open_dispute_pause(tmp_path: Path):
    text = LOAN + (
        '\n[[events]]\nkind = "pause"\non = 2025-03-20\nreason = "dispute"\n'
        '\n[[events]]\nkind = "resume"\non = 2025-03-25\n'
    )
    out = replay(tmp_path, text, "2025-03-31")
    assert (out["dpd"], out["paused"]) == (16, False)  # 21 less the 5 days 20-24 Mar
    assert out["pauses"] == [{"on": "2025-03-20", "until": "2025-03-24", "reason": "dispute"}]
    before = replay(tmp_path, text, "2025-03-24")
    assert (before["dpd"], before["paused"], before["pauses"][0]["until"]) == (9, True, None)


PLAN = """
[[events]]
kind = "plan"
on = 2025-04-20
term = 6
method = "equal_principal"
rate = 0
charges = true
first_due = 2025-05-20
"""


def _paid(*rows: tuple[str, str]) -> str:
    return "".join(
        f'\n[[events]]\nkind = "payment"\non = {day}\namount = "{amount}"\n' for day, amount in rows
    )


@pytest.fixture
def three_months(tmp_path: Path) -> str:
    """The default catalogue with CONSUMER's observation period set to 3 months."""
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    line = (
        'restructured = { floor = "substandard", periods = 2, months = 12, on_time_payments = 2 }'
    )
    assert line in text  # CONSUMER's, the defaults written out
    path = tmp_path / "products.toml"
    path.write_text(text.replace(line, "restructured = { months = 3 }", 1), encoding="utf-8")
    return str(path)


def test_a_plan_marks_the_loan_restructured_until_two_on_time_payments(
    tmp_path: Path, three_months: str
):
    text = (
        LOAN
        + PLAN
        + _paid(
            ("2025-05-20", "1915.87"),
            ("2025-06-20", "1915.87"),
            ("2025-07-25", "1947.31"),  # #6 late: with the fee 30.00 and 罚息 1.44
            ("2025-08-20", "1915.87"),
            ("2025-09-20", "1915.87"),
        )
    )
    seen = {
        day: replay(tmp_path, text, day, "--products", three_months)
        for day in ("2025-04-19", "2025-04-20", "2025-07-24", "2025-08-20", "2025-09-20")
    }
    assert set(seen["2025-04-19"]) == CONTRACT_KEYS  # not restructured yet: no added key
    assert set(seen["2025-04-20"]) == CONTRACT_KEYS | {"plan", "restructured", "restructuring"}
    got = {d: (o["dpd"], o["loan_class"], o.get("restructured")) for d, o in seen.items()}
    assert got == {
        "2025-04-19": (40, "special_mention", None),
        "2025-04-20": (0, "substandard", True),
        "2025-07-24": (4, "substandard", True),
        "2025-08-20": (0, "substandard", True),  # the period's end: #6 was late
        "2025-09-20": (0, "normal", False),  # #7 and #8 on time
    }
    assert seen["2025-09-20"]["restructuring"] == {
        "on": "2025-04-20",
        "observation_end": "2025-08-20",
        "floor": "substandard",
        "cleared_on": "2025-09-20",
    }


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            'kind = "pause"\non = 2025-03-20\nuntil = 2025-03-19\n',
            "events #2.until: 2025-03-19 is before the pause's first day 2025-03-20",
        ),
        (
            'kind = "pause"\non = 2025-03-20\nreason = "holiday"\n',
            "events #2.reason: 'holiday' is not one of hardship | dispute | other",
        ),
        (
            'kind = "payment"\non = 2025-03-20\namount = "1.00"\nuntil = 2025-03-25\n',
            "events #2.until: only a pause takes this field",
        ),
        (
            'kind = "pause"\non = 2025-03-20\namount = "1.00"\n',
            "events #2.amount: a pause takes no amount",
        ),
        (
            'kind = "resume"\non = 2025-03-25\n',
            "events #2 (resume on 2025-03-25): no pause is in force on 2025-03-25 to resume",
        ),
    ],
)
def test_bad_pause_events_name_the_field(tmp_path: Path, event: str, message: str):
    assert message in failure(tmp_path, LOAN + "\n[[events]]\n" + event)


def test_an_overlapping_pause_is_refused_naming_the_event(tmp_path: Path):
    text = LOAN + PAUSE + '\n[[events]]\nkind = "pause"\non = 2025-03-25\n'
    assert "events #3 (pause on 2025-03-25): a pause from 2025-03-25 overlaps" in failure(
        tmp_path, text
    )


def test_an_extension_event_restructures_the_loan(tmp_path: Path):
    text = LOAN + '\n[[events]]\nkind = "extension"\non = 2025-04-20\nmonths = 2\n'
    out = replay(tmp_path, text, "2025-04-20")
    assert (out["dpd"], out["loan_class"], out["restructured"]) == (41, "substandard", True)
    assert out["restructuring"]["observation_end"] == "2026-07-10"
    later = replay(tmp_path, text, "2025-05-10")  # #4 no longer falls due on 10 May
    assert (
        later["balances"]["principal_due"]
        == replay(tmp_path, text, "2025-04-20")["balances"]["principal_due"]
    )
    bad = LOAN + '\n[[events]]\nkind = "extension"\non = 2025-04-20\nmonths = 0\n'
    assert "events #2.months: 0 is not a whole number of months from 1 to 120" in failure(
        tmp_path, bad
    )
    wrong = LOAN + '\n[[events]]\nkind = "pause"\non = 2025-04-20\nmonths = 2\n'
    assert "events #2.months: only an extension takes this field" in failure(tmp_path, wrong)

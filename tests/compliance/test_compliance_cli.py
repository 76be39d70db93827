"""`arrears compliance check|packs|lint` through the real CLI: the CSV contract end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()
HEADER = "attempt_id,debtor_id,debt_id,channel,at,debtor_tz,party,outcome\n"
GOOD = HEADER + (
    "a1,d1,L1,call,2026-03-08T07:59:00-04:00,America/New_York,debtor,no_answer\n"
    "a2,d1,L1,call,2026-03-08T08:30:00-04:00,America/New_York,debtor,connected_conversation\n"
    "a3,d1,L1,call,2026-03-14T10:00:00-04:00,America/New_York,debtor,\n"
    "a4,d1,L1,call,2026-03-15T10:00:00-04:00,America/New_York,debtor,no_answer\n"
    "a5,d2,,sms,2026-03-15T14:00:00Z,Mars/Base,unknown,delivered\n"
    "a6,d2,,call,2026-03-15T20:00:00Z,,third_party,busy\n"
)


def write(tmp_path: Path, text: str, name: str = "attempts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_check_us_regf_prints_one_json_object_per_row_in_order(tmp_path):
    result = runner.invoke(
        app, ["compliance", "check", str(write(tmp_path, GOOD)), "--pack", "us-regf"]
    )
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [
        {"attempt_id": "a1", "allowed": False, "rules": ["us-regf.hours"]},
        {"attempt_id": "a2", "allowed": True, "rules": []},
        {"attempt_id": "a3", "allowed": False, "rules": ["us-regf.after-conversation"]},
        {"attempt_id": "a4", "allowed": True, "rules": []},
        {"attempt_id": "a5", "allowed": False, "rules": ["us-regf.hours"]},  # 07:00 Phoenix
        {"attempt_id": "a6", "allowed": True, "rules": []},
    ]


def test_check_cn_names_every_rule_and_reasons_on_request(tmp_path):
    result = runner.invoke(
        app, ["compliance", "check", str(write(tmp_path, GOOD)), "--pack", "cn", "--reasons"]
    )
    assert result.exit_code == 0, result.output
    out = {o["attempt_id"]: o for o in lines(result.stdout)}
    assert out["a1"]["rules"] == ["cn.hours"]
    assert out["a3"]["allowed"] is True  # no quiet period in cn
    assert out["a6"]["rules"] == ["cn.hours", "cn.third_party"]  # 04:00 Beijing time
    assert out["a6"]["reasons"][0].startswith("call at 04:00 Asia/Shanghai is outside 08:00–21:00")


def test_caps_in_the_csv_count_only_allowed_rows(tmp_path):
    rows = [
        # Blocked at night: must not use up the daily cap of 3.
        "n1,d1,L1,call,2026-07-01T22:30:00+08:00,Asia/Shanghai,debtor,no_answer",
        "n2,d1,L1,call,2026-07-01T23:30:00+08:00,Asia/Shanghai,debtor,no_answer",
    ] + [
        f"c{h},d1,L1,call,2026-07-02T{h:02d}:00:00+08:00,Asia/Shanghai,debtor,no_answer"
        for h in (9, 10, 11, 12)
    ]
    result = runner.invoke(
        app, ["compliance", "check", str(write(tmp_path, HEADER + "\n".join(rows) + "\n"))]
    )
    assert result.exit_code == 0, result.output
    assert [(o["attempt_id"], o["rules"]) for o in lines(result.stdout)] == [
        ("n1", ["cn.hours"]),
        ("n2", ["cn.hours"]),
        ("c9", []),
        ("c10", []),
        ("c11", []),
        ("c12", ["cn.cap.call.daily"]),
    ]


def test_holds_and_blacklist_files(tmp_path):
    attempts = write(
        tmp_path,
        "attempt_id,debtor_id,debt_id,channel,at,debtor_tz,party,outcome,recipient\n"
        "a1,d1,L1,sms,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,,+8613800000001\n"
        "a2,d1,L2,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,,+8613800000001\n"
        "a3,d2,L9,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,,+86 138 0000 0002\n",
    )
    holds = write(
        tmp_path,
        "debtor_id,kind,channel,debt_id,reason\n"
        "d1,do_not_contact,sms,,asked by phone\n"
        "d1,dispute,,L2,\n",
        "holds.csv",
    )
    blacklist = write(tmp_path, "# numbers never to use\n+8613800000002\n", "blacklist.txt")
    result = runner.invoke(
        app,
        [
            "compliance",
            "check",
            str(attempts),
            "--holds",
            str(holds),
            "--blacklist",
            str(blacklist),
        ],
    )
    assert result.exit_code == 0, result.output
    assert [o["rules"] for o in lines(result.stdout)] == [
        ["hold.do_not_contact.sms"],
        ["hold.dispute"],
        ["blacklist"],
    ]


BAD_ROWS = [
    ("a2,d1,L1,call,2026-07-01 10:00,Asia/Shanghai,debtor,", "at", "no UTC offset"),
    ("a2,d1,L1,call,yesterday,Asia/Shanghai,debtor,", "at", "not an ISO 8601 timestamp"),
    (
        "a2,d1,L1,fax,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,",
        "channel",
        "'fax' is not one of",
    ),
    ("a2,d1,L1,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,cousin,", "party", "'cousin'"),
    (
        "a2,d1,L1,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,hung_up",
        "outcome",
        "'hung_up'",
    ),
    (
        "a1,d1,L1,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,",
        "attempt_id",
        "already used in row 1",
    ),
    (
        "a2,d1,L1,call,2026-07-01T08:00:00+08:00,Asia/Shanghai,debtor,",
        "at",
        "rows must be in time order",
    ),
    (",d1,L1,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,", "attempt_id", "empty"),
    ("a2,,L1,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,", "debtor_id", "empty"),
    ("a2,d1,L1,call", "at", "too few fields"),
    ("a2,d1,L1,call,2026-07-01T10:00:00+08:00,Asia/Shanghai,debtor,,x,y", "", "more fields"),
]


@pytest.mark.parametrize(("row", "field", "reason"), BAD_ROWS)
def test_a_malformed_row_is_named_and_nothing_is_printed(tmp_path, row, field, reason):
    first = "a1,d1,L1,call,2026-07-01T09:00:00+08:00,Asia/Shanghai,debtor,no_answer"
    path = write(tmp_path, f"{HEADER}{first}\n{row}\n")
    result = runner.invoke(app, ["compliance", "check", str(path), "--pack", "cn"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}, row 2 (line 3)" in result.stderr
    if field:
        assert f"field {field!r}" in result.stderr
    assert reason in result.stderr


def test_every_problem_is_listed_and_good_rows_are_not_evaluated(tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "a1,d1,L1,call,2026-07-01T09:00:00+08:00,Asia/Shanghai,debtor,\n"
        + "a2,d1,L1,sms,not-a-time,Asia/Shanghai,debtor,\n"
        + "a3,d1,L1,call,2026-07-01T11:00:00+08:00,Asia/Shanghai,debtor,\n"
        + "a4,d1,L1,pigeon,2026-07-01T12:00:00+08:00,Asia/Shanghai,nobody,\n",
    )
    result = runner.invoke(app, ["compliance", "check", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "row 2 (line 3), field 'at'" in result.stderr
    assert "row 4 (line 5), field 'channel'" in result.stderr
    assert "row 4 (line 5), field 'party'" in result.stderr


def test_a_missing_column_names_the_column(tmp_path):
    path = write(
        tmp_path, "attempt_id,debtor_id,debt_id,channel,at,party\na1,d1,L1,call,x,debtor\n"
    )
    result = runner.invoke(app, ["compliance", "check", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "header (line 1)" in result.stderr and "missing column(s) debtor_tz" in result.stderr


def test_unknown_pack_lists_the_packs(tmp_path):
    result = runner.invoke(app, ["compliance", "check", str(write(tmp_path, GOOD)), "--pack", "eu"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "unknown rule pack 'eu'; available packs: cn, cn-2026, us-ma, us-regf" in result.stderr


def test_bad_holds_file_names_the_row(tmp_path):
    holds = write(tmp_path, "debtor_id,kind\nd1,dispute\nd1,vacation\n", "holds.csv")
    result = runner.invoke(
        app, ["compliance", "check", str(write(tmp_path, GOOD)), "--holds", str(holds)]
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert "holds.csv, row 2 (line 3), field 'kind': 'vacation' is not one of" in result.stderr


def test_the_installed_command_follows_the_contract(tmp_path):
    # The console script a CI job or an external checker would call.
    exe = Path(sys.executable).parent / "arrears"
    done = subprocess.run(
        [str(exe), "compliance", "check", str(write(tmp_path, GOOD)), "--pack", "us-regf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout.splitlines()[0])
    assert first == {"attempt_id": "a1", "allowed": False, "rules": ["us-regf.hours"]}


def test_packs_lists_rules_with_parameters():
    result = runner.invoke(app, ["compliance", "packs", "--json"])
    assert result.exit_code == 0, result.output
    packs = {p["name"]: p for p in json.loads(result.stdout)}
    assert set(packs) == {"cn", "cn-2026", "us-ma", "us-regf"}
    regf = {r["id"]: r for r in packs["us-regf"]["rules"]}
    assert regf["us-regf.7in7"]["limit"] == 7 and regf["us-regf.7in7"]["days"] == 7
    assert regf["us-regf.after-conversation"]["days"] == 7
    text = runner.invoke(app, ["compliance", "packs"]).stdout
    assert "cn.cap.call.daily" in text and "limit=3" in text


def test_lint_exits_1_with_findings_and_0_when_clean(tmp_path):
    bad = write(tmp_path, "【某银行】再不还款立即逮捕，上征信黑名单！", "bad.txt")
    result = runner.invoke(
        app,
        ["compliance", "lint", str(bad), "--language", "zh_CN", "--channel", "sms", "--pack", "cn"],
    )
    assert result.exit_code == 1
    assert "lint.false_legal: “立即逮捕”" in result.stdout
    assert "“上征信黑名单”" in result.stdout
    good = write(tmp_path, "【某银行】您的账单已逾期，请尽快还款。如有疑问请致电客服。", "good.txt")
    result = runner.invoke(
        app,
        [
            "compliance",
            "lint",
            str(good),
            "--language",
            "zh_CN",
            "--channel",
            "sms",
            "--pack",
            "cn",
        ],
    )
    assert result.exit_code == 0, result.stdout
    assert "no findings" in result.stdout


def test_lint_names_a_missing_disclosure_and_allows_real_litigation(tmp_path):
    letter = write(tmp_path, "We have filed a lawsuit against you in the county court.", "l.txt")
    args = [
        "compliance",
        "lint",
        str(letter),
        "--language",
        "en",
        "--channel",
        "letter",
        "--pack",
        "us-regf",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "us-regf.disclosure.debt-collector: (missing)" in result.stdout
    assert "lint.litigation_claim" in result.stdout
    result = runner.invoke(app, [*args, "--litigation-filed"])
    assert "lint.litigation_claim" not in result.stdout
    assert runner.invoke(app, [*args[:3], "--language", "fr"]).exit_code == 2


def test_unreadable_files_are_errors_not_tracebacks(tmp_path):
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + "a1,张三,L1,call,2026-07-01T10:00:00+08:00,,debtor,\n").encode("gbk"))
    for path, reason in [(gbk, "is not UTF-8 text"), (tmp_path / "nope.csv", "cannot be read")]:
        result = runner.invoke(app, ["compliance", "check", str(path)])
        assert result.exit_code == 2 and result.stdout == ""
        assert f"{path}: {reason}" in result.stderr
    twice = write(tmp_path, HEADER.strip() + ",at\n", "twice.csv")
    result = runner.invoke(app, ["compliance", "check", str(twice)])
    assert result.exit_code == 2
    assert "column(s) at appear more than once" in result.stderr

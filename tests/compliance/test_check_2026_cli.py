"""`arrears compliance check` with the issue-26 columns (recipient_type, agents) and outcome
`refused`, on CSV and Parquet; an old file gives exactly the output it gave before."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from arrears.cli import app

runner = CliRunner()
DATA = Path(__file__).parent / "data"


def run(*args: str):
    return runner.invoke(app, ["compliance", "check", *args])


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def write(tmp_path: Path, text: str, name: str = "attempts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_to_parquet(source: Path, target: Path) -> Path:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = {k: [r[k] or None for r in rows] for k in rows[0]}
    pq.write_table(pa.table(columns), target)
    return target


# ---- old files keep their output ---------------------------------------------------


@pytest.mark.parametrize("pack", ["cn", "us-regf"])
def test_an_old_file_gives_the_output_it_gave_before_issue_26(pack):
    # old_attempts.<pack>.jsonl was printed by the code before issue 26 (commit 4b73c1f)
    # for this file: 300 rows, 4 debtors, every channel, party and old outcome, holds,
    # a blacklist, zones known, missing and invalid.
    args = ["--holds", str(DATA / "old_holds.csv"), "--blacklist", str(DATA / "old_blacklist.txt")]
    result = run(str(DATA / "old_attempts.csv"), "--pack", pack, *args, "--reasons")
    assert result.exit_code == 0, result.output
    expected = (DATA / f"old_attempts.{pack}.jsonl").read_text(encoding="utf-8")
    assert result.stdout == expected
    assert len(lines(expected)) == 300


def test_the_old_file_as_parquet_gives_the_same_output(tmp_path):
    path = csv_to_parquet(DATA / "old_attempts.csv", tmp_path / "old.parquet")
    result = run(str(path), "--pack", "cn", "--blacklist", str(DATA / "old_blacklist.txt"))
    assert result.exit_code == 0, result.output
    csv_result = run(
        str(DATA / "old_attempts.csv"),
        "--pack",
        "cn",
        "--blacklist",
        str(DATA / "old_blacklist.txt"),
    )
    assert result.stdout == csv_result.stdout


# ---- the new columns -----------------------------------------------------------------

HEADER = (
    "attempt_id,debtor_id,debt_id,channel,at,debtor_tz,party,outcome,"
    "recipient,recipient_type,agents\n"
)
SH = "Asia/Shanghai"
CN = HEADER + (
    f"h1,d1,L1,call,2026-07-01T07:59:00+08:00,{SH},debtor,no_answer,13800000001,,\n"
    f"h2,d1,L1,call,2026-07-01T08:00:00+08:00,{SH},debtor,no_answer,13800000001,,\n"
    f"f1,d1,L1,call,2026-07-01T09:00:00+08:00,{SH},debtor,busy,13800000001,,\n"
    f"t1,d1,L1,call,2026-07-01T09:10:00+08:00,{SH},third_party,,13900000009,,\n"
    f"f2,d1,L1,call,2026-07-01T09:30:00+08:00,{SH},debtor,no_answer,13800000001,personal,\n"
    f"f3,d1,L1,call,2026-07-01T10:30:00+08:00,{SH},debtor,failed,13800000001,,\n"
    f"t2,d1,L1,call,2026-07-01T11:00:00+08:00,{SH},third_party,refused,13900000009,,\n"
    f"t3,d1,L1,sms,2026-07-01T11:30:00+08:00,{SH},third_party,,139 0000 0009,,\n"
    f"f4,d1,L1,call,2026-07-01T12:00:00+08:00,{SH},debtor,no_answer,13800000001,,\n"
    f"f5,d1,L1,call,2026-07-01T12:30:00+08:00,{SH},debtor,no_answer,13800000001,,\n"
    f"f6,d1,L1,call,2026-07-01T13:00:00+08:00,{SH},debtor,no_answer,13800000001,,\n"
    f"v1,d1,L1,visit,2026-07-01T14:00:00+08:00,{SH},debtor,,,,1\n"
    f"v2,d1,L1,visit,2026-07-01T14:00:00+08:00,{SH},debtor,,,,2\n"
    f"c1,d1,L1,call,2026-07-01T21:59:00+08:00,{SH},debtor,connected_conversation,13800000002,,\n"
    f"h3,d1,L1,sms,2026-07-01T22:00:00+08:00,{SH},debtor,,13800000002,,\n"
)


def test_cn_2026_on_a_file_with_the_new_columns(tmp_path):
    result = run(str(write(tmp_path, CN)), "--pack", "cn-2026")
    assert result.exit_code == 0, result.output
    out = {o["attempt_id"]: o["rules"] for o in lines(result.stdout)}
    assert out == {
        "h1": ["cn-2026.hours"],
        "h2": [],
        "f1": [],
        "f2": [],
        "t1": ["cn-2026.third_party.unreachable"],  # only 2 calls to the debtor so far
        "f3": [],
        "t2": [],  # busy, no_answer, failed: the debtor is unreachable
        "t3": ["cn-2026.third_party.refused"],
        "f4": [],
        "f5": [],
        "f6": ["cn-2026.dials.daily"],  # the 7th unconnected dial to 13800000001
        "v1": ["cn-2026.visit.two_agents"],
        "v2": [],
        "c1": [],
        "h3": ["cn-2026.hours"],
    }


def test_the_empty_outcome_is_not_a_failure_for_reachability(tmp_path):
    # an empty outcome is not one of failed/no_answer/busy: not yet unreachable
    text = HEADER + (
        f"f1,d1,L1,call,2026-07-01T09:00:00+08:00,{SH},debtor,busy,13800000001,,\n"
        f"f2,d1,L1,call,2026-07-01T09:30:00+08:00,{SH},debtor,,13800000001,,\n"
        f"f3,d1,L1,call,2026-07-01T10:30:00+08:00,{SH},debtor,failed,13800000001,,\n"
        f"t2,d1,L1,call,2026-07-01T11:00:00+08:00,{SH},third_party,,13900000009,,\n"
    )
    result = run(str(write(tmp_path, text)), "--pack", "cn-2026")
    assert lines(result.stdout)[-1]["rules"] == ["cn-2026.third_party.unreachable"]


US = HEADER + (
    "p1,d1,L1,call,2026-06-23T10:00:00-04:00,America/New_York,debtor,no_answer,6175550100,personal,\n"
    "p2,d1,L1,sms,2026-06-24T10:00:00-04:00,America/New_York,debtor,delivered,6175550100,,\n"
    "e1,d1,L1,email,2026-06-25T10:00:00-04:00,America/New_York,debtor,delivered,a@b.example,,\n"
    "w1,d1,L1,call,2026-06-01T10:00:00-04:00,America/New_York,debtor,no_answer,6175550199,work,\n"
    "p3,d1,L1,call,2026-06-30T10:00:00-04:00,America/New_York,debtor,no_answer,6175550100,,\n"
    "p4,d1,L1,call,2026-06-30T11:00:00-04:00,America/New_York,debtor,no_answer,6175550100,,\n"
    "w2,d1,L1,call,2026-06-30T12:00:00-04:00,America/New_York,debtor,no_answer,6175550199,work,\n"
    "w3,d1,L1,sms,2026-06-30T13:00:00-04:00,America/New_York,debtor,delivered,6175550199,work,\n"
)


def test_us_ma_on_a_file_with_recipient_types(tmp_path):
    # rows must be in time order: w1 (1 June) first
    rows = US.splitlines()
    text = "\n".join([rows[0], rows[4], *rows[1:4], *rows[5:]]) + "\n"
    result = run(str(write(tmp_path, text)), "--pack", "us-ma", "--reasons")
    assert result.exit_code == 0, result.output
    out = {o["attempt_id"]: o for o in lines(result.stdout)}
    assert {k: o["rules"] for k, o in out.items()} == {
        "w1": [],
        "p1": [],  # 23 June = D-7 for 30 June: outside D-6..D
        "p2": [],
        "e1": [],
        "p3": [],
        "p4": ["us-ma.phone.personal"],  # p2 (D-6) and p3 (D)
        "w2": [],  # w1 on 1 June = D-29
        "w3": ["us-ma.phone.work"],
    }
    assert out["w3"]["reasons"] == [
        "2 call/sms attempt(s) to work recipients already made on debt L1 in the 30"
        " consecutive days 2026-06-01–2026-06-30 (America/New_York); the limit is 2 per"
        " debt in 30 consecutive days"
    ]


def test_bad_recipient_type_and_agents_are_named_and_nothing_is_evaluated(tmp_path):
    text = HEADER + (
        f"a1,d1,L1,call,2026-07-01T09:00:00+08:00,{SH},debtor,,1380,home,\n"
        f"a2,d1,L1,visit,2026-07-01T10:00:00+08:00,{SH},debtor,,,,0\n"
        f"a3,d1,L1,visit,2026-07-01T11:00:00+08:00,{SH},debtor,,,,two\n"
        f"a4,d1,L1,call,2026-07-01T12:00:00+08:00,{SH},debtor,hung_up,,,\n"
    )
    path = write(tmp_path, text)
    result = run(str(path), "--pack", "cn-2026")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}, row 1 (line 2), field 'recipient_type': 'home' is not one of personal, work",
        f"{path}, row 2 (line 3), field 'agents': '0' is not a whole number >= 1"
        " (collectors on the visit)",
        f"{path}, row 3 (line 4), field 'agents': 'two' is not a whole number >= 1"
        " (collectors on the visit)",
        f"{path}, row 4 (line 5), field 'outcome': 'hung_up' is not one of connected_conversation,"
        " no_answer, voicemail, busy, delivered, failed, refused",
    ]


def test_refused_is_an_outcome_every_pack_reads(tmp_path):
    text = HEADER + f"a1,d1,L1,call,2026-07-01T09:00:00+08:00,{SH},debtor,refused,,,\n"
    for pack in ("cn", "us-regf"):
        result = run(str(write(tmp_path, text)), "--pack", pack)
        assert result.exit_code == 0, result.output


def test_parquet_with_typed_columns(tmp_path):
    at = [
        datetime.fromisoformat("2026-07-01T13:59:00+00:00"),  # 21:59 in Shanghai
        datetime.fromisoformat("2026-07-01T14:00:00+00:00"),  # 22:00
        datetime.fromisoformat("2026-07-01T06:00:00+00:00"),  # earlier: out of order
    ]
    table = pa.table(
        {
            "attempt_id": ["a1", "a2", "a3"],
            "debtor_id": ["d1", "d1", "d1"],
            "debt_id": ["L1", None, "L1"],
            "channel": ["visit", "call", "visit"],
            "at": pa.array(at, pa.timestamp("s", tz="UTC")),
            "debtor_tz": [SH, SH, SH],
            "party": ["debtor", "debtor", "debtor"],
            "outcome": [None, None, None],
            "agents": pa.array([2, 2, None], pa.int64()),
        }
    )
    path = tmp_path / "attempts.parquet"
    pq.write_table(table.slice(0, 2), path)
    result = run(str(path), "--pack", "cn-2026")
    assert result.exit_code == 0, result.output
    assert [o["rules"] for o in lines(result.stdout)] == [[], ["cn-2026.hours"]]
    pq.write_table(table, path)
    result = run(str(path), "--pack", "cn-2026")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(
        f"{path}, row 3 (line 4), field 'at': 2026-07-01T06:00:00+00:00"
    )
    naive = table.set_column(4, "at", pa.array([a.replace(tzinfo=None) for a in at]))
    pq.write_table(naive.slice(0, 1), path)
    result = run(str(path), "--pack", "cn-2026")
    assert result.exit_code == 2
    assert "field 'at': '2026-07-01T13:59:00' has no UTC offset" in result.stderr


def test_a_file_that_is_not_parquet_is_named(tmp_path):
    path = write(tmp_path, "not parquet", "attempts.parquet")
    result = run(str(path), "--pack", "cn-2026")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{path}: cannot be read as Parquet")


def test_packs_lists_the_new_rules_with_their_sources():
    result = runner.invoke(app, ["compliance", "packs", "--json"])
    assert result.exit_code == 0, result.output
    packs = {p["name"]: {r["id"]: r for r in p["rules"]} for p in json.loads(result.stdout)}
    cn = packs["cn-2026"]
    assert cn["cn-2026.dials.daily"]["scope"] == "recipient"
    assert cn["cn-2026.dials.daily"]["uncounted_outcomes"] == ["connected_conversation"]
    assert cn["cn-2026.conversations.daily"]["counted_outcomes"] == ["connected_conversation"]
    assert cn["cn-2026.hours"]["end_included"] is False
    assert cn["cn-2026.visit.two_agents"]["minimum"] == 2
    assert "GB/T 45251-2025" in cn["cn-2026.third_party.refused"]["source"]
    assert "2026-01-30" in cn["cn-2026.dials.daily"]["source"]
    ma = packs["us-ma"]
    assert ma["us-ma.phone.work"]["recipient_types"] == ["work"]
    assert ma["us-ma.phone.work"]["days"] == 30
    text = runner.invoke(app, ["compliance", "packs", "--pack", "us-ma"]).stdout
    assert "us-ma.phone.personal" in text and "source: 940 CMR 7.04(1)(f)" in text

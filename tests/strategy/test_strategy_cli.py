"""The strategy commands on a real workspace (generated, imported, closed): validate,
init, show, the dry run (nothing written, counts equal to the API's, compliance blocks)
and the readout over assignments written day by day as the daily close writes them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import ibis
import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from arrears.cli import app
from arrears.services.strategy_inputs import day_inputs, step_history, strategy_snapshot
from arrears.store.models import TABLES
from arrears.strategy import daily_assignments, load_strategy, preview
from arrears.workspace import Workspace

AS_OF = date(2026, 11, 30)
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A demo-style workspace: a generated book of 800 loans imported and closed for the
    last 7 days, without the close's own treatment step (these tests record the
    assignments themselves)."""
    root = tmp_path_factory.mktemp("strategy") / "demo"
    data = root.parent / "data"
    day = AS_OF.isoformat()
    steps = [
        ["init", "-w", str(root)],
        ["generate", "--loans", "800", "--as-of", day, "--out", str(data)],
        *[["import", str(data / f"{k}.parquet"), "-w", str(root), "--lang", "en"]
          for k in ("customers", "loans", "payments")],
        ["close", "--as-of", day, "--days", "7", "--no-treat", "-w", str(root), "--lang", "en"],
    ]  # fmt: skip
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    return root


def count(ws: Workspace, table: str) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(TABLES[table])).scalar_one()


def test_validate_default_and_a_broken_file(demo, tmp_path):
    result = runner.invoke(app, ["strategy", "validate", "-w", str(demo), "--lang", "en"])
    assert result.exit_code == 0 and "strategy retail-default v1 is valid" in result.output
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "b"\nversion = 1\n[[segments]]\nname = "x"\nladder = "l"\n'
        '[ladders.l]\nsteps = [{ name = "s", offset = 1, channel = "fax", template = "t" }]\n'
    )
    result = runner.invoke(app, ["strategy", "validate", str(bad), "-w", str(demo)])
    assert result.exit_code == 1
    assert f"{bad}: ladders.l.steps[0].channel: unknown channel 'fax'" in result.output


def test_init_copies_the_default_once_and_show_prints_it(demo):
    target = demo / "strategies.toml"
    assert not target.exists()
    assert runner.invoke(app, ["strategy", "init", "-w", str(demo)]).exit_code == 0
    assert target.exists()
    again = runner.invoke(app, ["strategy", "init", "-w", str(demo), "--lang", "en"])
    assert again.exit_code == 1 and "--force" in again.output
    shown = runner.invoke(app, ["strategy", "show", "-w", str(demo), "--lang", "en"])
    assert shown.exit_code == 0
    assert str(target) in shown.output and "lawyer_letter_d91" in shown.output
    target.unlink()


def test_preview_writes_nothing_and_counts_what_the_api_counts(demo):
    ws = Workspace.at(demo)
    snapshot_file = ws.snapshot_path(AS_OF)
    before = (count(ws, "strategy_assignments"), count(ws, "contact_attempts"),
              count(ws, "outbox"), snapshot_file.stat().st_mtime_ns)  # fmt: skip
    result = runner.invoke(
        app, ["strategy", "preview", "--as-of", AS_OF.isoformat(), "-w", str(demo), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    after = (count(ws, "strategy_assignments"), count(ws, "contact_attempts"),
             count(ws, "outbox"), snapshot_file.stat().st_mtime_ns)  # fmt: skip
    assert after == before
    con = ibis.duckdb.connect()
    # what the day's treatments evaluate: the snapshot and the loans in recovery
    evaluated = strategy_snapshot(con, ws, AS_OF)
    expected = preview(
        evaluated,
        ibis.memtable(day_inputs(ws, AS_OF)),
        load_strategy(None, demo),
        AS_OF,
        ibis.memtable(step_history(ws, AS_OF)),
    )
    assert expected.total_actions > 0
    assert evaluated.filter(evaluated.status == "recovery").count().execute() > 0
    assert f"What {AS_OF + timedelta(days=1)} would send" in result.output
    total_line = next(line for line in result.output.splitlines() if "Total" in line)
    assert f"{expected.total_actions:,}" in total_line
    for channel, n in expected.by_channel().items():
        assert any(channel in line and f"{n:,}" in line for line in result.output.splitlines())
    zh = runner.invoke(
        app, ["strategy", "preview", "--as-of", AS_OF.isoformat(), "-w", str(demo), "--lang", "zh"]
    )
    assert zh.exit_code == 0 and "演练" in zh.output and "合计" in zh.output


def test_preview_of_a_day_without_snapshot_fails_clearly(demo):
    result = runner.invoke(
        app, ["strategy", "preview", "--as-of", "2020-01-01", "-w", str(demo), "--lang", "en"]
    )
    assert result.exit_code == 1 and "No snapshot for 2020-01-01" in result.output


def backdate_cases_to_first_overdue_day(ws: Workspace, days: list[date]) -> None:
    """The demo opens its cases on the last closed day; date each case back to the
    first snapshot day its loan was overdue, as a close run every day would have."""
    import pyarrow.parquet as pq
    from sqlalchemy import update

    first_overdue: dict[str, date] = {}
    for day in days:
        for row in pq.read_table(ws.snapshot_path(day), columns=["loan_id", "dpd"]).to_pylist():
            if row["dpd"] > 0:
                first_overdue.setdefault(row["loan_id"], day)
    cases = TABLES["cases"]
    with ws.engine.begin() as conn:
        for case_id, loan_id in conn.execute(select(cases.c.id, cases.c.loan_id)).all():
            if loan_id in first_overdue:
                conn.execute(
                    update(cases).where(cases.c.id == case_id)
                    .values(opened_on=first_overdue[loan_id])
                )  # fmt: skip


def test_readout_over_a_week_of_recorded_assignments(demo):
    ws = Workspace.at(demo)
    strategy = load_strategy(None, demo)
    # the last week of daily snapshots (a workspace may keep older month-end ones too)
    days = [d for d in ws.snapshot_dates() if d > AS_OF - timedelta(days=7)]
    assert len(days) == 7
    backdate_cases_to_first_overdue_day(ws, days)
    con = ibis.duckdb.connect()
    given: dict[tuple[int, str], int] = {}
    for day in days:
        table = daily_assignments(
            con.read_parquet(str(ws.snapshot_path(day))),
            ibis.memtable(day_inputs(ws, day)),
            strategy,
            day,
            ibis.memtable(step_history(ws, day)),
        ).to_pyarrow()
        rows = table.to_pylist()
        for r in rows:
            if r["step"]:
                key = (r["case_id"], r["step"])
                given[key] = given.get(key, 0) + 1
        assert rows, day
        with ws.engine.begin() as conn:
            conn.execute(insert(TABLES["strategy_assignments"]), rows)
    assert given and max(given.values()) == 1  # no case got a step twice in the week
    first, last = days[0], days[-1]
    result = runner.invoke(
        app, ["strategy", "readout", "--from", first.isoformat(), "--to", last.isoformat(),
              "-w", str(demo), "--lang", "en"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Challenger − champion (champion)" in result.output
    sa = TABLES["strategy_assignments"]
    with ws.engine.connect() as conn:
        cases = conn.execute(select(func.count(func.distinct(sa.c.case_id)))).scalar_one()
        arms = set(conn.execute(select(sa.c.arm).distinct()).scalars())
    assert {"champion", "fast_call"} <= arms
    rows = [line.split("│") for line in result.output.splitlines() if line.startswith("│")]
    per_arm = {r[1].strip(): int(r[2].strip().replace(",", "")) for r in rows if "%" in r[3]}
    assert set(per_arm) == arms
    assert sum(per_arm.values()) == cases


def test_preview_counts_what_the_compliance_pack_would_block(demo, tmp_path):
    """A hold on a debtor who has an action, and steps sent at 22:00 local time (after
    the cn window closes at 21:00): the dry run names both rules, and every 22:00
    contact that has somewhere to go is counted against the window."""
    import pyarrow.parquet as pq

    from arrears.strategy import default_strategy_path

    ws = Workspace.at(demo)
    con = ibis.duckdb.connect()
    strategy = load_strategy(None, demo)
    actions = preview_actions(con, ws, strategy)
    contact = next(r for r in actions if r["contact_channel"] is not None)
    with ws.engine.begin() as conn:
        conn.execute(
            insert(TABLES["holds"]),
            [{"customer_id": contact["customer_id"], "kind": "dispute", "placed_on": AS_OF,
              "reason": "disputes the balance"}],
        )  # fmt: skip
    late = tmp_path / "late.toml"
    late.write_text(default_strategy_path().read_text().replace("send_hour = 9", "send_hour = 22"))
    late_actions = preview_actions(con, ws, load_strategy(late))
    timed = ("call", "sms", "email", "visit", "push")  # the cn window does not cover letters
    customers = TABLES["customers"]
    with ws.engine.connect() as conn:
        on_file = {r.customer_id: r for r in conn.execute(select(customers)).all()}
    field = {"call": "mobile", "sms": "mobile", "email": "email", "visit": "address"}

    def reachable(r: dict) -> bool:  # push goes to the app, the rest to a value on file
        channel = r["contact_channel"]
        return channel == "push" or bool(getattr(on_file[r["customer_id"]], field[channel]))

    at_22 = sum(
        1
        for r in late_actions
        if r["send_at_local_hour"] == 22 and r["contact_channel"] in timed and reachable(r)
    )
    assert at_22 > 0
    result = runner.invoke(
        app, ["strategy", "preview", "--as-of", AS_OF.isoformat(), "-w", str(demo), "--file",
              str(late), "--pack", "cn", "--lang", "en"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    hours = next(line for line in lines if "cn.hours" in line)
    assert int(hours.split("│")[2].strip().replace(",", "")) >= at_22
    assert any("hold.dispute" in line for line in lines)
    assert pq.read_table(ws.snapshot_path(AS_OF)).num_rows > 0
    with ws.engine.begin() as conn:
        conn.execute(TABLES["holds"].delete())


def preview_actions(con, ws: Workspace, strategy) -> list[dict]:
    from arrears.strategy import proposed_actions

    return (
        proposed_actions(
            strategy_snapshot(con, ws, AS_OF),
            ibis.memtable(day_inputs(ws, AS_OF)),
            strategy,
            AS_OF,
            ibis.memtable(step_history(ws, AS_OF)),
        )
        .to_pyarrow()
        .to_pylist()
    )

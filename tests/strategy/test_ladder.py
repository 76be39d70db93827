# ruff: noqa: E501  (the TOML ladder reads best one step per line)
"""Ladder firing rules: pre-due on the exact day, the current rung once per case, one
action per loan per day by priority, skips (promise, recent payment), amount and
customer conditions, holdouts and arm overrides, the output columns."""

from __future__ import annotations

from datetime import timedelta

import ibis
import pyarrow as pa
from strategy_tables import AS_OF, strategy_from

from arrears.strategy import ACTION_COLUMNS, daily_assignments, proposed_actions
from arrears.strategy.actions import actions_and_assignments

LADDERS = """
[ladders.main]
steps = [
    { name = "remind_d-3", offset = -3, channel = "sms", template = "pre" },
    { name = "push_due", offset = 0, channel = "push", template = "due" },
    { name = "sms1", offset = 1, channel = "sms", template = "s1", priority = 50 },
    { name = "email1", offset = 1, channel = "email", template = "e1", priority = 60 },
    { name = "call5", offset = 5, channel = "call", template = "c5", script = "sc", send_hour = 14 },
    { name = "sms7", offset = 7, channel = "sms", template = "s7", skip_if_paid_within_days = 3 },
    { name = "letter10", offset = 10, channel = "lawyer_letter", template = "l10", min_amount = 5000 },
    { name = "visit20", offset = 20, channel = "visit", template = "v20", when = { customer_type = "individual" } },
]
[ladders.alt]
steps = [{ name = "alt_call1", offset = 1, channel = "call", template = "c", script = "s" }]
"""
ONE_ARM = strategy_from(
    'name = "lad"\nversion = 3\n[[segments]]\nname = "all"\nladder = "main"\n' + LADDERS
)


def actions(tables, snap_rows, input_rows=None, history=None, strategy=ONE_ARM, as_of=AS_OF):
    snap, inputs = tables(snap_rows, input_rows)
    hist = None
    if history is not None:
        hist = ibis.memtable(
            pa.table(
                {
                    "loan_id": pa.array([h[0] for h in history], pa.string()),
                    "case_id": pa.array([h[1] for h in history], pa.int64()),
                    "step": pa.array([h[2] for h in history], pa.string()),
                }
            )
        )
    out = proposed_actions(snap, inputs, strategy, as_of, hist).to_pyarrow().to_pylist()
    return {r["loan_id"]: r for r in out}


def steps(found):
    return {k: v["step"] for k, v in found.items()}


def test_pre_due_steps_fire_on_their_exact_day_only(tables):
    # decided after the close of D, sent on D+1: D-3 fires when the instalment is four
    # days away (sent three days before it), the due-day push one day before (sent on
    # the due date); on the due date itself it is too late for either
    rows = [{"loan_id": f"L{n}"} for n in range(6)]
    inputs = [
        {"loan_id": "L0", "days_to_due": 4},
        {"loan_id": "L1", "days_to_due": 3},
        {"loan_id": "L2", "days_to_due": 5},
        {"loan_id": "L3", "days_to_due": 1},
        {"loan_id": "L4", "days_to_due": None},
        {"loan_id": "L5", "days_to_due": 0},
    ]
    assert steps(actions(tables, rows, inputs)) == {"L0": "remind_d-3", "L3": "push_due"}


def test_pre_due_steps_do_not_fire_for_an_overdue_loan(tables):
    inputs = [{"loan_id": "A", "case_id": 1, "days_to_due": 4}]
    done = [("A", 1, "sms1"), ("A", 1, "email1")]
    assert steps(actions(tables, [{"loan_id": "A", "dpd": 2}], inputs, done)) == {}
    assert steps(actions(tables, [{"loan_id": "A", "dpd": 0}], inputs, done)) == {"A": "remind_d-3"}


def test_one_action_per_day_by_priority_then_the_rest_of_the_rung(tables):
    row = [{"loan_id": "A", "dpd": 1}]
    inputs = [{"loan_id": "A", "case_id": 7}]
    assert steps(actions(tables, row, inputs)) == {"A": "sms1"}
    assert steps(actions(tables, row, inputs, [("A", 7, "sms1")])) == {"A": "email1"}
    assert steps(actions(tables, row, inputs, [("A", 7, "sms1"), ("A", 7, "email1")])) == {}


def test_a_case_never_gets_the_same_step_twice_over_a_month(tables):
    history: list[tuple[str, int, str]] = []
    given = []
    # the days around every rung, plus days spent on a rung (where a repeat would show)
    for day in (-5, -4, -3, -2, -1, 0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 15, 20, 21):
        dpd = max(day, 0)
        row = [{"loan_id": "A", "dpd": dpd, "overdue_amount": "6000.00"}]
        inputs = [{"loan_id": "A", "case_id": 1 if dpd else None, "days_to_due": -day
                   if day <= 0 else None, "customer_type": "individual"}]  # fmt: skip
        found = actions(tables, row, inputs, history, as_of=AS_OF + timedelta(days=day))
        if "A" in found:
            given.append((dpd, found["A"]["step"]))
            history.append(("A", found["A"]["case_id"], found["A"]["step"]))
    names = [name for _, name in given]
    assert len(names) == len(set(names))
    assert given == [
        (0, "remind_d-3"), (0, "push_due"), (1, "sms1"), (2, "email1"), (5, "call5"),
        (7, "sms7"), (10, "letter10"), (20, "visit20"),
    ]  # fmt: skip


def test_a_case_entering_late_starts_at_its_rung(tables):
    rows = [{"loan_id": "BIG", "dpd": 12, "overdue_amount": "5000.00"},
            {"loan_id": "SMALL", "dpd": 12, "overdue_amount": "4999.99"}]  # fmt: skip
    # letter10 needs an amount of at least 5000: for SMALL the current rung stays sms7
    assert steps(actions(tables, rows)) == {"BIG": "letter10", "SMALL": "sms7"}


def test_step_condition_on_customer_type(tables):
    rows = [{"loan_id": "I", "dpd": 20}, {"loan_id": "S", "dpd": 20}]
    inputs = [{"loan_id": "I", "customer_type": "individual"}, {"loan_id": "S",
              "customer_type": "sme"}]  # fmt: skip
    found = actions(tables, rows, inputs)
    assert steps(found) == {"I": "visit20", "S": "sms7"}  # letter10 needs 5000


def test_active_promise_skips_the_step_until_it_ends(tables):
    row = [{"loan_id": "A", "dpd": 5}]
    promised = [{"loan_id": "A", "case_id": 1, "promise_active": True}]
    assert steps(actions(tables, row, promised, [("A", 1, "sms1"), ("A", 1, "email1")])) == {}
    later = [{"loan_id": "A", "dpd": 6}]
    ended = [{"loan_id": "A", "case_id": 1, "promise_active": False}]
    found = actions(tables, later, ended, [("A", 1, "sms1"), ("A", 1, "email1")])
    assert steps(found) == {"A": "call5"}


def test_recent_payment_skips_a_step_that_asks_for_it(tables):
    rows = [{"loan_id": k, "dpd": 7} for k in ("P2", "P3", "TODAY", "NONE")]
    rows[2]["paid_today"] = "10.00"  # no input column: paid today means 0 days since
    inputs = [{"loan_id": "P2", "days_since_last_payment": 2},
              {"loan_id": "P3", "days_since_last_payment": 3}]  # fmt: skip
    assert steps(actions(tables, rows, inputs)) == {"P3": "sms7", "NONE": "sms7"}


def test_a_new_case_restarts_the_ladder(tables):
    row = [{"loan_id": "A", "dpd": 1}]
    history = [("A", 1, "sms1"), ("A", 1, "email1")]
    assert steps(actions(tables, row, [{"loan_id": "A", "case_id": 1}], history)) == {}
    assert steps(actions(tables, row, [{"loan_id": "A", "case_id": 2}], history)) == {"A": "sms1"}


def test_holdout_gets_nothing_and_arms_override_ladders(tables):
    s = strategy_from(
        'name = "cc"\nversion = 1\n[[segments]]\nname = "all"\nladder = "main"\n'
        + LADDERS
        + '[[arms]]\nname = "champion"\nshare = 0.4\n'
        '[[arms]]\nname = "challenger"\nshare = 0.3\nladders = { main = "alt" }\n'
        '[[arms]]\nname = "hold"\nshare = 0.3\nholdout = true\n'
    )
    rows = [{"loan_id": f"L{n:03d}", "dpd": 1} for n in range(300)]
    snap, _ = tables(rows)
    assigned = daily_assignments(snap.mutate(case_id=ibis.literal(1, "int64")), None, s, AS_OF)
    by_arm = {}
    for r in assigned.to_pyarrow().to_pylist():
        by_arm.setdefault(r["arm"], set()).add(r["step"])
    assert by_arm["hold"] == {None}
    assert by_arm["champion"] == {"sms1"} and by_arm["challenger"] == {"alt_call1"}
    found = actions(tables, rows, strategy=s)
    assert {r["arm"] for r in found.values()} == {"champion", "challenger"}
    assert len(found) == sum(1 for r in assigned.to_pyarrow().to_pylist() if r["arm"] != "hold")


def test_action_rows_carry_what_the_sender_needs(tables):
    rows = [{"loan_id": "A", "dpd": 10, "overdue_amount": "7000.00", "bucket": "M1"}]
    inputs = [{"loan_id": "A", "case_id": 3, "time_zone": "Asia/Urumqi", "language": "zh_CN"}]
    snap, inp = tables(rows, inputs)
    table = proposed_actions(snap, inp, ONE_ARM, AS_OF).to_pyarrow()
    assert tuple(table.column_names) == ACTION_COLUMNS
    row = table.to_pylist()[0]
    assert row["send_on"] == AS_OF + timedelta(days=1)
    assert (row["channel"], row["contact_channel"], row["template"]) == (
        "lawyer_letter", "letter", "l10",
    )  # fmt: skip
    labels = (row["strategy"], row["version"], row["segment"], row["arm"])
    assert labels == ("lad", 3, "all", "champion")
    assert (row["case_id"], row["time_zone"], row["send_at_local_hour"]) == (3, "Asia/Urumqi", 10)
    assert str(row["amount"]) == "7000.00"


def test_actions_and_assignments_at_once_equal_the_two_expressions(con, tables):
    # the treatments' one pass (assignment and steps due computed once, as temporary
    # tables) gives the very rows of proposed_actions and daily_assignments, on a book
    # with holdouts, arms, cases, step history and loans without a case
    s = strategy_from(
        'name = "cc"\nversion = 2\n[[segments]]\nname = "all"\nladder = "main"\n'
        + LADDERS
        + '[[arms]]\nname = "champion"\nshare = 0.5\n'
        '[[arms]]\nname = "challenger"\nshare = 0.3\nladders = { main = "alt" }\n'
        '[[arms]]\nname = "hold"\nshare = 0.2\nholdout = true\n'
    )
    rows = [
        {"loan_id": f"L{n:03d}", "dpd": n % 25, "overdue_amount": str(1000 * (n % 9))}
        for n in range(200)
    ]
    inputs = [
        {"loan_id": f"L{n:03d}", "case_id": n if n % 25 else None,
         "days_to_due": 4 if n % 25 == 0 else None, "customer_type": "individual"}
        for n in range(200)
    ]  # fmt: skip
    snap, inp = tables(rows, inputs)
    history = ibis.memtable(
        pa.table({"loan_id": ["L001", "L026"], "case_id": [1, 26], "step": ["sms1", "sms1"]})
    )
    actions, assignments = actions_and_assignments(con, snap, inp, s, AS_OF, history)
    assert actions.num_rows > 50 and assignments.num_rows > actions.num_rows
    assert actions.equals(proposed_actions(snap, inp, s, AS_OF, history).to_pyarrow())
    assert assignments.equals(daily_assignments(snap, inp, s, AS_OF, history).to_pyarrow())
    # a second day on the same connection replaces the temporary tables
    again, _ = actions_and_assignments(con, snap, inp, s, AS_OF, history)
    assert again.equals(actions)


def test_a_strategys_day_is_compiled_once_and_each_day_runs_with_its_dates(monkeypatch):
    """Over tables of fixed names, the treatments' pass compiles the strategy's SQL on
    its first day and runs it on the next days, each on a new connection, with that
    day's dates put in: every day's rows equal the expressions built for that day."""
    from strategy_tables import inputs_table, snapshot_table

    from arrears.strategy import actions as module

    compiled = []
    real = module._DaySql.compile.__func__
    monkeypatch.setattr(module, "_COMPILED", {})
    monkeypatch.setattr(
        module._DaySql,
        "compile",
        classmethod(lambda cls, *args: compiled.append(args[-1]) or real(cls, *args)),
    )
    s = strategy_from(
        'name = "once"\nversion = 1\n[[segments]]\nname = "all"\nladder = "main"\n'
        + LADDERS
        + '[[arms]]\nname = "champion"\nshare = 0.6\n'
        '[[arms]]\nname = "challenger"\nshare = 0.4\nladders = { main = "alt" }\n'
    )
    for shift in range(3):
        day = AS_OF + timedelta(days=shift)
        con = ibis.duckdb.connect()  # a connection a day, as the treatments open
        rows = [
            {"loan_id": f"L{n:03d}", "dpd": (n + shift) % 25, "overdue_amount": str(900 * (n % 7))}
            for n in range(120)
        ]
        inputs = [
            {"loan_id": f"L{n:03d}", "case_id": n + 1, "days_to_due": (n + shift) % 6}
            for n in range(120)
        ]
        snap = con.create_table("strategy_snapshot", snapshot_table(rows))
        inp = con.create_table("strategy_inputs", inputs_table(inputs))
        history = con.create_table(
            "step_history",
            pa.table({"loan_id": ["L001"], "case_id": [2], "step": ["sms1"]}),
        )
        actions, assignments = actions_and_assignments(con, snap, inp, s, day, history)
        assert actions.num_rows > 20
        assert set(actions.column("as_of").to_pylist()) == {day}
        assert set(actions.column("send_on").to_pylist()) == {day + timedelta(days=1)}
        assert actions.equals(proposed_actions(snap, inp, s, day, history).to_pyarrow())
        assert assignments.equals(daily_assignments(snap, inp, s, day, history).to_pyarrow())
    assert compiled == [AS_OF]  # the first day only

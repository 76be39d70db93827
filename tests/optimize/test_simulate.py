"""`arrears optimize log` and `arrears simulate` on a small demo workspace; the response
model's fit on a synthetic history whose parameters are known."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from arrears.cli import app
from arrears.compliance import Hold
from arrears.optimize.response import CHANNELS, FEATURES, design, fit_from_workspace, fit_pay
from arrears.optimize.schema import read_log
from arrears.optimize.twin import Arm, cleanup, prepare, run_seed
from arrears.strategy import load_strategy
from arrears.strategy.loader import default_strategy_path
from arrears.workspace import Workspace

runner = CliRunner()
AS_OF = "2026-06-30"


def test_response_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(5)
    n = 60_000
    dpd = rng.integers(1, 150, n)
    overdue = np.exp(rng.normal(7, 1, n))
    contacted = {c: rng.random(n) < 0.2 for c in CHANNELS}
    x = design(dpd, overdue, contacted)
    truth = np.array([-0.5, -1.0, -1.5, -2.5, 0.3, 0.1, 0.8, 0.4, 1.0, -0.15])
    assert len(truth) == len(FEATURES)
    intercept = -1.2
    y = rng.random(n) < 1 / (1 + np.exp(-(intercept + x @ truth)))
    day = rng.integers(0, 30, n)
    fitted_intercept, coef, quality = fit_pay(x, y, day)
    assert abs(fitted_intercept - intercept) < 0.25
    assert np.abs(coef - truth).max() < 0.15, dict(zip(FEATURES, coef - truth, strict=True))
    held = quality["held_out"]
    assert held["auc"] > 0.6
    assert held["log_loss"] < held["log_loss_base_rate"]
    assert abs(held["predicted_rate"] - held["observed_rate"]) < 0.02


def test_raw_query_dates_from_either_store() -> None:
    from datetime import UTC, date, datetime

    from arrears.optimize.workspace_log import as_date

    day = date(2026, 6, 30)
    assert as_date(day) == day
    assert as_date(datetime(2026, 6, 30, 10, tzinfo=UTC)) == day  # PostgreSQL
    assert as_date("2026-06-30 10:00:00.000000") == day  # SQLite's text
    assert type(as_date(datetime(2026, 6, 30, 10))) is date


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim") / "ws"
    result = runner.invoke(
        app, ["demo", "--loans", "300", "--days", "18", "--as-of", AS_OF, "-w", str(root)]
    )
    assert result.exit_code == 0, result.output
    return root


def _fingerprint(root: Path) -> dict[str, str]:
    """Every file's bytes (the store by its rows: SQLite may checkpoint its journal)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        if path.suffix == ".sqlite":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                text = "\n".join(conn.iterdump())
            out[str(path.relative_to(root))] = hashlib.sha256(text.encode()).hexdigest()
        else:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.mark.slow
def test_log_from_the_workspace_history(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "log.parquet"
    result = runner.invoke(app, ["optimize", "log", "-w", str(demo), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    log = read_log(out)  # the contract's reader accepts it
    assert len(log) == summary["rows"] > 0
    assert ((log.propensity > 0) & (log.propensity <= 1)).all()
    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pydict()
    for arm, action, p in zip(table["arm"], table["action"], table["propensity"], strict=True):
        if arm == "holdout":
            assert action == "none" and p >= 0.05 - 1e-9
        elif action != "none":
            # the champion (0.8) and, where its ladder agrees, fast_call (0.15)
            assert p >= 0.15 - 1e-9
    assert "positivity" in summary


@pytest.mark.slow
def test_simulate_runs_and_never_writes_to_the_workspace(demo: Path, tmp_path: Path) -> None:
    challenger = tmp_path / "fast.toml"
    text = default_strategy_path().read_text(encoding="utf-8")
    challenger.write_text(
        text.replace(
            "share = 0.8", 'share = 0.8\nladders = { early_call = "early_digital_fast" }', 1
        )
    )
    before = _fingerprint(demo)
    out = tmp_path / "readout.json"
    result = runner.invoke(
        app,
        ["simulate", "-w", str(demo), "--strategy", str(default_strategy_path()),
         "--challenger", str(challenger), "--days", "3", "--seeds", "2", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _fingerprint(demo) == before
    readout = json.loads(out.read_text())
    assert set(readout["arms"]) == {"default", "fast"}
    assert set(readout["uplift"]) == {"fast"}
    figures = readout["arms"]["default"]
    for name in ("collected", "cost", "cures", "contacts_per_debtor", "blocked_by_compliance"):
        mean, low, high = figures[name]
        assert low <= mean <= high
    assert "held_out" in readout["response_model"]["quality"]


@pytest.fixture(scope="module")
def twin(demo: Path):  # type: ignore[no-untyped-def]
    ws = Workspace.at(demo)
    built = prepare(ws, fit_from_workspace(ws))
    yield built
    cleanup(built)


ARMS = [Arm("default", load_strategy(default_strategy_path()))]


@pytest.mark.slow
def test_simulation_is_reproducible_by_seed(twin) -> None:  # type: ignore[no-untyped-def]
    a = run_seed(twin, ARMS, 3, 7, {}).arms["default"].figures()
    b = run_seed(twin, ARMS, 3, 7, {}).arms["default"].figures()
    assert a == b


@pytest.mark.slow
def test_call_capacity_is_respected(twin) -> None:  # type: ignore[no-untyped-def]
    free = run_seed(twin, ARMS, 3, 1, {}).arms["default"]
    capped = run_seed(twin, ARMS, 3, 1, {}, calls_per_collector=0).arms["default"]
    assert twin.collectors > 0
    assert capped.by_channel["call"] == 0
    assert capped.over_capacity == free.by_channel["call"] > 0


@pytest.mark.slow
def test_the_compliance_gate_decides_every_contact(twin) -> None:  # type: ignore[no-untyped-def]
    free = run_seed(twin, ARMS, 2, 3, {}).arms["default"]
    saved = dict(twin.gate_inputs.holds)
    try:
        for customer_id in twin.customers:
            twin.gate_inputs.holds[customer_id] = [Hold("do_not_contact")]
        held = run_seed(twin, ARMS, 2, 3, {}).arms["default"]
    finally:
        twin.gate_inputs.holds.clear()
        twin.gate_inputs.holds.update(saved)
    assert free.contacts > 0
    assert held.contacts == 0
    assert held.blocked >= free.contacts
    assert held.blocked_rules["hold.do_not_contact"] > 0


def test_optimized_allocation_is_the_best_under_capacity() -> None:
    import itertools
    import math
    from decimal import Decimal

    from arrears.optimize.allocate import optimize_team

    amounts = [Decimal(a) for a in ("5000", "120", "900", "3100", "40", "700", "2500")]
    todo = [(f"case{i}", a) for i, a in enumerate(amounts)]
    members = ["ann", "bob", "cy"]
    kept = {"ann": 2, "cy": 0}
    rates = {"ann": 0.30, "bob": 0.10, "cy": 0.20}
    chosen = optimize_team(todo, members, kept, rates)
    capacity = math.ceil((len(todo) + 2) / 3)
    got = {u: sum(1 for _, _, v in chosen if v == u) + kept.get(u, 0) for u in members}
    assert sorted(c for c, _, _ in chosen) == sorted(c for c, _ in todo)  # all allocated
    assert max(got.values()) <= capacity
    value = sum(float(a) * rates[u] for _, a, u in chosen)
    best = 0.0
    for pick in itertools.product(members, repeat=len(todo)):
        load = {u: pick.count(u) + kept.get(u, 0) for u in members}
        if max(load.values()) <= capacity:
            best = max(best, sum(float(a) * rates[u] for a, u in zip(amounts, pick, strict=True)))
    assert value == pytest.approx(best)


@pytest.mark.slow
def test_allocate_optimize_on_the_demo(demo: Path) -> None:
    result = runner.invoke(app, ["allocate", "--optimize", "--as-of", AS_OF, "-w", str(demo)])
    assert result.exit_code == 0, result.output
    assert "allocated" in result.output


@pytest.mark.slow
def test_an_a_a_comparison_shows_no_uplift(twin) -> None:  # type: ignore[no-untyped-def]
    """Every arm runs the whole book on common random numbers: the same strategy twice
    gives the same figures, so a challenger's uplift is its strategy's alone."""
    from arrears.optimize.twin import readout

    strategy = load_strategy(default_strategy_path())
    arms = [Arm("a", strategy), Arm("b", strategy)]
    results = [run_seed(twin, arms, 3, s, {}) for s in (0, 1)]
    assert results[0].arms["a"].figures() == results[0].arms["b"].figures()
    uplift = readout(results, arms)["uplift"]["b"]
    assert all(v == [0.0, 0.0, 0.0] for v in uplift.values())


@pytest.mark.slow
def test_raw_money_reads_as_the_amount(demo: Path) -> None:
    """The raw queries of the log and the response fit read payments as amounts: SQLite
    keeps integer cents, so a plain float() of its value is 100 times the amount."""
    from decimal import Decimal

    from sqlalchemy import func, select, text
    from sqlalchemy.orm import Session

    from arrears.optimize.workspace_log import money_reader
    from arrears.store.models import PaymentRow

    ws = Workspace.at(demo)
    with Session(ws.engine) as session:
        exact = session.scalar(select(func.sum(PaymentRow.amount)))
        raw = session.execute(text("select amount from payments")).scalars().all()
    money = money_reader(ws)
    assert exact is not None and exact > 0
    assert abs(Decimal(str(round(sum(money(v) for v in raw), 2))) - Decimal(exact)) < Decimal(
        "0.01"
    )


def test_optimized_allocation_respects_agency_intake() -> None:
    """Two teams' waiting cases, their collectors and two agencies shared by the teams
    in one MIP: every case once, collectors within their room, each agency within its
    intake, an agency only where its commission rates take the case; the value is the
    best of every allocation (brute force)."""
    import itertools
    from decimal import Decimal

    from arrears.optimize.allocate import AgencyOffer, optimize_allocation, room

    amounts = {"a1": "900", "a2": "4000", "a3": "2500", "b1": "3000", "b2": "700", "b3": "5200"}
    bucket = {"a1": "M1", "a2": "M1", "a3": "M1", "b1": "M4", "b2": "M5", "b3": "M4"}
    waiting = {
        1: [(c, Decimal(amounts[c])) for c in ("a1", "a2", "a3")],
        2: [(c, Decimal(amounts[c])) for c in ("b1", "b2", "b3")],
    }
    members = {1: ["ann", "bob"], 2: ["cy"]}
    kept = {"bob": 1}
    rates = {"ann": 0.10, "bob": 0.12, "cy": 0.05}

    def late_only(b: str, amount: Decimal) -> Decimal | None:
        return Decimal("0.15") if b in ("M4", "M5") else None  # takes late cases only

    def anything(b: str, amount: Decimal) -> Decimal | None:
        return Decimal(0)

    offers = [AgencyOffer(7, 1, 0.40, late_only), AgencyOffer(8, 1, 0.09, anything)]
    chosen = optimize_allocation(waiting, members, kept, rates, offers, bucket.__getitem__)
    got = {c: to for c, _, to in chosen}
    assert sorted(got) == sorted(amounts)  # every case, once
    assert sum(1 for to in got.values() if to == 7) <= 1
    assert sum(1 for to in got.values() if to == 8) <= 1
    assert all(bucket[c] in ("M4", "M5") for c, to in got.items() if to == 7)
    team_of = {c: t for t, todo in waiting.items() for c, _ in todo}
    for team, todo in waiting.items():
        for u, r in zip(members[team], room(len(todo), members[team], kept), strict=True):
            assert sum(1 for to in got.values() if to == u) <= r
        assert all(
            to in members[team] or to in (7, 8) for c, to in got.items() if team_of[c] == team
        )

    def value(c: str, to: str | int) -> float:
        a = float(amounts[c])
        if to == 7:
            return a * 0.40 * 0.85
        if to == 8:
            return a * 0.09
        return a * rates[str(to)]

    cases = list(amounts)
    options = [members[team_of[c]] + [7, 8] for c in cases]
    best = 0.0
    for pick in itertools.product(*options):
        if pick.count(7) > 1 or pick.count(8) > 1:
            continue
        if any(
            to == 7 and bucket[c] not in ("M4", "M5") for c, to in zip(cases, pick, strict=True)
        ):
            continue
        ok = all(
            sum(1 for to in pick if to == u) <= r
            for team, todo in waiting.items()
            for u, r in zip(members[team], room(len(todo), members[team], kept), strict=True)
        )
        if ok:
            best = max(best, sum(value(c, to) for c, to in zip(cases, pick, strict=True)))
    assert sum(value(c, to) for c, to in got.items()) == pytest.approx(best)
    assert 7 in got.values()  # the late agency is worth taking here: its intake binds


@pytest.mark.slow
def test_allocate_optimize_with_agency_intake_on_the_demo(demo: Path, tmp_path: Path) -> None:
    """The demo's late cases waiting for allocation (their collectors taken off) go to
    the late team's collectors or to the demo agency, never more to the agency than its
    intake; an unknown agency and an intake without --optimize are refused."""
    import shutil

    from sqlalchemy import text

    root = tmp_path / "ws"
    shutil.copytree(demo, root)
    ws = Workspace.at(root)
    late = "('M4', 'M5', 'M6', 'M7+')"
    with ws.engine.begin() as conn:
        conn.execute(text(f"update cases set assigned_to = null where bucket in {late}"))
        waiting = conn.execute(
            text(f"select count(*) from cases where status = 'open' and bucket in {late}")
        ).scalar_one()
    assert waiting > 0
    for bad, words in (
        (["--agency-intake", "AG-DEMO=1"], "needs --optimize"),
        (["--optimize", "--agency-intake", "NOPE=1"], "no active agency 'NOPE'"),
        (["--optimize", "--agency-intake", "AG-DEMO=-1"], "CODE=N"),
    ):
        result = runner.invoke(app, ["allocate", *bad, "--as-of", AS_OF, "-w", str(root)])
        assert result.exit_code == 2 and words in result.output, result.output
    result = runner.invoke(
        app,
        ["allocate", "--optimize", "--agency-intake", "AG-DEMO=1", "--as-of", AS_OF,
         "-w", str(root)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "placed with agencies" in result.output and "0 to the pool" in result.output
    with ws.engine.connect() as conn:
        placed = conn.execute(
            text("select count(*) from placements where rule = 'allocation --optimize'")
        ).scalar_one()
        unallocated = conn.execute(
            text(
                f"select count(*) from cases c where c.status = 'open' and c.bucket in {late} "
                "and c.assigned_to is null and not exists (select 1 from placements p "
                "where p.case_id = c.id and p.status = 'active')"
            )
        ).scalar_one()
    assert placed <= 1
    assert unallocated == 0


# simulated days of the chain's log: enough for 50 rows of every action in seeds 0-1 (the
# demo's loans charged off at 180 DPD are worked off the book, not in the twin: 30 days
# gave 45 rows of email)
CHAIN_DAYS = 36


@pytest.fixture(scope="module")
def chain(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A simulated log of three seeds from the demo's twin (a fully randomised logging
    arm), split by seed: seeds 0-1 to learn on, seed 2 to evaluate on; the policy
    learnt from the first part."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = tmp_path_factory.mktemp("chain")
    paths = {name: folder / f"{name}.parquet" for name in ("log", "learn", "evaluate", "accounts")}
    result = runner.invoke(
        app,
        ["simulate", "-w", str(demo), "--days", str(CHAIN_DAYS), "--seeds", "3", "--explore", "1",
         "--log", str(paths["log"]), "--accounts", str(paths["accounts"]),
         "--out", str(folder / "readout.json")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    paths["readout"] = folder / "readout.json"
    table = pq.read_table(paths["log"])
    pq.write_table(table.filter(pc.less(table.column("seed"), 2)), paths["learn"])
    pq.write_table(table.filter(pc.equal(table.column("seed"), 2)), paths["evaluate"])
    paths["policy"] = folder / "policy"
    result = runner.invoke(
        app, ["optimize", "learn", "--log", str(paths["learn"]), "--out", str(paths["policy"])]
    )
    assert result.exit_code == 0, result.output
    return paths


@pytest.mark.slow
def test_simulated_log_learn_evaluate_assign_on_the_demo(
    chain: dict[str, Path], tmp_path: Path
) -> None:
    """simulate --log writes a log in the contract's columns with the logging arm's
    true propensities; learn, evaluate and assign run on it."""
    import pyarrow.parquet as pq

    readout = json.loads(chain["readout"].read_text())
    summary = readout["log"]
    assert summary["simulated"] is True and "simulated log" in summary["note"]
    assert summary["seeds"] == [0, 1, 2] and summary["too_rare_to_learn"] == []
    log = read_log(chain["log"])  # the contract's reader takes it
    table = pq.read_table(chain["log"]).to_pydict()
    assert len(log) == summary["rows"] > 0
    # --explore 1: every decision uniform among the actions the account can receive
    for p, phone, email, address in zip(
        table["propensity"], table["has_phone"], table["has_email"], table["has_address"],
        strict=True,
    ):  # fmt: skip
        assert p == pytest.approx(1 / (1 + 2 * phone + email + 2 * address))
    # a row's day is followed by 14 simulated days
    from datetime import date, timedelta

    start = date.fromisoformat(readout["start"])
    assert max(table["day"]) + timedelta(days=14) <= start + timedelta(days=CHAIN_DAYS)
    assert all(c == 0 for c, a in zip(table["cost"], table["action"], strict=True) if a == "none")
    assert "retail-default+explore" in readout["arms"]

    result = runner.invoke(
        app,
        ["optimize", "evaluate", "--log", str(chain["evaluate"]), "--policy",
         str(chain["policy"]), "--bootstraps", "100"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == len(read_log(chain["evaluate"])) and report["matched_rows"] > 0
    for estimate in ("ips", "snips", "dr", "logging"):
        low, high = report[estimate]["95"]
        assert low < high

    costs = tmp_path / "costs.toml"
    costs.write_text(
        "[cost]\nsms = 0.2\nemail = 0.05\ncall = 3\nletter = 2\nvisit = 30\n"
        "[capacity]\nvisit = 2\ncall = 5\n"
    )
    out = tmp_path / "actions.parquet"
    result = runner.invoke(
        app,
        ["optimize", "assign", "--policy", str(chain["policy"]), "--accounts",
         str(chain["accounts"]), "--costs", str(costs), "--budget", "40", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    actions = pq.read_table(out).to_pydict()
    assert len(actions["account_id"]) == pq.read_table(chain["accounts"]).num_rows
    assert actions["action"].count("visit") <= 2 and actions["action"].count("call") <= 5
    price = {"none": 0, "sms": 0.2, "email": 0.05, "call": 3, "letter": 2, "visit": 30}
    assert sum(price[a] for a in actions["action"]) <= 40 + 1e-9


@pytest.mark.slow
def test_a_policy_is_an_arm_beside_the_champion(chain: dict[str, Path], demo: Path) -> None:
    """simulate --policy: the learnt policy runs beside the champion and the readout
    gives its uplift over the champion with intervals over seeds."""
    result = runner.invoke(
        app,
        ["simulate", "-w", str(demo), "--days", "3", "--seeds", "2", "--policy",
         str(chain["policy"]), "--policy-budget", "50"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    readout = json.loads(result.stdout)
    name = "policy:policy"
    assert set(readout["arms"]) == {"retail-default", name}
    uplift = readout["uplift"][name]
    for key in ("net", "net_per_debtor", "cost", "contacts_per_debtor", "cured_by_end"):
        mean, low, high = uplift[key]
        assert low <= mean <= high
    assert readout["policy"]["budget_per_day"] == "50"
    # the policy decides every contact about an open case: within 50 a day, every seed
    assert readout["arms"][name]["cost_on_cases"][2] <= 3 * 50


@pytest.mark.slow
def test_the_policy_arm_keeps_budget_capacity_and_the_gate(  # type: ignore[no-untyped-def]
    chain: dict[str, Path], twin
) -> None:
    """The policy's contacts are decided under COSTS.toml's capacity and the day's
    budget, and each goes through the compliance gate: with every debtor on hold none
    is made."""
    from decimal import Decimal

    from arrears.optimize.learn import Policy
    from arrears.optimize.schema import parse_costs

    strategy = load_strategy(default_strategy_path())
    costs = parse_costs(
        "[cost]\nsms = 0.2\nemail = 0.05\ncall = 3\nletter = 2\nvisit = 30\n"
        "[capacity]\nvisit = 0\nletter = 1\n",
        Path("<test>"),
    )
    prices = {a: c for a, c in costs.cost.items()}
    arm = Arm("p", strategy, policy=Policy.load(chain["policy"]), policy_costs=costs,
              policy_budget=Decimal(20))  # fmt: skip
    days = 4
    free = run_seed(twin, [arm], days, 2, prices).arms["p"]
    assert free.by_channel["visit"] == 0
    assert free.by_channel["letter"] <= days  # one a day
    assert free.case_cost <= days * 20  # the policy's contacts (open cases), 20 a day
    again = run_seed(twin, [arm], days, 2, prices).arms["p"]
    assert again.figures() == free.figures()  # reproducible by seed
    saved = dict(twin.gate_inputs.holds)
    try:
        for customer_id in twin.customers:
            twin.gate_inputs.holds[customer_id] = [Hold("do_not_contact")]
        held = run_seed(twin, [arm], days, 2, prices).arms["p"]
    finally:
        twin.gate_inputs.holds.clear()
        twin.gate_inputs.holds.update(saved)
    assert held.contacts == 0 and held.blocked > 0

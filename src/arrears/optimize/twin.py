"""``arrears simulate``: the workspace's book run forward, a digital twin.

The book is handed over from the store (read only) into a batch book in a temporary
folder; nothing is written to the workspace. Customers are split at random (by the
seed) between the arms — the champion strategy file and each challenger's. Each day:

1. each arm's strategy proposes on the day's snapshot (the real strategy engine:
   segments, ladders, the strategy's own champion/challenger arms, steps not repeated
   within a case);
2. calls beyond the collectors' daily capacity (``collectors × calls_per_collector``,
   most urgent step first) are not made;
3. the real compliance gate decides every contact at its send moment, seeded with the
   store's holds, blacklist and recent contacts, and remembering the simulated ones (a
   blocked contact is the complaints proxy);
4. debtors respond from the response model fitted on the workspace's history
   (``arrears.optimize.response``): right-party answers and promises for calls, dispute
   holds (which the gate then enforces), payments while delinquent, instalments paid on
   time;
5. the payments settle and the batch close (``arrears.batch.close``, DuckDB) ages the
   book.

Money is counted in integer cents and reported as Decimal.
"""

from __future__ import annotations

import shutil
import tempfile
import time as clock
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from arrears.optimize.response import CHANNELS, ResponseModel, design
from arrears.optimize.workspace_log import ACTION_OF_CHANNEL
from arrears.workspace import Workspace

CENT = Decimal("0.01")
PROMISE_DAYS = 7
DEFAULT_CALLS_PER_COLLECTOR = 80


@dataclass(frozen=True)
class Arm:
    """A strategy run over the whole book. With ``explore`` > 0 each open case's action
    is, with that probability, replaced by a uniform draw among the actions the account
    can receive (a randomised logging arm; ``log`` keeps its decisions as LOG.parquet
    rows); with ``policy`` (``arrears.optimize.learn.Policy``) the policy assigns every
    open case's contact under ``policy_costs``' capacities and ``policy_budget`` a day,
    the strategy keeping what is not about an open case (pre-due reminders)."""

    name: str
    strategy: Any  # arrears.strategy.Strategy
    explore: float = 0.0
    log: bool = False
    policy: Any = None
    policy_costs: Any = None  # arrears.optimize.schema.Costs
    policy_budget: Decimal | None = None

    @property
    def decides(self) -> bool:
        return self.explore > 0 or self.policy is not None


@dataclass
class ArmTotals:
    loans: int = 0
    debtors: set[str] = field(default_factory=set)  # delinquent at some point
    collected: int = 0  # cents, paid by loans delinquent the day before
    cost: Decimal = Decimal(0)
    case_cost: Decimal = Decimal(0)  # of the contacts about a loan in arrears
    contacts: int = 0
    case_contacts: int = 0  # allowed contacts about a loan in arrears (an open case)
    blocked: int = 0
    blocked_rules: Counter[str] = field(default_factory=Counter)
    by_channel: Counter[str] = field(default_factory=Counter)  # allowed contacts
    over_capacity: int = 0
    promises: int = 0
    promises_kept: int = 0
    disputes: int = 0
    cures: int = 0
    roll_forward: int = 0
    delinquent_days: int = 0
    start_delinquent: int = 0
    end_rolled: int = 0  # delinquent at the start, in a later bucket at the end
    end_cured: int = 0  # delinquent at the start, current (or repaid) at the end

    def figures(self) -> dict[str, float]:
        debtors = max(len(self.debtors), 1)
        collected = Decimal(self.collected) * CENT
        return {
            "loans": self.loans,
            "debtors": len(self.debtors),
            "collected": float(collected),
            "cost": float(self.cost),
            "cost_on_cases": float(self.case_cost),
            "net": float(collected - self.cost),
            "net_per_debtor": float((collected - self.cost) / debtors),
            "contacts": self.contacts,
            "contacts_per_debtor": self.case_contacts / debtors,
            "blocked_by_compliance": self.blocked - self.blocked_rules.get("data.no_recipient", 0),
            "blocked_no_recipient": self.blocked_rules.get("data.no_recipient", 0),
            "over_call_capacity": self.over_capacity,
            "promises": self.promises,
            "promises_kept": self.promises_kept,
            "disputes": self.disputes,
            "cures": self.cures,
            "daily_roll_forward_rate": self.roll_forward / max(self.delinquent_days, 1),
            "start_delinquent": self.start_delinquent,
            "rolled_to_later_bucket": self.end_rolled / max(self.start_delinquent, 1),
            "cured_by_end": self.end_cured / max(self.start_delinquent, 1),
        }


@dataclass
class Twin:
    """What every seed starts from: the handed-over batch book, the store's customers,
    inputs, step history and gate inputs, the fitted response model."""

    source: Workspace
    folder: Path
    start: date
    catalog: Any
    customers: dict[str, Any]
    inputs: pa.Table  # the strategy inputs of the start day
    history: list[tuple[str, int, str, str]]
    gate_inputs: Any
    pack: Any
    model: ResponseModel
    collectors: int
    due: dict[int, list[tuple[str, int]]]  # day number -> (loan_id, cents due)
    compiled: dict[tuple[str, ...], list[Any]] = field(default_factory=dict)
    prior: Any = None  # twin_decide.Prior, loaded for the first arm that decides


def prepare(ws: Workspace, model: ResponseModel, pack_name: str | None = None) -> Twin:
    """Hand the store's book over into a temporary folder (the workspace is only read)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from arrears.batch.handover import from_store
    from arrears.batch.state import day_number
    from arrears.channels.gating import history_for, load_gate_inputs
    from arrears.compliance import load_pack
    from arrears.services.settings import load_settings
    from arrears.services.strategy_inputs import day_inputs, step_history
    from arrears.store.models import Customer, InstallmentRow
    from arrears.store.workbench_models import User

    folder = Path(tempfile.mkdtemp(prefix="arrears-simulate-"))
    try:
        if ws.products_path.exists():
            shutil.copyfile(ws.products_path, folder / "products.toml")
        copy = Workspace(folder, ws.database_url)
        book, start, _ = from_store(copy)
        pack = load_pack(pack_name or load_settings(ws.root).compliance_pack)
        with Session(ws.engine) as session:
            customers = {c.customer_id: c for c in session.scalars(select(Customer))}
            for c in customers.values():
                session.expunge(c)
            moment = datetime.combine(start + timedelta(days=1), datetime.min.time(), UTC)
            gate_inputs = load_gate_inputs(session, list(customers), moment, history_for(pack))
            collectors = session.scalar(
                select(func.count()).select_from(User).where(User.role == "collector")
            )
            due: dict[int, list[tuple[str, int]]] = {}
            for loan_id, on, principal, interest in session.execute(
                select(
                    InstallmentRow.loan_id,
                    InstallmentRow.due_date,
                    InstallmentRow.principal,
                    InstallmentRow.interest,
                ).where(InstallmentRow.due_date > start)
            ):
                due.setdefault(day_number(on), []).append(
                    (loan_id, int((principal + interest) / CENT))
                )
        inputs = day_inputs(ws, start)
        steps = step_history(ws, start + timedelta(days=1))
        history = list(
            zip(
                *(steps.column(c).to_pylist() for c in ("loan_id", "case_id", "step", "strategy")),
                strict=True,
            )
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Twin(
        ws, book.root.parent, start, copy.catalog, customers, inputs, history, gate_inputs,
        pack, model, int(collectors or 0), due,
    )  # fmt: skip


def _snapshot_of(accounts: pa.Table) -> pa.Table:
    from arrears.snapshots import snapshot_from_accounts

    return snapshot_from_accounts(accounts)


@dataclass
class SeedResult:
    seed: int
    arms: dict[str, ArmTotals]
    seconds: float
    days: int
    cpu_seconds: float = 0.0  # this process's CPU time, every thread (DuckDB's too)
    logs: dict[str, pa.Table] = field(default_factory=dict)  # simulated LOG rows per arm


class _Compiled:
    """SQL compiled once and run every day: the Ibis compile of the close or of a
    strategy costs seconds and does not depend on the book's size; the day enters the
    SQL only as literals. ``run(con, day)`` substitutes the day into the SQL compiled for
    the first day, after checking once that compiling the second day gives exactly that
    SQL (else every day is compiled and run through Ibis)."""

    def __init__(self, build: Callable[[Any], Any], words: Callable[[Any], list[str]]) -> None:
        self.build, self.words = build, words
        self.expr: Any = None  # the first day's expression (its in-memory tables)
        self.template: str | None = None
        self.checked = False

    @staticmethod
    def _sub(sql: str, words: list[str]) -> str:
        import re

        for k, w in enumerate(words):
            sql = re.sub(rf"(?<![0-9A-Za-z_-]){re.escape(w)}(?![0-9A-Za-z_-])", f"\x00{k}\x00", sql)
        return sql

    @staticmethod
    def _sql(expr: Any) -> str:
        import ibis

        return str(ibis.to_sql(expr, dialect="duckdb"))

    def run(self, con: Any, day: Any) -> pa.Table:
        import re

        if self.expr is None:
            self.expr = self.build(day)
            self.template = self._sub(self._sql(self.expr), self.words(day))
        elif not self.checked and self.template is not None:
            self.checked = True
            own = self._sub(self._sql(self.build(day)), self.words(day))
            memtable = re.compile(r"ibis_[a-z]+_memtable_[0-9a-z]+")
            if memtable.sub("M", own) != memtable.sub("M", self.template):
                self.template = None  # the day is more than a literal: compile each day
        if self.template is None:
            return con.to_pyarrow(self.build(day))
        done = con.__dict__.setdefault("_arrears_compiled", set())
        if id(self) not in done:
            con._run_pre_execute_hooks(self.expr)  # the in-memory tables the SQL names
            done.add(id(self))
        sql = self.template
        for k, w in enumerate(self.words(day)):
            sql = sql.replace(f"\x00{k}\x00", w)
        return con.raw_sql(sql).fetch_arrow_table()


def run_seed(
    twin: Twin,
    arms: Sequence[Arm],
    days: int,
    seed: int,
    costs: dict[str, Decimal],
    calls_per_collector: int = DEFAULT_CALLS_PER_COLLECTOR,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """One run of ``days`` days from the twin's start for each of ``arms``, each over the
    whole book with the same random numbers (common random numbers: a loan's draws on a
    day are the same under every arm), so arms differ by their strategy alone and a
    challenger's uplift is paired loan by loan."""
    started, cpu = clock.perf_counter(), clock.process_time()
    totals, logs = {}, {}
    for arm in arms:
        totals[arm.name], log = _run_arm(
            twin, arm, days, seed, costs, calls_per_collector, progress
        )
        if log is not None:
            logs[arm.name] = log
    return SeedResult(
        seed, totals, clock.perf_counter() - started, days, clock.process_time() - cpu, logs
    )


def _run_arm(
    twin: Twin,
    arm: Arm,
    days: int,
    seed: int,
    costs: dict[str, Decimal],
    calls_per_collector: int,
    progress: Callable[[int], None] | None,
) -> tuple[ArmTotals, pa.Table | None]:
    """The whole book under ``arm`` for ``days`` days, and the arm's simulated LOG rows
    when it keeps them. The book stays in DuckDB tables between days."""
    from arrears.optimize import twin_decide as td

    arms = [arm]
    import ibis

    from arrears.batch.close import STATIC, BatchBook
    from arrears.batch.engine import Inputs
    from arrears.batch.state import ACCOUNTS, DUES, PAYMENTS, day_number
    from arrears.channels.gating import recipient_for
    from arrears.compliance import Hold
    from arrears.services.treatments import NO_RECIPIENT, send_moment, strategy_attempt

    src = BatchBook(twin.folder / "batch")
    accounts, dues = src.read_state(twin.start)
    accounts = accounts.sort_by("loan_id")

    customer_ids = sorted(twin.customers)
    arm_of_customer = dict.fromkeys(customer_ids, 0)
    gate = twin.gate_inputs.gate(twin.pack, customer_ids)
    capacity = twin.collectors * calls_per_collector if twin.collectors else None
    totals = {a.name: ArmTotals() for a in arms}
    base_inputs = twin.inputs.drop_columns(["case_id", "promise_active", "days_to_due"])
    case_of: dict[str, int] = {
        lid: cid
        for lid, cid in zip(
            twin.inputs.column("loan_id").to_pylist(),
            twin.inputs.column("case_id").to_pylist(),
            strict=True,
        )
        if cid is not None
    }
    next_case = max([*case_of.values(), 0]) + 1
    history = list(twin.history)
    promise_until: dict[str, int] = {}  # loan -> last day number of its running promise
    due_days = _DueDays(base_inputs.column("loan_id").to_pylist(), twin.due)
    start_bucket: dict[str, int] = {}
    decided, explore_rng, recorder = None, None, None
    if arm.decides:
        if twin.prior is None:
            twin.prior = td.load_prior(twin.source, twin.start)
        decided = td.History(twin.prior)
        explore_rng = np.random.default_rng([seed, 1_000_003])  # apart from the shared draws
        recorder = td.LogRecorder(seed, arm.explore) if arm.log else None

    con = ibis.duckdb.connect()
    try:
        static = {
            name: con.read_parquet(str(src.static(name)), table_name=f"sim_{name}")
            for name in STATIC
            if name != "payments"
        }
        for name, table in (("acc", accounts), ("dues", dues)):
            _put(con, f"sim_{name}", table)
        _put(con, "sim_payments", PAYMENTS.empty_table())
        close_inputs = Inputs(
            accounts=con.table("sim_acc"),
            dues=con.table("sim_dues"),
            payments=con.table("sim_payments"),
            **static,
        )
        _put(
            con,
            "sim_inputs",
            _day_inputs(base_inputs, {}, {}, due_days, twin.start),
        )
        _put(con, "sim_history", _history_table(history))
        for a in range(len(arms)):
            _put(con, f"sim_snap_{a}", _snapshot_of(accounts).slice(0, 0))
        compiled = twin.compiled.setdefault(
            ("<close>",), _compile(con, close_inputs, twin.catalog, [])
        ) + twin.compiled.setdefault(
            (arm.name,), _compile(con, close_inputs, twin.catalog, arms)[2:]
        )
        status: dict[str, str] = {}  # loan -> what became of the decided contact today
        for offset in range(days):
            today = twin.start + timedelta(days=offset)  # closed
            send_on = today + timedelta(days=1)
            n_send = day_number(send_on)
            snap = _snapshot_of(accounts)
            loan_ids = snap.column("loan_id").to_pylist()
            cust = snap.column("customer_id").to_pylist()
            active = np.asarray(snap.column("status").to_numpy(zero_copy_only=False)) == "active"
            dpd = snap.column("dpd").to_numpy()
            bucket = snap.column("bucket_index").to_numpy()
            overdue_cents = np.asarray(
                accounts.column("overdue_principal").to_numpy()
                + accounts.column("overdue_interest").to_numpy()
                + accounts.column("penalty").to_numpy()
                + accounts.column("compound").to_numpy()
                + accounts.column("fee").to_numpy()
            )
            arm_index = np.zeros(len(cust), dtype=np.int64)
            # the day's draws, one set per loan by its place in the book (sorted by loan
            # id, the same under every arm): pay, full, partial, dispute, answer, promise,
            # on time
            draw = np.random.default_rng([seed, offset]).random((7, len(loan_ids)))
            position = {lid: i for i, lid in enumerate(loan_ids)}
            late = active & (dpd > 0)
            if offset == 0:
                for i in np.flatnonzero(late):
                    start_bucket[loan_ids[i]] = int(bucket[i])
                for a, arm in enumerate(arms):
                    totals[arm.name].loans = int((arm_index == a).sum())
                    totals[arm.name].start_delinquent = int((late & (arm_index == a)).sum())
            # cases: open while in arrears
            for i in range(len(loan_ids)):
                lid = loan_ids[i]
                if late[i]:
                    if lid not in case_of:
                        case_of[lid] = next_case
                        next_case += 1
                    totals[arms[arm_index[i]].name].debtors.add(cust[i])
                else:
                    case_of.pop(lid, None)
            inputs = _day_inputs(base_inputs, case_of, promise_until, due_days, today)
            _put(con, "sim_inputs", inputs)
            _put(con, "sim_history", _history_table(history))
            proposals: list[dict[str, Any]] = []
            for a in range(len(arms)):
                _put(con, f"sim_snap_{a}", snap.filter(pa.array(arm_index == a)))
                proposals += compiled[2 + a].run(con, today).to_pylist()
            for p in proposals:
                if p["case_id"] is not None:
                    history.append((p["loan_id"], p["case_id"], p["step"], p["strategy"]))
            status = {}
            if decided is not None:
                proposals = _decide(
                    twin, arm, compiled[3].run(con, today), proposals, accounts, late,
                    today, case_of, decided, explore_rng, recorder,
                )  # fmt: skip
            contacts = sorted(
                (p for p in proposals if p["contact_channel"] is not None),
                key=lambda p: (p["priority"], p["loan_id"]),
            )
            calls = 0
            made: dict[str, set[str]] = {}
            arm_of_loan = {loan_ids[i]: arms[arm_index[i]].name for i in range(len(loan_ids))}
            moments = [
                (send_moment(p["send_on"], p["send_at_local_hour"], p["time_zone"]), p)
                for p in contacts
            ]
            moments.sort(key=lambda m: (m[0], m[1]["priority"], m[1]["loan_id"]))
            for at, p in moments:
                arm_totals = totals[arm_of_loan[p["loan_id"]]]
                channel = p["contact_channel"]
                if channel == "call" and capacity is not None:
                    if calls >= capacity:
                        arm_totals.over_capacity += 1
                        status[p["loan_id"]] = "over_call_capacity"
                        continue
                    calls += 1
                customer = twin.customers[p["customer_id"]]
                recipient = recipient_for(customer, channel)
                if recipient is None:
                    allowed = False
                    arm_totals.blocked_rules[NO_RECIPIENT] += 1
                else:
                    verdict = gate.check(
                        strategy_attempt(
                            f"sim:{seed}:{today}:{p['loan_id']}:{p['step']}",
                            customer,
                            p["loan_id"],
                            channel,
                            at,
                        ),
                        recipient=recipient,
                    )
                    allowed = verdict.allowed
                    arm_totals.blocked_rules.update(verdict.rules)
                if not allowed:
                    arm_totals.blocked += 1
                    status[p["loan_id"]] = (
                        NO_RECIPIENT if recipient is None else ",".join(verdict.rules)
                    )
                    continue
                if decided is not None:
                    decided.contacts.setdefault(p["loan_id"], []).append(n_send)
                arm_totals.contacts += 1
                arm_totals.case_contacts += p["case_id"] is not None
                arm_totals.by_channel[channel] += 1
                price = costs.get(ACTION_OF_CHANNEL.get(p["channel"], ""), Decimal(0))
                arm_totals.cost += price
                if p["case_id"] is not None:
                    arm_totals.case_cost += price
                made.setdefault(p["loan_id"], set()).add(ACTION_OF_CHANNEL.get(channel, channel))
                k = position[p["loan_id"]]
                if draw[3, k] < twin.model.dispute_rate:
                    arm_totals.disputes += 1
                    held = gate.holds.get(customer.customer_id, ())
                    gate.holds[customer.customer_id] = (
                        *held,
                        Hold("dispute", None, p["loan_id"], "simulated dispute"),
                    )
                answered = channel == "call" and draw[4, k] < twin.model.answer_rate
                if answered and draw[5, k] < twin.model.promise_rate:
                    arm_totals.promises += 1
                    promise_until[p["loan_id"]] = n_send + PROMISE_DAYS
            # responses: payments on the send day
            idx = np.flatnonzero(late)
            contacted = {
                c: np.array([c in made.get(loan_ids[i], ()) for i in idx], bool) for c in CHANNELS
            }
            x = design(dpd[idx].astype(float), overdue_cents[idx] / 100.0, contacted)
            payers = idx[draw[0, idx] < twin.model.pay_probability(x)]
            shares = twin.model.shares(draw[1, payers], draw[2, payers])
            pays: list[tuple[str, int, int]] = []
            for i, share in zip(payers, shares, strict=True):
                cents = max(1, round(float(overdue_cents[i]) * float(share)))
                lid = loan_ids[i]
                pays.append((lid, n_send, cents))
                name = arms[arm_index[i]].name
                totals[name].collected += cents
                if promise_until.get(lid, -1) >= n_send:
                    totals[name].promises_kept += 1
                    promise_until.pop(lid)
            index_of = {lid: i for i, lid in enumerate(loan_ids)}
            for lid, cents in twin.due.get(n_send, ()):
                i = index_of.get(lid)
                if i is not None and active[i] and not late[i] and draw[6, i] < twin.model.on_time:
                    pays.append((lid, n_send, cents))
            for lid, until in list(promise_until.items()):
                if until < n_send:
                    promise_until.pop(lid)
                    if decided is not None:
                        decided.broken.setdefault(lid, []).append(n_send)
            if decided is not None:
                for lid, on, cents in pays:
                    decided.payments.setdefault(lid, []).append((on, cents))
                if recorder is not None:
                    n_today = day_number(today)
                    for lid, what in status.items():
                        recorder.outcome[(n_today, lid)] = what
            _put(
                con,
                "sim_payments",
                pa.Table.from_arrays(
                    [pa.array([r[k] for r in pays], f.type) for k, f in enumerate(PAYMENTS)],
                    schema=PAYMENTS,
                ),
            )
            accounts = _cast(compiled[0].run(con, n_send), ACCOUNTS).sort_by("loan_id")
            dues = _cast(compiled[1].run(con, n_send), DUES)
            _put(con, "sim_acc", accounts)
            _put(con, "sim_dues", dues)
            _count_day(accounts, arms, arm_of_customer, totals)
            if progress is not None:
                progress(offset + 1)
        _count_end(accounts, arms, arm_of_customer, totals, start_bucket)
    finally:
        con.disconnect()
    log = None
    if recorder is not None and decided is not None:
        log = recorder.table(decided, day_number(twin.start) + days, costs)
    return totals[arm.name], log


def _decide(
    twin: Twin,
    arm: Arm,
    assigned: pa.Table,
    proposals: list[dict[str, Any]],
    accounts: pa.Table,
    late: np.ndarray,
    today: date,
    case_of: dict[str, int],
    history: Any,
    rng: Any,
    recorder: Any,
) -> list[dict[str, Any]]:
    """The day's proposals with every open case's contact decided by ``arm``'s
    randomisation or policy (see ``arrears.optimize.twin_decide``); the decisions go to
    ``recorder`` when the arm keeps a log."""
    from arrears.batch.state import day_number
    from arrears.optimize import twin_decide as td
    from arrears.optimize.schema import ACTIONS, accounts_from_table

    index = np.flatnonzero(late)
    if not len(index):
        return proposals
    segment_of = dict(
        zip(
            assigned.column("loan_id").to_pylist(),
            assigned.column("segment").to_pylist(),
            strict=True,
        )
    )
    table = td.features(today, accounts, index, twin.customers, segment_of, history)
    open_ids = table.column("account_id").to_pylist()
    by_loan = {p["loan_id"]: p for p in proposals}
    if arm.policy is not None:
        chosen, _ = td.policy_actions(arm.policy, table, arm.policy_costs, arm.policy_budget)
        propensity = np.ones(len(chosen))
    else:
        available = accounts_from_table(table, Path("<simulated day>")).available()
        ladder = [td.strategy_action(by_loan.get(lid)) for lid in open_ids]
        chosen, propensity = td.explore(ladder, available, arm.explore, rng)
    if recorder is not None:
        recorder.add(day_number(today), table, chosen, propensity)
    decided = set(open_ids)
    out = [p for p in proposals if p["loan_id"] not in decided]
    send_on = today + timedelta(days=1)
    customer_ids = accounts.column("customer_id").take(pa.array(index)).to_pylist()
    for lid, customer_id, j in zip(open_ids, customer_ids, chosen, strict=True):
        action = ACTIONS[int(j)]
        p = by_loan.get(lid)
        ours = p is not None and td.strategy_action(p) == action
        if p is not None and (ours or p["contact_channel"] is None):
            out.append(p)  # the strategy's own step, or a referral (not a contact)
        if ours or action == "none":
            continue
        out.append(
            {
                "loan_id": lid,
                "customer_id": customer_id,
                "case_id": case_of.get(lid),
                "step": f"{arm.name}:{action}",
                "strategy": arm.strategy.name,
                "channel": action,
                "contact_channel": action,
                "priority": td.PRIORITY,
                "send_on": send_on,
                "send_at_local_hour": td.SEND_HOUR,
                "time_zone": twin.customers[customer_id].time_zone,
            }
        )
    return out


class _ByShape:
    """The close's ``_Compiled`` per ``DayShape``: days whose SQL differs by more than the
    day number (a month end, a 31st under 30/360, a leap year under ACT/ACT) get SQL of
    their own rather than the first day's."""

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self.build = build
        self.by_shape: dict[Any, _Compiled] = {}

    def run(self, con: Any, day: Any) -> pa.Table:
        from arrears.batch.engine import day_shape

        shape = day_shape(day)
        if shape not in self.by_shape:
            self.by_shape[shape] = _Compiled(self.build, lambda n: [str(n)])
        return self.by_shape[shape].run(con, day)


def _compile(
    con: Any, close_inputs: Any, catalog: Any, arms: Sequence[Arm]
) -> list[_Compiled | _ByShape]:
    """The close's accounts and dues, then each arm's proposals, over the day's tables
    (fixed names: the SQL is the same for every seed)."""
    from arrears.batch.engine import close_day
    from arrears.strategy import proposed_actions
    from arrears.strategy.actions import daily_assignments

    out: list[_Compiled | _ByShape] = [
        _ByShape(lambda n, k=k: close_day(close_inputs, n, catalog)[k]) for k in (0, 1)
    ]
    inputs, history = con.table("sim_inputs"), con.table("sim_history")
    for a, arm in enumerate(arms):
        snap = con.table(f"sim_snap_{a}")
        out.append(
            _Compiled(
                lambda d, snap=snap, arm=arm: proposed_actions(
                    snap, inputs, arm.strategy, d, history
                ),
                lambda d: [_date_sql(d + timedelta(days=1)), _date_sql(d)],
            )
        )
    for a, arm in enumerate(arms):
        if arm.decides:  # every open case's segment
            snap = con.table(f"sim_snap_{a}")
            out.append(
                _Compiled(
                    lambda d, snap=snap, arm=arm: daily_assignments(
                        snap, inputs, arm.strategy, d, history
                    ),
                    lambda d: [_date_sql(d + timedelta(days=1)), _date_sql(d)],
                )
            )
    return out


def _put(con: Any, name: str, table: pa.Table) -> None:
    """Point the view ``name`` at ``table`` (DuckDB reads the Arrow table in place)."""
    con.con.register(name, table)


def _date_sql(d: date) -> str:
    """A date literal as Ibis writes it for DuckDB."""
    return f"MAKE_DATE({d.year}, {d.month}, {d.day})"


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    return table.select(schema.names).cast(schema)


class _DueDays:
    """Each loan's days to its next instalment due, vectorised."""

    def __init__(self, loan_ids: list[str], due: dict[int, list[tuple[str, int]]]) -> None:
        index = {lid: i for i, lid in enumerate(loan_ids)}
        pairs = sorted(
            (index[lid], day) for day, rows in due.items() for lid, _ in rows if lid in index
        )
        self.n = len(loan_ids)
        self.loan = np.array([p[0] for p in pairs], np.int64)
        self.day = np.array([p[1] for p in pairs], np.int64)
        self.key = self.loan * (1 << 24) + self.day

    def days_to_due(self, today: int) -> pa.Array:
        query = np.arange(self.n, dtype=np.int64) * (1 << 24) + today
        k = np.searchsorted(self.key, query)
        ok = k < len(self.key)
        k = np.minimum(k, max(len(self.key) - 1, 0))
        ok &= (self.loan[k] == np.arange(self.n)) if len(self.key) else False
        values = np.where(ok, self.day[k] - today if len(self.key) else 0, 0)
        return pa.array(values, pa.int64(), mask=~ok)


def _count_day(
    accounts: pa.Table, arms: Sequence[Arm], arm_of: dict[str, int], totals: dict[str, ArmTotals]
) -> None:
    cust = accounts.column("customer_id").to_pylist()
    a = np.array([arm_of.get(c, 0) for c in cust])
    cured = accounts.column("cured").to_numpy(zero_copy_only=False)
    rolled = accounts.column("roll_forward").to_numpy(zero_copy_only=False)
    late = accounts.column("dpd").to_numpy() > 0
    for k, arm in enumerate(arms):
        mine = a == k
        totals[arm.name].cures += int((cured & mine).sum())
        totals[arm.name].roll_forward += int((rolled & mine).sum())
        totals[arm.name].delinquent_days += int((late & mine).sum())


def _count_end(
    accounts: pa.Table,
    arms: Sequence[Arm],
    arm_of: dict[str, int],
    totals: dict[str, ArmTotals],
    start_bucket: dict[str, int],
) -> None:
    rows = zip(
        accounts.column("loan_id").to_pylist(),
        accounts.column("customer_id").to_pylist(),
        accounts.column("dpd").to_pylist(),
        accounts.column("bucket_index").to_pylist(),
        strict=True,
    )
    for lid, cid, dpd, bucket in rows:
        if lid not in start_bucket:
            continue
        t = totals[arms[arm_of.get(cid, 0)].name]
        t.end_rolled += int(bucket > start_bucket[lid])
        t.end_cured += int(dpd == 0)


def _day_inputs(
    base: pa.Table,
    case_of: dict[str, int],
    promise_until: dict[str, int],
    due_days: _DueDays,
    today: date,
) -> pa.Table:
    from arrears.batch.state import day_number

    n = day_number(today)
    ids = base.column("loan_id").to_pylist()
    return (
        base.append_column("case_id", pa.array([case_of.get(i) for i in ids], pa.int64()))
        .append_column(
            "promise_active", pa.array([promise_until.get(i, -1) >= n for i in ids], pa.bool_())
        )
        .append_column("days_to_due", due_days.days_to_due(n))
    )


def _history_table(history: list[tuple[str, int, str, str]]) -> pa.Table:
    return pa.table(
        {
            "loan_id": pa.array([h[0] for h in history], pa.string()),
            "case_id": pa.array([h[1] for h in history], pa.int64()),
            "step": pa.array([h[2] for h in history], pa.string()),
            "strategy": pa.array([h[3] for h in history], pa.string()),
        }
    )


def interval(values: Sequence[float]) -> list[float]:
    """Mean and a 95% t-interval over seeds (one seed: the value, no interval)."""
    from arrears.strategy.stats import t_quantile

    v = np.asarray(values, float)
    if len(v) < 2:
        return [float(v.mean()), float(v.mean()), float(v.mean())]
    half = float(t_quantile(len(v) - 1)) * float(v.std(ddof=1)) / np.sqrt(len(v))
    return [float(v.mean()), float(v.mean() - half), float(v.mean() + half)]


def readout(results: Sequence[SeedResult], arms: Sequence[Arm]) -> dict[str, Any]:
    """Per arm, each figure's mean and 95% interval over seeds; each challenger's uplift
    in net collections per debtor over the champion (paired by seed)."""
    out: dict[str, Any] = {"seeds": [r.seed for r in results], "arms": {}, "uplift": {}}
    for arm in arms:
        per_seed = [r.arms[arm.name].figures() for r in results]
        out["arms"][arm.name] = {k: interval([f[k] for f in per_seed]) for k in per_seed[0]}
    champion = arms[0].name
    for arm in arms[1:]:
        diffs = {
            key: [
                r.arms[arm.name].figures()[key] - r.arms[champion].figures()[key] for r in results
            ]
            for key in ("net", "cost", "net_per_debtor", "contacts_per_debtor", "cured_by_end")
        }
        out["uplift"][arm.name] = {k: interval(v) for k, v in diffs.items()}
    return out


def cleanup(twin: Twin) -> None:
    shutil.rmtree(twin.folder, ignore_errors=True)

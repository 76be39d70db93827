"""The treatments of a closed day: strategy → compliance gate → contact decisions and
outbox, in one transaction.

After the close of day D, ``treat_day`` evaluates the workspace's strategy on D's
snapshot (segment, sticky arm, the ladder step due), turns each proposed action into a
contact attempt at the step's send hour on D+1 in the debtor's time zone, and puts
every attempt through the compliance gate with the store's holds, blacklist and the
debtor's recent allowed contacts. In ONE transaction it writes:

* every attempt, allowed or blocked (with the rule ids and reasons), to
  ``contact_attempts``;
* for each allowed one, its outbox message (SMS, email, push, letter, dialer call);
* each open case's segment, arm and step of the day to ``strategy_assignments``;
* the work a late-stage step creates (see ``_create_work``): an agency step places the
  case with an agency (``agencies.place_for_strategy``), a lawyer-letter or litigation
  step opens its legal case at that stage with the legal team's task (``legal.refer``),
  an allowed visit step plans a field visit for two collectors (``visits.plan_visit``);
  and strategy placements that have run their period are recalled. All audited, as
  the actor ``strategy``.

A day already treated is not treated again (reruns are no-ops). Nothing is sent here:
``arrears outbox dispatch`` (or the demo) sends the queue, re-checking compliance.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.dialer import CallTask
from arrears.channels.gating import recipient_for, store_gate
from arrears.channels.letters import AmountLine
from arrears.channels.outbox import OutboxBatch
from arrears.channels.queueing import enqueue_call, enqueue_letter, enqueue_message
from arrears.channels.templates import Template, TemplateError, check_renderable, get_template
from arrears.channels.validation import queue_validation_notices
from arrears.compliance import Attempt, RulePack, Verdict, load_pack
from arrears.services import audit, time_barred
from arrears.services.held_days import treated
from arrears.services.settings import Settings, load_settings, message_reference
from arrears.services.strategy_inputs import (
    day_inputs,
    recovery_rows,
    step_history,
    strategy_snapshot,
)
from arrears.services.workbench import agencies as agency_service
from arrears.services.workbench import legal as legal_service
from arrears.services.workbench import visits as visit_service
from arrears.services.workbench.access import Actor, remember_visible
from arrears.snapshots import read_snapshot
from arrears.store.contact_models import ContactAttempt, StrategyAssignment
from arrears.store.models import CaseRow, Customer, InstallmentRow, Loan
from arrears.store.rows import bulk_insert
from arrears.store.unit_of_work import UnitOfWork
from arrears.strategy import Strategy, load_strategy
from arrears.strategy.actions import actions_and_assignments
from arrears.workspace import Workspace

# The rule id of an action that has nowhere to go (no phone, email or address on file).
NO_RECIPIENT = "data.no_recipient"
FALLBACK_ZONE = "Asia/Shanghai"
VISIT_AGENTS = 2  # collectors on a field visit the strategy plans
# who the work a strategy step creates is written by (as the allocation's "admin" actor)
STRATEGY_ACTOR = Actor(0, "strategy", "admin")
LEGAL_STAGE_OF = {"lawyer_letter": "lawyer_letter", "litigation": "filing"}
_LETTER_LINES = (
    ("overdue_principal", "逾期本金", "Overdue principal"),
    ("overdue_interest", "逾期利息", "Overdue interest"),
    ("penalty", "罚息", "Penalty interest"),
    ("compound", "复利", "Compound interest"),
    ("fee", "滞纳金", "Late fees"),
)


class TreatmentError(ValueError):
    """The day cannot be treated (no snapshot, a step naming a template that does not
    exist …); nothing was written."""


@dataclass
class TreatmentReport:
    """What the treatments of one day decided."""

    as_of: date
    strategy: str
    version: int
    cases_assigned: int = 0
    proposed: int = 0
    allowed: Counter[str] = field(default_factory=Counter)  # by channel
    blocked: Counter[str] = field(default_factory=Counter)  # by rule id
    referrals: Counter[str] = field(default_factory=Counter)  # agency, litigation …
    # work created: placed, recalled, legal_case, visit
    work: Counter[str] = field(default_factory=Counter)
    # steps that created no work, by "channel: reason" (no agency, no second collector …)
    not_done: Counter[str] = field(default_factory=Counter)
    already_done: bool = False

    def add(self, other: TreatmentReport) -> None:
        """Fold ``other`` (another day) into this report."""
        self.cases_assigned += other.cases_assigned
        self.proposed += other.proposed
        self.allowed.update(other.allowed)
        self.blocked.update(other.blocked)
        self.referrals.update(other.referrals)
        self.work.update(other.work)
        self.not_done.update(other.not_done)


def treat_day(
    ws: Workspace, as_of: date, *, strategy_file: Any = None, pack: str | None = None
) -> TreatmentReport:
    """Decide and queue the contacts that follow the close of ``as_of`` (see the module
    docstring). ``pack`` overrides the workspace's compliance pack."""
    path = ws.snapshot_path(as_of)
    if not path.exists():
        raise TreatmentError(f"no snapshot of {as_of}: close the day first")
    strategy = load_strategy(strategy_file, ws.root)
    settings = load_settings(ws.root)
    rule_pack = load_pack(pack or settings.compliance_pack)
    report = TreatmentReport(as_of, strategy.name, strategy.version)
    with UnitOfWork(ws.engine) as uow:
        if treated(uow.session, as_of, strategy.name):
            report.already_done = True
            return report
        other = uow.session.scalar(
            select(StrategyAssignment.strategy).where(StrategyAssignment.as_of == as_of).limit(1)
        )
        if other is not None:  # a case is assigned once a day (its arm, segment and step)
            raise TreatmentError(
                f"{as_of} was treated under strategy {other!r}: a day is treated under one "
                f"strategy (try {strategy.name!r}'s ideas as an arm of it)"
            )
    recovery = recovery_rows(ws, as_of)
    actions, assignments = _evaluate(ws, strategy, as_of, recovery)
    report.cases_assigned = len(assignments)
    report.proposed = len(actions)
    with UnitOfWork(ws.engine) as uow:
        session = uow.session
        visits: list[dict[str, Any]] = []
        # Reg F: the validation notice goes first; until it is sent, the debt is held
        balances = partial(_balances, ws.snapshots_dir, as_of, recovery)
        queue_validation_notices(session, settings, rule_pack, as_of, balances)
        barred = time_barred.time_barred_debts(session, rule_pack, as_of)
        actions = time_barred.drop_legal_steps(actions, barred, report.not_done)
        decided = _decide(session, actions, as_of, rule_pack, report, visits)
        _queue(session, decided, balances, as_of, settings)
        time_barred.apply_to_queued(session, settings, barred, as_of, report.not_done)
        _create_work(session, actions, visits, as_of, report)
        bulk_insert(uow.connection, StrategyAssignment, assignments)
        uow.commit()
    return report


def _evaluate(
    ws: Workspace, strategy: Strategy, as_of: date, recovery: pa.Table
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The day's proposed actions and case assignments, executed on DuckDB, over the
    day's snapshot and the loans in ``recovery`` (``strategy_inputs.recovery_rows``)."""
    import ibis

    con = ibis.duckdb.connect()
    # by a name of its own, so the strategy's SQL is the same every day (and compiled once)
    snapshot = con.create_view(
        "strategy_snapshot", strategy_snapshot(con, ws, as_of, recovery), overwrite=True
    )
    inputs = con.create_table("strategy_inputs", day_inputs(ws, as_of))
    history = con.create_table("step_history", step_history(ws, as_of))
    actions, assignments = actions_and_assignments(con, snapshot, inputs, strategy, as_of, history)
    con.disconnect()
    return actions.to_pylist(), assignments.to_pylist()


@dataclass
class _Decision:
    row: ContactAttempt
    action: dict[str, Any]
    customer: Customer
    recipient: str


def attempt_key(as_of: date, strategy: str, loan_id: str, step: str) -> str:
    """The attempt id of a strategy step: one per day, strategy, loan and step, so a
    rerun of the day finds what it already decided."""
    return f"{as_of.isoformat()}:{strategy}:{loan_id}:{step}"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or FALLBACK_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(FALLBACK_ZONE)


def send_moment(send_on: date, hour: int, zone: str | None) -> datetime:
    """The UTC instant of ``hour``:00 on ``send_on`` in the debtor's ``zone`` (an unknown
    zone is placed in China's; the gate still applies the strictest window)."""
    return datetime.combine(send_on, time(hour), _zone(zone)).astimezone(UTC)


@dataclass(frozen=True)
class GatedAction:
    """A proposed contact and the gate's verdict on it, at its send moment."""

    action: dict[str, Any]
    customer: Customer
    attempt_id: str
    at: datetime
    recipient: str | None
    verdict: Verdict


def strategy_attempt(
    attempt_id: str, customer: Any, loan_id: str, channel: str, at: datetime
) -> Attempt:
    """The gate's attempt for a contact the strategy proposes (the day's treatments and
    the simulator alike): a visit is planned for two collectors (``_create_work``), the
    calls go to the dialer list and the texts out in bulk (autodialed)."""
    return Attempt(
        attempt_id=attempt_id,
        debtor_id=customer.customer_id,
        debt_id=loan_id,
        channel=channel,
        at=at,
        debtor_tz=customer.time_zone,
        agents=VISIT_AGENTS if channel == "visit" else 1,
        dialing="autodialer" if channel in ("call", "sms") else None,
    )


def gate_actions(
    session: Session, actions: list[dict[str, Any]], as_of: date, pack: RulePack
) -> list[GatedAction]:
    """Every proposed contact of ``actions`` (referrals are not contacts) through the
    store's gate — holds, blacklist, recent contacts — in the order they would be sent,
    so caps count the day's earlier allowed ones. Nothing is written: the day's
    treatments record these verdicts, ``arrears strategy preview --pack`` counts them."""
    contacts = [a for a in actions if a["contact_channel"] is not None]
    if not contacts:
        return []
    customer_ids = sorted({a["customer_id"] for a in contacts})
    customers = _customers(session, customer_ids)
    moments = {
        id(a): send_moment(a["send_on"], a["send_at_local_hour"], a["time_zone"]) for a in contacts
    }
    contacts.sort(key=lambda a: (moments[id(a)], a["priority"], a["loan_id"]))
    gate = store_gate(session, pack, customer_ids, min(moments.values()))
    gated = []
    for action in contacts:
        customer = customers[action["customer_id"]]
        channel = action["contact_channel"]
        at = moments[id(action)]
        attempt_id = attempt_key(as_of, action["strategy"], action["loan_id"], action["step"])
        recipient = recipient_for(customer, channel)
        if recipient is None:
            verdict = Verdict(
                attempt_id, False, (NO_RECIPIENT,), (f"no {channel} contact point on file",)
            )
        else:
            verdict = gate.check(
                strategy_attempt(attempt_id, customer, action["loan_id"], channel, at),
                recipient=recipient,
            )
        gated.append(GatedAction(action, customer, attempt_id, at, recipient, verdict))
    return gated


def _decide(
    session: Session,
    actions: list[dict[str, Any]],
    as_of: date,
    pack: RulePack,
    report: TreatmentReport,
    visits: list[dict[str, Any]],
) -> list[_Decision]:
    """Gate every action; write every attempt (allowed or blocked). Returns the allowed
    ones that have a message to queue; the allowed visits are added to ``visits``."""
    for action in actions:
        if action["contact_channel"] is None:
            report.referrals[action["channel"]] += 1
    gated = gate_actions(session, actions, as_of, pack)
    rows = [
        {
            "attempt_id": g.attempt_id,
            "customer_id": g.customer.customer_id,
            "loan_id": g.action["loan_id"],
            "case_id": g.action["case_id"],
            "channel": g.action["contact_channel"],
            "party": "debtor",
            "at": g.at,
            "source": "strategy",
            "strategy_step": g.action["step"],
            "template": g.action["template"],
            "allowed": g.verdict.allowed,
            "blocked_rules": json.dumps(list(g.verdict.rules)),
            "reason": "; ".join(g.verdict.reasons),
        }
        for g in gated
    ]
    # one bulk insert, in the gate's order (so the same ids as row by row)
    ids = _insert_attempts(session, rows)
    decided: list[_Decision] = []
    for g, row, row_id in zip(gated, rows, ids, strict=True):
        channel = row["channel"]
        if g.verdict.allowed:
            report.allowed[channel] += 1
            if channel != "visit":
                attempt = ContactAttempt(id=row_id, **row)  # as stored; not in the session
                decided.append(_Decision(attempt, g.action, g.customer, g.recipient or ""))
            else:
                visits.append(g.action)
        else:
            report.blocked.update(g.verdict.rules)
    return decided


def _insert_attempts(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the contact attempts ``rows`` in one executemany; their ids, in order."""
    if not rows:
        return []
    query = insert(ContactAttempt).returning(ContactAttempt.id, sort_by_parameter_order=True)
    return list(session.scalars(query, rows))


def _create_work(
    session: Session,
    actions: list[dict[str, Any]],
    visits: list[dict[str, Any]],
    as_of: date,
    report: TreatmentReport,
) -> None:
    """The work the day's late-stage steps create, from the day they go out (D+1):
    strategy placements past their period recalled first; then each agency step places
    its case, each lawyer-letter or litigation step opens its legal case at that stage,
    each visit the gate allowed is planned for two collectors. A step that cannot create
    its work is counted in ``report.not_done`` with the reason (and audited) instead.
    Each creation also checks what the case has (placed already, at that legal stage
    already, a visit of this step open), so nothing is created twice."""
    on = as_of + timedelta(days=1)
    actor = STRATEGY_ACTOR
    recalled = agency_service.recall_expired(session, actor, on=on)
    if recalled:
        report.work["recalled"] += recalled
    placer: agency_service.StrategyPlacer | None = None
    # what each creation checks, read for all the day's cases at once
    cases = [a["case_id"] for a in actions if a["case_id"] is not None]
    remember_visible(session, actor, cases)
    placed = agency_service.active_placements(session, cases)
    stages = legal_service.current_stages(session, cases)
    for action in sorted(actions, key=lambda a: a["case_id"] or 0):
        channel, case_id = action["channel"], action["case_id"]
        if case_id is None:
            continue
        if channel == "agency":
            placer = placer or agency_service.StrategyPlacer(session)
            placement, why = agency_service.place_for_strategy(
                session, actor, placer, case_id, on=on, step=action["step"], placed=placed
            )
            if placement is not None:
                report.work["placed"] += 1
            else:
                report.not_done[f"agency: {why}"] += 1
        elif channel in LEGAL_STAGE_OF:
            legal, why = legal_service.refer(
                session,
                actor,
                case_id,
                LEGAL_STAGE_OF[channel],
                on,
                step=action["step"],
                stages=stages,
            )
            if legal is not None:
                report.work["legal_case"] += 1
            else:
                report.not_done[f"{channel}: {why}"] += 1
    teams = _visit_teams(session, [a["case_id"] for a in visits if a["case_id"] is not None])
    for action in sorted(visits, key=lambda a: a["case_id"] or 0):
        case_id = action["case_id"]
        if case_id is None:
            continue
        visitors, why = teams[case_id]
        if len(visitors) < VISIT_AGENTS:
            report.not_done[f"visit: {why}"] += 1
            audit.append(
                session,
                actor.username,
                "visit.not_planned",
                "case",
                case_id,
                {"step": action["step"], "reason": why},
            )
            continue
        mark = f"(strategy step {action['step']} of {as_of.isoformat()})"
        if any(mark in v.notes for v in visit_service.visits(session, actor, case_id=case_id)):
            continue
        visit_service.plan_visit(
            session, actor, case_id, action["send_on"], visitors, on=on, notes=mark
        )
        report.work["visit"] += 1


def _visit_teams(session: Session, case_ids: list[int]) -> dict[int, tuple[list[str], str]]:
    """Per case, the collectors of a strategy's visit: its own collector and the
    active collector of their team with the fewest open visits (then by name), or the
    reason there are not two. Three queries, whatever the number of cases."""
    from arrears.store.workbench_models import FieldVisit, User

    if not case_ids:
        return {}
    assigned: dict[int, str | None] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        assigned.update(
            session.execute(
                select(CaseRow.id, CaseRow.assigned_to).where(
                    CaseRow.id.in_(chunk), CaseRow.status == "open"
                )
            ).all()
        )
    collectors = session.execute(
        select(User.username, User.team_id).where(User.role == "collector", User.active)
    ).all()
    team_of = {name: team for name, team in collectors}
    load = dict(
        session.execute(
            select(FieldVisit.assigned_to, func.count())
            .where(FieldVisit.status == "open")
            .group_by(FieldVisit.assigned_to)
        ).all()
    )
    out: dict[int, tuple[list[str], str]] = {}
    for case_id in case_ids:
        owner = assigned.get(case_id)
        if owner is None or owner not in team_of:
            out[case_id] = ([], "the case is closed or has no active collector")
            continue
        mates = sorted(
            (load.get(name, 0), name)
            for name, team in team_of.items()
            if name != owner and team is not None and team == team_of[owner]
        )
        if not mates:
            out[case_id] = ([owner], f"no second collector in {owner}'s team")
            continue
        second = mates[0][1]
        load[owner] = load.get(owner, 0) + 1
        load[second] = load.get(second, 0) + 1
        out[case_id] = ([owner, second], "")
    return out


def _customers(session: Session, ids: list[str]) -> dict[str, Customer]:
    found: dict[str, Customer] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            (c.customer_id, c)
            for c in session.scalars(select(Customer).where(Customer.customer_id.in_(chunk)))
        )
    return found


def _queue(
    session: Session,
    decided: list[_Decision],
    balances_of: Callable[[list[str]], dict[str, dict[str, Decimal]]],
    as_of: date,
    settings: Settings,
) -> None:
    """The outbox message of every allowed decision, in this transaction."""
    if not decided:
        return
    loan_ids = sorted({d.action["loan_id"] for d in decided})
    balances = balances_of(loan_ids)
    loans = _loans(session, loan_ids)
    # A pre-due or due-day step speaks of the instalment due -offset days after the day
    # it is sent on: that instalment's own date and amount, never the next one's.
    instalments = _installments_due(
        session,
        {d.action["loan_id"]: speaks_of(d.action) for d in decided if d.action["offset"] <= 0},
    )
    templates: dict[tuple[str, str], Template] = {}
    batch = OutboxBatch(session)
    for d in decided:
        action, customer = d.action, d.customer
        language = customer.language if customer.language in ("zh_CN", "en") else "zh_CN"
        loan_id = action["loan_id"]
        reference = message_reference(as_of, loan_id)
        currency, product = loans[loan_id]
        lender = settings.lender_for(product)
        due_date, amount = due_and_amount(action, as_of, instalments, balances[loan_id])
        channel = d.row.channel
        # A call's message is its script (话术); every other step names its template.
        name = (action["script"] or action["template"]) if channel == "call" else action["template"]
        try:
            key = (name, language)
            if key not in templates:  # one look-up per template of the day, not per message
                templates[key] = get_template(session, name, language)
                # A disabled template or one the sandbox refuses stops the day here, named,
                # as a missing one does (a call script is not rendered now, but it would
                # be on the case page).
                check_renderable(templates[key])
            template = templates[key]
        except TemplateError as exc:
            raise TreatmentError(
                f"strategy {action['strategy']} step {action['step']}: {exc}"
            ) from None
        if channel == "letter":
            # Signed by the lender; a lawyer-letter step's letter comes from the law firm
            # on the lender's behalf. (The template's name is never a signature.)
            letter = lender.letter(
                language,
                template=template.name,
                reference=reference,
                letter_date=action["send_on"],
                addressee_name=customer.name,
                addressee_address=tuple(customer.address.splitlines() or [customer.address]),
                loan_id=loan_id,
                currency=currency,
                amounts=_amount_lines(balances[loan_id], language),
                due_date=due_date,
                from_law_firm=action["channel"] == "lawyer_letter",
            )
            enqueue_letter(batch, d.row, letter, d.recipient)
        elif channel == "call":
            task = CallTask(
                customer_name=customer.name,
                account=loan_id,
                amount_due=amount,
                currency=currency,
                script=template.name,
                priority=action["priority"],
                time_zone=customer.time_zone,
            )
            enqueue_call(batch, d.row, task, d.recipient, language)
        else:
            merge = lender.merge_fields(
                language,
                customer_name=customer.name,
                loan_id=loan_id,
                amount_due=amount,
                currency=currency,
                due_date=due_date,
                reference=reference,
            )
            enqueue_message(batch, d.row, template, merge, d.recipient)
    batch.flush()


def _amount_lines(balance: Mapping[str, Decimal], language: str) -> tuple[AmountLine, ...]:
    zh = language == "zh_CN"
    return tuple(
        AmountLine(label_zh if zh else label_en, balance[column])
        for column, label_zh, label_en in _LETTER_LINES
        if balance[column]
    )


def _balances(
    snapshots: Path, as_of: date, recovery: pa.Table, loan_ids: list[str]
) -> dict[str, dict[str, Decimal]]:
    """The overdue components of ``loan_ids`` in the snapshot of ``as_of`` (Decimal,
    exact); a loan in ``recovery``'s, its row there (its shadow balances)."""
    import pyarrow.compute as pc

    columns = ["loan_id", *(c for c, _, _ in _LETTER_LINES), "overdue_amount"]
    wanted = pa.array(loan_ids, pa.string())
    table = read_snapshot(snapshots, as_of, columns)
    table = table.filter(pc.is_in(table["loan_id"], wanted))
    working = recovery.select(columns).filter(pc.is_in(recovery["loan_id"], wanted))
    out: dict[str, dict[str, Decimal]] = {}
    for row in [*table.to_pylist(), *working.to_pylist()]:  # recovery rows win
        values = {c: row[c] for c, _, _ in _LETTER_LINES}
        values["total"] = row["overdue_amount"]
        out[row.pop("loan_id")] = values
    return out


def _loans(session: Session, loan_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Each loan's (currency, product code)."""
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(loan_ids), 500):
        chunk = loan_ids[start : start + 500]
        rows = session.execute(
            select(Loan.loan_id, Loan.currency, Loan.product_code).where(Loan.loan_id.in_(chunk))
        )
        found.update((loan_id, (currency, product)) for loan_id, currency, product in rows)
    return found


def speaks_of(action: Mapping[str, Any]) -> date:
    """The due date of the instalment a pre-due or due-day step (``offset <= 0``) speaks
    of: the step is sent on ``send_on``, ``-offset`` days before that date (the ladder
    fires it the day before, see ``arrears.strategy.ladder``)."""
    send_on: date = action["send_on"]
    return send_on + timedelta(days=-int(action["offset"]))


def due_and_amount(
    action: Mapping[str, Any],
    as_of: date,
    instalments: Mapping[str, tuple[date, Decimal]],
    balance: Mapping[str, Decimal],
) -> tuple[date, Decimal]:
    """The due date and amount a message names: before and on the due day, its own
    instalment's (principal + interest); once overdue, the oldest unpaid instalment's
    due date (``as_of`` less the DPD) and the whole amount overdue."""
    if action["offset"] > 0:
        return as_of - timedelta(days=action["dpd"]), balance["total"]
    found = instalments.get(action["loan_id"])
    if found is None or found[0] != speaks_of(action):
        raise TreatmentError(
            f"strategy {action['strategy']} step {action['step']}: loan {action['loan_id']} "
            f"has no instalment due on {speaks_of(action)}"
        )
    return found


def _installments_due(
    session: Session, wanted: Mapping[str, date]
) -> dict[str, tuple[date, Decimal]]:
    """The instalment of each loan of ``wanted`` due on the date given for it:
    (due date, principal + interest)."""
    found: dict[str, tuple[date, Decimal]] = {}
    loan_ids = sorted(wanted)
    for start in range(0, len(loan_ids), 500):
        chunk = loan_ids[start : start + 500]
        rows = session.execute(
            select(
                InstallmentRow.loan_id,
                InstallmentRow.due_date,
                InstallmentRow.principal,
                InstallmentRow.interest,
            ).where(
                InstallmentRow.loan_id.in_(chunk),
                InstallmentRow.due_date.in_(sorted({wanted[i] for i in chunk})),
            )
        )
        for loan_id, due, principal, interest in rows:
            if due == wanted[loan_id]:
                found[loan_id] = (due, principal + interest)
    return found

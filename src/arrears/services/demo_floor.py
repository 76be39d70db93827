"""The demo's collections floor: three teams of collectors, the allocation of cases to
them replayed at each month end of the report's year and on each treated day, and the
collectors' calls and promises on the treated days.

Everything is written through the workbench services a real floor uses: users and
teams through ``users``, allocation through ``allocation`` (rules in the demo's
``arrears.toml``), calls through ``contacts.log_contact`` (so the compliance gate
checks each call at its hour in the debtor's zone, against the day's caps) and promises
through ``promises.create_promise``; the close settles the promises against the book's
payments. Only the debtors' answers are simulated, seeded by case and day: a call
reaches the debtor more often in early buckets, and a debtor reached is asked for the
amount that takes the loan back one bucket (the amount overdue over the instalments
missed) within 1 to 5 days. The simulated debtor knows their own intent: one whose
payments in the book reach that amount by then promises with chance 0.8, any other with
chance 0.1 (a false promise). Whether a promise is kept is not simulated: the book's
payments decide it when the close settles it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from arrears.files import write_atomically
from arrears.services.workbench.access import Actor
from arrears.services.workbench.allocation import CaseState, snapshot_states
from arrears.workspace import Workspace

# team, the buckets it works, its collectors (username, display name)
TEAMS: tuple[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], ...] = (
    (
        "早期组 M1",
        ("M1",),
        (("wang.fang", "王芳"), ("li.na", "李娜"), ("zhang.wei", "张伟"), ("liu.yang", "刘洋")),
    ),
    (
        "中期组 M2-M3",
        ("M2", "M3"),
        (("chen.jing", "陈静"), ("yang.lei", "杨磊"), ("zhao.min", "赵敏")),
    ),
    ("后期组 M4+", ("M4", "M5", "M6", "M7+"), (("huang.qiang", "黄强"), ("zhou.jie", "周杰"))),
)
# the floor's other staff: username, display name, role, approval limit (relief a user
# may approve on an arrangement); team leads are "<team's first collector>.lead"
TEAM_LEAD_LIMIT = Decimal("5000.00")
OTHER_STAFF: tuple[tuple[str, str, str, Decimal], ...] = (
    ("sun.li", "孙丽（催收经理）", "manager", Decimal("50000.00")),
    # there is no legal role: the legal team's user is a manager of the 法务组 team (it
    # records litigation stages and sees every case)
    ("legal.wu", "吴律（法务）", "manager", Decimal("0.00")),
)
LEGAL_TEAM = "法务组 Legal"
TEAM_LEADS = {"早期组 M1": "lead.m1", "中期组 M2-M3": "lead.m2m3", "后期组 M4+": "lead.m4"}
# the demo's collection agency (委外机构), its user and its commission rates by bucket
AGENCY = ("AG-DEMO", "示例委外催收有限公司")
AGENCY_USER = ("agency.demo", "示例委外（坐席）")
AGENCY_RATES = (("M4", "0.15"), ("M5", "0.18"), ("M6", "0.20"), ("M7+", "0.25"))
CALLS_PER_COLLECTOR = 25  # per working day
# chance that a call reaches the debtor, by team (early buckets answer more often)
RPC_CHANCE = {"早期组 M1": 0.40, "中期组 M2-M3": 0.30, "后期组 M4+": 0.20}
NO_CONTACT = (("NA", 60), ("BUSY", 12), ("VM", 12), ("OFF", 10), ("WN", 6))
# a debtor reached who does not promise
NO_PROMISE = (("CALLBACK", 30), ("REFUSE", 25), ("HARDSHIP", 20), ("PAID", 15), ("DISPUTE", 10))
PROMISE_CHANCE = {True: 0.8, False: 0.1}  # by whether the book shows them paying
# the share of its opening overdue a team is to collect over the report's period (the
# report's collection rate, 催回率): most early arrears cure, few late ones are
# recovered, so one amount for all would rank the late-bucket collectors first for
# their larger balances (kpi.toml, written by the demo)
COLLECTION_TARGET = {"早期组 M1": Decimal("0.90"), "中期组 M2-M3": Decimal("0.60"),
                     "后期组 M4+": Decimal("0.20")}  # fmt: skip


@dataclass
class FloorDay:
    """The floor's work on one day."""

    day: date
    calls: int = 0
    blocked: int = 0
    right_party: int = 0
    promises: int = 0
    called: set[int] = field(default_factory=set)


def staff(ws: Workspace) -> str:
    """Write the allocation rules into the workspace's ``arrears.toml`` and create the
    teams, the collectors, a team lead per team, a manager, a legal user, the demo's
    agency (with bucket commission rates) and its user, an ``admin``, and the standard
    disposition codes, in the workspace's store (already initialised). Every password
    is random; returns the admin's, to print once (the others are reset with ``arrears
    users reset-password``)."""
    from arrears.services.settings import SETTINGS_FILE, lender_settings_text, load_settings
    from arrears.services.workbench.agencies import set_commission_rates
    from arrears.services.workbench.seed import seed_dispositions
    from arrears.services.workbench.users import (
        create_agency,
        create_team,
        create_user,
        new_password,
    )
    from arrears.store.unit_of_work import UnitOfWork

    pack = load_settings(ws.root).compliance_pack  # as the demo was asked to run
    lines = [lender_settings_text()]  # the demo's (fictional) lender, law firm and account
    lines += ["[compliance]", f"pack = {_toml(pack)}", ""]
    lines += ["# written by `arrears demo`: which team works which buckets", "[allocation.teams]"]
    lines += [f"{_toml(team)} = [{', '.join(map(_toml, b))}]" for team, b, _ in TEAMS]
    write_atomically(ws.root / SETTINGS_FILE, "\n".join(lines) + "\n")
    admin_password = new_password("admin")
    with UnitOfWork(ws.engine) as uow:
        session = uow.session
        seed_dispositions(session)
        for team, _, members in TEAMS:
            team_id = create_team(session, team, "demo").id
            for username, name in members:
                create_user(
                    session,
                    username,
                    new_password(username),
                    "collector",
                    display_name=name,
                    team_id=team_id,
                    actor="demo",
                )
            lead = TEAM_LEADS[team]
            create_user(
                session,
                lead,
                new_password(lead),
                "team_lead",
                display_name=f"{team} 组长",
                team_id=team_id,
                approval_limit=TEAM_LEAD_LIMIT,
                actor="demo",
            )
        legal_team = create_team(session, LEGAL_TEAM, "demo").id
        for username, name, role, limit in OTHER_STAFF:
            create_user(
                session,
                username,
                new_password(username),
                role,
                display_name=name,
                team_id=legal_team if username.startswith("legal.") else None,
                approval_limit=limit,
                actor="demo",
            )
        code, name = AGENCY
        agency = create_agency(session, code, name, actor="demo")
        username, display = AGENCY_USER
        create_user(
            session,
            username,
            new_password(username),
            "agency",
            display_name=display,
            agency_id=agency.id,
            actor="demo",
        )
        admin = create_user(
            session,
            "admin",
            admin_password,
            "admin",
            display_name="Administrator",
            actor="demo",
        )
        set_commission_rates(
            session,
            Actor.of(admin),
            agency.id,
            [{"bucket": bucket, "rate": rate} for bucket, rate in AGENCY_RATES],
        )
        uow.commit()
    return admin_password


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def work_day(
    ws: Workspace, day: date, seed: int = 0, skip: frozenset[int] = frozenset()
) -> FloorDay:
    """Each collector calls up to ``CALLS_PER_COLLECTOR`` of their open cases on
    ``day`` (no promise pending, not in ``skip`` (the cases called the day before),
    largest amount overdue first),
    from 09:30 in the debtor's zone, one call every 7 minutes; answers as in the module
    docstring. One transaction per collector."""
    from arrears.services.settings import load_settings
    from arrears.services.workbench.contacts import CALLBACK_CODES, log_contact
    from arrears.services.workbench.promises import create_promise
    from arrears.store.models import CaseRow, Customer
    from arrears.store.unit_of_work import UnitOfWork
    from arrears.store.workbench_models import Promise, Team, User

    snapshot = ws.snapshot_path(day)
    states = snapshot_states(ws.snapshots_dir, day) if snapshot.exists() else {}
    paid = _payments(ws, day, day + timedelta(days=5))
    pack_name = load_settings(ws.root).compliance_pack
    result = FloorDay(day)
    with UnitOfWork(ws.engine) as uow:
        staff_rows = uow.session.execute(
            select(User, Team.name)
            .join(Team, Team.id == User.team_id)
            .where(User.role == "collector", User.active)
            .order_by(User.username)
        ).all()
        actors = [(Actor.of(user), team) for user, team in staff_rows]
    for actor, team in actors:
        with UnitOfWork(ws.engine) as uow:
            session = uow.session
            pending = select(Promise.case_id).where(Promise.status == "pending")
            cases = session.execute(
                select(CaseRow.id, CaseRow.loan_id, Customer.time_zone)
                .join(Customer, Customer.customer_id == CaseRow.customer_id)
                .where(
                    CaseRow.assigned_to == actor.username,
                    # open on the day (the demo closed every day first, so a case that
                    # cured later in the window is closed now)
                    CaseRow.opened_on <= day,
                    or_(CaseRow.closed_on.is_(None), CaseRow.closed_on > day),
                    CaseRow.id.not_in(pending),
                )
                .order_by(CaseRow.amount_overdue.desc(), CaseRow.id)
            ).all()
            todo = [c for c in cases if c.id not in skip][:CALLS_PER_COLLECTOR]
            for i, (case_id, loan_id, zone) in enumerate(todo):
                rng = random.Random(f"{seed}/{case_id}/{day.isoformat()}")
                ask = _one_bucket(states.get(loan_id))
                due = day + timedelta(days=rng.randint(1, 5))
                if rng.random() >= RPC_CHANCE.get(team, 0.3):
                    code = _pick(rng, NO_CONTACT)
                else:
                    pays = sum(a for on, a in paid.get(loan_id, []) if on <= due) >= ask
                    promises = ask > 0 and rng.random() < PROMISE_CHANCE[pays]
                    code = "PTP" if promises else _pick(rng, NO_PROMISE)
                local = datetime.combine(day, time(9, 30), ZoneInfo(zone))
                # a debtor who asks for a callback names a time: the next day, 10:00–17:00
                back = local + timedelta(days=1, hours=rng.randint(1, 7), minutes=-30)
                logged = log_contact(
                    session,
                    actor,
                    case_id,
                    "call",
                    code,
                    at=local + timedelta(minutes=7 * i),
                    callback_at=back if code in CALLBACK_CODES else None,
                    pack_name=pack_name,
                )
                result.calls += 1
                result.called.add(case_id)
                if not logged.allowed:
                    result.blocked += 1  # recorded with its rules, like any blocked contact
                    continue
                if code in _NO_CONTACT_CODES:
                    continue
                result.right_party += 1
                if code == "PTP":
                    create_promise(
                        session,
                        actor,
                        case_id,
                        ask,
                        due,
                        on=day,
                        contact_attempt_id=logged.attempt.id,
                    )
                    result.promises += 1
            uow.commit()
    return result


_NO_CONTACT_CODES = frozenset(code for code, _ in NO_CONTACT)


def _pick(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in table], [w for _, w in table])[0]


def _one_bucket(state: CaseState | None) -> Decimal:
    """The amount that takes a loan back one bucket: its amount overdue over the
    instalments missed (the bucket's number, M1 = 1 … M7+ = 7), in cents."""
    if state is None or state.amount_overdue <= 0:
        return Decimal(0)
    missed = int(state.bucket.lstrip("M").rstrip("+") or 1)
    return (state.amount_overdue / max(missed, 1)).quantize(Decimal("0.01"))


def _payments(ws: Workspace, first: date, last: date) -> dict[str, list[tuple[date, Decimal]]]:
    """Each loan's payments dated ``first`` … ``last``."""
    from arrears.store.models import PaymentRow
    from arrears.store.unit_of_work import UnitOfWork

    out: dict[str, list[tuple[date, Decimal]]] = {}
    with UnitOfWork(ws.engine, read_only=True) as uow:
        for loan_id, on, amount in uow.session.execute(
            select(PaymentRow.loan_id, PaymentRow.paid_on, PaymentRow.amount).where(
                PaymentRow.paid_on >= first, PaymentRow.paid_on <= last
            )
        ):
            out.setdefault(loan_id, []).append((on, amount))
    return out


def write_kpi_targets(ws: Workspace, opening: date, days: int) -> dict[str, Decimal]:
    """Write the workspace's ``kpi.toml`` with a target per team: each collector is to
    collect their team's ``COLLECTION_TARGET`` share of the amount overdue in the
    team's buckets on the report's ``opening`` day (what the report's "collected"
    counts against), shared among the team's collectors, and to make the
    ``CALLS_PER_COLLECTOR`` calls of each of the ``days`` the floor works. Returns
    team -> collected target."""
    from arrears.analytics.model import KPI_FILE

    stock = {team: Decimal(0) for team, _, _ in TEAMS}
    path = ws.snapshot_path(opening)
    for state in snapshot_states(ws.snapshots_dir, opening).values() if path.exists() else ():
        for team, buckets, _ in TEAMS:
            if state.bucket in buckets:
                stock[team] += state.amount_overdue
    targets = {
        team: (stock[team] * COLLECTION_TARGET[team] / len(members)).quantize(Decimal("0.01"))
        for team, _, members in TEAMS
    }
    lines = [
        "# written by `arrears demo`: each team's collectors are to collect a share of",
        f"# the amount overdue in the team's buckets on {opening} (early 90%, mid 60%,",
        "# late 20%), divided among them, and to make the floor's calls",
    ]
    for team, _, _ in TEAMS:
        lines += ["", f"[targets.teams.{_toml(team)}]", f"collected = {targets[team]}"]
        lines.append(f"contacts = {CALLS_PER_COLLECTOR * max(days, 1)}")
    write_atomically(ws.root / KPI_FILE, "\n".join(lines) + "\n")
    return targets


@dataclass(frozen=True)
class CreatedWork:
    """The work on the floor after the demo: what the strategy's late-stage steps
    created (placements, legal cases by stage, field visits) and what the collectors
    left for the next days (callbacks, pending promises)."""

    placements: int
    agencies: int
    legal: dict[str, int]
    visits: int
    visits_two: int  # of them, planned for two collectors or more
    callbacks: int
    callbacks_ahead: int
    promises_pending: int

    def figures(self) -> dict[str, str]:
        """The counts as the demo prints them (thousands separated)."""
        return {
            "placements": f"{self.placements:,}",
            "agencies": f"{self.agencies:,}",
            "letters": f"{self.legal.get('lawyer_letter', 0):,}",
            "filings": f"{self.legal.get('filing', 0):,}",
            "visits": f"{self.visits:,}",
            "two": f"{self.visits_two:,}",
            "callbacks": f"{self.callbacks:,}",
            "ahead": f"{self.callbacks_ahead:,}",
            "promises": f"{self.promises_pending:,}",
        }


def created_work(ws: Workspace, now: datetime | None = None) -> CreatedWork:
    """Count the floor's work in the store: active placements (and with how many
    agencies), open cases by their latest legal stage, open field visits (and those
    planned for two collectors or more), callbacks booked on cases still open (and
    those after ``now``), pending promises."""
    from sqlalchemy import func

    from arrears.services.clock import utc_now
    from arrears.services.workbench.legal import latest_actions
    from arrears.services.workbench.visits import visitors_of
    from arrears.store.models import CaseRow
    from arrears.store.unit_of_work import UnitOfWork
    from arrears.store.workbench_models import (
        ContactLog,
        FieldVisit,
        LegalAction,
        Placement,
        Promise,
    )

    with UnitOfWork(ws.engine, read_only=True) as uow:
        session = uow.session
        active = select(Placement).where(Placement.status == "active").subquery()
        placements, agencies = session.execute(
            select(func.count(), func.count(func.distinct(active.c.agency_id)))
        ).one()
        latest = latest_actions()
        legal = dict(
            session.execute(
                select(LegalAction.stage, func.count())
                .join(latest, latest.c.last == LegalAction.id)
                .join(CaseRow, CaseRow.id == LegalAction.case_id)
                .where(CaseRow.status == "open")
                .group_by(LegalAction.stage)
            ).all()
        )
        visits = list(session.scalars(select(FieldVisit).where(FieldVisit.status == "open")))
        booked = (
            select(ContactLog.callback_at)
            .join(CaseRow, CaseRow.id == ContactLog.case_id)
            .where(ContactLog.callback_at.is_not(None), CaseRow.status == "open")
            .subquery()
        )
        callbacks, ahead = session.execute(
            select(func.count(), func.count().filter(booked.c.callback_at > (now or utc_now())))
        ).one()
        pending = session.scalar(
            select(func.count()).select_from(Promise).where(Promise.status == "pending")
        )
    return CreatedWork(
        placements=placements,
        agencies=agencies,
        legal={str(k): int(v) for k, v in legal.items()},
        visits=len(visits),
        visits_two=sum(1 for v in visits if len(set(visitors_of(v))) >= 2),
        callbacks=callbacks,
        callbacks_ahead=ahead,
        promises_pending=int(pending or 0),
    )


# The demo's loan agreement (fictional) asks for the borrower's consent to calls and
# texts, autodialled included, at the mobile number given, as US lenders' agreements do.
DEMO_CONSENT_CLAUSE = (
    "By giving your mobile number you agree that we and our collectors may call and text"
    " you at that number about this loan, including by autodialer, prerecorded or"
    " artificial voice. You may revoke this at any time by any reasonable means,"
    " e.g. reply STOP."
)


def record_demo_consents(ws: Workspace, pack_name: str) -> int:
    """Under a pack that asks for prior consent to autodialled calls and texts (us-regf,
    us-ma: TCPA), record the consent the demo's loan agreements give at origination for
    each borrower's mobile (``DEMO_CONSENT_CLAUSE``); other packs: nothing. Returns the
    number of borrowers recorded."""
    from arrears.compliance import load_pack
    from arrears.compliance.consent import record_origination_consents
    from arrears.compliance.rules import PriorConsent
    from arrears.store.unit_of_work import UnitOfWork

    if not any(isinstance(r, PriorConsent) for r in load_pack(pack_name).rules):
        return 0
    with UnitOfWork(ws.engine) as uow:
        count = record_origination_consents(uow.session, DEMO_CONSENT_CLAUSE, "demo")
        uow.commit()
    return count

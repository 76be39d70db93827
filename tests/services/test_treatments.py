"""Treatments of a closed day: strategy → compliance gate → contact attempts, outbox and
assignments in one transaction; reruns are no-ops; holds and hours block with the rule;
the demo's play-out sends at the chosen hour and re-checks at send time."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from arrears.channels.templates import default_templates
from arrears.services.daily import end_of_day, play_out
from arrears.services.treatments import TreatmentError, _insert_attempts, send_moment, treat_day
from arrears.services.workbench.case_view import strategy_view
from arrears.store.contact_models import (
    ContactAttempt,
    Hold,
    MessageTemplate,
    OutboxMessage,
    StrategyAssignment,
)
from arrears.store.models import CaseRow, Customer
from arrears.store.unit_of_work import UnitOfWork
from arrears.strategy import default_strategy_path
from arrears.workspace import Workspace
from book_support import closed_book as generated_book
from book_support import private_copy

AS_OF = date(2026, 6, 30)
DAYS = [AS_OF - timedelta(days=2), AS_OF - timedelta(days=1), AS_OF]


@pytest.fixture(scope="module")
def closed_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace of 1,200 loans closed through AS_OF (3 days of snapshots), untreated."""
    return generated_book(tmp_path_factory.mktemp("treat") / "ws", 1200, AS_OF, 3)


@pytest.fixture
def ws(closed_book: Path, tmp_path: Path) -> Workspace:
    return private_copy(closed_book, tmp_path)


def _count(ws: Workspace, model: type, *where: object) -> int:
    with UnitOfWork(ws.engine) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_every_action_is_one_attempt_and_every_allowed_contact_one_message(ws: Workspace):
    report = treat_day(ws, DAYS[0])
    assert report.proposed > 50  # the book is big enough for the test to mean something
    contacts = report.proposed - sum(report.referrals.values())
    assert _count(ws, ContactAttempt) == contacts
    allowed = sum(report.allowed.values())
    assert _count(ws, ContactAttempt, ContactAttempt.allowed.is_(True)) == allowed
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        messages = s.execute(
            select(OutboxMessage.channel, ContactAttempt.allowed, ContactAttempt.channel).join(
                ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id
            )
        ).all()
        blocked = s.scalars(select(ContactAttempt).where(ContactAttempt.allowed.is_(False))).all()
    # one message per allowed contact (field visits are tasks, not messages)
    assert len(messages) == allowed - report.allowed["visit"]
    assert all(ok and channel == attempt_channel for channel, ok, attempt_channel in messages)
    assert {"sms", "call"} <= {channel for channel, _, _ in messages}
    with UnitOfWork(ws.engine) as uow:  # each message points at its own attempt's row
        keyed = uow.session.execute(
            select(OutboxMessage.idempotency_key, ContactAttempt.attempt_id).join(
                ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id
            )
        ).all()
    assert all(key == f"{attempt}:{key.rsplit(':', 1)[1]}" for key, attempt in keyed)
    for row in blocked:
        rules = json.loads(row.blocked_rules)
        assert rules and row.reason, row.attempt_id
    assert Counter(r for row in blocked for r in json.loads(row.blocked_rules)) == report.blocked


def test_assignments_are_the_cases_open_that_day(ws: Workspace):
    day = DAYS[1]
    report = treat_day(ws, day)
    open_that_day = _count(
        ws,
        CaseRow,
        CaseRow.opened_on <= day,
        (CaseRow.closed_on.is_(None)) | (CaseRow.closed_on > day),
    )
    assert report.cases_assigned == open_that_day > 0
    assert _count(ws, StrategyAssignment, StrategyAssignment.as_of == day) == open_that_day


def test_a_day_is_treated_once(ws: Workspace):
    first = treat_day(ws, DAYS[0])
    before = (_count(ws, ContactAttempt), _count(ws, OutboxMessage), _count(ws, StrategyAssignment))
    again = treat_day(ws, DAYS[0])
    assert not first.already_done and again.already_done
    after = (_count(ws, ContactAttempt), _count(ws, OutboxMessage), _count(ws, StrategyAssignment))
    assert before == after


def test_a_day_treated_under_one_strategy_is_refused_to_another_naming_both(
    ws: Workspace, tmp_path: Path
):
    treat_day(ws, DAYS[0])
    other = tmp_path / "other.toml"
    text = default_strategy_path().read_text(encoding="utf-8")
    other.write_text(text.replace('name = "retail-default"', 'name = "campaign"', 1))
    before = (_count(ws, ContactAttempt), _count(ws, OutboxMessage), _count(ws, StrategyAssignment))
    with pytest.raises(TreatmentError, match="was treated under strategy 'retail-default'"):
        treat_day(ws, DAYS[0], strategy_file=other)
    after = (_count(ws, ContactAttempt), _count(ws, OutboxMessage), _count(ws, StrategyAssignment))
    assert before == after
    assert not treat_day(ws, DAYS[1], strategy_file=other).already_done  # another day is free


def test_a_hold_blocks_every_contact_of_the_debtor_with_its_rule(ws: Workspace, tmp_path: Path):
    probe = Workspace.at(shutil.copytree(ws.root, tmp_path / "probe"))
    treat_day(probe, DAYS[0])
    with UnitOfWork(probe.engine) as uow:  # a debtor the strategy contacts that day
        debtor = uow.session.scalars(
            select(ContactAttempt.customer_id)
            .where(ContactAttempt.allowed.is_(True))
            .order_by(ContactAttempt.attempt_id)
        ).first()
    with UnitOfWork(ws.engine) as uow:
        uow.session.add(Hold(customer_id=debtor, kind="dispute", placed_on=DAYS[0]))
        uow.commit()
    treat_day(ws, DAYS[0])
    with UnitOfWork(ws.engine) as uow:
        rows = uow.session.scalars(
            select(ContactAttempt).where(ContactAttempt.customer_id == debtor)
        ).all()
        queued = uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id)
            .where(ContactAttempt.customer_id == debtor)
        )
    assert rows and all(not r.allowed and "hold.dispute" in r.blocked_rules for r in rows)
    assert queued == 0


def test_a_send_hour_outside_the_window_is_blocked_by_the_hours_rule(ws: Workspace):
    text = default_strategy_path().read_text(encoding="utf-8")
    late = re.sub(r"send_hour = \d+", "send_hour = 22", text)
    (ws.root / "strategies.toml").write_text(late, encoding="utf-8")
    report = treat_day(ws, DAYS[0])
    # letters are not bound to contact hours; every other contact at 22:00 is blocked
    assert set(report.allowed) <= {"letter"}
    assert report.blocked["cn.hours"] > 0


def test_nothing_is_written_when_a_step_names_no_template(ws: Workspace):
    text = default_strategy_path().read_text(encoding="utf-8")
    broken = text.replace('template = "', 'template = "missing_')
    (ws.root / "strategies.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(TreatmentError, match="missing_"):
        treat_day(ws, DAYS[0])
    for model in (ContactAttempt, OutboxMessage, StrategyAssignment):
        assert _count(ws, model) == 0


def test_a_disabled_or_refused_stored_template_stops_the_day_naming_the_rule(
    ws: Workspace, tmp_path: Path
):
    """Issue 22: a stored template the sandbox refuses is never rendered by the close, and
    no code of it runs; a disabled one stops the day with the reason the re-check wrote."""
    marker = tmp_path / "ran"
    walk = (
        "{% for c in customer_name.__class__.__mro__[1].__subclasses__() "
        "if c.__name__ == '_wrap_close' %}{{ c.__init__.__globals__.system('touch "
        + str(marker)
        + "') }}{% endfor %}"
    )
    with UnitOfWork(ws.engine) as uow:
        for (name, language), default in default_templates().items():
            for version, reason in ((1, "refused by the template sandbox (sandbox.global)"),
                                    (2, None)):  # fmt: skip
                uow.session.add(
                    MessageTemplate(
                        name=name, language=language, version=version, channel=default.channel,
                        subject=default.subject, body=walk, disabled_reason=reason,
                    )
                )  # fmt: skip
        uow.commit()
    with pytest.raises(TreatmentError, match=r"step .*sandbox\.underscore-attribute"):
        treat_day(ws, DAYS[0])
    assert not marker.exists()
    for model in (ContactAttempt, OutboxMessage, StrategyAssignment):
        assert _count(ws, model) == 0
    with UnitOfWork(ws.engine) as uow:  # now only the disabled versions are left
        uow.session.execute(delete(MessageTemplate).where(MessageTemplate.version == 2))
        uow.commit()
    with pytest.raises(TreatmentError, match=r"version 1 is disabled .*sandbox\.global"):
        treat_day(ws, DAYS[0])
    assert _count(ws, OutboxMessage) == 0


def test_play_out_sends_at_the_chosen_hour_and_a_later_hold_stops_the_send(ws: Workspace):
    day = DAYS[0]
    treat_day(ws, day)
    with UnitOfWork(ws.engine) as uow:
        first = uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.channel == "sms").order_by(OutboxMessage.id)
        ).first()
        attempt = uow.session.get(ContactAttempt, first.contact_attempt_id)
        # the message waits for the hour its step chose, in the debtor's zone
        assert first.next_attempt_at.replace(tzinfo=None) == attempt.at.replace(tzinfo=None)
        uow.session.add(Hold(customer_id=attempt.customer_id, kind="hardship", placed_on=day))
        uow.commit()
        held = attempt.customer_id
    play_out(ws, end_of_day(day + timedelta(days=1)))
    with UnitOfWork(ws.engine) as uow:
        statuses = Counter(
            uow.session.scalars(
                select(OutboxMessage.status).where(OutboxMessage.channel.in_(("sms", "email")))
            )
        )
        held_statuses = set(
            uow.session.scalars(
                select(OutboxMessage.status)
                .join(ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id)
                .where(ContactAttempt.customer_id == held)
            )
        )
    assert held_statuses == {"blocked"}
    assert statuses["sent"] > 0 and statuses["queued"] == 0
    assert any((ws.root / "outbox" / "sms").iterdir())


def test_send_moment_is_the_local_hour_in_utc():
    assert send_moment(date(2026, 3, 8), 9, "America/New_York").hour == 13  # EDT from 07:00 UTC
    assert send_moment(date(2026, 3, 7), 9, "America/New_York").hour == 14  # still EST
    assert send_moment(date(2026, 3, 8), 9, "Asia/Shanghai").hour == 1
    assert send_moment(date(2026, 3, 8), 9, "Not/AZone").hour == 1  # placed in China's zone


def test_the_case_shows_the_call_script_of_its_last_call_step_for_its_debtor(ws: Workspace):
    for day in DAYS:
        treat_day(ws, day)
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        case_id = s.scalars(
            select(StrategyAssignment.case_id).where(StrategyAssignment.channel == "call")
        ).first()
        case = s.get(CaseRow, case_id)
        view = strategy_view(s, case, ws.root)
        customer = s.get(Customer, case.customer_id)
    assert view is not None and view["script"].startswith("script_")
    text = view["script_text"]
    # written out for this debtor: their name and the masked account, never the full one
    assert customer.name in text and case.loan_id[-4:] in text and case.loan_id not in text


def test_bulk_attempts_get_their_ids_in_order_on_each_backend(engine):
    # the day's attempts go in with one executemany; each returned id is its own row's
    # (more rows than one insertmanyvalues batch, on SQLite and PostgreSQL)
    at = datetime(2026, 7, 1, 2, tzinfo=UTC)
    rows = [
        {"attempt_id": f"d:s:L{n:05d}:sms1", "customer_id": "C1", "loan_id": None,
         "case_id": None, "channel": "sms", "party": "debtor", "at": at, "source": "strategy",
         "strategy_step": "sms1", "template": "t", "allowed": n % 3 != 0,
         "blocked_rules": "[]", "reason": ""}
        for n in range(2500, 0, -1)
    ]  # fmt: skip
    with Session(engine) as session, session.begin():
        session.add(Customer(customer_id="C1", name="张三", mobile="+8613800138000",
                             time_zone="Asia/Shanghai", language="zh_CN"))  # fmt: skip
        session.flush()
        ids = _insert_attempts(session, rows)
        stored = dict(session.execute(select(ContactAttempt.id, ContactAttempt.attempt_id)).all())
    assert ids == sorted(ids) and len(set(ids)) == len(rows)
    assert [stored[i] for i in ids] == [r["attempt_id"] for r in rows]

"""The case page's Core reads (issue 29) give exactly what its ORM reads gave: its
promises, contact history, loans and ledgers, the gate's contact history, for every
role and every case of the book (scoping: a case out of scope is not found either
way; masking: the customer as ``masking.mask`` shows it to the role). The expected
values are read here the way the page read them before, through ORM objects."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session
from web_support import NOW, TODAY, Book, make_book, recorded

from arrears.channels.gating import GateInputs
from arrears.compliance import Attempt
from arrears.domain.ledger import Account, replay
from arrears.services.clock import as_utc
from arrears.services.workbench import case_view, contacts, promises
from arrears.services.workbench.access import Actor, visible_case
from arrears.services.workbench.errors import NotFound
from arrears.services.workbench.masking import mask
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import CaseRow, Customer, EntryRow, InstallmentRow, LegRow, Loan
from arrears.store.rows import entry_from_rows
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import ContactLog, User

PROMISE_FIELDS = ("id", "amount", "promised_on", "due_date", "status", "paid_amount")
PROMISE_FIELDS += ("settled_on", "created_by")
USERS = ["c1", "c2", "c3", "tl", "tl2", "mgr", "comp", "ag", "admin"]


@pytest.fixture
def book(engine: Engine) -> Book:
    book = make_book(engine)
    with UnitOfWork(engine) as uow:
        s = uow.session
        c1, mgr = _actor(s, "c1"), _actor(s, "mgr")
        own, pool = book.case_ids[0], book.case_ids[4]
        # contacts: allowed ones with dispositions and notes, at distinct moments
        for hours, code in ((4, "PTP"), (3, "NA"), (1, "CALLBACK")):
            at = NOW - timedelta(hours=hours)
            callback = at + timedelta(days=1) if code == "CALLBACK" else None
            contacts.log_contact(
                s, c1, own, "call", code, f"note {code}", at=at, callback_at=callback
            )
        contacts.log_contact(s, mgr, pool, "sms", "NA", "", at=NOW - timedelta(hours=2))
        # a promise replaced by a second one (cancelled, then pending), and one on the pool
        promises.create_promise(s, c1, own, Decimal("100.00"), TODAY + timedelta(days=3), on=TODAY)
        promises.create_promise(s, c1, own, Decimal("250.50"), TODAY + timedelta(days=7), on=TODAY)
        promises.create_promise(s, mgr, pool, Decimal("80.00"), TODAY + timedelta(days=1), on=TODAY)
        uow.commit()
    return book


def _actor(session: Session, username: str) -> Actor:
    return Actor.of(session.scalar(select(User).where(User.username == username)))


def _orm_contact_history(session: Session, customer_id: str) -> list[dict[str, Any]]:
    """``contacts.contact_history`` as it read through the ORM."""
    rows = session.execute(
        select(
            ContactAttempt,
            ContactLog.disposition,
            ContactLog.note,
            OutboxMessage.status,
            ContactLog.callback_at,
        )
        .outerjoin(ContactLog, ContactLog.contact_attempt_id == ContactAttempt.id)
        .outerjoin(OutboxMessage, and_(OutboxMessage.contact_attempt_id == ContactAttempt.id))
        .where(ContactAttempt.customer_id == customer_id)
        .order_by(ContactAttempt.at.desc(), ContactAttempt.id.desc())
        .limit(200)
    )
    return [
        {
            "id": a.id, "at": a.at, "channel": a.channel, "party": a.party,
            "source": a.source, "actor": a.actor, "loan_id": a.loan_id,
            "allowed": a.allowed, "outcome": a.outcome,
            "blocked_rules": json.loads(a.blocked_rules or "[]"), "reason": a.reason,
            "disposition": disposition, "note": note or "", "template": a.template,
            "strategy_step": a.strategy_step, "outbox_status": status,
            "callback_at": callback_at,
        }
        for a, disposition, note, status, callback_at in rows
    ]  # fmt: skip


def _orm_loan(session: Session, loan: Loan) -> dict[str, Any]:
    """A loan's stored fields, schedule, ledger entries and balances read through ORM
    objects (entries, their legs and installments as rows of their own)."""
    heads = session.scalars(
        select(EntryRow).where(EntryRow.loan_id == loan.loan_id).order_by(EntryRow.seq)
    ).all()
    legs = session.scalars(select(LegRow).where(LegRow.loan_id == loan.loan_id)).all()
    entries = tuple(
        entry_from_rows(
            {c: getattr(h, c) for c in ("ref", "kind", "posted_on", "amount", "reverses", "memo")},
            [
                {c: getattr(leg, c) for c in ("line", "installment", "account", "amount")}
                for leg in legs
                if leg.ref == h.ref
            ],
        )
        for h in heads
    )
    ledger = replay(loan.loan_id, entries, loan.currency)
    schedule = session.scalars(
        select(InstallmentRow)
        .where(InstallmentRow.loan_id == loan.loan_id)
        .order_by(InstallmentRow.seq)
    ).all()
    return {
        "loan_id": loan.loan_id, "product_code": loan.product_code,
        "currency": loan.currency, "principal": loan.principal,
        "annual_rate": loan.annual_rate, "term_months": loan.term_months,
        "disbursed_on": loan.disbursed_on, "status": loan.status,
        "closed_through": loan.closed_through,
        "balances": {a.value: ledger.balance(a) for a in Account},
        "total_outstanding": ledger.total_outstanding, "total_due": ledger.total_due,
        "schedule": [(i.seq, i.due_date, i.principal, i.interest) for i in schedule],
        "entries": [(e.ref, e.kind.value, e.posted_on, e.amount, e.reverses) for e in entries],
    }  # fmt: skip


def _page_loan(view: dict[str, Any]) -> dict[str, Any]:
    keep = {k: v for k, v in view.items() if k not in ("schedule", "entries", "restructuring")}
    return {
        **keep,
        "schedule": [
            (i["seq"], i["due_date"], i["principal"], i["interest"]) for i in view["schedule"]
        ],
        "entries": [
            (e["ref"], e["kind"], e["posted_on"], e["amount"], e["reverses"])
            for e in view["entries"]
        ],
    }


@pytest.mark.parametrize("username", USERS)
def test_the_page_shows_what_the_orm_reads_gave_for_each_role(book: Book, username: str) -> None:
    with UnitOfWork(book.engine, read_only=True) as uow:
        s = uow.session
        actor = _actor(s, username)
        seen = 0
        for case_id in book.case_ids:
            try:
                visible_case(s, actor, case_id)
            except NotFound:
                with pytest.raises(NotFound):
                    case_view.case_view(s, actor, case_id, now=NOW, today=TODAY)
                continue
            seen += 1
            view = case_view.case_view(s, actor, case_id, now=NOW, today=TODAY)
            case = s.get(CaseRow, case_id)
            assert case is not None
            customer = s.get(Customer, case.customer_id)
            assert customer is not None
            assert view["promises"] == [
                {n: getattr(p, n) for n in PROMISE_FIELDS}
                for p in promises.promises_of(s, actor, case_id)
            ]
            assert view["contacts"] == _orm_contact_history(s, case.customer_id)
            loans = s.scalars(
                select(Loan).where(Loan.customer_id == case.customer_id).order_by(Loan.loan_id)
            ).all()
            assert [_page_loan(v) for v in view["loans"]] == [_orm_loan(s, x) for x in loans]
            assert all(v["restructuring"] is None for v in view["loans"])
            # the gate's history found among the page's contacts: the gate's own verdicts
            assert view["compliance"] == [
                {"channel": c.channel, "allowed": c.allowed, "rules": list(c.rules),
                 "reasons": list(c.reasons)}
                for c in contacts.compliance_status(s, case, NOW)
            ]  # fmt: skip
            for field in ("id_number", "mobile", "email", "address"):
                assert view["customer"][field] == mask(field, getattr(customer, field), actor.role)
        # every user of the book sees a case; only the roles of every case see all six
        assert 1 <= seen <= 6
        assert (seen == 6) == (actor.role in ("manager", "compliance", "admin"))


def test_the_pages_with_contacts_and_promises_are_not_empty(book: Book) -> None:
    # the comparison above compares something: c1's case has both
    with UnitOfWork(book.engine, read_only=True) as uow:
        actor = _actor(uow.session, "c1")
        view = case_view.case_view(uow.session, actor, book.case_ids[0], now=NOW, today=TODAY)
    assert [p["status"] for p in view["promises"]] == ["pending", "cancelled"]
    assert [c["disposition"] for c in view["contacts"]] == ["CALLBACK", "NA", "PTP"]
    assert view["contacts"][0]["callback_at"] is not None
    assert view["contacts"][2]["note"] == "note PTP"
    assert len(view["loans"]) == 1 and len(view["loans"][0]["entries"]) > 3


def test_the_gate_reads_the_contacts_the_orm_read(book: Book) -> None:
    since = NOW - timedelta(days=8)
    ids = ["C1", "C5", "C2"]
    with UnitOfWork(book.engine, read_only=True) as uow:
        s = uow.session
        inputs = GateInputs(zones={"C1": "Asia/Shanghai"})
        inputs.load_history(s, ids, since)
        orm = s.scalars(
            select(ContactAttempt).where(
                ContactAttempt.customer_id.in_(ids),
                ContactAttempt.allowed.is_(True),
                ContactAttempt.at > since,
            )
        ).all()
    got = {c: sorted(rows, key=lambda r: r[0]) for c, rows in inputs.history.items()}
    expected: dict[str, list[tuple[int, Attempt]]] = {}
    for r in sorted(orm, key=lambda r: r.id):
        at = r.at.replace(tzinfo=UTC) if r.at.tzinfo is None else r.at.astimezone(UTC)
        attempt = Attempt(
            r.attempt_id, r.customer_id, r.loan_id, r.channel, at,
            inputs.zones.get(r.customer_id), r.party, r.outcome,
        )  # fmt: skip
        expected.setdefault(r.customer_id, []).append((r.id, attempt))
    assert got == expected
    assert sorted(got) == ["C1", "C5"] and len(got["C1"]) == 3


def test_no_arrangement_is_read_for_a_debtor_without_an_approved_restructuring(
    book: Book,
) -> None:
    with UnitOfWork(book.engine, read_only=True) as uow:
        actor = _actor(uow.session, "mgr")
        with recorded(book.engine) as sql:
            view = case_view.case_view(uow.session, actor, book.case_ids[0], now=NOW, today=TODAY)
    assert view["loans"][0]["restructuring"] is None
    assert not [q for q in sql if q.startswith("SELECT arrangements.applied_on")]


def test_the_gate_history_is_found_among_the_page_contacts_only_when_they_hold_it_all(
    book: Book,
) -> None:
    since = NOW - timedelta(days=8)
    with UnitOfWork(book.engine, read_only=True) as uow:
        s = uow.session
        rows = contacts.contact_rows(s, "C1")
        read = GateInputs(zones={"C1": None})
        read.load_history(s, ["C1"], since)
        found = case_view.recent_allowed(rows, since)
        assert found is not None
        built = GateInputs(zones={"C1": None})
        built.add_history(found)
        assert built.history == {"C1": sorted(read.history["C1"], key=lambda r: r[0])}
        # two rows of a longer history: the third may be older or not
        assert case_view.recent_allowed(rows[:2], since, limit=2) is None
        # ... unless the older of the two is not recent already
        newest, older = rows[0], rows[1]
        between = as_utc(older.at) + timedelta(minutes=1)
        assert [r.id for r in case_view.recent_allowed(rows[:2], between, limit=2) or []] == [
            newest.id
        ]
        actor = _actor(s, "c1")
        with recorded(book.engine) as sql:
            case_view.case_view(s, actor, book.case_ids[0], now=NOW, today=TODAY)
    # the contacts are read once: the history the page shows, not the gate's own read
    assert not [
        q for q in sql if q.startswith("SELECT contact_attempts.id, contact_attempts.attempt_id")
    ]
    assert (
        len([q for q in sql if q.startswith("SELECT contact_attempts.id, contact_attempts.at")])
        == 1
    )

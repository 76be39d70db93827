"""Retention (arrears.services.retention): a debt's contact records, recordings and
documents are purged once its last activity is older than the pack's period (cn 2
years, us-regf 3 years), never under a legal hold or while a case is open; each purge
is audited."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the workbench's test book
from web_support import make_book

from arrears.channels.outbox import enqueue, record_event
from arrears.compliance import load_pack
from arrears.services.retention import RetentionError, run_retention
from arrears.store.contact_models import ContactAttempt, DeliveryEvent, Hold, OutboxMessage
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.workbench_models import AuditEvent, CaseDocument, ContactLog

TODAY = date(2030, 6, 1)  # cn keeps from 2028-06-01, us-regf from 2027-06-01


def contact(session: Session, loan: str, at: datetime, case_id: int) -> None:
    attempt = ContactAttempt(
        attempt_id=f"A-{loan}-{at:%Y%m%d}", customer_id="C" + loan[1:], loan_id=loan,
        case_id=case_id, channel="call", party="debtor", at=at, source="collector",
        allowed=True,
    )  # fmt: skip
    session.add(attempt)
    session.flush()
    message = enqueue(
        session, contact_attempt_id=attempt.id, channel="call", recipient="1", language="en",
        subject=None, body="{}", idempotency_key=f"K-{loan}-{at:%Y%m%d}",
    )  # fmt: skip
    record_event(session, message, "sent", at=at)
    session.add(ContactLog(contact_attempt_id=attempt.id, case_id=case_id, disposition="RPC"))


@pytest.fixture
def store(engine):
    make_book(engine)
    with Session(engine) as session, session.begin():
        cases = {loan: case for loan, case in session.execute(select(CaseRow.loan_id, CaseRow.id))}
        for loan in ("L1", "L2", "L3", "L4"):  # L5, L6 stay open
            session.execute(
                update(CaseRow).where(CaseRow.loan_id == loan)
                .values(status="closed", closed_on=date(2026, 3, 1))
            )  # fmt: skip
        contact(session, "L1", datetime(2026, 2, 1, 3, tzinfo=UTC), cases["L1"])
        contact(session, "L2", datetime(2026, 2, 1, 3, tzinfo=UTC), cases["L2"])
        contact(session, "L3", datetime(2026, 2, 1, 3, tzinfo=UTC), cases["L3"])
        contact(session, "L4", datetime(2027, 12, 1, 3, tzinfo=UTC), cases["L4"])
        contact(session, "L5", datetime(2026, 2, 1, 3, tzinfo=UTC), cases["L5"])
        for kind, name in (("audio/mpeg", "call.mp3"), ("application/pdf", "letter.pdf")):
            session.add(CaseDocument(
                case_id=cases["L1"], file_name=name, content_type=kind, size=3, sha256="0" * 64,
                content=b"abc", uploaded_by="c1",
                uploaded_at=datetime(2026, 2, 2, tzinfo=UTC),
            ))  # fmt: skip
        session.add(PaymentRow(payment_ref="P3", loan_id="L3", paid_on=date(2029, 1, 1),
                               amount=1, currency="CNY"))  # fmt: skip
        session.add(Hold(customer_id="C2", loan_id="L2", kind="legal_hold",
                         reason="litigation pending", placed_on=date(2026, 5, 1)))  # fmt: skip
    return engine


def loans_with_contacts(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return sorted(session.scalars(select(ContactAttempt.loan_id).distinct()))


def test_cn_purges_after_two_years_except_holds_open_cases_and_recent_debts(store) -> None:
    with Session(store) as session, session.begin():
        report = run_retention(session, load_pack("cn-2026"), TODAY)
    assert report.cutoff == date(2028, 6, 1) and report.years == 2
    assert "第六十八条" in report.source
    assert report.debts == ["L1", "L4"]  # L4: last contact 2027-12-01, over 2 years ago
    assert report.held == ["L2"]
    assert dict(report.purged) == {
        "contact_attempts": 2, "outbox_messages": 2, "delivery_events": 4,  # queued, sent
        "contact_logs": 2, "recordings": 1, "documents": 1,
    }  # fmt: skip
    assert loans_with_contacts(store) == ["L2", "L3", "L5"]
    with Session(store) as session:
        assert session.scalar(select(func.count()).select_from(CaseDocument)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
        assert session.scalar(select(func.count()).select_from(DeliveryEvent)) == 6
        assert session.scalar(select(func.count()).select_from(ContactLog)) == 3
        events = list(session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.purge")
            .order_by(AuditEvent.seq)
        ))  # fmt: skip
    assert [(e.actor, e.entity, e.entity_id) for e in events] == [
        ("retention", "loan", "L1"), ("retention", "loan", "L4"),
    ]  # fmt: skip
    payload = json.loads(events[0].payload)
    assert (payload["pack"], payload["years"], payload["recordings"]) == ("cn-2026", 2, 1)
    assert payload["cutoff"] == "2028-06-01" and "2026-03-01" <= payload["last_activity"] < "2027"


def test_us_regf_keeps_three_years_and_a_dry_run_changes_nothing(store) -> None:
    with Session(store) as session, session.begin():
        dry = run_retention(session, load_pack("us-regf"), TODAY, dry_run=True)
    assert dry.debts == ["L1"] and dry.purged["contact_attempts"] == 1  # L4 kept: 3 years
    assert loans_with_contacts(store) == ["L1", "L2", "L3", "L4", "L5"]
    with Session(store) as session, session.begin():
        report = run_retention(session, load_pack("us-regf"), TODAY)
    assert report.cutoff == date(2027, 6, 1) and report.debts == ["L1"]
    assert "1006.100" in report.source
    assert loans_with_contacts(store) == ["L2", "L3", "L4", "L5"]
    with Session(store) as session, session.begin():  # a second run finds nothing left
        assert run_retention(session, load_pack("us-regf"), TODAY).debts == []


def test_a_released_legal_hold_no_longer_keeps_the_debt(store) -> None:
    with Session(store) as session, session.begin():
        session.execute(update(Hold).values(released_on=date(2029, 1, 1)))
        assert "L2" in run_retention(session, load_pack("cn"), TODAY).debts


def test_a_pack_without_a_period_is_refused(store, tmp_path) -> None:
    path = tmp_path / "bare.toml"
    path.write_text('name = "bare"\ncandidate_zones = ["UTC"]\n', encoding="utf-8")
    with Session(store) as session, pytest.raises(RetentionError, match="pack bare keeps no"):
        run_retention(session, load_pack(str(path)), TODAY)


def test_the_command_reports_and_refuses_a_bad_pack(tmp_path) -> None:
    from typer.testing import CliRunner

    from arrears.cli import app

    runner = CliRunner()
    ws = str(tmp_path)
    result = runner.invoke(app, ["retention", "run", "-w", ws, "--today", "2030-06-01",
                                 "--pack", "us-regf"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "us-regf: kept 3 years after the last activity (cut-off 2027-06-01" in result.output
    assert "purged 0 debts: nothing" in result.output
    bad = runner.invoke(app, ["retention", "run", "-w", ws, "--pack", "nope"])
    assert bad.exit_code == 2

"""Pre-due and due-day messages reach the debtor on the day their wording says, naming
their own instalment: on a generated book closed and treated for one day, every
"due today" push is sent at its hour on the instalment's due date and names that date
and that instalment's amount; every D-3 reminder is sent three days before the date it
names. (Issue 24: the push came the day after and named next month's date.)"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.channels.fields import format_amount, format_date
from arrears.cli import app
from arrears.services.treatments import treat_day
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import Customer, InstallmentRow, Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.workspace import Workspace

runner = CliRunner()
AS_OF = date(2026, 6, 28)


@pytest.fixture(scope="module")
def treated(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("predue") / "ws"
    data = root.parent / "data"
    for args in (
        ["generate", "--loans", "300", "--out", str(data), "--as-of", AS_OF.isoformat()],
        *(["import", str(data / f"{n}.parquet"), "-w", str(root)]
          for n in ("customers", "loans", "payments")),
        ["close", "--as-of", AS_OF.isoformat(), "--days", "1", "--no-treat", "-w", str(root)],
    ):  # fmt: skip
        out = runner.invoke(app, args)
        assert out.exit_code == 0, out.output
    ws = Workspace.at(root)
    treat_day(ws, AS_OF)
    return ws


def _messages(ws: Workspace, step: str) -> list[tuple]:
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        return s.execute(
            select(ContactAttempt.loan_id, ContactAttempt.at, Customer.time_zone,
                   OutboxMessage.language, OutboxMessage.subject, OutboxMessage.body,
                   Loan.currency)
            .join(OutboxMessage, OutboxMessage.contact_attempt_id == ContactAttempt.id)
            .join(Customer, Customer.customer_id == ContactAttempt.customer_id)
            .join(Loan, Loan.loan_id == ContactAttempt.loan_id)
            .where(ContactAttempt.strategy_step == step, ContactAttempt.allowed.is_(True))
        ).all()  # fmt: skip


def _schedule(ws: Workspace, loan_id: str) -> dict[date, object]:
    with UnitOfWork(ws.engine) as uow:
        rows = uow.session.execute(
            select(InstallmentRow.due_date, InstallmentRow.principal, InstallmentRow.interest)
            .where(InstallmentRow.loan_id == loan_id)
        ).all()  # fmt: skip
    return {due: principal + interest for due, principal, interest in rows}


def _check(ws: Workspace, step: str, days_before: int) -> int:
    """Each message of ``step``: sent ``days_before`` days before the due date it names,
    naming that instalment's amount and no other instalment's date. Returns how many."""
    rows = _messages(ws, step)
    for loan_id, at, zone, language, subject, body, currency in rows:
        sent_on = at.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone or "Asia/Shanghai"))
        due = sent_on.date() + timedelta(days=days_before)
        schedule = _schedule(ws, loan_id)
        text = f"{subject or ''}\n{body}"
        assert due in schedule, (loan_id, sent_on, sorted(schedule))
        assert format_date(due, language) in text, (loan_id, due, text)
        assert format_amount(schedule[due], currency, language) in text, (loan_id, text)
        others = [d for d in schedule if d != due and format_date(d, language) in text]
        assert not others, (loan_id, others, text)
    return len(rows)


def test_due_today_push_is_sent_on_the_due_date_naming_it(treated: Workspace):
    assert _check(treated, "push_due_day", 0) > 0


def test_d3_reminder_is_sent_three_days_before_the_date_it_names(treated: Workspace):
    assert _check(treated, "reminder_d-3", 3) > 0

"""Loans in recovery are treated by the strategy (issue 25, contract 8: recoveries after
charge-off are still worked as cases): a loan charged off by its product's rule has
left the book and the day's snapshot, but the strategy is given a row for it with the
shadow balances it still owes (``strategy_inputs.recovery_rows``), so its case is
assigned a segment and its ladder's steps fire, naming what it owes off the book."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arrears.channels.fields import format_amount, format_date
from arrears.cli import app
from arrears.domain.account import shadow_balances
from arrears.domain.ledger import EntryKind, Ledger, post
from arrears.services.strategy_inputs import recovery_rows
from arrears.services.treatments import treat_day
from arrears.store.contact_models import ContactAttempt, OutboxMessage, StrategyAssignment
from arrears.store.models import CaseRow, EntryRow, Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.strategy import default_strategy_path
from arrears.strategy.segments import RECOVERY
from arrears.workspace import Workspace
from book_support import closed_book as generated_book
from book_support import private_copy

runner = CliRunner()
AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="module")
def closed_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,200 generated loans under the default catalogue (charge-off at 180 DPD for
    consumer loans), closed through AS_OF (3 recorded days), untreated."""
    return generated_book(tmp_path_factory.mktemp("recovery") / "ws", 1200, AS_OF, 3)


@pytest.fixture
def ws(closed_book: Path, tmp_path: Path) -> Workspace:
    return private_copy(closed_book, tmp_path)


def _in_recovery(ws: Workspace) -> dict[str, CaseRow]:
    """The open case of each loan charged off and still in recovery."""
    with UnitOfWork(ws.engine) as uow:
        rows = uow.session.execute(
            select(CaseRow)
            .join(Loan, Loan.loan_id == CaseRow.loan_id)
            .where(Loan.status == "written_off", CaseRow.status == "open")
        ).scalars()
        return {case.loan_id: case for case in rows}


def _charged_off_on(ws: Workspace, day: date) -> set[str]:
    with UnitOfWork(ws.engine) as uow:
        return set(
            uow.session.scalars(
                select(EntryRow.loan_id).where(
                    EntryRow.kind == EntryKind.WRITE_OFF.value, EntryRow.posted_on == day
                )
            )
        )


def _closed_on(ws: Workspace, day: date) -> set[str]:
    """Loans written off whose case closed on ``day``."""
    with UnitOfWork(ws.engine) as uow:
        return set(
            uow.session.scalars(
                select(CaseRow.loan_id)
                .join(Loan, Loan.loan_id == CaseRow.loan_id)
                .where(Loan.status == "written_off", CaseRow.closed_on == day)
            )
        )


def test_recovery_rows_hold_each_loans_shadow_balances_from_its_ledger(ws: Workspace):
    cases = _in_recovery(ws)
    assert len(cases) >= 5, "the generated book has loans in recovery"
    rows = {r["loan_id"]: r for r in recovery_rows(ws, AS_OF).to_pylist()}
    assert rows.keys() == cases.keys()
    with UnitOfWork(ws.engine) as uow:
        for loan_id, row in rows.items():
            loan = uow.session.get(Loan, loan_id)
            assert loan is not None
            product = ws.catalog.product(loan.product_code)
            # the domain core's shadow of the loan's whole stored ledger
            owed = shadow_balances(
                uow.entries.ledger(loan_id), product.charge_off.order(product.waterfall)
            )
            case = cases[loan_id]
            assert owed.total > 0
            assert row["status"] == RECOVERY and row["as_of"] == AS_OF
            assert (row["dpd"], row["bucket"], row["loan_class"]) == (
                case.dpd,
                case.bucket,
                case.loan_class,
            )
            assert row["overdue_amount"] == row["total_due"] == owed.total == case.amount_overdue
            assert (
                row["overdue_principal"],
                row["overdue_interest"],
                row["penalty"],
                row["compound"],
                row["fee"],
                row["costs"],
            ) == (owed.principal, owed.interest, owed.penalty, owed.compound, owed.fee, owed.cost)
    # a day not closed yet has none (no figures the close has not vouched for)
    assert recovery_rows(ws, AS_OF + timedelta(days=1)).num_rows == 0


def test_recovery_rows_of_an_earlier_closed_day_are_as_the_loans_stood_then(ws: Workspace):
    """Two more days closed at once: the rows of the first of them have one day less of
    DPD than the cases now, and the shadow of the legs posted through that day (a
    recovery on the later day not yet taken off)."""
    last = AS_OF + timedelta(days=2)
    out = runner.invoke(
        app, ["close", "--as-of", last.isoformat(), "--days", "2", "--no-treat", "-w", str(ws.root)]
    )
    assert out.exit_code == 0, out.output
    day = AS_OF + timedelta(days=1)
    cases = _in_recovery(ws)
    rows = {r["loan_id"]: r for r in recovery_rows(ws, day).to_pylist()}
    with UnitOfWork(ws.engine) as uow:
        for loan_id, row in rows.items():
            loan = uow.session.get(Loan, loan_id)
            assert loan is not None
            product = ws.catalog.product(loan.product_code)
            ledger = uow.entries.ledger(loan_id)
            then = Ledger(ledger.loan_id, ledger.currency)
            for entry in ledger.entries:
                if entry.posted_on <= day:
                    then = post(then, entry).ledger
            owed = shadow_balances(then, product.charge_off.order(product.waterfall))
            assert row["overdue_amount"] == owed.total > 0
            assert row["overdue_principal"] == owed.principal
            if loan_id in cases:  # still open (not recovered in full on the last day)
                assert cases[loan_id].updated_on == last
                assert row["dpd"] == cases[loan_id].dpd - 1  # the book pauses nothing
            assert row["bucket"] == ws.catalog.buckets.names[row["bucket_index"]]
    # the loans in recovery then: those still in recovery, less any charged off on the
    # last day (on the book, and in the snapshot, the day before), plus any whose case
    # closed on the last day (recovered in full)
    expected = (set(cases) - _charged_off_on(ws, last)) | _closed_on(ws, last)
    assert len(rows) >= 5 and set(rows) == expected


def _recovery_strategy(tmp_path: Path) -> Path:
    """The default strategy with a first segment of its own for loans in recovery: one
    text at D1 (so it fires once on each case, whatever its DPD)."""
    text = default_strategy_path().read_text(encoding="utf-8")
    segment = (
        '[[segments]]\nname = "recovery"\nwhen = { columns = { status = "recovery" } }\n'
        'ladder = "recovery"\n\n'
    )
    text = text.replace("[[segments]]\n", segment + "[[segments]]\n", 1)
    text += (
        "\n[ladders.recovery]\nsteps = [\n"
        '    { name = "recovery_sms", offset = 1, channel = "sms", template = "sms_overdue_1",'
        " priority = 50, send_hour = 10 },\n]\n"
    )
    path = tmp_path / "strategies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_day_treats_loans_in_recovery_naming_what_they_owe_off_the_book(
    ws: Workspace, tmp_path: Path
):
    cases = _in_recovery(ws)
    owed = {r["loan_id"]: r["overdue_amount"] for r in recovery_rows(ws, AS_OF).to_pylist()}
    report = treat_day(ws, AS_OF, strategy_file=_recovery_strategy(tmp_path))
    assert report.proposed > 0
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        assigned = {
            a.loan_id: a
            for a in s.scalars(select(StrategyAssignment).where(StrategyAssignment.as_of == AS_OF))
        }
        attempts = {
            a.loan_id: a
            for a in s.scalars(
                select(ContactAttempt).where(ContactAttempt.loan_id.in_(list(cases)))
            )
        }
        bodies = dict(
            s.execute(
                select(ContactAttempt.loan_id, OutboxMessage.body)
                .join(OutboxMessage, OutboxMessage.contact_attempt_id == ContactAttempt.id)
                .where(ContactAttempt.loan_id.in_(list(cases)))
            ).all()
        )
    # every case in recovery is assigned to the recovery segment on its own case
    for loan_id, case in cases.items():
        assert assigned[loan_id].case_id == case.id
        assert assigned[loan_id].segment == "recovery"
    # outside the holdout arm, each gets the text; those allowed name the shadow's total
    treated = {lid for lid, a in assigned.items() if lid in cases and a.arm != "holdout"}
    assert treated and set(attempts) == treated
    assert {a.template for a in attempts.values()} == {"sms_overdue_1"}
    assert bodies, "some texts in recovery were allowed and queued"
    for loan_id, body in bodies.items():
        # what it owes off the book and the oldest unpaid instalment's date (as-of less
        # the DPD), in the debtor's language
        day = AS_OF - timedelta(days=cases[loan_id].dpd)
        assert any(
            format_amount(Decimal(owed[loan_id]), "CNY", lang) in body
            and format_date(day, lang) in body
            for lang in ("zh_CN", "en")
        ), (loan_id, owed[loan_id], day, body)

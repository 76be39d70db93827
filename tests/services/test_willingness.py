"""Willingness derived each day from behaviour: the rule on constructed histories of
each class, and the day's strategy inputs computed from a real store (promises settled
kept or broken, contacts with a refusal or hardship, payments while in arrears)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from arrears.services.strategy_inputs import Behaviour, day_inputs, willingness
from arrears.services.workbench.seed import seed_dispositions
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import ContactLog, Promise
from arrears.workspace import Workspace
from book_support import closed_book as generated_book

AS_OF = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (Behaviour(), "unknown"),
        (Behaviour(broken=3), "malicious"),
        (Behaviour(broken=3, days_since_payment=120), "malicious"),
        (Behaviour(broken=3, days_since_payment=40), "able_but_unwilling"),  # paid in 90d
        (Behaviour(days_since_payment=10), "willing_but_unable"),
        (Behaviour(kept=1, broken=1), "willing_but_unable"),
        (Behaviour(kept=1, refusals=1), "willing_but_unable"),  # kept beats a refusal
        (Behaviour(days_since_payment=30), "unknown"),  # 30 days ago: out of the window
        (Behaviour(broken=2), "able_but_unwilling"),
        (Behaviour(refusals=1), "able_but_unwilling"),
        (Behaviour(broken=1), "unknown"),
        (Behaviour(hardship=1), "willing_but_unable"),
        (Behaviour(hardship=1, refusals=1), "able_but_unwilling"),
    ],
)
def test_the_rule_on_constructed_histories(behaviour: Behaviour, expected: str):
    assert willingness(behaviour) == expected


@pytest.fixture(scope="module")
def closed_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_book(tmp_path_factory.mktemp("will") / "ws", 300, AS_OF, 1)


def test_the_day_inputs_classify_each_loan_from_the_store(closed_book: Path, tmp_path: Path):
    root = tmp_path / "ws"
    shutil.copytree(closed_book, root)
    ws = Workspace.at(root)
    with UnitOfWork(ws.engine) as uow:
        s = uow.session
        seed_dispositions(s)
        paid = set(
            s.scalars(
                select(PaymentRow.loan_id)
                .join(CaseRow, CaseRow.loan_id == PaymentRow.loan_id)
                .where(PaymentRow.paid_on >= CaseRow.opened_on)
            )
        )
        cases = [
            c
            for c in s.scalars(select(CaseRow).where(CaseRow.status == "open").order_by(CaseRow.id))
            if c.loan_id not in paid
        ][:6]
        assert len(cases) == 6
        malicious, unwilling, refused, kept, hardship, paying = cases

        def promise(case: CaseRow, status: str, days_ago: int) -> None:
            on = AS_OF - timedelta(days=days_ago)
            s.add(
                Promise(
                    case_id=case.id,
                    loan_id=case.loan_id,
                    amount=Decimal("100.00"),
                    promised_on=on - timedelta(days=3),
                    due_date=on,
                    status=status,
                    settled_on=on,
                    created_by="test",
                )
            )

        def contact(case: CaseRow, code: str, days_ago: int) -> None:
            at = datetime.combine(AS_OF - timedelta(days=days_ago), time(3), UTC)
            attempt = ContactAttempt(
                attempt_id=f"t:{case.id}:{code}:{days_ago}",
                customer_id=case.customer_id,
                loan_id=case.loan_id,
                case_id=case.id,
                channel="call",
                at=at,
                source="collector",
                allowed=True,
            )
            s.add(attempt)
            s.flush()
            s.add(ContactLog(contact_attempt_id=attempt.id, case_id=case.id, disposition=code))

        for days_ago in (5, 20, 40):
            promise(malicious, "broken", days_ago)
        promise(unwilling, "broken", 10)
        promise(unwilling, "broken", 30)
        promise(unwilling, "broken", 100)  # out of the window: 2 count
        contact(refused, "REFUSE", 15)
        contact(refused, "REFUSE", 120)  # out of the window
        promise(kept, "kept", 60)
        promise(kept, "broken", 7)
        contact(hardship, "HARDSHIP", 3)
        promise(paying, "broken", 8)
        promise(paying, "broken", 9)
        s.add(
            PaymentRow(
                payment_ref="t-paying",
                loan_id=paying.loan_id,
                paid_on=AS_OF,
                amount=Decimal("50.00"),
                currency="CNY",
            )
        )
        uow.commit()
    table = day_inputs(ws, AS_OF)
    by_loan = dict(zip(table["loan_id"].to_pylist(), table["willingness"].to_pylist(), strict=True))
    assert by_loan[malicious.loan_id] == "malicious"
    assert by_loan[unwilling.loan_id] == "able_but_unwilling"
    assert by_loan[refused.loan_id] == "able_but_unwilling"
    assert by_loan[kept.loan_id] == "willing_but_unable"
    assert by_loan[hardship.loan_id] == "willing_but_unable"
    assert by_loan[paying.loan_id] == "willing_but_unable"  # paid while in arrears
    # the same store a day before the hardship claim and the refusal: not yet known
    earlier = day_inputs(ws, AS_OF - timedelta(days=16))
    before = dict(
        zip(earlier["loan_id"].to_pylist(), earlier["willingness"].to_pylist(), strict=True)
    )
    assert before[refused.loan_id] == "unknown"
    assert before[hardship.loan_id] == "unknown"

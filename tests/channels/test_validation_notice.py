"""The Reg F validation notice (12 CFR 1006.34, Model Form B-1): its dates, its PDF, and
that under us-regf it goes first: every other contact about the debt is held
(``hold.validation_pending``) until the notice is sent."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the workbench's test book
from web_support import make_book

from arrears.channels.adapters.spool import LetterSpoolAdapter, render_print_runs
from arrears.channels.dispatcher import Dispatcher
from arrears.channels.gating import store_gate
from arrears.channels.letters import Letter, render_letter_pdf
from arrears.channels.validation import (
    Itemization,
    assumed_receipt,
    legal_public_holidays,
    queue_validation_notices,
    release_sent_notices,
    validation_end_date,
    validation_extra,
)
from arrears.compliance import Attempt, load_pack
from arrears.services.settings import load_settings
from arrears.store.contact_models import ContactAttempt, OutboxMessage

D = Decimal
AS_OF = date(2026, 12, 1)
NEXT_DAY = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York


def balances(loan_ids: list[str]) -> dict[str, dict[str, Decimal]]:
    line = {"overdue_principal": D("1000.00"), "overdue_interest": D("50.00"),
            "penalty": D("7.50"), "compound": D("0.25"), "fee": D("25.00")}  # fmt: skip
    return {loan_id: dict(line) for loan_id in loan_ids}


def test_validation_period_counts_business_days_then_thirty() -> None:
    assert date(2026, 11, 26) in legal_public_holidays(2026)  # Thanksgiving
    assert {date(2026, 1, 19), date(2026, 5, 25), date(2026, 9, 7)} <= legal_public_holidays(
        2026
    )  # MLK Day, Memorial Day, Labor Day
    # sent Wednesday 2 December: received Wednesday 9 December, period ends 8 January
    assert assumed_receipt(date(2026, 12, 2)) == date(2026, 12, 9)
    assert validation_end_date(date(2026, 12, 2)) == date(2027, 1, 8)
    # sent Monday 23 November: Thanksgiving and the weekend do not count
    assert assumed_receipt(date(2026, 11, 23)) == date(2026, 12, 1)
    assert validation_end_date(date(2026, 11, 23)) == date(2026, 12, 31)


def test_itemization_adds_up() -> None:
    item = Itemization(AS_OF, D("1250.00"), D("37.42"), D("25.00"), D("100.00"))
    assert item.now == D("1212.42")


def test_notice_goes_first_and_calls_wait_until_it_is_sent(engine, tmp_path) -> None:
    make_book(engine)
    settings, pack = load_settings(tmp_path), load_pack("us-regf")
    with Session(engine) as session, session.begin():
        assert queue_validation_notices(session, settings, pack, AS_OF, balances) == 6
    with Session(engine) as session, session.begin():  # once per debt
        assert queue_validation_notices(session, settings, pack, AS_OF, balances) == 0

    def verdict(channel: str):
        with Session(engine) as session:
            gate = store_gate(session, pack, ["C1"], NEXT_DAY)
        attempt = Attempt(f"x-{channel}", "C1", "L1", channel, NEXT_DAY, "America/New_York")
        return gate.check(attempt, recipient="13812340001")

    for channel in ("call", "sms", "email"):
        assert verdict(channel).rules == ("hold.validation_pending",), channel
    assert "validation notice has not been sent" in verdict("call").reasons[0]
    assert verdict("letter").allowed  # the notice itself is a letter

    spool = tmp_path / "letters"
    report = Dispatcher(engine, {"letter": LetterSpoolAdapter(spool)}).run_until_idle()
    assert report.outcomes["sent"] == 6
    with Session(engine) as session, session.begin():
        assert release_sent_notices(session, NEXT_DAY.date()) == 6
    assert verdict("call").allowed

    with Session(engine) as session:
        body = session.scalar(
            select(OutboxMessage.body)
            .join(ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id)
            .where(ContactAttempt.loan_id == "L1")
        )
    letter = Letter.from_json(body)
    # case L1 is 120 days past due on 1 December: the first missed due date is 3 August
    assert letter.extra["itemization_date"] == "2026-08-03"
    assert letter.extra["validation_end_date"] == "2027-01-08"
    (run,) = render_print_runs(spool)
    pdftotext = subprocess.run(["pdftotext", str(run), "-"], capture_output=True, check=True)
    text = " ".join(pdftotext.stdout.decode("utf-8").split())
    for phrase in (
        "is a debt collector. We are trying to collect a debt that you owe to",
        "As of 3 August 2026, you owed: CNY 1,050.00",
        "You were charged this amount in interest: + CNY 7.75",
        "You were charged this amount in fees: + CNY 25.00",
        "You paid or were credited this amount toward the debt: – CNY 0.00",
        "Total amount of the debt now: CNY 1,082.75",
        "Call or write to us by 8 January 2027, to dispute all or part of the debt.",
        "Write to ask for the name and address of the original creditor",
        "www.cfpb.gov/debt-collection",
        "I want to dispute the debt because I think:",
        "I want you to send me the name and address of the original creditor.",
    ):
        assert phrase in text, phrase


def test_other_packs_send_no_notice(engine, tmp_path) -> None:
    make_book(engine)
    with Session(engine) as session, session.begin():
        settings = load_settings(tmp_path)
        assert queue_validation_notices(session, settings, load_pack("cn"), AS_OF, balances) == 0
    assert queue_validation_notices.__doc__  # us-ma extends us-regf and sends it
    with Session(engine) as session, session.begin():
        us_ma = load_pack("us-ma")
        assert queue_validation_notices(session, settings, us_ma, AS_OF, balances) == 6


def test_a_notice_without_its_itemization_is_refused() -> None:
    item = Itemization(AS_OF, D("1.00"))
    extra = validation_extra(item, AS_OF, creditor="X")
    del extra["itemization_date"]
    letter = Letter(
        template="validation_notice", language="en", reference="VN-1", letter_date=AS_OF,
        institution_name="X", institution_address=("A",), institution_phone="1",
        addressee_name="J", addressee_address=("B",), account="1234", currency="USD",
        amounts=(), due_date=AS_OF, pay_link="p", collector_name="c", collector_phone="1",
        signatory="s", extra=extra,
    )  # fmt: skip
    with pytest.raises(ValueError, match="VN-1: a validation notice needs its itemization"):
        render_letter_pdf(letter)

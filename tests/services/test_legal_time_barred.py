"""A legal step recorded by hand in the workbench (services/workbench/legal.record_stage)
is refused on a time-barred debt under a pack with limitation periods: no lawyer letter,
filing or asset preservation (12 CFR 1006.26(b)); the refusal reads in zh_CN and en. A
debt within its period, a pack without periods and a suit filed in time are not
refused. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).parents[1] / "web"))  # the workbench's test book
from web_support import make_book

from arrears.services.workbench import legal
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Conflict
from arrears.store.models import CaseRow, Customer
from arrears.store.workbench_models import LegalAction, User
from arrears.web.ui.i18n import translator
from arrears.web.ui.refusals import refusal_text

ON = date(2026, 12, 1)
LA = "1 Main St\nLos Angeles, CA 90012"  # California: 4 years (CCP 337)


@pytest.fixture
def book(engine):
    made = make_book(engine)
    with Session(engine) as session, session.begin():
        session.execute(update(Customer).values(address=LA))
        # L1: defaulted 4 years and 5 days ago (barred); L2: 3 years ago (not yet)
        session.execute(update(CaseRow).where(CaseRow.loan_id == "L1").values(dpd=4 * 365 + 5))
        session.execute(update(CaseRow).where(CaseRow.loan_id == "L2").values(dpd=3 * 365))
        session.execute(update(CaseRow).where(CaseRow.loan_id == "L3").values(dpd=4 * 365 + 5))
    return made


def manager(session: Session) -> Actor:
    user = session.scalar(select(User).where(User.username == "mgr"))
    assert user is not None
    return Actor.of(user)


def case_of(session: Session, loan_id: str) -> int:
    found = session.scalar(select(CaseRow.id).where(CaseRow.loan_id == loan_id))
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("stage", "court"),
    [("lawyer_letter", ""), ("filing", "Superior Court"), ("asset_preservation", "Court")],
)
def test_a_suit_step_on_a_time_barred_debt_is_refused(book, stage, court) -> None:
    with Session(book.engine) as session:
        actor, case_id = manager(session), case_of(session, "L1")
        with pytest.raises(Conflict) as refused:
            legal.record_stage(session, actor, case_id, stage, ON, court=court, pack="us-regf")
        session.rollback()
        assert session.scalars(select(LegalAction)).all() == []
    error = refused.value
    assert error.code == "legal_time_barred" and error.status == 409
    barred_on = date(2026, 11, 27)  # defaulted 2022-11-27 (4 * 365 + 5 days ago) + 4 years
    assert error.params == {"date": barred_on}
    assert "time-barred since 2026-11-27" in str(error) and "1006.26(b)" in str(error)
    zh = refusal_text(error, translator("zh_CN"), "zh_CN")
    assert zh.startswith("该债务自 2026-11-27 起已过诉讼时效") and not re.search("[A-Za-z]", zh)
    en = refusal_text(error, translator("en"), "en")
    assert en.startswith("The debt is time-barred since 2026-11-27")


def test_within_its_period_without_periods_or_after_a_timely_filing_it_is_recorded(book) -> None:
    with Session(book.engine) as session, session.begin():
        actor = manager(session)
        within, barred = case_of(session, "L2"), case_of(session, "L1")
        legal.record_stage(session, actor, within, "lawyer_letter", ON, pack="us-regf")
        # cn has no limitation periods: nothing is time-barred under it
        legal.record_stage(session, actor, barred, "lawyer_letter", ON, pack="cn")
    with Session(book.engine) as session, session.begin():
        actor, barred = manager(session), case_of(session, "L3")
        # a suit filed in time (recorded without the pack) goes on to judgment and
        # enforcement, and may add an asset preservation
        legal.record_stage(session, actor, barred, "filing", date(2022, 12, 1), court="C")
        legal.record_stage(session, actor, barred, "judgment", ON, court="C", pack="us-regf")
        legal.record_stage(
            session, actor, barred, "asset_preservation", ON, court="C", pack="us-regf"
        )
        stages = [a.stage for a in legal.stages_of(session, barred)]
    assert stages[-3:] == ["filing", "judgment", "asset_preservation"]


# ---- call scripts (话术) carry the state's disclosure -------------------------------


def test_a_call_script_about_a_time_barred_debt_carries_the_state_disclosure(
    book, tmp_path
) -> None:
    from arrears.services.workbench.case_view import script_text

    (tmp_path / "arrears.toml").write_text('[compliance]\npack = "us-regf"\n', encoding="utf-8")
    with Session(book.engine) as session:
        barred = session.get(CaseRow, case_of(session, "L1"))
        within = session.get(CaseRow, case_of(session, "L2"))
        assert barred is not None and within is not None
        text = script_text(session, barred, tmp_path, "script_early_firm")
        plain = script_text(session, within, tmp_path, "script_early_firm")
        under_cn = script_text(session, barred, None, "script_early_firm")
    assert text is not None and plain is not None and under_cn is not None
    # the script's own words, then the lead in the debtor's language and California's text
    assert text.startswith("1. 开场与身份核实")
    assert "（该债务已过诉讼时效：须向债务人宣读下列州法规定的告知，不得提及起诉。）" in text
    assert "Because of the age of your debt, we will not sue you for it" in text
    assert "statute" not in plain and "we will not sue" not in plain
    assert "we will not sue" not in under_cn  # the default pack (cn) has no periods

"""Arrangements (issue 25, contract 7) on the Ibis close, after the fact: the batch
engine does not make settlements or plans, but a loan re-amortised (or settled) by the
domain core and handed over with its new schedule in the schedule table closes on the
engine (DuckDB) exactly as on the domain core, day by day, with no engine change.

The loans are the CONSUMER worked example (12,000.00 at 18%, #1 paid, #2 and #3 unpaid)
on 20 Apr 2025: re-amortised over 6 annuity installments at 12% from 5 May (its first
new installment paid on time, or missed: grace to 8 May, late fee and 罚息 from 9 May),
over 4 equal-principal installments with the charges re-amortised too, and settled.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference_states import differences, expected_rows, prepare, reference_states
from arrears.batch.sample import SampleLoan
from arrears.domain.account import LoanAccount, Payment, advance, open_account
from arrears.domain.arrangements import Plan, reamortise, settle
from arrears.domain.products import ScheduleMethod, load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
START = date(2025, 4, 20)
END = date(2025, 5, 10)


def _worked(loan_id: str) -> LoanAccount:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account(loan_id, CAT.product("CONSUMER"), terms)
    acc, _ = advance(acc, START, [Payment(f"{loan_id}-1", date(2025, 2, 10), D("1100.16"))])
    return acc


def _book() -> list[SampleLoan]:
    annuity = Plan(6, ScheduleMethod.ANNUITY, D("0.12"), date(2025, 5, 5))
    paid = reamortise(_worked("PLAN-PAID"), "plan", START, annuity)
    first, owed = paid.schedule[3], D("96.97")
    missed = reamortise(_worked("PLAN-MISSED"), "plan", START, annuity)
    equal = Plan(4, ScheduleMethod.EQUAL_PRINCIPAL, D("0.06"), date(2025, 5, 1), charges=True)
    charges = reamortise(_worked("PLAN-CHARGES"), "plan", START, equal)
    settled = settle(_worked("SETTLED"), "s1", START, D("9000.00"))
    return [
        # the old charges (罚息 31.57, 复利 5.40, fees 60.00) stay owed and are paid first
        SampleLoan(paid, "A1", "plan", (Payment("n1", first.due_date, first.amount + owed),)),
        SampleLoan(missed, "A2", "plan", ()),
        SampleLoan(charges, "A3", "plan", (Payment("n2", date(2025, 5, 9), D("1000.00")),)),
        SampleLoan(settled, "A4", "settled", ()),
        SampleLoan(_worked("AS-IS"), "A5", "never", ()),
    ]


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    sample = _book()
    book = BatchBook(tmp_path_factory.mktemp("arrangements"))
    prepare(book, sample, CAT, START)
    Closer(book, CAT, "duckdb").close_through(END)
    return sample, book, reference_states(sample, CAT, START, END)


# Issue 25, contract 3: the domain core classes a re-amortised loan at least 次级 while
# it is under observation (domain/observation.py); the batch engine does not carry the
# restructured mark yet, so it classes the PLAN-* loans by DPD alone. That one known gap
# is left out of the day-by-day comparison and held by the strict xfail below, which
# fails (XPASS) once the engine carries the mark: then drop RESTRUCTURED_GAP.
RESTRUCTURED_GAP = {f"{loan} loan_class" for loan in ("PLAN-PAID", "PLAN-MISSED", "PLAN-CHARGES")}


def _problems(book: BatchBook, reference, sample, day: date, skip: set[str]) -> list[str]:
    accounts, _ = book.read_state(day)
    problems = differences(accounts, expected_rows(reference, sample, day))
    return [p for p in problems if p.split(":")[0] not in skip]


def test_duckdb_closes_a_reamortised_or_settled_loan_as_the_domain_core(closed):
    sample, book, reference = closed
    day = START + timedelta(days=1)
    while day <= END:
        problems = _problems(book, reference, sample, day, RESTRUCTURED_GAP)
        assert not problems, f"{day}: {problems[:5]}"
        day += timedelta(days=1)


@pytest.mark.xfail(strict=True, reason="the batch engine does not carry the restructured mark")
def test_duckdb_classes_a_restructured_loan_as_the_domain_core(closed):
    sample, book, reference = closed
    assert reference[END]["PLAN-PAID"].loan_class == "substandard"  # the domain core's floor
    problems = _problems(book, reference, sample, END, set())
    assert not problems, problems[:5]


def test_the_book_shows_the_new_schedules_at_work(closed):
    _, book, reference = closed
    rows = {r["loan_id"]: r for r in book.read_state(END)[0].to_pylist()}
    # paid on time: current; missed: 5 days from 5 May, late fee 30.00 and 罚息 since 9 May
    assert (rows["PLAN-PAID"]["dpd"], rows["PLAN-MISSED"]["dpd"]) == (0, 5)
    assert rows["PLAN-MISSED"]["fee"] == 60_00 + 30_00  # the two old late fees stay owed
    assert rows["PLAN-MISSED"]["penalty"] > reference[START]["PLAN-MISSED"].penalty * 100
    # charges re-amortised: 11,495.20 / 4 = 2,873.80 due 1 May, 1,000.00 paid on 9 May
    before = {r["loan_id"]: r for r in book.read_state(date(2025, 5, 8))[0].to_pylist()}
    assert before["PLAN-CHARGES"]["fee"] == 30_00  # only #4's own late fee (5 May)
    assert rows["PLAN-CHARGES"]["fee"] == 0  # paid first on 9 May
    assert reference[START]["PLAN-CHARGES"].principal_not_due == D("11495.20")
    assert rows["SETTLED"]["status"] == "closed" and rows["SETTLED"]["not_due"] == 0
    assert rows["AS-IS"]["dpd"] == 61  # unchanged loan: #2 due 10 Mar

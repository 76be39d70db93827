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

import shutil
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference_states import differences, expected_rows, prepare, reference_states
from arrears.batch.sample import SampleLoan
from arrears.domain.account import LoanAccount, Payment, advance, open_account
from arrears.domain.arrangements import Plan, reamortise, settle
from arrears.domain.products import RestructuredRules, ScheduleMethod, load_catalog
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


def _problems(book: BatchBook, reference, sample, day: date) -> list[str]:
    accounts, _ = book.read_state(day)
    return differences(accounts, expected_rows(reference, sample, day))


def _every_day(book: BatchBook, reference, sample, start: date, end: date) -> None:
    day = start + timedelta(days=1)
    while day <= end:
        problems = _problems(book, reference, sample, day)
        assert not problems, f"{day}: {problems[:5]}"
        day += timedelta(days=1)


def test_duckdb_closes_a_reamortised_or_settled_loan_as_the_domain_core(closed):
    sample, book, reference = closed
    _every_day(book, reference, sample, START, END)


def test_duckdb_classes_a_restructured_loan_as_the_domain_core(closed):
    _, book, reference = closed
    rows = {r["loan_id"]: r for r in book.read_state(END)[0].to_pylist()}
    for loan in ("PLAN-PAID", "PLAN-MISSED", "PLAN-CHARGES"):
        # marked on 20 Apr (the period ends in 2026): at least 次级, whatever the DPD
        assert reference[END][loan].restructured
        assert rows[loan]["loan_class"] == reference[END][loan].loan_class == "substandard"
    assert rows["PLAN-PAID"]["dpd"] == 0 and rows["AS-IS"]["loan_class"] == "special_mention"


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


# The observation period on the engine (docs/loan-rules.md, "Restructured loans"): the
# worked plan (20 Apr 2025, six equal-principal instalments of 1,915.87 at 0% from 20 May,
# charges re-amortised) under a 3-month period (to 20 Aug), handed over on 15 Jul and
# closed by the engine to 25 Oct, where the mark clears, stays or ends with the loan.
OBS_START, OBS_END = date(2025, 7, 15), date(2025, 10, 25)
CONSUMER = CAT.product("CONSUMER")
OBS_CAT = replace(
    CAT,
    products={
        **CAT.products,
        "OBS3": replace(CONSUMER, code="OBS3", restructured=RestructuredRules(months=3)),
        "OBS3K3": replace(
            CONSUMER, code="OBS3K3", restructured=RestructuredRules(months=3, on_time_payments=3)
        ),
    },
)
NEW_DUES = [date(2025, m, 20) for m in range(5, 11)]


def _planned(loan_id: str, code: str) -> LoanAccount:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account(loan_id, OBS_CAT.product(code), terms)
    acc, _ = advance(acc, START, [Payment(f"{loan_id}-1", date(2025, 2, 10), D("1100.16"))])
    plan = Plan(6, ScheduleMethod.EQUAL_PRINCIPAL, D("0"), date(2025, 5, 20), charges=True)
    return reamortise(acc, "plan", START, plan)


def _paid(loan_id: str, late: dict[int, date] = {}, upto: int = 10) -> tuple[Payment, ...]:  # noqa: B006
    """Each new instalment (#4 in May … #9 in October) paid on its due date through month
    ``upto``, except those of ``late`` (month -> day), which also pay the late fee and 罚息."""
    out = []
    for n, due in enumerate(NEW_DUES):
        if due.month > upto:
            break
        amount = D("1915.87") if n < 5 else D("1915.85")
        day = late.get(due.month, due)
        out.append(Payment(f"{loan_id}-n{n + 4}", day, amount + (D("40") if day > due else 0)))
    return tuple(out)


def _observed() -> list[SampleLoan]:
    return [
        # every instalment on time: the mark clears when the period ends, 20 Aug
        SampleLoan(_planned("OBS-ONTIME", "OBS3"), "B1", "plan", _paid("OBS-ONTIME")),
        # #6 (due 20 Jul) paid on 25 Jul, after grace: clears on 20 Sep (#7, #8 on time)
        SampleLoan(
            _planned("OBS-LATE", "OBS3"), "B2", "plan", _paid("OBS-LATE", {7: date(2025, 7, 25)})
        ),
        # #5 (due 20 Jun) late before the hand-over, three on time needed: 20 Sep
        SampleLoan(
            _planned("OBS-K3", "OBS3K3"), "B3", "plan", _paid("OBS-K3", {6: date(2025, 6, 30)})
        ),
        # pays through August, then stops: cleared 20 Aug, 关注 by DPD from 24 Sep
        SampleLoan(_planned("OBS-STOPS", "OBS3"), "B4", "plan", _paid("OBS-STOPS", upto=8)),
        # #7 (due 20 Aug) missed for good: past grace from 24 Aug, the mark stays
        SampleLoan(_planned("OBS-MISSES", "OBS3"), "B5", "plan", _paid("OBS-MISSES", upto=7)),
    ]


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    sample = _observed()
    book = BatchBook(tmp_path_factory.mktemp("observed"))
    prepare(book, sample, OBS_CAT, OBS_START)
    Closer(book, OBS_CAT, "duckdb").close_through(OBS_END)
    return sample, book, reference_states(sample, OBS_CAT, OBS_START, OBS_END)


def test_duckdb_clears_the_restructured_mark_as_the_domain_core(observed):
    sample, book, reference = observed
    _every_day(book, reference, sample, OBS_START, OBS_END)


def test_the_mark_clears_on_the_days_worked_by_hand(observed):
    _, book, reference = observed

    def klass(loan: str, day: date) -> str:
        rows = {r["loan_id"]: r for r in book.read_state(day)[0].to_pylist()}
        return rows[loan]["loan_class"]

    aug19, aug20, sep19, sep20 = (date(2025, 8, 19), date(2025, 8, 20),
                                  date(2025, 9, 19), date(2025, 9, 20))  # fmt: skip
    assert (klass("OBS-ONTIME", aug19), klass("OBS-ONTIME", aug20)) == ("substandard", "normal")
    for loan in ("OBS-LATE", "OBS-K3"):
        assert (klass(loan, aug20), klass(loan, sep19)) == ("substandard", "substandard")
        assert klass(loan, sep20) == "normal"
    assert klass("OBS-STOPS", date(2025, 9, 24)) == "special_mention"  # #8 missed, DPD 4
    assert klass("OBS-MISSES", OBS_END) == "substandard"  # 66 DPD is 关注; the floor holds
    assert reference[OBS_END]["OBS-MISSES"].restructured


@pytest.mark.slow
def test_spark_clears_the_mark_as_duckdb(observed, tmp_path, monkeypatch):
    """The same Ibis code on Spark (local mode), from DuckDB's state of 17 Aug through
    the day the on-time loans clear (20 Aug) and the day after: equal to the domain core
    and byte-identical to DuckDB's state."""
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")
    sample, duckdb, reference = observed
    first, last = date(2025, 8, 17), date(2025, 8, 21)
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(duckdb.root, spark.root)
    for day in spark.state_dates():
        if day > first:
            shutil.rmtree(spark.state_dir(day))
    Closer(spark, OBS_CAT, "spark").close_through(last)
    _every_day(spark, reference, sample, first, last)
    for day in (date(2025, 8, 20), last):
        for name in ("accounts.parquet", "dues.parquet"):
            assert (spark.state_dir(day) / name).read_bytes() == (
                duckdb.state_dir(day) / name
            ).read_bytes(), f"{day} {name}"

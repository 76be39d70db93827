"""The loan rules of issue 25 on the Ibis close (DuckDB) equal the domain core, on a
small book made of the issue's cases: a payment the day after grace, loans written off
with DPD counting on (past due, inside grace, before their first due date), and loans
under a cap on the principal in arrears (24%, and 4 × the LPR of the contract date),
enforcement costs settled first and the Civil Code art. 561 waterfall."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from arrears.batch.close import BatchBook, Closer
from arrears.batch.reference_states import differences, expected_rows, prepare, reference_states
from arrears.batch.sample import SampleLoan
from arrears.batch.state import accrued_units
from arrears.domain import operations as ops
from arrears.domain.account import LoanAccount, Payment, advance, open_account
from arrears.domain.products import (
    CIVIL_CODE_561,
    AccrualRounding,
    CapBasis,
    ChargeDays,
    ClassificationScheme,
    PenaltyFrom,
    load_catalog,
)
from arrears.domain.schedule import LoanTerms
from arrears.snapshots import read_snapshot

D = Decimal
BASE = load_catalog()
_CONSUMER = BASE.product("CONSUMER")


def _capped(code: str, **cap: object):
    charges = replace(_CONSUMER.charges, cost_cap_basis=CapBasis.OVERDUE, **cap)
    return replace(_CONSUMER, code=code, charges=charges)


LPR = ((date(2024, 10, 21), D("0.031")), (date(2025, 5, 20), D("0.03")))
CAT = replace(
    BASE,
    products={
        **BASE.products,
        "CONS-OV": _capped("CONS-OV", cost_cap=D("0.24")),
        "CONS-LPR": _capped("CONS-LPR", cost_cap=None, cost_cap_lpr_multiple=D(4), lpr=LPR),
        "CONS-561": replace(_CONSUMER, code="CONS-561", waterfall=CIVIL_CODE_561),
        "CONS-CLS": replace(
            _CONSUMER,
            code="CONS-CLS",
            classification=ClassificationScheme(0, 60, 90, 180),  # 次级 over 60 DPD
        ),
        "CONS-30": replace(
            _CONSUMER,
            code="CONS-30",
            charges=replace(_CONSUMER.charges, charge_days=ChargeDays.THIRTY_360),
        ),
        "CONS-BACK": replace(
            _CONSUMER,
            code="CONS-BACK",
            charges=replace(_CONSUMER.charges, penalty_from=PenaltyFrom.DUE_DATE),
        ),
    },
)
START = date(2025, 4, 7)
END = date(2025, 4, 16)


def _open(
    loan_id: str, disbursed: date, principal: str = "6000.00", code: str = "CONSUMER"
) -> LoanAccount:
    product = CAT.product(code)
    return open_account(loan_id, product, LoanTerms(D(principal), D("0.18"), 12, disbursed))


def _written_off(acc: LoanAccount, on: date, payments: list[Payment] = ()) -> LoanAccount:
    acc, _ = advance(acc, on, payments)
    return replace(acc, ledger=ops.write_off(acc.ledger, f"wo:{acc.loan_id}", on).ledger)


def _book() -> list[SampleLoan]:
    # the issue's loan: #1 550.08 due 5 Apr, grace to 8 Apr, paid in full on 9 Apr
    late = _open("L-LATE", date(2025, 3, 5))
    # written off at DPD 40 on #1 (a first-payment default)
    past_due = _written_off(_open("W-PAST", date(2025, 1, 20)), date(2025, 3, 30))
    # #1 paid, written off on 6 Apr one day into #2's grace (due 5 Apr): DPD 0 at the
    # handover (7 Apr), then 4 on 9 Apr
    first = _open("W-GRACE", date(2025, 2, 5))
    grace = _written_off(first, date(2025, 4, 6), [Payment("g1", date(2025, 3, 5), D("550.08"))])
    # written off before anything fell due: DPD counts from #1 (due 10 Apr) after grace
    early = _written_off(_open("W-EARLY", date(2025, 3, 10)), date(2025, 4, 6))
    # capped on the principal in arrears: #1 and #2 never paid (27% 罚息 > 24% cap, so
    # the cap binds every day); one pays #1 late inside the window; 4 × LPR 3.10%
    capped = [
        SampleLoan(_open("CAP-OV", date(2025, 2, 3), code="CONS-OV"), "C4", "never", ()),
        SampleLoan(
            _open("CAP-PAY", date(2025, 2, 3), code="CONS-OV"),
            "C4",
            "late",
            (Payment("c1", date(2025, 4, 12), D("700.00")),),
        ),
        SampleLoan(_open("CAP-LPR", date(2025, 2, 3), code="CONS-LPR"), "C5", "never", ()),
    ]
    # 500.00 of enforcement costs booked on 1 Apr on a loan owing #1 and #2, paid on 10
    # Apr: under CONSUMER's own order (costs first, then fee … by installment) and art. 561
    costs = []
    for code in ("CONSUMER", "CONS-561"):
        acc, _ = advance(_open(f"COST-{code}", date(2025, 2, 5), code=code), date(2025, 4, 1))
        acc = replace(
            acc, ledger=ops.charge_cost(acc.ledger, "c1", date(2025, 4, 1), D(500)).ledger
        )
        pays = (Payment(f"cp-{code}", date(2025, 4, 10), D("900.00")),)
        costs.append(SampleLoan(acc, "C6", "late", pays))
    # 罚息 from the due date once grace is missed: the issue's loan unpaid, and paid the
    # day after grace
    back = [
        SampleLoan(_open("BACK-NONE", date(2025, 3, 5), code="CONS-BACK"), "C7", "never", ()),
        SampleLoan(
            _open("BACK-LATE", date(2025, 3, 5), code="CONS-BACK"),
            "C7",
            "late",
            (Payment("b1", date(2025, 4, 9), D("550.08")),),
        ),
    ]
    # thresholds of its own: 次级 over 60 DPD (the book's: over 90)
    strict = [
        SampleLoan(_open(f"CLS-{code}", date(2025, 1, 5), code=code), "C9", "never", ())
        for code in ("CONS-CLS", "CONSUMER")
    ]
    return [
        *capped,
        *costs,
        *back,
        *strict,
        SampleLoan(late, "C1", "late", (Payment("p1", date(2025, 4, 9), D("550.08")),)),
        SampleLoan(past_due, "C2", "written_off", ()),
        SampleLoan(grace, "C3", "written_off", ()),
        SampleLoan(early, "C3", "written_off", ()),
    ]


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    sample = _book()
    book = BatchBook(tmp_path_factory.mktemp("rules"))
    prepare(book, sample, CAT, START)
    Closer(book, CAT, "duckdb", snapshots=book.root / "snapshots").close_through(END)
    return sample, book, reference_states(sample, CAT, START, END)


def test_duckdb_equals_the_domain_core_on_the_issue_cases(closed):
    sample, book, reference = closed
    day = START + timedelta(days=1)
    while day <= END:
        accounts, _ = book.read_state(day)
        problems = differences(accounts, expected_rows(reference, sample, day))
        assert not problems, f"{day}: {problems[:5]}"
        day += timedelta(days=1)


def test_the_cases_show_what_the_issue_asks(closed):
    _, book, reference = closed
    late = reference[date(2025, 4, 9)]["L-LATE"]
    assert (late.dpd, late.fee, late.principal_due, late.penalty) == (
        4,
        0,
        D("30.00"),
        D("0.02"),
    )
    rows = {r["loan_id"]: r for r in book.read_state(END)[0].to_pylist()}
    # 16 Apr: W-PAST from #1 (due 20 Feb): 55 days; W-GRACE from #2 (5 Apr): 11;
    # W-EARLY from #1 (10 Apr): 6; all 损失
    assert {k: (r["dpd"], r["loan_class"]) for k, r in rows.items() if k.startswith("W")} == {
        "W-PAST": (55, "loss"),
        "W-GRACE": (11, "loss"),
        "W-EARLY": (6, "loss"),
    }
    assert rows["W-PAST"]["first_payment_default"] and not rows["W-GRACE"]["first_payment_default"]
    assert reference[START]["W-GRACE"].dpd == 0 and reference[date(2025, 4, 9)]["W-GRACE"].dpd == 4


def test_the_cap_on_the_principal_in_arrears_binds(closed):
    # CAP-OV: #1 (460.08 principal) due 3 Mar and #2 (466.98) due 3 Apr unpaid: charges
    # stay exactly at 24% a year of the principal-days past due, every day
    _, book, reference = closed
    for day in (date(2025, 4, 10), END):
        st = reference[day]["CAP-OV"]
        row = next(r for r in book.read_state(day)[0].to_pylist() if r["loan_id"] == "CAP-OV")
        allowance = D(row["overdue_days"]) / 100 * D("0.24") / 365
        assert D(row["charges"]) / 100 == allowance.quantize(D("0.01"), rounding=ROUND_HALF_UP)
        assert st.penalty + st.fee + st.compound == D(row["charges"]) / 100
    lpr = reference[END]["CAP-LPR"]
    assert lpr.penalty + lpr.compound + lpr.fee < reference[END]["CAP-OV"].penalty


def test_costs_are_settled_first_on_both_engines(closed):
    _, book, reference = closed
    before, after = reference[date(2025, 4, 9)], reference[date(2025, 4, 10)]
    for code in ("CONSUMER", "CONS-561"):
        assert before[f"COST-{code}"].costs == D(500) and after[f"COST-{code}"].costs == 0
    # art. 561: interest of #1 and #2 before any principal, the fees after the principal
    assert after["COST-CONS-561"].fee == D("60.00") and after["COST-CONSUMER"].fee == 0
    rows = {r["loan_id"]: r for r in book.read_state(date(2025, 4, 10))[0].to_pylist()}
    assert rows["COST-CONS-561"]["costs"] == 0 and rows["COST-CONS-561"]["fee"] == 6000


def test_costs_are_in_the_snapshot_and_its_totals(closed):
    # the published snapshot shows the costs owed, and counts them in total_due and
    # overdue_amount exactly as the domain core's DayState does (500.00 before the
    # payment of 10 Apr settles them first)
    _, book, reference = closed
    for day in (date(2025, 4, 9), date(2025, 4, 10)):
        rows = {r["loan_id"]: r for r in read_snapshot(book.root / "snapshots", day).to_pylist()}
        for code in ("CONSUMER", "CONS-561"):
            row, st = rows[f"COST-{code}"], reference[day][f"COST-{code}"]
            assert (row["costs"], row["total_due"], row["overdue_amount"]) == (
                st.costs,
                st.total_due,
                st.overdue_amount,
            )
            assert row["costs"] == (D(500) if day == date(2025, 4, 9) else 0)
            charges = row["penalty"] + row["compound"] + row["fee"]
            assert row["total_due"] == (
                row["principal_due"] + row["interest_due"] + charges + row["costs"]
            )


def test_penalty_back_charged_from_the_due_date(closed):
    _, _, reference = closed
    none, late = reference[date(2025, 4, 9)]["BACK-NONE"], reference[date(2025, 4, 9)]["BACK-LATE"]
    assert (none.penalty, none.compound) == (D("1.40"), D("0.28"))  # 3 days back + the day's
    assert (late.principal_due, late.dpd) == (D("31.26"), 4)


def test_true_30_360_charges_across_the_end_of_february(tmp_path):
    # contract 4: 罚息 counts 1 Mar for 3 days (29 and 30 Feb, 1 Mar) on both engines
    start, end = date(2025, 2, 27), date(2025, 3, 2)
    loans = [
        SampleLoan(_open(f"T30-{code}", date(2025, 1, 5), code=code), "C8", "never", ())
        for code in ("CONS-30", "CONSUMER")
    ]
    book = BatchBook(tmp_path)
    prepare(book, loans, CAT, start)
    Closer(book, CAT, "duckdb").close_through(end)
    reference = reference_states(loans, CAT, start, end)
    day = start + timedelta(days=1)
    while day <= end:
        problems = differences(book.read_state(day)[0], expected_rows(reference, loans, day))
        assert not problems, f"{day}: {problems[:5]}"
        day += timedelta(days=1)
    # #1: 460.08 principal: 0.35 a day (0.345…); on 1 Mar, 3 days: 460.08 × 0.27 × 3 / 360
    # = 1.035… → 1.04 under 30/360, one day 0.35 otherwise
    grew = {
        code: reference[date(2025, 3, 1)][f"T30-{code}"].penalty
        - reference[date(2025, 2, 28)][f"T30-{code}"].penalty
        for code in ("CONS-30", "CONSUMER")
    }
    assert grew == {"CONS-30": D("1.04"), "CONSUMER": D("0.35")}


def test_classification_thresholds_per_product(closed):
    # contract 3: #1 due 5 Feb unpaid, DPD 61 on 7 Apr: 次级 under CONS-CLS (over 60),
    # 关注 under the book's thresholds (up to 90), on both engines
    _, book, reference = closed
    rows = {r["loan_id"]: r for r in book.read_state(date(2025, 4, 8))[0].to_pylist()}
    assert (rows["CLS-CONS-CLS"]["dpd"], rows["CLS-CONS-CLS"]["loan_class"]) == (62, "substandard")
    assert rows["CLS-CONSUMER"]["loan_class"] == "special_mention"
    assert reference[date(2025, 4, 8)]["CLS-CONS-CLS"].loan_class == "substandard"


def _rounded(code: str, rounding: AccrualRounding, days: ChargeDays = ChargeDays.ACTUAL):
    charges = replace(_CONSUMER.charges, accrual_rounding=rounding, charge_days=days)
    return replace(_CONSUMER, code=code, charges=charges)


ROUNDED = replace(
    BASE,
    products={
        **BASE.products,
        "CONS-MON": _rounded("CONS-MON", AccrualRounding.MONTHLY),
        "CONS-PAY": _rounded("CONS-PAY", AccrualRounding.AT_PAYMENT),
        "CONS-AA": _rounded("CONS-AA", AccrualRounding.DAILY, ChargeDays.ACT_ACT),
        "CONS-AAM": _rounded("CONS-AAM", AccrualRounding.MONTHLY, ChargeDays.ACT_ACT),
    },
)


ROUNDED_START, ROUNDED_END = date(2024, 12, 29), date(2025, 1, 3)


@pytest.fixture(scope="module")
def rounded(tmp_path_factory):
    # #1 (due 5 Nov 2024) and #2 (5 Dec) unpaid, handed over on 29 Dec with what has
    # accrued unposted since November; one loan of each product never pays, one pays
    # 300.00 on 2 Jan
    loans = []
    for code in ("CONS-MON", "CONS-PAY", "CONS-AA", "CONS-AAM", "CONSUMER"):
        product = ROUNDED.product(code)
        terms = LoanTerms(D("6000.00"), D("0.18"), 12, date(2024, 10, 5))
        loans.append(SampleLoan(open_account(f"N-{code}", product, terms), "C10", "never", ()))
        pays = (Payment(f"r-{code}", date(2025, 1, 2), D("300.00")),)
        loans.append(SampleLoan(open_account(f"P-{code}", product, terms), "C11", "late", pays))
    book = BatchBook(tmp_path_factory.mktemp("rounded"))
    prepare(book, loans, ROUNDED, ROUNDED_START)
    Closer(book, ROUNDED, "duckdb").close_through(ROUNDED_END)
    return loans, book, reference_states(loans, ROUNDED, ROUNDED_START, ROUNDED_END)


def _assert_rounded_rows(book, loans, reference):
    day = ROUNDED_START + timedelta(days=1)
    while day <= ROUNDED_END:
        rows = book.read_state(day)[0]
        problems = differences(rows, expected_rows(reference, loans, day))
        assert not problems, f"{day}: {problems[:5]}"
        # the carried remainders are the domain's unposted accruals, exactly
        for row in rows.to_pylist():
            loan = next(s for s in loans if s.account.loan_id == row["loan_id"])
            acc, _ = advance(loan.account, day, [p for p in loan.payments if p.paid_on <= day])
            assert (row["pen_accrued"], row["comp_accrued"]) == accrued_units(acc), (day, acc)
        day += timedelta(days=1)


def test_unrounded_accrual_and_act_act_across_a_month_and_year_end(rounded):
    # contract 4: 31 Dec posts the month (monthly), a payment on 2 Jan posts what
    # accrued before it settles (monthly and at_payment); ACT/ACT counts the nights of
    # 2024 over 366 days and those of 2025 over 365; every row and remainder equal
    loans, book, reference = rounded
    _assert_rounded_rows(book, loans, reference)
    start = ROUNDED_START
    dec30, dec31 = reference[date(2024, 12, 30)], reference[date(2024, 12, 31)]
    # monthly: nothing posted on 30 Dec, the month (and November's remainder) on the 31st
    assert dec30["N-CONS-MON"].penalty == reference[start]["N-CONS-MON"].penalty
    assert dec31["N-CONS-MON"].penalty > dec30["N-CONS-MON"].penalty
    # at payment: nothing posted before 2 Jan, everything since 9 Nov then
    assert reference[date(2025, 1, 1)]["P-CONS-PAY"].penalty == 0
    assert reference[date(2025, 1, 2)]["P-CONS-PAY"].charged_to_date > (
        reference[date(2025, 1, 1)]["P-CONS-PAY"].charged_to_date
    )
    # ACT/ACT: #1 and #2 principal 460.08 + 466.98 = 927.06 × 0.27 / 366 = 0.6839 → 0.68
    # for the night of 31 Dec (1 Jan), / 365 = 0.6858 → 0.69 from 2 Jan
    aa = [reference[date(2025, 1, d)]["N-CONS-AA"].penalty for d in (1, 2, 3)]
    assert (aa[0] - dec31["N-CONS-AA"].penalty, aa[1] - aa[0], aa[2] - aa[1]) == (
        D("0.68"),
        D("0.69"),
        D("0.69"),
    )


@pytest.mark.slow
def test_unrounded_accrual_on_spark_equals_duckdb(rounded, tmp_path, monkeypatch):
    # the same days closed on Spark from the handover: the same rows, byte for byte
    monkeypatch.setenv("ARREARS_SPARK_PARTITIONS", "1")
    loans, duckdb, reference = rounded
    spark = BatchBook(tmp_path / "spark")
    shutil.copytree(duckdb.root, spark.root)
    for day in spark.state_dates():
        if day > ROUNDED_START:
            shutil.rmtree(spark.state_dir(day))
    Closer(spark, ROUNDED, "spark").close_through(ROUNDED_END)
    _assert_rounded_rows(spark, loans, reference)
    for day in spark.state_dates():
        assert (spark.state_dir(day) / "accounts.parquet").read_bytes() == (
            duckdb.state_dir(day) / "accounts.parquet"
        ).read_bytes(), day

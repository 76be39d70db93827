"""The day order of the close, per product: late fees before the day's payments (a payment
after grace is late), grace, per-product charges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from arrears.domain.account import Payment, advance, open_account
from arrears.domain.ledger import EntryKind
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
START = date(2025, 1, 10)


def run(code: str, to: date, payments=(), principal="12000.00", **product_changes):
    product = replace(CAT.product(code), **product_changes)
    terms = LoanTerms(D(principal), product.annual_rate, product.term_months, START)
    acc = open_account(f"DC-{code}", product, terms)
    acc, states = advance(acc, to, payments, catalog=CAT, record_from=date(2025, 2, 10))
    return acc, {s.as_of: s for s in states}


def charges(acc):
    kinds = (EntryKind.FEE, EntryKind.ACCRUAL)
    return [(e.ref, e.amount) for e in acc.ledger.entries if e.kind in kinds]


def test_payment_the_day_after_grace_is_late_and_pays_the_fee_first():
    # CONSUMER #1 (1100.16: 180.00 interest + 920.16 principal) due 10 Feb, grace 3 (11–13
    # Feb): paid in full on the 14th, the day after grace ended, DPD 4. The fee is owed
    # for what was unpaid when grace ended, so it is charged before the payment, which
    # settles it first (fee → interest → principal) and leaves 30.00 of principal: DPD 4
    # shows that day, with 罚息 30.00 × 0.27 / 360 = 0.0225 → 0.02.
    acc, by_day = run(
        "CONSUMER", date(2025, 2, 14), [Payment("p", date(2025, 2, 14), D("1100.16"))]
    )
    assert charges(acc) == [("late:1", D("30.00")), ("accr:2025-02-14", D("0.02"))]
    assert [by_day[date(2025, 2, d)].dpd for d in (13, 14)] == [0, 4]
    assert (by_day[date(2025, 2, 14)].overdue_principal, by_day[date(2025, 2, 14)].fee) == (
        D("30.00"),
        D("0.00"),
    )


def test_payment_on_the_last_day_of_grace_is_on_time():
    acc, by_day = run(
        "CONSUMER", date(2025, 2, 20), [Payment("p", date(2025, 2, 13), D("1100.16"))]
    )
    assert charges(acc) == []
    assert [by_day[date(2025, 2, d)].dpd for d in (12, 13, 14, 15)] == [0, 0, 0, 0]


def test_one_cent_short_on_the_last_day_of_grace_is_charged():
    # 1100.15 paid on 13 Feb: 0.01 principal still owed when grace ends → late fee 30.00
    # and DPD 4 on the 14th; the 罚息 on 0.01 is 0.0000075 → 0.00, so no accrual entry
    acc, by_day = run(
        "CONSUMER", date(2025, 2, 15), [Payment("p", date(2025, 2, 13), D("1100.15"))]
    )
    assert charges(acc) == [("late:1", D("30.00"))]
    assert (by_day[date(2025, 2, 14)].dpd, by_day[date(2025, 2, 14)].overdue_principal) == (
        4,
        D("0.01"),
    )


def test_late_fee_is_charged_once_per_installment():
    acc, _ = run("CONSUMER", date(2025, 5, 20))
    fees = [(e.ref, e.posted_on) for e in acc.ledger.entries if e.kind is EntryKind.FEE]
    assert fees == [
        ("late:1", date(2025, 2, 14)),
        ("late:2", date(2025, 3, 14)),
        ("late:3", date(2025, 4, 14)),
        ("late:4", date(2025, 5, 14)),
    ]


def test_card_late_fee_is_a_share_of_the_missed_minimum():
    # CARD #1 (ACT/365, 31 days 10 Jan → 10 Feb): interest 12000 × 0.1825 × 31 / 365
    # = 186.00, principal 10% = 1200.00, minimum 1386.00 missed. 14 Feb: fee 5% × 1386.00
    # = 69.30; no 罚息 on cards; 复利 186.00 × 0.1825 / 365 = 0.093 → 0.09 a day
    acc, by_day = run("CARD", date(2025, 2, 15))
    assert charges(acc) == [
        ("late:1", D("69.30")),
        ("accr:2025-02-14", D("0.09")),
        ("accr:2025-02-15", D("0.09")),
    ]
    s = by_day[date(2025, 2, 15)]
    assert (s.dpd, s.penalty, s.compound, s.fee) == (5, 0, D("0.18"), D("69.30"))


def test_sme_without_grace_counts_from_the_first_day_on_act_360():
    # SME: interest only, 6.5% ACT/360, grace 0, no late fee. #1 (10 Jan → 10 Feb,
    # 31 days): 12000 × 0.065 × 31 / 360 = 67.1666… → 67.17. Missed: on 11 Feb DPD 1 and
    # 复利 67.17 × 0.0975 / 360 = 0.01819… → 0.02; no principal is overdue, so no 罚息
    acc, by_day = run("SME", date(2025, 2, 11))
    assert acc.schedule[0].interest == D("67.17")
    s = by_day[date(2025, 2, 11)]
    assert (s.dpd, s.bucket, s.penalty, s.compound, s.fee) == (1, "M1", 0, D("0.02"), 0)
    assert by_day[date(2025, 2, 10)].dpd == 0


def test_micro_charges_settle_last_and_do_not_keep_the_loan_delinquent():
    # MICRO: 等额本金 2000.00 a month, 21% ACT/365, grace 1, late fee 20, 罚息 31.5%.
    # #1: interest 12000 × 0.21 × 31 / 365 = 214.027… → 214.03.
    # 12 Feb (grace over): fee 20.00, 罚息 2000.00 × 0.315 / 365 = 1.72602… → 1.73.
    # 13 Feb: 2214.03 paid, waterfall interest → principal → 罚息 → 复利 → fee: it settles
    # #1 exactly and the charges stay. DPD is back to 0 and nothing accrues any more.
    pay = [Payment("p", date(2025, 2, 13), D("2214.03"))]
    acc, by_day = run("MICRO", date(2025, 2, 20), pay)
    assert (acc.schedule[0].interest, acc.schedule[0].principal) == (D("214.03"), D("2000.00"))
    s12, s13, s20 = (by_day[date(2025, 2, d)] for d in (12, 13, 20))
    assert (s12.dpd, s12.fee, s12.penalty) == (2, D("20.00"), D("1.73"))
    assert by_day[date(2025, 2, 11)].dpd == 0
    assert (s13.dpd, s13.principal_due, s13.interest_due) == (0, 0, 0)
    assert (s13.fee, s13.penalty) == (D("20.00"), D("1.73"))
    assert s20.penalty == D("1.73") and s20.bucket == "M0"


def test_a_repaid_loan_is_closed_after_its_last_due_date():
    # a 3-month CONSUMER loan prepaid with 4000.00: the credit pays each installment as it
    # falls due; after the third the loan owes nothing and is closed, the rest is credit
    pay = [Payment("p", date(2025, 1, 20), D("4000.00"))]
    acc, by_day = run("CONSUMER", date(2025, 4, 11), pay, principal="3000.00", term_months=3)
    total = sum(i.amount for i in acc.schedule)
    assert by_day[date(2025, 4, 9)].status == "active"
    closed = by_day[date(2025, 4, 10)]
    assert closed.status == "closed"
    assert closed.credit == D("4000.00") - total
    assert (closed.principal_outstanding, closed.total_due, closed.dpd) == (0, 0, 0)

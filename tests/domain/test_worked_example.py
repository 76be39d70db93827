"""One CONSUMER loan worked by hand, day by day, like a collections spreadsheet.

Loan: 12,000.00 at 18% a year, 12 monthly annuity installments (等额本息), 30/360,
disbursed 2025-01-10, grace 3 days, 罚息 27% (18% × 1.5) a year on overdue principal
and 复利 27% on overdue interest, each per day on a 360-day year rounded half-up to the
cent, late fee 30.00 per installment past grace, cost cap 24% a year (never reached here).

Schedule (monthly rate 0.18 / 12 = 0.015):
    payment = 12000 × 0.015 / (1 − 1.015^−12) = 180 / 0.1636125… = 1100.156… → 1100.16
    #1 2025-02-10  interest 12000.00 × 0.015 = 180.00               principal 920.16
    #2 2025-03-10  interest 11079.84 × 0.015 = 166.1976   → 166.20  principal 933.96
    #3 2025-04-10  interest 10145.88 × 0.015 = 152.1882   → 152.19  principal 947.97
    #4 2025-05-10  interest  9197.91 × 0.015 = 137.96865  → 137.97  principal 962.19

Story:
    2025-02-10  #1 paid on its due date (1100.16).
    2025-03-10  #2 falls due and is missed. Grace: 11, 12, 13 March DPD 0.
    2025-03-14  grace over: DPD 4, late fee 30.00, first day of charges on #2:
                罚息 933.96 × 0.27 / 360 = 0.70047 → 0.70 a day
                复利 166.20 × 0.27 / 360 = 0.12465 → 0.12 a day
                14 Mar .. 9 Apr is 18 + 9 = 27 days: 18.90 and 3.24
    2025-04-10  #3 falls due and is missed: two installments in arrears, DPD 31 (M2).
                #3 is within grace, so charges still run on #2 only: 28 days, 19.60 / 3.36
    2025-04-13  31 days of charges on #2: 21.70 / 3.72
    2025-04-14  #3 past grace: second late fee (60.00), charges on both:
                罚息 (933.96 + 947.97) = 1881.93 × 0.27 / 360 = 1.411447 → 1.41 a day
                复利 (166.20 + 152.19) =  318.39 × 0.27 / 360 = 0.238792 → 0.24 a day
                penalty 21.70 + 1.41 = 23.11, compound 3.72 + 0.24 = 3.96
    2025-04-19  five more days: penalty 23.11 + 5 × 1.41 = 30.16, compound 3.96 + 5 × 0.24 = 5.16
    2025-04-20  partial payment 1000.00, before the day's charges, through the waterfall
                fee → penalty → compound → interest → principal, oldest installment first:
                  fee 60.00 → 940.00 left, penalty 30.16 → 909.84, compound 5.16 → 904.68,
                  #2 interest 166.20 → 738.48, #2 principal 738.48 of 933.96 → 195.48 owed
                still overdue: principal 195.48 + 947.97 = 1143.45, interest 152.19 (#3)
                罚息 1143.45 × 0.27 / 360 = 0.857588 → 0.86
                复利  152.19 × 0.27 / 360 = 0.114143 → 0.11
                DPD counts from #2 still: 10 Mar → 20 Apr = 41
    2025-04-24  five days at 0.86 / 0.11 (20..24 Apr): penalty 4.30, compound 0.55
    2025-04-25  full catch-up 1400.49: owed 4.30 + 0.55 + 152.19 + 1143.45 = 1300.49,
                100.00 over becomes credit. Cured: DPD 0, M0, nothing accrues.
    2025-05-10  #4 falls due (137.97 + 962.19); the 100.00 credit pays 100.00 of its interest:
                interest 37.97, principal 962.19 due, DPD 0 on the due date.
    2025-05-14  #4 past grace: DPD 4, late fee 30.00,
                罚息 962.19 × 0.27 / 360 = 0.721643 → 0.72
                复利  37.97 × 0.27 / 360 = 0.028478 → 0.03

Cost measure (interest fallen due + charges) on 14 May: 180.00 + 166.20 + 152.19 + 137.97
+ fees 90.00 + penalty 30.16 + 4.30 + 0.72 + compound 5.16 + 0.55 + 0.03 = 767.28,
under the cap 12000 × 0.24 × 124 / 365 = 978.41.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from arrears.domain.account import Payment, advance, open_account
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal

COLUMNS = (
    "dpd",
    "bucket",
    "principal_due",
    "interest_due",
    "overdue_principal",
    "penalty",
    "compound",
    "fee",
    "credit",
)

# fmt: off
TABLE = [
    # date         DPD bucket principal  interest  overdue_p  penalty  compound  fee      credit
    ("2025-02-10",  0,  "M0",  "0",       "0",      "0",       "0",     "0",    "0",     "0"),
    ("2025-03-10",  0,  "M0",  "933.96",  "166.20", "0",       "0",     "0",    "0",     "0"),
    ("2025-03-11",  0,  "M0",  "933.96",  "166.20", "0",       "0",     "0",    "0",     "0"),
    ("2025-03-13",  0,  "M0",  "933.96",  "166.20", "0",       "0",     "0",    "0",     "0"),
    ("2025-03-14",  4,  "M1",  "933.96",  "166.20", "933.96",  "0.70",  "0.12", "30.00", "0"),
    ("2025-03-15",  5,  "M1",  "933.96",  "166.20", "933.96",  "1.40",  "0.24", "30.00", "0"),
    ("2025-04-09", 30,  "M1",  "933.96",  "166.20", "933.96",  "18.90", "3.24", "30.00", "0"),
    ("2025-04-10", 31,  "M2",  "1881.93", "318.39", "933.96",  "19.60", "3.36", "30.00", "0"),
    ("2025-04-13", 34,  "M2",  "1881.93", "318.39", "933.96",  "21.70", "3.72", "30.00", "0"),
    ("2025-04-14", 35,  "M2",  "1881.93", "318.39", "1881.93", "23.11", "3.96", "60.00", "0"),
    ("2025-04-19", 40,  "M2",  "1881.93", "318.39", "1881.93", "30.16", "5.16", "60.00", "0"),
    ("2025-04-20", 41,  "M2",  "1143.45", "152.19", "1143.45", "0.86",  "0.11", "0",     "0"),
    ("2025-04-24", 45,  "M2",  "1143.45", "152.19", "1143.45", "4.30",  "0.55", "0",     "0"),
    ("2025-04-25",  0,  "M0",  "0",       "0",      "0",       "0",     "0",    "0",     "100.00"),
    ("2025-05-09",  0,  "M0",  "0",       "0",      "0",       "0",     "0",    "0",     "100.00"),
    ("2025-05-10",  0,  "M0",  "962.19",  "37.97",  "0",       "0",     "0",    "0",     "0"),
    ("2025-05-13",  0,  "M0",  "962.19",  "37.97",  "0",       "0",     "0",    "0",     "0"),
    ("2025-05-14",  4,  "M1",  "962.19",  "37.97",  "962.19",  "0.72",  "0.03", "30.00", "0"),
]
# fmt: on

PAYMENTS = [
    Payment("p1", date(2025, 2, 10), D("1100.16")),
    Payment("p2", date(2025, 4, 20), D("1000.00")),
    Payment("p3", date(2025, 4, 25), D("1400.49")),
]


def run():
    cat = load_catalog()
    product = cat.product("CONSUMER")
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account("WX-1", product, terms)
    return advance(acc, date(2025, 5, 14), PAYMENTS, catalog=cat, record_from=date(2025, 2, 10))


def test_product_is_the_one_worked_by_hand():
    product = load_catalog().product("CONSUMER")
    assert product.grace_days == 3
    assert product.charges.penalty_rate == D("0.27") == product.charges.compound_rate
    assert product.charges.late_fee_fixed == D(30) and product.charges.cost_cap == D("0.24")


def test_schedule_is_the_one_worked_by_hand():
    acc, _ = run()
    assert [(i.due_date, i.interest, i.principal) for i in acc.schedule[:4]] == [
        (date(2025, 2, 10), D("180.00"), D("920.16")),
        (date(2025, 3, 10), D("166.20"), D("933.96")),
        (date(2025, 4, 10), D("152.19"), D("947.97")),
        (date(2025, 5, 10), D("137.97"), D("962.19")),
    ]


def test_every_listed_day_matches_the_table():
    _, states = run()
    # one row per day, 10 Feb through 14 May
    first, last = date(2025, 2, 10), date(2025, 5, 14)
    assert [s.as_of for s in states] == [
        first + timedelta(days=n) for n in range((last - first).days + 1)
    ]
    by_day = {s.as_of: s for s in states}
    mismatches = []
    for day, dpd, bucket, *amounts in TABLE:
        state = by_day[date.fromisoformat(day)]
        expected = (dpd, bucket, *(D(a) for a in amounts))
        got = tuple(getattr(state, c) for c in COLUMNS)
        if got != expected:
            mismatches.append((day, dict(zip(COLUMNS, got, strict=True))))
        assert state.status == "active" and not state.first_payment_default
    assert not mismatches


def test_payment_days_and_cost_measure():
    _, states = run()
    by_day = {s.as_of: s for s in states}
    assert by_day[date(2025, 2, 10)].paid_today == D("1100.16")
    assert by_day[date(2025, 4, 20)].paid_today == D("1000.00")
    assert by_day[date(2025, 4, 25)].paid_today == D("1400.49")
    assert by_day[date(2025, 4, 24)].paid_today == 0
    # 2 installments in arrears on 14 Apr: #2 past grace since 14 Mar, #3 from today
    assert by_day[date(2025, 4, 14)].overdue_interest == D("318.39")
    assert by_day[date(2025, 4, 14)].overdue_amount == D("1881.93") + D("318.39") + D("23.11") + D(
        "3.96"
    ) + D("60.00")
    assert by_day[date(2025, 5, 14)].charged_to_date == D("767.28")

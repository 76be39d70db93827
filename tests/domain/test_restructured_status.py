"""The restructured mark (重组) and its observation period (issue 25, contract 3; NFRA
2023 arts. 17-20), on the domain core, with figures worked by hand.

The loan is the CONSUMER worked example (12,000.00 at 18%, 1,100.16 a month from 10 Feb
2025, grace 3 days, 罚息 27% a year on a 360-day year, late fee 30.00): #1 paid, #2 and
#3 unpaid, re-amortised on 20 Apr 2025 with its charges into six equal-principal
instalments at 0% from 20 May: 11,495.20 / 6 = 1,915.87 (half-up), the last 1,915.85.
Before the plan it is 41 days past due (#2 due 10 Mar): 关注.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.account import (
    DayState,
    LoanAccount,
    Payment,
    advance,
    close_day,
    open_account,
    restructuring_of,
    resume_account,
    state_of,
)
from arrears.domain.arrangements import Plan, extend, reamortise
from arrears.domain.errors import DomainError, ProductError
from arrears.domain.observation import observation_end
from arrears.domain.products import (
    ChargeOffRule,
    LoanClass,
    RestructuredRules,
    ScheduleMethod,
    load_catalog,
    parse_catalog,
)
from arrears.domain.schedule import Installment, LoanTerms

D = Decimal
CAT = load_catalog()
# CONSUMER without its charge-off at 180 DPD: these tests are about the class of
# restructured loans past due, still on the book
CONSUMER = replace(CAT.product("CONSUMER"), charge_off=ChargeOffRule())
PLAN_DAY = date(2025, 4, 20)
ONE = timedelta(days=1)
INSTALMENT = D("1915.87")


def _before(product=CONSUMER, on: date = PLAN_DAY, first_paid: bool = True) -> LoanAccount:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account("R", product, terms)
    paid = [Payment("p1", date(2025, 2, 10), D("1100.16"))] if first_paid else []
    return advance(acc, on, paid)[0]


def _planned(product=CONSUMER, on: date = PLAN_DAY, first_paid: bool = True) -> LoanAccount:
    acc = _before(product, on, first_paid)
    plan = Plan(6, ScheduleMethod.EQUAL_PRINCIPAL, D("0"), on + timedelta(days=30), charges=True)
    return reamortise(acc, "plan", on, plan)


def _days(acc: LoanAccount, to: date, payments: list[Payment]) -> dict[date, DayState]:
    _, states = advance(acc, to, payments, CAT, record_from=acc.closed_through + ONE)
    return {s.as_of: s for s in states}


def _on_time(*late: tuple[date, Decimal]) -> list[Payment]:
    """Each new instalment paid on its due date, except those given (day, amount)."""
    dues = [date(2025, m, 20) for m in range(5, 11)]
    late_for = {d.month: (d, amount) for d, amount in late}
    out = []
    for n, due in enumerate(dues):
        day, amount = late_for.get(due.month, (due, INSTALMENT if n < 5 else D("1915.85")))
        out.append(Payment(f"n{n + 4}", day, amount))
    return out


def test_a_plan_marks_the_loan_restructured_and_floors_its_class_at_substandard():
    before = state_of(_before(), CAT)
    assert (before.dpd, before.loan_class, before.restructured) == (41, "special_mention", False)
    acc = _planned()
    s = state_of(acc, CAT)
    assert (s.dpd, s.loan_class, s.restructured) == (0, "substandard", True)
    r = restructuring_of(acc, PLAN_DAY, CAT)
    assert r is not None
    # from 20 May (the first new due date): 2 periods end 20 Jun, 12 months 20 May 2026
    assert (r.on, r.observation_end, r.floor, r.cleared_on) == (
        PLAN_DAY,
        date(2026, 5, 20),
        LoanClass.SUBSTANDARD,
        None,
    )


def test_one_late_instalment_keeps_the_mark_until_two_consecutive_on_time_payments():
    # observation of 3 months: from 20 May to max(20 Jun, 20 Aug) = 20 Aug
    product = replace(CONSUMER, restructured=RestructuredRules(months=3))
    acc = _planned(product)
    # #6 (due 20 Jul) paid 25 Jul with the late fee 30.00 and 罚息 1.44 of 24 Jul
    # (1,915.87 × 0.27 / 360 = 1.4369)
    # … and #9 (due 20 Oct) is not paid
    paid = _on_time((date(2025, 7, 25), D("1947.31")))[:-1]
    days = _days(acc, date(2025, 10, 31), paid)
    table = {
        date(2025, 4, 21): (0, "substandard", True),
        date(2025, 5, 20): (0, "substandard", True),  # #4 paid on its due date
        date(2025, 7, 23): (0, "substandard", True),  # #6 unpaid, last day of grace
        date(2025, 7, 24): (4, "substandard", True),  # DPD 4 alone is 关注: floored
        date(2025, 7, 25): (0, "substandard", True),
        date(2025, 8, 20): (0, "substandard", True),  # period ends; #6 was late
        date(2025, 9, 19): (0, "substandard", True),
        date(2025, 9, 20): (0, "normal", False),  # #7 and #8 on time: the mark clears
        date(2025, 10, 24): (4, "special_mention", False),  # #9 missed: by DPD again
    }
    for day, expected in table.items():
        s = days[day]
        assert (s.dpd, s.loan_class, s.restructured) == expected, day
    assert (days[date(2025, 7, 24)].fee, days[date(2025, 7, 24)].penalty) == (
        D("30.00"),
        D("1.44"),
    )
    marked = [d for d, s in days.items() if s.restructured]
    assert min(marked) == date(2025, 4, 21) and max(marked) == date(2025, 9, 19)
    assert all(days[d].loan_class == "substandard" for d in marked)
    # restructured days are contiguous: 21 Apr .. 19 Sep
    assert len(marked) == (date(2025, 9, 19) - date(2025, 4, 21)).days + 1


def test_all_on_time_clears_the_mark_at_the_end_of_the_observation_period():
    product = replace(CONSUMER, restructured=RestructuredRules(months=3))
    days = _days(_planned(product), date(2025, 8, 31), _on_time())
    assert (days[date(2025, 8, 19)].loan_class, days[date(2025, 8, 19)].restructured) == (
        "substandard",
        True,
    )
    assert (days[date(2025, 8, 20)].loan_class, days[date(2025, 8, 20)].restructured) == (
        "normal",
        False,
    )


def test_under_the_default_year_a_repaid_loan_is_no_longer_marked():
    days = _days(_planned(), date(2025, 10, 25), _on_time())
    s19, s20 = days[date(2025, 10, 19)], days[date(2025, 10, 20)]
    assert (s19.status, s19.loan_class, s19.restructured) == ("active", "substandard", True)
    assert (s20.status, s20.loan_class, s20.restructured) == ("closed", "normal", False)


def test_the_floor_is_a_product_setting():
    product = replace(CONSUMER, restructured=RestructuredRules(floor=LoanClass.SPECIAL_MENTION))
    s = state_of(_planned(product), CAT)
    assert (s.loan_class, s.restructured) == ("special_mention", True)


def test_a_restructured_loan_is_never_better_than_its_class_before():
    # nothing paid: #1 due 10 Feb 2025 is 283 days past due on 20 Nov 2025: 可疑 (> 270)
    acc = _planned(on=date(2025, 11, 20), first_paid=False)
    r = restructuring_of(acc, date(2025, 11, 20), CAT)
    assert r is not None and r.floor is LoanClass.DOUBTFUL
    assert state_of(acc, CAT).loan_class == "doubtful"


def test_a_second_plan_starts_the_observation_again():
    product = replace(CONSUMER, restructured=RestructuredRules(months=3))
    acc = _planned(product)
    acc, _ = advance(acc, date(2025, 6, 25), [Payment("n4", date(2025, 5, 20), INSTALMENT)])
    again = Plan(3, ScheduleMethod.ANNUITY, D("0"), date(2025, 7, 25), charges=True)
    acc = reamortise(acc, "plan2", date(2025, 6, 25), again)
    r = restructuring_of(acc, date(2025, 6, 25), CAT)
    assert r is not None
    assert (r.on, r.observation_end) == (date(2025, 6, 25), date(2025, 10, 25))


def test_the_mark_survives_a_resume_from_the_stored_ledger_and_an_extension_marks_too():
    acc = _planned()
    back = resume_account(
        acc.loan_id, acc.product, acc.terms, acc.schedule, acc.ledger, acc.closed_through
    )
    assert state_of(back, CAT).restructured
    # an extension (展期) posts no entry: the store passes its day
    plain = open_account("E", CONSUMER, LoanTerms(D("6000.00"), D("0.18"), 12, date(2025, 1, 5)))
    plain, _ = advance(plain, date(2025, 2, 1))
    assert state_of(plain, CAT).loan_class == "normal"
    extended = replace(plain, restructured_on=(date(2025, 2, 1),))
    s = state_of(extended, CAT)
    assert (s.loan_class, s.restructured) == ("substandard", True)


def test_quiet_days_give_the_states_of_a_day_by_day_close():
    product = replace(CONSUMER, restructured=RestructuredRules(months=3))
    acc = _planned(product)
    payments = _on_time((date(2025, 7, 25), D("1947.31")))
    fast = _days(acc, date(2025, 10, 31), payments)
    by_day = {p.paid_on: [p] for p in payments}
    daily = acc
    while daily.closed_through < date(2025, 10, 31):
        day = daily.closed_through + ONE
        daily = close_day(daily, day, by_day.get(day, ()))
        assert state_of(daily, CAT) == fast[day], day


def test_observation_end_is_the_later_of_the_periods_and_the_months():
    quarterly = tuple(
        Installment(n, date(2025, 3 * n, 1), D("100.00"), D("0.00")) for n in range(1, 5)
    )
    # first due 1 Mar 2025; 2 periods: 1 Jun 2025; 12 months: 1 Mar 2026
    assert observation_end(quarterly, date(2025, 1, 15), RestructuredRules()) == date(2026, 3, 1)
    # 4 periods: 1 Dec 2025; 6 months: 1 Sep 2025
    rules = RestructuredRules(periods=4, months=6)
    assert observation_end(quarterly, date(2025, 1, 15), rules) == date(2025, 12, 1)


def test_the_product_file_sets_the_rules_and_names_a_bad_field():
    cat = parse_catalog(
        {
            "products": {
                "P": {
                    "method": "annuity",
                    "annual_rate": 0.18,
                    "term_months": 12,
                    "restructured": {
                        "floor": "doubtful",
                        "periods": 3,
                        "months": 18,
                        "on_time_payments": 3,
                    },
                }
            }
        }
    )
    assert cat.product("P").restructured == RestructuredRules(LoanClass.DOUBTFUL, 3, 18, 3)
    assert (
        parse_catalog(
            {"products": {"P": {"method": "annuity", "annual_rate": 0.18, "term_months": 12}}}
        )
        .product("P")
        .restructured
        == RestructuredRules()
    )
    for bad, words in (
        ({"floor": "awful"}, "products.P.restructured"),
        ({"on_time_payments": 0}, "on_time_payments 0 must be at least 1"),
        ({"window": 3}, "unknown keys ['window']"),
    ):
        body = {"method": "annuity", "annual_rate": 0.18, "term_months": 12, "restructured": bad}
        with pytest.raises(ProductError, match=words.replace("[", r"\[").replace("]", r"\]")):
            parse_catalog({"products": {"P": body}})


def test_an_extension_moves_the_instalments_not_yet_due_and_restructures_the_loan():
    acc = extend(_before(), PLAN_DAY, 2)
    # #2 (10 Mar) and #3 (10 Apr) stay owed and late; #4 (10 May) now falls due 10 Jul
    assert [i.due_date for i in acc.schedule[1:4]] == [
        date(2025, 3, 10),
        date(2025, 4, 10),
        date(2025, 7, 10),
    ]
    assert acc.ledger == _before().ledger  # nothing posted
    s = state_of(acc, CAT)
    assert (s.dpd, s.loan_class, s.restructured) == (41, "substandard", True)  # 关注 by DPD
    r = restructuring_of(acc, PLAN_DAY, CAT)
    assert r is not None and r.observation_end == date(2026, 7, 10)  # 10 Jul + 12 months
    with pytest.raises(DomainError, match="at least one month"):
        extend(_before(), PLAN_DAY, 0)


@settings(max_examples=25, deadline=None)
@given(
    lateness=st.lists(st.sampled_from([0, 0, 2, 6, None]), min_size=6, max_size=6),
    months=st.integers(0, 6),
)
def test_the_mark_runs_from_the_plan_until_it_clears_and_never_comes_back(lateness, months):
    """Each new instalment paid on its due date + ``lateness`` days (6: after grace, with
    enough for its fee and 罚息) or never (None): the loan is marked from the plan day
    through a run of days, at least 次级 throughout, and once cleared it stays cleared,
    no earlier than the period's end."""
    product = replace(CONSUMER, restructured=RestructuredRules(months=months))
    acc = _planned(product)
    payments = []
    for n, late in enumerate(lateness):
        if late is not None:
            due = date(2025, 5 + n, 20)
            extra = D("60.00") if late > 3 else D("0")
            payments.append(Payment(f"n{n}", due + timedelta(days=late), INSTALMENT + extra))
    days = _days(acc, date(2026, 1, 31), payments)
    r = restructuring_of(acc, PLAN_DAY, CAT)
    assert r is not None
    marked = sorted(d for d, s in days.items() if s.restructured)
    if marked:
        assert marked[0] == date(2025, 4, 21)
        assert len(marked) == (marked[-1] - marked[0]).days + 1  # one run, no gap
    rank = [c.value for c in LoanClass]
    for day in marked:
        assert rank.index(days[day].loan_class) >= rank.index("substandard"), day
    unmarked = [d for d, s in days.items() if not s.restructured and s.status == "active"]
    if unmarked:
        assert min(unmarked) >= observation_end(acc.schedule, PLAN_DAY, product.restructured)

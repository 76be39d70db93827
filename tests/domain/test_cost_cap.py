"""The total-cost cap: charges stop at the allowance, contract interest is never cut."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.account import (
    Payment,
    advance,
    charges_to_date,
    cost_charged,
    open_account,
    overdue_days,
)
from arrears.domain.calendar import DayCount
from arrears.domain.charges import (
    apply_cap,
    charge_days,
    cost_allowance,
    daily_charge,
    late_fee,
)
from arrears.domain.errors import ProductError
from arrears.domain.ledger import Account, EntryKind
from arrears.domain.products import (
    CapBasis,
    ChargeDays,
    ChargeOffRule,
    ChargeRules,
    load_catalog,
    parse_catalog,
)
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
# CONSUMER without its charge-off at 180 DPD: these loans stay unpaid for up to a year,
# and what is measured is the cap on charges that keep accruing on the book
CONSUMER = replace(CAT.product("CONSUMER"), charge_off=ChargeOffRule())
START = date(2025, 1, 10)
END = date(2025, 9, 30)
TERMS = LoanTerms(D("12000.00"), D("0.18"), 12, START)


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def tight_product(cap: str | None = "0.20"):
    """CONSUMER at 18% with a 20% cap and a punitive 300% 罚息/复利 and 200.00 late fee."""
    base = CONSUMER
    charges = replace(
        base.charges,
        penalty_rate=D("3.00"),
        compound_rate=D("3.00"),
        late_fee_fixed=D("200.00"),
        cost_cap=None if cap is None else D(cap),
    )
    return replace(base, charges=charges)


def run(cap: str | None = "0.20"):
    acc = open_account("CAP-1", tight_product(cap), TERMS)  # never pays
    return advance(acc, END, catalog=CAT, record_from=START + timedelta(days=1))


def allowance(day: date, cap: str = "0.20") -> Decimal:
    # 12000 × cap × days / 365, rounded half-up (computed here, not by the code)
    return cents(D("12000.00") * D(cap) * (day - START).days / 365)


def test_allowance_formula():
    rules = tight_product().charges
    assert cost_allowance(rules, D("12000.00"), START, date(2025, 2, 14), "CNY") == D("230.14")
    assert allowance(date(2025, 2, 14)) == D("230.14")  # 12000·0.2·35/365 = 230.136…
    assert cost_allowance(ChargeRules(), D("12000.00"), START, END, "CNY") is None


def test_charges_stop_exactly_at_the_allowance():
    acc, states = run()
    schedule = {i.due_date: i for i in acc.schedule}
    charges_on: dict[date, Decimal] = {}
    for e in acc.ledger.entries:
        if e.kind in (EntryKind.FEE, EntryKind.ACCRUAL):
            charges_on[e.posted_on] = charges_on.get(e.posted_on, D(0)) + e.amount

    prev_charged = D(0)
    prev = None
    binding_days = starved_days = 0
    for state in states:
        day = state.as_of
        interest_today = schedule[day].interest if day in schedule else D(0)
        posted = charges_on.get(day, D(0))
        # what the day would charge without a cap (no payments: end-of-day overdue
        # balances are the base): the late fee on the day grace ends, then one day of
        # 罚息 and 复利 at 300% / 360 on the overdue principal and interest
        uncapped = D(0)
        for inst in acc.schedule:
            if (day - inst.due_date).days == 4:  # grace 3: fee on the 4th day
                uncapped += D("200.00")
        uncapped += cents(state.overdue_principal * 3 / 360)
        uncapped += cents(state.overdue_interest * 3 / 360)
        headroom = allowance(day) - prev_charged - interest_today
        assert posted == min(uncapped, max(headroom, D(0))), day
        assert state.charged_to_date == prev_charged + interest_today + posted, day
        if uncapped > headroom >= 0:
            binding_days += 1
            assert state.charged_to_date == allowance(day), day  # exactly at the cap
        if headroom < 0:
            starved_days += 1
            assert posted == 0  # contract interest alone is over the cap: no charge at all
        if posted > 0:
            assert state.charged_to_date <= allowance(day), day
        if prev is not None and prev.penalty + prev.compound + prev.fee > 0:
            # once the cap binds, the measure never exceeds the allowance unless the
            # day's contract interest alone pushed it there
            assert state.charged_to_date <= max(allowance(day), prev_charged + interest_today)
        prev_charged, prev = state.charged_to_date, state
    assert binding_days > 100  # the cap really binds, most days
    assert starved_days > 0  # and some due dates push contract interest over it


def test_first_late_fee_is_cut_to_the_headroom():
    # 14 Feb: allowance 230.14, interest #1 180.00 fell due: headroom 50.14 takes part of
    # the 200.00 fee; 罚息 and 复利 get nothing that day
    acc, states = run()
    by_day = {s.as_of: s for s in states}
    fee = acc.ledger.entry("late:1")
    assert fee is not None and fee.amount == D("50.14")
    assert acc.ledger.entry("accr:2025-02-14") is None
    assert by_day[date(2025, 2, 14)].charged_to_date == D("230.14")
    # 15 Feb: headroom is one day of allowance, 230.14 → 236.71: 6.57, less than
    # 罚息 920.16 × 3 / 360 = 7.668 → 7.67, so it is all 罚息 and no 复利
    accrual = acc.ledger.entry("accr:2025-02-15")
    assert accrual is not None
    assert accrual.amount == D("6.57") and len(accrual.legs) == 1


def test_without_a_cap_the_same_loan_accrues_more():
    capped, capped_states = run("0.20")
    free, free_states = run(None)
    capped_charges = capped_states[-1].penalty + capped_states[-1].compound + capped_states[-1].fee
    free_charges = free_states[-1].penalty + free_states[-1].compound + free_states[-1].fee
    assert free_charges > capped_charges + 1000
    assert free_states[-1].charged_to_date > allowance(END)
    assert capped_states[-1].charged_to_date <= allowance(END)
    # the measure kept on the account is the one the ledger gives
    assert cost_charged(capped.ledger) == capped.charged
    assert cost_charged(free.ledger) == free.charged


def test_contract_interest_alone_over_the_cap_is_still_due():
    # cap 10% under the 18% contract rate: on each due date the interest alone takes the
    # measure over the allowance (first: 180.00 > 12000 × 0.10 × 31 / 365 = 101.92).
    # The interest still falls due in full; charges wait until the allowance, growing
    # 3.29 a day, has caught up (6 March: 12000 × 0.10 × 55 / 365 = 180.82).
    acc, states = run("0.10")
    due = [e for e in acc.ledger.entries if e.kind is EntryKind.INSTALLMENT_DUE]
    assert len(due) == 8
    interest = [sum(leg.amount for leg in e.legs if leg.account is Account.INTEREST) for e in due]
    assert interest == [i.interest for i in acc.schedule[:8]]
    charge_days = {
        e.posted_on for e in acc.ledger.entries if e.kind in (EntryKind.FEE, EntryKind.ACCRUAL)
    }
    over = [s for s in states if s.charged_to_date > allowance(s.as_of, "0.10")]
    assert len(over) > 30 and charge_days
    assert not charge_days & {s.as_of for s in over}
    assert min(charge_days) == date(2025, 3, 6)
    for s in states:
        if s.as_of in charge_days:
            assert s.charged_to_date <= allowance(s.as_of, "0.10")


# -- the pure functions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "rate", "day_count", "expected"),
    [
        ("933.96", "0.27", DayCount.THIRTY_360, "0.70"),  # 0.70047
        ("166.20", "0.27", DayCount.THIRTY_360, "0.12"),  # 0.12465
        ("1881.93", "0.27", DayCount.ACT_360, "1.41"),  # 1.411447
        ("10000.00", "0.1825", DayCount.ACT_365, "5.00"),  # exactly 5
        ("1000.00", "0.315", DayCount.ACT_365, "0.86"),  # 0.863013
        ("2.00", "0.0365", DayCount.ACT_365, "0.00"),  # 0.0002
        ("0", "0.27", DayCount.THIRTY_360, "0"),
        ("-5.00", "0.27", DayCount.THIRTY_360, "0"),
        ("1000.00", "0", DayCount.THIRTY_360, "0"),
    ],
)
def test_daily_charge(base, rate, day_count, expected):
    assert daily_charge(D(base), D(rate), day_count, "CNY") == D(expected)


def test_daily_charge_rounds_half_up():
    # 100 × 0.018 / 360 = 0.005 exactly → 0.01
    assert daily_charge(D("100.00"), D("0.018"), DayCount.THIRTY_360, "CNY") == D("0.01")


def test_late_fee_fixed_plus_share():
    rules = ChargeRules(late_fee_fixed=D("10"), late_fee_rate=D("0.05"))
    assert late_fee(rules, D("333.33"), "CNY") == D("26.67")  # 10 + 16.6665 → 26.67


def test_apply_cap_cuts_in_priority_order():
    capped = apply_cap(D("25.00"), [D("20.00"), D("10.00"), D("3.00")])
    assert capped.amounts == (D("20.00"), D("5.00"), D("0"))
    assert capped.cut == D("8.00") and capped.total == D("25.00")
    assert apply_cap(None, [D("1"), D("2")]).amounts == (D("1"), D("2"))
    negative = apply_cap(D("-4.00"), [D("1"), D("2")])
    assert negative.amounts == (0, 0) and negative.cut == D("3")


# --- issue 25: the cap as an annualised cost on the principal in arrears -------------

TWELVE = LoanTerms(D("12000.00"), D("0.18"), 12, START)  # #12: 1,083.93 + 16.26, 10 Jan 2026


LPR = ((date(2024, 10, 21), D("0.031")), (date(2025, 5, 20), D("0.03")))


def _cap(basis: str = "overdue", rate=None, lpr_multiple=None):
    base = CONSUMER
    rules = replace(
        base.charges,
        cost_cap=rate,
        cost_cap_basis=CapBasis(basis),
        cost_cap_lpr_multiple=lpr_multiple,
        lpr=LPR if lpr_multiple is not None else (),
    )
    return replace(base, charges=rules)


def test_caps_are_read_from_the_product_file():
    product = {"method": "annuity", "annual_rate": 0.1, "term_months": 1}
    cat = parse_catalog(
        {
            "portfolio": {"lpr_1y": {"2025-05-20": 0.03, "2024-10-21": 0.031}},
            "products": {
                "A": {**product, "cost_cap": 0.24},
                "B": {**product, "cost_cap": {"rate": 0.36, "basis": "overdue"}},
                "C": {**product, "cost_cap": {"lpr_multiple": 4, "basis": "overdue"}},
            },
        }
    )
    a, b, c = (cat.product(k).charges for k in "ABC")
    assert (a.cost_cap, a.cost_cap_basis) == (D("0.24"), CapBasis.ORIGINAL)
    assert (b.cost_cap, b.cost_cap_basis) == (D("0.36"), CapBasis.OVERDUE)
    assert c.cost_cap is None and c.lpr == LPR and c.cap_rate(date(2025, 1, 10)) == D("0.124")
    assert load_catalog().product("CONSUMER").charges.cost_cap_basis is CapBasis.ORIGINAL
    bad = {"products": {"C": {**product, "cost_cap": {"lpr_multiple": 4}}}}
    with pytest.raises(ProductError, match=r"products\.C\.cost_cap\.lpr_multiple: needs"):
        parse_catalog(bad)
    bad = {"products": {"C": {**product, "cost_cap": {"rate": 0.24, "basis": "gross"}}}}
    with pytest.raises(ProductError, match=r"products\.C\.cost_cap\.basis"):
        parse_catalog(bad)


def _twelfth_unpaid_for_a_year(product):
    """CONSUMER 12,000.00: #1–#11 paid on their due dates, #12 never; closed a year on."""
    acc = open_account("CAP-Y", product, TWELVE)
    pays = [Payment(f"p{i.seq}", i.due_date, i.amount) for i in acc.schedule[:-1]]
    acc, _ = advance(acc, date(2027, 1, 10), pays)
    return acc, charges_to_date(acc.ledger)


def test_twelfth_installment_unpaid_for_a_year_on_the_original_principal():
    # issue 25: the first convention charges 30.00 + 293.22 罚息 + 3.62 复利 = 326.84 on
    # #12 (1,100.19 owed: 29.7% a year of it), far below its cap of 24% × 12,000 × 2
    # years = 5,760
    acc, charged = _twelfth_unpaid_for_a_year(CONSUMER)
    assert acc.schedule[-1].amount == D("1100.19")
    assert (charged.fees, charged.penalty, charged.compound) == (
        D("30.00"),
        D("293.22"),
        D("3.62"),
    )
    assert charged.fees + charged.penalty + charged.compound == D("326.84")


def test_twelfth_installment_unpaid_for_a_year_capped_at_24_percent_of_its_principal():
    # basis "overdue": 罚息, 复利 and fees ≤ 24% a year of the principal past due, day by
    # day: 1,083.93 past due for the 365 days 11 Jan 2026 – 10 Jan 2027 allows
    # 1,083.93 × 0.24 × 365 / 365 = 260.14, and charges stop exactly there (the fee of
    # day 4 is cut to the 4 days' allowance 2.85; 罚息 takes the rest)
    _, charged = _twelfth_unpaid_for_a_year(_cap(rate=D("0.24")))
    total = charged.fees + charged.penalty + charged.compound
    assert total == D("260.14")
    assert (charged.fees, charged.penalty, charged.compound) == (D("2.85"), D("257.29"), 0)
    assert charged.interest == D("1201.95")  # contract interest is not cut


def test_four_times_the_lpr_at_the_contract_date():
    # contract 10 Jan 2025: one-year LPR 3.10% (from 21 Oct 2024), so 4 × LPR = 12.4%;
    # 1,083.93 × 0.124 × 365 / 365 = 134.4073… → 134.41
    product = _cap(lpr_multiple=D(4))
    assert product.charges.cap_rate(START) == D("0.124")
    assert product.charges.cap_rate(date(2025, 6, 1)) == D("0.120")
    _, charged = _twelfth_unpaid_for_a_year(product)
    assert charged.fees + charged.penalty + charged.compound == D("134.41")


@settings(max_examples=25, deadline=None)
@given(
    rate=st.sampled_from(["0.24", "0.36", "0.10"]),
    paid_upto=st.integers(0, 11),
    late_days=st.integers(0, 40),
    days=st.integers(30, 500),
)
def test_overdue_cap_holds_every_day(rate, paid_upto, late_days, days):
    # whatever is paid and when, on every closed day the charges never exceed the cap
    # rate × the principal-days past due / 365, and the account's principal-days equal
    # the ledger's (so a resumed account carries on the same)
    product = _cap(rate=D(rate))
    acc = open_account("CAP-H", product, TWELVE)
    pays = [
        Payment(f"p{i.seq}", i.due_date + timedelta(days=late_days), i.amount)
        for i in acc.schedule[:paid_upto]
    ]
    end = START + timedelta(days=days)
    acc, _ = advance(
        acc, end, [p for p in pays if p.paid_on <= end], catalog=CAT, record_from=START
    )
    assert acc.overdue_days == overdue_days(acc.ledger, end)
    charged = charges_to_date(acc.ledger)
    cap = cents(acc.overdue_days * D(rate) / 365)
    assert charged.fees + charged.penalty + charged.compound <= cap


# --- issue 25, contract 4: true 30/360 for charges ------------------------------------


@pytest.mark.parametrize(
    ("day", "days"),
    [
        (date(2025, 3, 15), 1),
        (date(2025, 3, 31), 0),  # the 31st is no day of a 30-day month
        (date(2025, 3, 1), 3),  # 29 and 30 February, and 1 March
        (date(2024, 3, 1), 2),  # after 29 February
        (date(2025, 2, 1), 1),
    ],
)
def test_charge_days_under_true_30_360(day, days):
    assert charge_days(ChargeDays.THIRTY_360, day) == days
    assert charge_days(ChargeDays.ACTUAL, day) == 1


def test_true_30_360_charges_every_month_as_30_days():
    # CONSUMER for one month (12,000.00 + 180.00 due 10 Feb), never paid: from 14 Feb 罚息
    # is 12,000 × 0.27 / 360 = 9.00 a day. By 31 Mar, actual days charge 46 × 9.00 =
    # 414.00; true 30/360 counts February as 30 days (1 Mar counts 3) and 31 Mar as none:
    # 17 + 30 = 47 days, 423.00. A whole year is 360 × 9.00 = 3,240.00 = 12,000 × 27%
    # (actual days: 365 × 9.00 = 3,285.00).
    base = CONSUMER
    thirty = replace(base, charges=replace(base.charges, charge_days=ChargeDays.THIRTY_360))
    terms = LoanTerms(D("12000.00"), D("0.18"), 1, START)

    def penalty(product, to):
        acc, _ = advance(
            open_account(
                "T30", replace(product, charges=replace(product.charges, cost_cap=None)), terms
            ),
            to,
        )
        return acc.ledger.balance(Account.PENALTY)

    assert penalty(base, date(2025, 3, 31)) == D("414.00")
    assert penalty(thirty, date(2025, 3, 31)) == D("423.00")
    assert penalty(thirty, date(2026, 2, 13)) - penalty(thirty, date(2025, 2, 13)) == D("3240.00")
    assert penalty(base, date(2026, 2, 13)) == D("3285.00")

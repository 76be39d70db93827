"""The total-cost cap: charges stop at the allowance, contract interest is never cut."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from arrears.domain.account import advance, cost_charged, open_account
from arrears.domain.calendar import DayCount
from arrears.domain.charges import apply_cap, cost_allowance, daily_charge, late_fee
from arrears.domain.ledger import Account, EntryKind
from arrears.domain.products import ChargeRules, load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
START = date(2025, 1, 10)
END = date(2025, 9, 30)
TERMS = LoanTerms(D("12000.00"), D("0.18"), 12, START)


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def tight_product(cap: str | None = "0.20"):
    """CONSUMER at 18% with a 20% cap and a punitive 300% 罚息/复利 and 200.00 late fee."""
    base = CAT.product("CONSUMER")
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

"""DPD pauses for hardship or a dispute (issue 25, contract 3; Fineract's delinquency
pause/resume), on the domain core, with figures worked by hand.

The loan is the CONSUMER worked example (12,000.00 at 18%, 1,100.16 a month from 10 Feb
2025, grace 3 days, 罚息 27% a year on a 360-day year, late fee 30.00): #1 paid, #2 (due
10 Mar: 933.96 principal + 166.20 interest) missed. Without a pause it is 4 days past due
on 14 Mar, 9 on 19 Mar, 21 on 31 Mar, 22 on 1 Apr; 罚息 933.96 × 0.27 / 360 = 0.70 and
复利 166.20 × 0.27 / 360 = 0.12 a day from 14 Mar.
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
    state_of,
)
from arrears.domain.errors import DomainError
from arrears.domain.pauses import Pause, PauseReason, add_pause, ageing_days, day_reaching, resume
from arrears.domain.products import ChargeOffRule, load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
CONSUMER = CAT.product("CONSUMER")
ONE = timedelta(days=1)
HARDSHIP, DISPUTE = PauseReason.HARDSHIP, PauseReason.DISPUTE
PAID_1 = Payment("p1", date(2025, 2, 10), D("1100.16"))


def _loan(*pauses: Pause, product=CONSUMER) -> LoanAccount:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc, _ = advance(open_account("P", product, terms), date(2025, 3, 1), [PAID_1])
    return replace(acc, pauses=pauses)


def _days(acc: LoanAccount, to: date, payments: list[Payment] = ()) -> dict[date, DayState]:
    _, states = advance(acc, to, list(payments), CAT, record_from=acc.closed_through + ONE)
    return {s.as_of: s for s in states}


def _dpd(days: dict[date, DayState], *when: tuple[int, int]) -> list[int]:
    return [days[date(2025, m, d)].dpd for m, d in when]


WHEN = ((3, 13), (3, 14), (3, 19), (3, 20), (3, 31), (4, 1), (4, 9), (4, 10))


def test_without_a_pause_dpd_counts_every_day():
    assert _dpd(_days(_loan(), date(2025, 4, 10)), *WHEN) == [0, 4, 9, 10, 21, 22, 30, 31]


def test_a_hardship_pause_holds_dpd_and_bucket_and_the_count_goes_on_after():
    days = _days(_loan(Pause(date(2025, 3, 20), date(2025, 3, 31), HARDSHIP)), date(2025, 4, 10))
    # paused 20-31 Mar (12 days): DPD stays 9, then 10 on 1 Apr, 19 on 10 Apr (31 - 12)
    assert _dpd(days, *WHEN) == [0, 4, 9, 9, 9, 10, 18, 19]
    assert {days[date(2025, 3, d)].bucket for d in range(19, 32)} == {"M1"}
    # charges run by the contract's calendar: 18 days of 0.70 / 0.12 by 31 Mar, fee 30.00
    s = days[date(2025, 3, 31)]
    assert (s.penalty, s.compound, s.fee) == (D("12.60"), D("2.16"), D("30.00"))


def test_a_resume_ends_an_open_pause_the_day_before():
    acc = _loan(Pause(date(2025, 3, 20), None, DISPUTE))
    open_days = _days(acc, date(2025, 4, 30))
    assert {open_days[date(2025, 3, d)].dpd for d in range(19, 32)} == {9}
    assert open_days[date(2025, 4, 30)].dpd == 9  # open: no day counts
    acc = replace(acc, pauses=resume(acc.pauses, date(2025, 3, 25)))
    assert acc.pauses == (Pause(date(2025, 3, 20), date(2025, 3, 24), DISPUTE),)
    resumed = _days(acc, date(2025, 3, 31))
    assert _dpd(resumed, (3, 24), (3, 25), (3, 31)) == [9, 10, 16]


def test_a_pause_in_grace_moves_the_end_of_grace_for_dpd_but_not_the_late_fee():
    days = _days(_loan(Pause(date(2025, 3, 11), date(2025, 3, 20), HARDSHIP)), date(2025, 3, 25))
    # 24 Mar: 14 days since 10 Mar less 10 paused = 4 (> grace 3); 23 Mar: 3, in grace
    assert _dpd(days, (3, 14), (3, 23), (3, 24), (3, 25)) == [0, 0, 4, 5]
    assert days[date(2025, 3, 14)].fee == D("30.00")  # charged when calendar grace ended


def test_a_payment_during_a_pause_brings_dpd_to_zero():
    acc = _loan(Pause(date(2025, 3, 20), date(2025, 3, 31), HARDSHIP))
    days = _days(acc, date(2025, 3, 31), [Payment("p2", date(2025, 3, 25), D("1200.00"))])
    assert _dpd(days, (3, 24), (3, 25), (3, 31)) == [9, 0, 0]


def test_a_pause_puts_off_a_charge_off_and_an_open_one_stops_it():
    product = replace(CONSUMER, charge_off=ChargeOffRule(at_dpd=30))
    plain = _days(_loan(product=product), date(2025, 5, 31))
    assert plain[date(2025, 4, 8)].status == "active"
    assert plain[date(2025, 4, 9)].status == "written_off"  # 30 days after 10 Mar
    paused = _days(
        _loan(Pause(date(2025, 3, 20), date(2025, 3, 31), HARDSHIP), product=product),
        date(2025, 5, 31),
    )
    assert paused[date(2025, 4, 20)].status == "active"
    assert paused[date(2025, 4, 21)].status == "written_off"  # 12 paused days later
    assert paused[date(2025, 4, 21)].dpd == 30
    open_pause = Pause(date(2025, 3, 20), None, HARDSHIP)
    held = _days(_loan(open_pause, product=product), date(2025, 6, 30))
    assert (held[date(2025, 6, 30)].status, held[date(2025, 6, 30)].dpd) == ("active", 9)


def test_pauses_do_not_overlap_and_a_resume_needs_one_in_force():
    first = add_pause((), Pause(date(2025, 3, 20), date(2025, 3, 31), HARDSHIP))
    with pytest.raises(DomainError, match="overlaps the pause from 2025-03-20"):
        add_pause(first, Pause(date(2025, 3, 31), None, DISPUTE))
    with pytest.raises(DomainError, match="overlaps"):
        add_pause((Pause(date(2025, 4, 1), None, DISPUTE),), Pause(date(2025, 5, 1), None, DISPUTE))
    assert len(add_pause(first, Pause(date(2025, 4, 1), None, DISPUTE))) == 2
    with pytest.raises(DomainError, match="no pause is in force on 2025-04-01"):
        resume(first, date(2025, 4, 1))
    with pytest.raises(DomainError, match="starts on the day of the resume"):
        resume(first, date(2025, 3, 20))
    with pytest.raises(DomainError, match="cannot end before it"):
        Pause(date(2025, 3, 20), date(2025, 3, 19), HARDSHIP)


def test_day_reaching_inverts_ageing_days():
    pauses = (Pause(date(2025, 3, 20), date(2025, 3, 31), HARDSHIP),)
    due = date(2025, 3, 10)
    assert day_reaching(due, 30, pauses) == date(2025, 4, 21)
    assert ageing_days(due, date(2025, 4, 21), pauses) == 30
    assert ageing_days(due, date(2025, 4, 20), pauses) == 29
    assert day_reaching(due, 5, pauses) == date(2025, 3, 15)  # before the pause
    assert day_reaching(due, 30, (Pause(date(2025, 3, 20), None, HARDSHIP),)) is None


@st.composite
def _pauses(draw) -> tuple[Pause, ...]:
    pauses: tuple[Pause, ...] = ()
    day = date(2025, 3, 1) + timedelta(days=draw(st.integers(0, 30)))
    for _ in range(draw(st.integers(0, 3))):
        length = draw(st.one_of(st.none(), st.integers(0, 40)))
        until = None if length is None else day + timedelta(days=length)
        pauses = add_pause(pauses, Pause(day, until, draw(st.sampled_from(list(PauseReason)))))
        if until is None:
            break
        day = until + timedelta(days=draw(st.integers(1, 30)))
    return pauses


@settings(max_examples=30, deadline=None)
@given(
    pauses=_pauses(),
    paid=st.lists(
        st.tuples(st.integers(0, 120), st.sampled_from([D("300.00"), D("1100.16")])),
        max_size=3,
    ),
)
def test_dpd_never_counts_up_on_a_paused_day(pauses, paid):
    payments = [
        Payment(f"x{n}", date(2025, 3, 2) + timedelta(days=offset), amount)
        for n, (offset, amount) in enumerate(paid)
    ]
    to = date(2025, 7, 1)
    days = _days(_loan(*pauses), to, payments)
    free = _days(_loan(), to, payments)
    by_day: dict[date, list[Payment]] = {}
    for p in payments:
        by_day.setdefault(p.paid_on, []).append(p)
    daily = _loan(*pauses)
    for day in sorted(days):
        if any(p.covers(day) for p in pauses) and day - ONE in days:
            assert days[day].dpd <= days[day - ONE].dpd, day
        assert days[day].dpd <= free[day].dpd  # a pause never adds a day
        assert days[day].bucket_index <= free[day].bucket_index
        daily = close_day(daily, day, by_day.get(day, ()))
        assert state_of(daily, CAT) == days[day], day  # quiet days as day by day

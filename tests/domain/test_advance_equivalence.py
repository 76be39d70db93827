"""``advance`` skips quiet days; it must give exactly what closing every day gives.

While it records day states, ``advance`` must post the very entries of a day-by-day
close. When it records nothing it may post a run of quiet accrual days as one entry
``accr:<first>:<last>`` (dated the last day); that entry must then hold exactly the sum
of the daily accruals it replaces, and every balance must be the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.account import (
    LoanAccount,
    Payment,
    advance,
    close_day,
    open_account,
    resume_account,
    state_of,
)
from arrears.domain.ledger import Entry, EntryKind
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms

CAT = load_catalog()
CODES = sorted(CAT.products)
HORIZON = 200  # days closed after disbursement
ONE = timedelta(days=1)


def close_every_day(acc: LoanAccount, to: date, payments: list[Payment]):
    by_day: dict[date, list[Payment]] = {}
    for p in payments:
        by_day.setdefault(p.paid_on, []).append(p)
    states = []
    while acc.closed_through < to:
        acc = close_day(acc, acc.closed_through + ONE, by_day.get(acc.closed_through + ONE, ()))
        states.append(state_of(acc, CAT))
    return acc, states


def assert_same_account(a: LoanAccount, b: LoanAccount) -> None:
    """Identical, entry for entry."""
    assert a.ledger.entries == b.ledger.entries
    assert dict(a.ledger.balances) == dict(b.ledger.balances)
    assert (a.closed_through, a.charged, a.schedule) == (b.closed_through, b.charged, b.schedule)


def _legs_by_account(entries: list[Entry]) -> dict:
    out: dict = {}
    for e in entries:
        for leg in e.legs:
            out[leg.key] = out.get(leg.key, Decimal(0)) + leg.amount
    return out


def assert_same_books(fast: LoanAccount, daily: LoanAccount) -> None:
    """Same balances and cost measure; entries the same except that quiet accrual days
    may be one ``accr:<first>:<last>`` entry holding exactly their sum."""
    assert dict(fast.ledger.balances) == dict(daily.ledger.balances)
    assert (fast.closed_through, fast.charged) == (daily.closed_through, daily.charged)
    other = [e for e in fast.ledger.entries if e.kind is not EntryKind.ACCRUAL]
    assert other == [e for e in daily.ledger.entries if e.kind is not EntryKind.ACCRUAL]
    daily_accruals = {e.posted_on: e for e in daily.ledger.entries if e.kind is EntryKind.ACCRUAL}
    covered: set[date] = set()
    for e in fast.ledger.entries:
        if e.kind is not EntryKind.ACCRUAL:
            continue
        parts = e.ref.split(":")
        if len(parts) == 2:
            assert daily_accruals.get(e.posted_on) == e
            covered.add(e.posted_on)
            continue
        first, last = date.fromisoformat(parts[1]), date.fromisoformat(parts[2])
        assert e.posted_on == last and first < last
        days = [d for d in daily_accruals if first <= d <= last]
        assert days, e  # a stretch entry stands for some daily accruals
        assert _legs_by_account([e]) == _legs_by_account([daily_accruals[d] for d in days])
        assert e.amount == sum(daily_accruals[d].amount for d in days)
        assert not covered & set(days)
        covered |= set(days)
    assert covered == set(daily_accruals)


payment_st = st.tuples(
    st.integers(1, HORIZON),  # day after disbursement
    st.one_of(st.integers(1, 300_000), st.integers(100_000, 2_000_000)),  # cents
)


@settings(max_examples=60, deadline=None)
@given(
    code=st.sampled_from(CODES),
    principal_cents=st.integers(50_000, 5_000_000),
    disbursed=st.dates(date(2023, 1, 1), date(2027, 12, 31)),
    raw_payments=st.lists(payment_st, max_size=6),
    grace=st.one_of(st.none(), st.integers(0, 5), st.integers(25, 45)),
    tolerance=st.sampled_from(["0", "0", "1.00", "50.00"]),
)
def test_skipping_equals_closing_every_day(
    code, principal_cents, disbursed, raw_payments, grace, tolerance
):
    product = replace(CAT.product(code), arrears_tolerance=Decimal(tolerance))
    if grace is not None:  # a grace longer than a month overlaps the next installment
        product = replace(product, grace_days=grace)
    principal = Decimal(principal_cents).scaleb(-2)
    terms = LoanTerms(principal, product.annual_rate, product.term_months, disbursed)
    start = open_account(f"EQ-{code}", product, terms)
    payments = [
        Payment(f"p{n:02d}", disbursed + timedelta(days=d), Decimal(c).scaleb(-2))
        for n, (d, c) in enumerate(raw_payments)
    ]
    end = disbursed + timedelta(days=HORIZON)

    daily, daily_states = close_every_day(start, end, payments)
    first_day = start.closed_through + ONE
    skipped, skipped_states = advance(start, end, payments, catalog=CAT, record_from=first_day)
    assert_same_account(skipped, daily)
    assert skipped_states == daily_states
    # recording only the last 30 days: those rows are the same, the books too
    late_from = end - timedelta(days=29)
    partly, late_states = advance(start, end, payments, catalog=CAT, record_from=late_from)
    assert late_states == daily_states[-30:]
    assert_same_books(partly, daily)
    # without recording, the same books
    quiet, none_recorded = advance(start, end, payments)
    assert none_recorded == []
    assert_same_books(quiet, daily)
    assert state_of(quiet, CAT) == daily_states[-1]
    # resuming from stored state recomputes the same cost measure
    resumed = resume_account(
        daily.loan_id, daily.product, daily.terms, daily.schedule, daily.ledger, end
    )
    assert resumed.charged == daily.charged


@settings(max_examples=15, deadline=None)
@given(
    code=st.sampled_from(CODES),
    cut=st.integers(1, HORIZON - 1),
    raw_payments=st.lists(payment_st, max_size=4),
)
def test_advance_in_two_steps_equals_one(code, cut, raw_payments):
    product = CAT.product(code)
    disbursed = date(2025, 1, 31)
    terms = LoanTerms(Decimal("20000.00"), product.annual_rate, product.term_months, disbursed)
    start = open_account("EQ2", product, terms)
    payments = [
        Payment(f"p{n}", disbursed + timedelta(days=d), Decimal(c).scaleb(-2))
        for n, (d, c) in enumerate(raw_payments)
    ]
    mid, end = disbursed + timedelta(days=cut), disbursed + timedelta(days=HORIZON)
    one, _ = advance(start, end, payments)
    half, _ = advance(start, mid, [p for p in payments if p.paid_on <= mid])
    two, _ = advance(half, end, [p for p in payments if p.paid_on > mid])
    daily, _ = close_every_day(start, end, payments)
    assert_same_books(one, daily)
    assert_same_books(two, daily)


def test_payment_in_a_closed_day_is_refused():
    terms = LoanTerms(Decimal("1000.00"), Decimal("0.18"), 12, date(2025, 1, 10))
    acc = open_account("EQ3", CAT.product("CONSUMER"), terms)
    acc, _ = advance(acc, date(2025, 2, 1))
    with pytest.raises(ValueError, match="closed"):
        advance(acc, date(2025, 3, 1), [Payment("late", date(2025, 2, 1), Decimal("10.00"))])


def test_close_day_must_be_the_next_day():
    terms = LoanTerms(Decimal("1000.00"), Decimal("0.18"), 12, date(2025, 1, 10))
    acc = open_account("EQ4", CAT.product("CONSUMER"), terms)
    with pytest.raises(ValueError):
        close_day(acc, date(2025, 1, 12))
    with pytest.raises(ValueError):
        close_day(acc, date(2025, 1, 10))

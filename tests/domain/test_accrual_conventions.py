"""Issue 25, contract 4: 罚息 and 复利 accrued unrounded and rounded when posted (monthly,
or at payment) beside daily rounding, and ACT/ACT as their day count, with the issue's
figures and the published ACT/ACT (ISDA) year fractions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.account import (
    LoanAccount,
    Payment,
    advance,
    charges_to_date,
    close_day,
    open_account,
    resume_account,
    state_of,
)
from arrears.domain.charges import charge_basis, charge_days, exact_charge, round_exact
from arrears.domain.errors import DomainError, ProductError
from arrears.domain.ledger import Account
from arrears.domain.products import (
    AccrualRounding,
    CapBasis,
    ChargeDays,
    ChargeOffRule,
    ScheduleMethod,
    load_catalog,
    parse_catalog,
)
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
# CONSUMER without its charge-off at 180 DPD: these tests are about the conventions
# of charges accruing on the book over long unpaid stretches
CONSUMER = replace(CAT.product("CONSUMER"), charge_off=ChargeOffRule())
ONE = timedelta(days=1)
DAILY, MONTHLY, AT_PAYMENT = AccrualRounding


def bullet(
    rounding: AccrualRounding,
    days: ChargeDays = ChargeDays.ACTUAL,
    penalty_rate: str = "0.27",
    grace: int = 3,
):
    """CONSUMER's 罚息 (27% a year on a 360-day year) on a one-month interest-only loan:
    its one instalment is the whole principal; no late fee, 复利 or cap, so the penalty
    is all there is."""
    charges = replace(
        CONSUMER.charges,
        penalty_rate=D(penalty_rate),
        compound_rate=D(0),
        late_fee_fixed=D(0),
        cost_cap=None,
        accrual_rounding=rounding,
        charge_days=days,
    )
    return replace(
        CONSUMER,
        code="BULLET",
        method=ScheduleMethod.INTEREST_ONLY,
        term_months=1,
        grace_days=grace,
        charges=charges,
    )


def open_bullet(product, principal: str, disbursed: date) -> LoanAccount:
    return open_account("B", product, LoanTerms(D(principal), D("0.18"), 1, disbursed))


# due 28 Dec 2024, grace to 31 Dec: 罚息 runs from 1 Jan 2025, 365 days to 31 Dec
YEAR_START = date(2024, 11, 28)


def penalty_charged(acc: LoanAccount) -> Decimal:
    return charges_to_date(acc.ledger).penalty


@pytest.mark.parametrize(
    ("principal", "daily", "monthly"),
    [
        # 100.00 × 0.27 / 360 = 0.075 a day → 0.08: 365 × 0.08 = 29.20; unrounded the
        # year is 100 × 0.27 × 365 / 360 = 27.375 → 27.38
        ("100.00", D("29.20"), D("27.38")),
        # 6.66 × 0.27 / 360 = 0.004995 a day → 0.00 every day; the year 1.823175 → 1.82
        ("6.66", D("0.00"), D("1.82")),
    ],
)
def test_the_issues_figures_a_year_of_penalty(principal, daily, monthly):
    end = date(2025, 12, 31)
    got = {}
    for rounding in AccrualRounding:
        acc, _ = advance(open_bullet(bullet(rounding), principal, YEAR_START), end)
        got[rounding] = penalty_charged(acc)
    assert got == {DAILY: daily, MONTHLY: monthly, AT_PAYMENT: D("0.00")}  # nobody paid yet


def test_monthly_posts_each_month_end_carrying_the_remainder():
    # 6.66: January 31 × 0.004995 = 0.154845 → 0.15 on 31 Jan (nothing before); the
    # remainder 0.004845 is carried: by 28 Feb 0.154845 + 28 × 0.004995 = 0.294705 → 0.29
    product = bullet(MONTHLY)
    acc = open_bullet(product, "6.66", YEAR_START)
    seen = {}
    for day in (date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 27), date(2025, 2, 28)):
        acc, _ = advance(acc, day)
        seen[day] = penalty_charged(acc)
    assert list(seen.values()) == [D("0.00"), D("0.15"), D("0.15"), D("0.29")]
    assert acc.unposted[0] == Fraction(D("0.294705")) - Fraction(D("0.29"))


def test_at_payment_posts_before_the_payment_settles():
    # 100.00 unpaid all 2025; paid 150.00 on 1 Jan 2026: 27.38 of 罚息 is posted first
    # (through 31 Dec) and the payment settles it with the 1.50 interest and the
    # principal; the day's own 罚息 on what is left past grace (nothing) is 0
    product = bullet(AT_PAYMENT)
    acc = open_bullet(product, "100.00", YEAR_START)
    paid = date(2026, 1, 1)
    acc, _ = advance(acc, paid, [Payment("p1", paid, D("150.00"))])
    st_ = state_of(acc, CAT)
    assert penalty_charged(acc) == D("27.38")
    assert (st_.penalty, st_.principal_due, st_.credit) == (0, 0, D("150.00") - D("128.88"))
    assert acc.unposted == (Fraction(D("27.375")) - Fraction(D("27.38")), Fraction(0))


def test_a_partial_payment_leaves_the_new_accrual_unposted():
    # 100.00 due 28 Dec 2024; 50.00 paid on 1 Feb 2025 after 31 days of 罚息 (2.325):
    # 2.33 posted first; the payment pays 2.33, 1.50 interest, 46.17 principal; from 1
    # Feb the 53.83 left accrues unposted
    acc = open_bullet(bullet(AT_PAYMENT), "100.00", YEAR_START)
    acc, _ = advance(acc, date(2025, 2, 1), [Payment("p1", date(2025, 2, 1), D("50.00"))])
    assert penalty_charged(acc) == D("2.33")
    assert acc.ledger.balance(Account.PRINCIPAL) == D("53.83")
    left = Fraction(D("2.325")) - Fraction(D("2.33"))
    day = Fraction(D("53.83") * D("0.27")) / 360
    assert acc.unposted[0] == left + day


# --- ACT/ACT ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "basis"),
    [
        (date(2024, 3, 1), 366),
        (date(2025, 1, 1), 366),  # the night of 31 Dec 2024
        (date(2025, 1, 2), 365),
        (date(2023, 12, 31), 365),
    ],
)
def test_act_act_counts_each_day_in_its_year(day, basis):
    assert charge_basis(ChargeDays.ACT_ACT, CONSUMER.day_count, day) == basis
    assert charge_days(ChargeDays.ACT_ACT, day) == 1


@pytest.mark.parametrize(
    ("due", "paid", "fraction"),
    [
        # the published ACT/ACT (ISDA) fractions (QuantLib's day-counter tests, the ISDA
        # 1998 memo on day counts): 1 Nov 2003 – 1 May 2004 = 61/365 + 121/366 =
        # 0.497724380567; 1 Jul 1999 – 1 Jul 2000 = 184/365 + 182/366 = 1.001377348600
        (date(2003, 11, 1), date(2004, 5, 2), "0.497724380567"),
        (date(1999, 7, 1), date(2000, 7, 2), "1.001377348600"),
    ],
)
def test_act_act_penalty_over_the_published_periods(due, paid, fraction):
    # 10,000.00 past due from the day after ``due`` (no grace) at 10% a year, posted when
    # paid: 10,000 × 0.10 × the year fraction
    product = bullet(AT_PAYMENT, ChargeDays.ACT_ACT, penalty_rate="0.10", grace=0)
    disbursed = date(due.year if due.month > 1 else due.year - 1, due.month - 1 or 12, due.day)
    acc = open_bullet(product, "10000.00", disbursed)
    assert acc.schedule[0].due_date == due
    acc, _ = advance(acc, paid, [Payment("p", paid, D("0.01"))])
    expected = (D(1000) * D(fraction)).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert penalty_charged(acc) == expected


def test_act_act_figures_beside_the_fixed_bases():
    # 1 Nov 2003 – 1 May 2004 on 10,000.00 at 10%: ACT/ACT 497.72; ACT/365 (182 / 365)
    # 498.63; ACT/360 505.56; daily rounded under ACT/ACT 61 × 2.74 + 121 × 2.73 = 497.47
    paid = date(2004, 5, 2)
    got = {}
    for name, rounding, days, dc in [
        ("act/act", AT_PAYMENT, ChargeDays.ACT_ACT, None),
        ("act/365", AT_PAYMENT, ChargeDays.ACTUAL, "ACT/365"),
        ("act/360", AT_PAYMENT, ChargeDays.ACTUAL, "ACT/360"),
        ("act/act daily", DAILY, ChargeDays.ACT_ACT, None),
    ]:
        product = bullet(rounding, days, penalty_rate="0.10", grace=0)
        if dc is not None:
            product = replace(product, day_count=type(product.day_count)(dc))
        acc = open_bullet(product, "10000.00", date(2003, 10, 1))
        if rounding is DAILY:  # posted day by day through 1 May
            acc, _ = advance(acc, paid - ONE)
        else:  # posted through 1 May when paid on 2 May
            acc, _ = advance(acc, paid, [Payment("p", paid, D("0.01"))])
        got[name] = penalty_charged(acc)
    assert got == {
        "act/act": D("497.72"),
        "act/365": D("498.63"),
        "act/360": D("505.56"),
        "act/act daily": D("497.47"),
    }


# --- product file ---------------------------------------------------------------------


def _catalog(**fields: str):
    body = {"method": "annuity", "annual_rate": 0.18, "term_months": 12, **fields}
    return parse_catalog({"products": {"P": body}}, "products.toml")


def test_the_settings_are_read_from_the_product_file():
    rules = _catalog(accrual_rounding="monthly", charge_days="ACT/ACT").product("P").charges
    assert (rules.accrual_rounding, rules.charge_days) == (MONTHLY, ChargeDays.ACT_ACT)
    assert _catalog(accrual_rounding="at_payment").product("P").charges.exact
    default = CAT.product("CONSUMER").charges
    assert (default.accrual_rounding, default.exact) == (DAILY, False)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"accrual_rounding": "weekly"}, "products.P.accrual_rounding: invalid value 'weekly'"),
        ({"charge_days": "ACT/366"}, "products.P.charge_days: invalid value 'ACT/366'"),
        (
            {"accrual_rounding": "monthly", "penalty_from": "due_date"},
            "products.P.accrual_rounding: monthly cannot yet be combined",
        ),
        (
            {"charge_days": "ACT/ACT", "penalty_from": "due_date"},
            "products.P.charge_days: ACT/ACT charges cannot yet be combined",
        ),
    ],
)
def test_bad_settings_name_the_field(fields, message):
    with pytest.raises(ProductError, match=message.replace(".", r"\.").replace("/", "/")):
        _catalog(**fields)


# --- properties -------------------------------------------------------------------------


def close_every_day(acc: LoanAccount, to: date, payments: list[Payment]):
    by_day: dict[date, list[Payment]] = {}
    for p in payments:
        by_day.setdefault(p.paid_on, []).append(p)
    states = []
    while acc.closed_through < to:
        acc = close_day(acc, acc.closed_through + ONE, by_day.get(acc.closed_through + ONE, ()))
        states.append(state_of(acc, CAT))
    return acc, states


def _product(rounding: AccrualRounding, days: ChargeDays, cap: str | None, basis: CapBasis):
    charges = replace(
        CONSUMER.charges,
        accrual_rounding=rounding,
        charge_days=days,
        cost_cap=None if cap is None else D(cap),
        cost_cap_basis=basis,
    )
    return replace(CONSUMER, code="PROP", charges=charges)


SETTINGS = dict(
    rounding=st.sampled_from([MONTHLY, AT_PAYMENT]),
    days=st.sampled_from(list(ChargeDays)),
    principal=st.integers(100, 5_000_000).map(lambda c: D(c) / 100),
    start=st.dates(date(2023, 1, 1), date(2025, 6, 30)),
    paid_upto=st.integers(0, 11),
    late_days=st.integers(0, 45),
    horizon=st.integers(60, 420),
)


@settings(max_examples=30, deadline=None)
@given(**SETTINGS)
def test_advance_equals_closing_every_day(
    rounding, days, principal, start, paid_upto, late_days, horizon
):
    # the quiet stretches of ``advance`` accrue and post exactly as a day-by-day close
    product = _product(rounding, days, "0.24", CapBasis.ORIGINAL)
    acc = open_account("P", product, LoanTerms(principal, D("0.18"), 12, start))
    pays = [
        Payment(f"p{i.seq}", i.due_date + timedelta(days=late_days), i.amount)
        for i in acc.schedule[:paid_upto]
    ]
    end = start + timedelta(days=horizon)
    pays = [p for p in pays if p.paid_on <= end]
    fast, states = advance(acc, end, pays, catalog=CAT, record_from=start + ONE)
    slow, daily_states = close_every_day(acc, end, pays)
    assert dict(fast.ledger.balances) == dict(slow.ledger.balances)
    assert (fast.charged, fast.unposted) == (slow.charged, slow.unposted)
    assert states == daily_states


@settings(max_examples=30, deadline=None)
@given(
    days=st.sampled_from(list(ChargeDays)),
    principal=SETTINGS["principal"],
    start=SETTINGS["start"],
    horizon=SETTINGS["horizon"],
)
def test_monthly_posting_is_the_rounded_sum_of_the_exact_days(days, principal, start, horizon):
    # never paid, no cap: at every month end the 罚息 and 复利 charged are the rounded sum
    # of every day's exact charge so far (computed here from the daily product's bases),
    # between month ends they stay put; daily rounding is off by up to half a cent a day
    daily_product = _product(DAILY, days, None, CapBasis.ORIGINAL)
    monthly_product = _product(MONTHLY, days, None, CapBasis.ORIGINAL)
    terms = LoanTerms(principal, D("0.18"), 12, start)
    end = start + timedelta(days=horizon)
    _, bases = advance(open_account("D", daily_product, terms), end, catalog=CAT, record_from=start)
    _, states = advance(
        open_account("M", monthly_product, terms), end, catalog=CAT, record_from=start
    )
    rules = CONSUMER.charges
    exact_p = exact_c = Fraction(0)
    posted = (D(0), D(0))
    for base, state in zip(bases, states, strict=True):
        day = base.as_of
        n = charge_days(days, day)
        basis = charge_basis(days, CONSUMER.day_count, day)
        exact_p += exact_charge(base.overdue_principal, rules.penalty_rate, basis, n)
        exact_c += exact_charge(base.overdue_interest, rules.compound_rate, basis, n)
        if (day + ONE).day == 1:
            posted = (round_exact(exact_p, "CNY"), round_exact(exact_c, "CNY"))
        assert (state.penalty, state.compound) == posted, day


@settings(max_examples=30, deadline=None)
@given(**SETTINGS, cap=st.sampled_from(["0.24", "0.10"]), basis=st.sampled_from(list(CapBasis)))
def test_posting_never_exceeds_the_cap(
    rounding, days, principal, start, paid_upto, late_days, horizon, cap, basis
):
    # whatever is paid and when, posting rounds, then cuts to the headroom: on basis
    # overdue the charges stay within the rate on the principal-days past due; on basis
    # original every day that adds a charge ends within the allowance (contract interest
    # alone may pass it, and is never cut)
    product = _product(rounding, days, cap, basis)
    acc = open_account("P", product, LoanTerms(principal, D("0.18"), 12, start))
    pays = [
        Payment(f"p{i.seq}", i.due_date + timedelta(days=late_days), i.amount)
        for i in acc.schedule[:paid_upto]
    ]
    end = start + timedelta(days=horizon)
    pays = [p for p in pays if p.paid_on <= end]
    acc, states = advance(acc, end, pays, catalog=CAT, record_from=start + ONE)
    charged = charges_to_date(acc.ledger)
    if basis is CapBasis.OVERDUE:
        limit = cents(acc.overdue_days * D(cap) / 365)
        assert charged.fees + charged.penalty + charged.compound <= limit
        return
    before = D(0)
    for state in states:
        fallen = sum((i.interest for i in acc.schedule if i.due_date <= state.as_of), D(0))
        charges = state.charged_to_date - fallen
        if charges > before:
            assert state.charged_to_date <= cents(
                principal * D(cap) * (state.as_of - start).days / 365
            )
        before = charges


def cents(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


def test_a_loan_that_accrues_unrounded_is_not_resumed_from_stored_balances():
    # its unposted accrual is not in the ledger: resuming from stored balances would
    # silently drop it, so it is refused with the product and the setting named
    product = bullet(MONTHLY)
    acc = open_bullet(product, "100.00", YEAR_START)
    fresh = resume_account("B", product, acc.terms, acc.schedule, acc.ledger, YEAR_START)
    assert fresh.unposted == (0, 0)
    acc, _ = advance(acc, date(2025, 1, 15))
    with pytest.raises(
        DomainError, match=r"product BULLET accrues .*\(accrual_rounding = monthly\)"
    ):
        resume_account("B", product, acc.terms, acc.schedule, acc.ledger, acc.closed_through)
    daily = bullet(DAILY)
    resumed = resume_account("B", daily, acc.terms, acc.schedule, acc.ledger, acc.closed_through)
    assert resumed.closed_through == date(2025, 1, 15)

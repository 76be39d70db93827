"""Repayment schedules (还款计划) and card statements.

Expected figures are computed here independently (Decimal, Fraction, numpy-financial),
never by calling the schedule code for the answer.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain.calendar import DayCount
from arrears.domain.errors import DomainError
from arrears.domain.products import CardRules, PrincipalRounding, ScheduleMethod, load_catalog
from arrears.domain.schedule import (
    LoanTerms,
    annuity_payment,
    build_schedule,
    card_statement,
)

CAT = load_catalog()
BASE = CAT.product("CONSUMER")
CENT = Decimal("0.01")


def cents(x: Decimal | Fraction | float | str) -> Decimal:
    """Round half-up to the cent, exactly (floats via their shortest repr)."""
    if isinstance(x, Fraction):
        scaled = x * 100
        floor = scaled.numerator // scaled.denominator
        return Decimal(floor + (1 if scaled - floor >= Fraction(1, 2) else 0)).scaleb(-2)
    if isinstance(x, float):
        x = repr(x)
    return Decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)


def product(
    method=ScheduleMethod.ANNUITY,
    day_count=DayCount.THIRTY_360,
    rate="0.18",
    term=12,
    rounding=PrincipalRounding.HALF_UP,
):
    return replace(
        BASE,
        method=method,
        day_count=day_count,
        annual_rate=Decimal(rate),
        term_months=term,
        principal_rounding=rounding,
    )


def schedule(principal, rate, term, disbursed=date(2025, 1, 10), **kw):
    p = product(rate=rate, term=term, **kw)
    return build_schedule(p, LoanTerms(Decimal(principal), Decimal(rate), term, disbursed))


def nth_month(start: date, k: int) -> date:
    """``start`` + k months, day clamped to the month's end (independent of add_months)."""
    y, m = divmod(start.month - 1 + k, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


# -- the universal properties ---------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    principal_cents=st.integers(1, 1_000_000_000),
    rate_bp=st.integers(0, 3600),
    term=st.integers(1, 360),
    disbursed=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    method=st.sampled_from(list(ScheduleMethod)),
    day_count=st.sampled_from(list(DayCount)),
)
def test_every_schedule_repays_exactly_the_principal(
    principal_cents, rate_bp, term, disbursed, method, day_count
):
    principal = Decimal(principal_cents).scaleb(-2)
    rate = Decimal(rate_bp).scaleb(-4)
    p = product(method, day_count, str(rate), term)
    sched = build_schedule(p, LoanTerms(principal, rate, term, disbursed))

    if method is ScheduleMethod.CARD_MINIMUM:
        # a card runs until repaid, at most max_statements and ten statements per term month
        assert 1 <= len(sched) <= min(p.card.max_statements, 10 * term)
    else:
        assert len(sched) == term
    assert [i.seq for i in sched] == list(range(1, len(sched) + 1))
    assert sum(i.principal for i in sched) == principal  # exactly, not within a cent
    for inst in sched:
        assert inst.principal >= 0 and inst.interest >= 0
        assert inst.principal == inst.principal.quantize(CENT)
        assert inst.interest == inst.interest.quantize(CENT)
    dues = [i.due_date for i in sched]
    assert all(a < b for a, b in pairwise(dues))
    assert dues == [nth_month(disbursed, k) for k in range(1, len(sched) + 1)]
    if method is ScheduleMethod.INTEREST_ONLY:
        assert all(i.principal == 0 for i in sched[:-1]) and sched[-1].principal == principal


# -- annuity (等额本息) against numpy-financial ---------------------------------------------

GRID_PRINCIPALS = ["1000.00", "5000.00", "12000.00", "50000.00", "123456.78", "1000000.00"]
GRID_RATES = ["0.0435", "0.18", "0.24"]
GRID_TERMS = [6, 12, 24, 36, 60, 120, 360]


def drift_bound(r: float, k: int) -> float:
    """Most the bank's balance after k installments can differ from npf's exact one.

    The bank pays a payment rounded to the cent (off by ε ≤ 0.005) and rounds each
    month's interest (off by δ ≤ 0.005), so the balance error e obeys
    e_k = e_{k-1}·(1 + r) + δ_k − ε, hence |e_k| ≤ 0.01·((1 + r)^k − 1)/r. The sub-cent
    errors of the early months compound with the loan: after 30 years at 2% a month the
    bound is several hundred yuan, at 6 months it is well under a cent of interest."""
    return 0.01 * ((1 + r) ** k - 1) / r


@pytest.mark.parametrize("term", GRID_TERMS)
@pytest.mark.parametrize("rate", GRID_RATES)
@pytest.mark.parametrize("principal", GRID_PRINCIPALS)
def test_annuity_matches_numpy_financial(principal, rate, term):
    sched = schedule(principal, rate, term)
    r = float(Decimal(rate) / 12)
    pv = float(principal)
    payment = cents(float(-npf.pmt(r, term, pv)))
    # The level payment is npf's, rounded half-up, exactly; every installment but the
    # last (which takes the remaining balance) pays exactly that, unless the rounded-up
    # payment has already repaid the balance (30 years at 24% on 1,000: see below).
    balance = Decimal(principal)
    for inst in sched[:-1]:
        assert inst.amount == payment or inst.principal == balance, inst
        balance -= inst.principal
    assert annuity_payment(Decimal(principal), Decimal(rate) / 12, term, "CNY") == payment
    eps = 1e-9
    balance = Decimal(principal)
    for inst in sched:
        k = inst.seq
        npf_i = cents(float(-npf.ipmt(r, k, term, pv)))
        npf_p = cents(float(-npf.ppmt(r, k, term, pv)))
        before = drift_bound(r, k - 1)  # error of the balance the interest is computed on
        # interest: r·e + the bank's rounding + the rounding of npf's value
        assert abs(float(inst.interest - npf_i)) <= r * before + 0.01 + eps, k
        if k < term and inst.principal < balance:
            # payment − interest: ε + r·e + δ + npf's rounding
            assert abs(float(inst.principal - npf_p)) <= r * before + 0.015 + eps, k
        else:
            # The last installment, or one after the rounded-up payment has repaid the
            # balance early, repays the drifted balance itself (npf's share is at most
            # npf's balance, which differs from the bank's by the drift).
            assert abs(float(inst.principal - npf_p)) <= before + 0.015 + eps, k
        balance -= inst.principal
        if term <= 36 and k < term:
            # Within three years the drift stays below a cent: every part but the last
            # principal is within one cent of npf's (measured on this grid).
            assert abs(inst.interest - npf_i) <= CENT and abs(inst.principal - npf_p) <= CENT


# Cases where every installment equals npf to the cent: the rounded payment and the
# rounded monthly interest happen to leave the balance within half a cent of npf's all
# the way. Elsewhere it drifts (see drift_bound) and the last principal differs by cents.
EXACT_CASES = [
    ("10000.00", "0.0435", 3),
    ("100000.00", "0.0435", 3),
    ("1000.00", "0.0435", 6),
    ("50000.00", "0.0435", 6),
    ("1000.00", "0.0435", 12),
    ("2000.00", "0.0435", 12),
    ("1000.00", "0.18", 3),
    ("1000000.00", "0.18", 3),
    ("2000.00", "0.18", 6),
    ("5000.00", "0.24", 3),
    ("12000.00", "0.24", 6),
    ("50000.00", "0.24", 12),
]


@pytest.mark.parametrize(("principal", "rate", "term"), EXACT_CASES)
def test_annuity_equals_numpy_financial_to_the_cent(principal, rate, term):
    r, pv = float(Decimal(rate) / 12), float(principal)
    for inst in schedule(principal, rate, term):
        assert inst.interest == cents(float(-npf.ipmt(r, inst.seq, term, pv)))
        assert inst.principal == cents(float(-npf.ppmt(r, inst.seq, term, pv)))


@pytest.mark.parametrize("principal", ["1000.00", "5000.00", "12000.00", "20000.00", "50000.00"])
def test_consumer_annuity_first_eleven_installments_equal_npf_to_the_cent(principal):
    # The common consumer loan (18%, 12 months): the drift stays sub-cent until the
    # last installment, which absorbs it.
    r, pv = 0.015, float(principal)
    for inst in schedule(principal, "0.18", 12)[:-1]:
        assert inst.interest == cents(float(-npf.ipmt(r, inst.seq, 12, pv)))
        assert inst.principal == cents(float(-npf.ppmt(r, inst.seq, 12, pv)))


def test_consumer_annuity_by_hand():
    # 12,000 at 18%: payment 12000·0.015/(1 − 1.015^−12) = 1100.156… → 1100.16
    # 1: 12000.00·0.015 = 180.00,   principal 920.16, left 11079.84
    # 2: 11079.84·0.015 = 166.1976 → 166.20, principal 933.96, left 10145.88
    # 3: 10145.88·0.015 = 152.1882 → 152.19, principal 947.97, left 9197.91
    # 4:  9197.91·0.015 = 137.96865 → 137.97, principal 962.19
    sched = schedule("12000.00", "0.18", 12)
    got = [(i.due_date, i.interest, i.principal) for i in sched[:4]]
    assert got == [
        (date(2025, 2, 10), Decimal("180.00"), Decimal("920.16")),
        (date(2025, 3, 10), Decimal("166.20"), Decimal("933.96")),
        (date(2025, 4, 10), Decimal("152.19"), Decimal("947.97")),
        (date(2025, 5, 10), Decimal("137.97"), Decimal("962.19")),
    ]


def test_annuity_at_zero_rate_is_equal_parts():
    sched = schedule("1000.00", "0", 3)
    assert [i.principal for i in sched] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    assert all(i.interest == 0 for i in sched)


# -- equal principal (等额本金) and interest only (先息后本) ---------------------------------


def _check_equal_principal(
    principal: str,
    rate: str,
    term: int,
    day_count: DayCount,
    start,
    rounding: PrincipalRounding = PrincipalRounding.HALF_UP,
):
    """Each installment against the published formula P / n + (P − (k − 1)·P / n) × rate,
    in exact fractions. Half-up: the part P / n rounded half-up (rounded down should n − 1
    half-up parts exceed P), interest on the formula's unrounded balance. Down: the part
    rounded down, interest on the balance left after the rounded parts."""
    method = ScheduleMethod.EQUAL_PRINCIPAL
    sched = schedule(
        principal, rate, term, start, method=method, day_count=day_count, rounding=rounding
    )
    p = Decimal(principal)
    part = (p / term).quantize(CENT, rounding=ROUND_DOWN)
    if rounding is PrincipalRounding.HALF_UP and cents(Fraction(p) / term) * (term - 1) <= p:
        part = cents(Fraction(p) / term)
    balance = p
    prev = start
    for inst in sched:
        base = Fraction(balance)
        if rounding is PrincipalRounding.HALF_UP:
            base = Fraction(p) * (term - inst.seq + 1) / term
        if day_count is DayCount.THIRTY_360:
            expected_interest = cents(base * Fraction(rate) / 12)
        else:
            days = (inst.due_date - prev).days
            basis = 365 if day_count is DayCount.ACT_365 else 360
            expected_interest = cents(base * Fraction(rate) * days / basis)
        assert inst.interest == expected_interest, inst
        expected_principal = part if inst.seq < term else p - part * (term - 1)
        assert inst.principal == expected_principal, inst
        balance -= inst.principal
        prev = inst.due_date
    assert balance == 0


@pytest.mark.parametrize("rounding", list(PrincipalRounding))
@pytest.mark.parametrize("term", [1, 6, 7, 12, 36])
@pytest.mark.parametrize("rate", ["0.0435", "0.18", "0.21", "0.2399"])
@pytest.mark.parametrize("principal", ["1000.00", "12000.00", "99999.99", "1000000.01"])
def test_equal_principal_by_independent_decimal(principal, rate, term, rounding):
    _check_equal_principal(principal, rate, term, DayCount.THIRTY_360, date(2025, 1, 10), rounding)


@settings(max_examples=150, deadline=None)
@given(
    principal_cents=st.integers(1, 1_000_000_000),
    rate_bp=st.integers(0, 3600),
    term=st.integers(1, 120),
    day_count=st.sampled_from(list(DayCount)),
    start=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    rounding=st.sampled_from(list(PrincipalRounding)),
)
def test_equal_principal_property(principal_cents, rate_bp, term, day_count, start, rounding):
    principal = str(Decimal(principal_cents).scaleb(-2))
    rate = str(Decimal(rate_bp).scaleb(-4))
    _check_equal_principal(principal, rate, term, day_count, start, rounding)


def _mortgage(rounding: PrincipalRounding):
    p = replace(
        product(ScheduleMethod.EQUAL_PRINCIPAL, rate="0.049", term=360),
        principal_rounding=rounding,
    )
    return build_schedule(p, LoanTerms(D("1000000.00"), D("0.049"), 360, date(2025, 1, 15)))


def test_equal_principal_matches_published_mortgage_calculators():
    # 等额本金 1,000,000 over 360 months at 4.9% (monthly 4.9% / 12), as published Chinese
    # mortgage calculators give it: principal 1,000,000 / 360 = 2,777.78 a month, first
    # payment 2,777.78 + 1,000,000 × 0.049 / 12 (4,083.33) = 6,861.11, total interest
    # 1,000,000 × 0.049 / 12 × 361 / 2 = 737,041.67. The last installment takes what is
    # left: 1,000,000 − 359 × 2,777.78 = 2,776.98.
    sched = _mortgage(PrincipalRounding.HALF_UP)
    assert sched[0].principal == D("2777.78") and sched[0].amount == D("6861.11")
    assert sum(i.interest for i in sched) == D("737041.67")
    assert sched[-1].principal == D("2776.98")
    assert sum(i.principal for i in sched) == D("1000000.00")


def test_equal_principal_rounded_down_is_the_earlier_convention():
    # principal_rounding = "down": 2,777.77 a month, the last 2,780.57; first payment
    # 6,861.10 and total interest 737,043.71, the figures the project gave before
    sched = _mortgage(PrincipalRounding.DOWN)
    assert sched[0].principal == D("2777.77") and sched[0].amount == D("6861.10")
    assert sum(i.interest for i in sched) == D("737043.71")
    assert sched[-1].principal == D("2780.57")


def test_half_up_never_leaves_the_last_installment_negative():
    # 2.00 over 360: 2.00 / 360 = 0.0056 → 0.01 half-up, but 359 × 0.01 > 2.00, so the
    # part is rounded down to 0.00 and the last installment repays the 2.00
    sched = schedule("2.00", "0.12", 360, method=ScheduleMethod.EQUAL_PRINCIPAL)
    assert all(i.principal == 0 for i in sched[:-1]) and sched[-1].principal == D("2.00")


def test_equal_principal_remainder_goes_to_last():
    # 1000.00 / 3 = 333.333… → 333.33 twice, the last takes 333.34 (never short)
    sched = schedule("1000.00", "0.12", 3, method=ScheduleMethod.EQUAL_PRINCIPAL)
    assert [i.principal for i in sched] == [Decimal("333.33"), Decimal("333.33"), Decimal("333.34")]
    # interest 1000·0.01 = 10.00, 666.67·0.01 = 6.6667 → 6.67, 333.34·0.01 = 3.3334 → 3.33
    assert [i.interest for i in sched] == [Decimal("10.00"), Decimal("6.67"), Decimal("3.33")]


def test_interest_only_act_360_counts_actual_days():
    # SME style: 100,000 at 6.5% ACT/360 from 10 Jan: Feb has 31 days (→ 559.72),
    # March 28 days (→ 505.56): 100000·0.065·31/360 = 559.7222…, ·28/360 = 505.5555…
    sched = schedule(
        "100000.00", "0.065", 3, method=ScheduleMethod.INTEREST_ONLY, day_count=DayCount.ACT_360
    )
    assert [i.interest for i in sched] == [Decimal("559.72"), Decimal("505.56"), Decimal("559.72")]
    assert [i.principal for i in sched] == [0, 0, Decimal("100000.00")]


# -- due dates ----------------------------------------------------------------------------


def test_month_end_anchoring_keeps_the_31st():
    sched = schedule("12000.00", "0.18", 12, date(2025, 1, 31))
    assert [i.due_date for i in sched[:6]] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
        date(2025, 6, 30),
        date(2025, 7, 31),
    ]


def test_month_end_anchoring_in_a_leap_year():
    sched = schedule("12000.00", "0.18", 3, date(2024, 1, 31))
    assert [i.due_date for i in sched] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]


def test_the_30th_comes_back_after_february():
    sched = schedule("12000.00", "0.18", 3, date(2025, 1, 30))
    assert [i.due_date for i in sched] == [date(2025, 2, 28), date(2025, 3, 30), date(2025, 4, 30)]


def test_schedule_crosses_the_year():
    sched = schedule("12000.00", "0.18", 3, date(2025, 11, 15))
    assert [i.due_date for i in sched] == [date(2025, 12, 15), date(2026, 1, 15), date(2026, 2, 15)]


def test_explicit_first_due_date_sets_the_anchor():
    p = product(term=3)
    terms = LoanTerms(Decimal("3000.00"), Decimal("0.18"), 3, date(2025, 1, 10), date(2025, 1, 31))
    assert [i.due_date for i in build_schedule(p, terms)] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
    ]


# -- contract validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "rate", "term", "first_due"),
    [
        ("0", "0.18", 12, None),
        ("-1.00", "0.18", 12, None),
        ("100.00", "-0.01", 12, None),
        ("100.00", "0.18", 0, None),
        ("100.00", "0.18", 12, date(2025, 1, 10)),  # first due on the disbursement day
    ],
)
def test_invalid_terms_are_refused(principal, rate, term, first_due):
    with pytest.raises(DomainError):
        LoanTerms(Decimal(principal), Decimal(rate), term, date(2025, 1, 10), first_due)


def test_principal_with_sub_cent_digits_is_refused():
    with pytest.raises(DomainError, match="more decimals"):
        schedule("1000.005", "0.18", 12)
    jpy = replace(product(), currency="JPY")
    with pytest.raises(DomainError, match="JPY"):
        build_schedule(jpy, LoanTerms(Decimal("1000.5"), Decimal("0.18"), 12, date(2025, 1, 10)))


# -- card statements (最低还款额) ----------------------------------------------------------

RULES = CardRules(min_rate=Decimal("0.10"), min_floor=Decimal("100"))
D = Decimal


@pytest.mark.parametrize(
    ("opening", "payments", "purchases", "interest", "fees", "closing", "minimum"),
    [
        # 5105 closing; rest 5000 → 10% = 500 > floor: 75 + 30 + 500
        ("5000.00", "0", "0", "75.00", "30.00", "5105.00", "605.00"),
        # purchases and payments move the balance; rest 1234.55 → 123.455 → 123.46
        ("1000.00", "200.00", "434.55", "15.00", "0", "1249.55", "138.46"),
        # 10% of 300 = 30 is under the 100 floor: 4.50 + 100
        ("300.00", "0", "0", "4.50", "0", "304.50", "104.50"),
        # floor exceeds what is owed: capped at the whole balance
        ("50.00", "0", "0", "0.75", "0", "50.75", "50.75"),
        # exactly at the floor: 1000·10% = 100 = floor
        ("1000.00", "0", "0", "0", "0", "1000.00", "100.00"),
        # paid off exactly: nothing due
        ("100.00", "100.00", "0", "0", "0", "0.00", "0"),
        # overpaid: negative balance, nothing due
        ("100.00", "150.00", "0", "0", "0", "-50.00", "0"),
    ],
)
def test_card_statement_minimum(opening, payments, purchases, interest, fees, closing, minimum):
    stmt = card_statement(D(opening), D(payments), D(purchases), D(interest), D(fees), RULES)
    assert stmt.closing_balance == D(closing)
    assert stmt.minimum_due == D(minimum)


@settings(max_examples=200, deadline=None)
@given(
    opening=st.integers(0, 10**8),
    payments=st.integers(0, 10**8),
    purchases=st.integers(0, 10**7),
    interest=st.integers(0, 10**6),
    fees=st.integers(0, 10**5),
)
def test_card_minimum_is_interest_fees_and_the_larger_share_capped(
    opening, payments, purchases, interest, fees
):
    o, pm, pu, i, f = (D(x).scaleb(-2) for x in (opening, payments, purchases, interest, fees))
    stmt = card_statement(o, pm, pu, i, f, RULES)
    closing = o - pm + pu + i + f
    assert stmt.closing_balance == closing
    if closing <= 0:
        assert stmt.minimum_due == 0
    else:
        rest = closing - i - f
        expected = min(closing, i + f + max(cents(rest * D("0.10")), D(100)))
        assert stmt.minimum_due == expected
        assert 0 < stmt.minimum_due <= closing


def test_card_schedule_pays_the_minimum_each_statement():
    # CARD: 12,000 at 18.25% (0.05% a day) ACT/365 from 10 Jan: 31 days to 10 Feb, interest
    # 12000 × 0.1825 × 31 / 365 = 186.00, principal 10% = 1200.00
    card = CAT.product("CARD")
    sched = build_schedule(card, LoanTerms(D("12000.00"), card.annual_rate, 12, date(2025, 1, 10)))
    assert (sched[0].interest, sched[0].principal) == (D("186.00"), D("1200.00"))
    # 28 days to 10 Mar: 10800 × 0.1825 × 28 / 365 = 151.20, principal 1080.00
    assert (sched[1].interest, sched[1].principal) == (D("151.20"), D("1080.00"))
    # once 10% drops under the 100 floor, 100 a statement until the rest is repaid
    assert all(i.principal >= D(100) for i in sched[:-1])
    assert sum(i.principal for i in sched) == D("12000.00")

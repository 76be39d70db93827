"""Revolving cards (issue 25, contract 6): worked examples with every figure computed by
hand in the docstring, on the domain core (``domain/revolving.py``). The day rate is
0.05% (日息万分之五) throughout; interest counts each day from the posting day up to the
day before the statement day, a payment's day at the lower balance."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from arrears.domain.errors import DomainError, ProductError
from arrears.domain.products import (
    Catalog,
    FreePeriod,
    InterestBasis,
    RevolvingProduct,
    load_catalog,
    parse_catalog,
)
from arrears.domain.revolving import CardAccount, CardEvent, CardState, TxKind, replay_card

D = Decimal
CATALOG = load_catalog()
REVOLVING = CATALOG.revolving["REVOLVING"]
# the published 招商银行 example: statement day 18, due the 7th (19 days on), no grace
CMB = RevolvingProduct("CMB", "card", statement_day=18, due_days=19, grace_days=0)


def run(
    product: RevolvingProduct,
    opened: date,
    events: list[tuple[str, date, str]],
    as_of: date,
    limit: str = "10000",
    catalog: Catalog = CATALOG,
) -> CardState:
    account = CardAccount.open(product, opened, D(limit))
    card_events = [CardEvent(TxKind(k), on, D(a)) for k, on, a in events]
    return replay_card(account, card_events, as_of, catalog)


def purchase(on: date, amount: str) -> tuple[str, date, str]:
    return ("purchase", on, amount)


def pay(on: date, amount: str) -> tuple[str, date, str]:
    return ("payment", on, amount)


def test_statement_paid_in_full_by_its_due_date_costs_no_interest_on_purchases():
    """1,000.00 bought 30 Mar, billed on the 18 Apr statement (balance 1,000.00, due 7
    May), paid 1,000.00 on 7 May: the statement is paid in full, so the purchase is
    interest-free; the 18 May statement charges 0.00 and owes 0.00."""
    card = run(
        CMB,
        date(2025, 3, 20),
        [purchase(date(2025, 3, 30), "1000.00"), pay(date(2025, 5, 7), "1000.00")],
        date(2025, 5, 20),
    )
    april, may = card.statements
    assert (april.statement_date, april.due_date, april.balance) == (
        date(2025, 4, 18),
        date(2025, 5, 7),
        D("1000.00"),
    )
    assert april.paid_in_full is True
    assert may.interest == 0 and may.balance == 0 and may.minimum == 0
    assert card.charged_interest == 0 and card.balance == 0 and card.dpd == 0


def test_full_balance_interest_matches_the_published_cmb_example():
    """招商银行's published example of 全额计息: 1,000.00 bought 30 Mar, statement 18 Apr
    (minimum 10% = 100.00, due 7 May), 100.00 paid on 7 May. The statement was not paid in
    full, so the purchase bears interest from 30 Mar on its whole balance:
    1,000.00 × 0.0005 × 38 days (30 Mar - 6 May) = 19.00, then
    900.00 × 0.0005 × 11 days (7 May - 17 May) = 4.95; 18 May statement interest 23.95.
    Balance 900.00 + 23.95 = 923.95; minimum 23.95 (interest, in full) + 10% × 900.00
    = 113.95."""
    card = run(
        CMB,
        date(2025, 3, 20),
        [purchase(date(2025, 3, 30), "1000.00"), pay(date(2025, 5, 7), "100.00")],
        date(2025, 5, 18),
    )
    april, may = card.statements
    assert april.minimum == D("100.00") and april.paid_in_full is False
    assert may.interest == D("23.95")
    assert may.balance == D("923.95")
    assert may.minimum == D("113.95")
    assert (may.parts.charges, may.parts.percentage) == (D("23.95"), D("90.00"))


def test_unpaid_balance_interest_charges_only_what_was_left_unpaid():
    """The same story under 按未还部分计息 (``interest_basis = "unpaid_balance"``): only the
    900.00 unpaid at the due date bears interest, from 30 Mar: 900.00 × 0.0005 × 49 days
    (30 Mar - 17 May) = 22.05 (against 23.95 on the full balance). Balance 922.05,
    minimum 22.05 + 90.00 = 112.05."""
    product = replace(CMB, interest_basis=InterestBasis.UNPAID_BALANCE)
    card = run(
        product,
        date(2025, 3, 20),
        [purchase(date(2025, 3, 30), "1000.00"), pay(date(2025, 5, 7), "100.00")],
        date(2025, 5, 18),
    )
    may = card.statements[-1]
    assert may.interest == D("22.05")
    assert (may.balance, may.minimum) == (D("922.05"), D("112.05"))


def test_unpaid_interest_bears_interest_from_its_statement_day_when_compounded():
    """Nothing more paid after the 100.00 of 7 May: the 18 Jun statement charges 900.00 ×
    0.0005 × 31 days (18 May - 17 Jun) = 13.95; with ``interest_on_interest`` (按月计收
    复利) the 23.95 billed on 18 May bears interest too, 23.95 × 0.0005 × 31 = 0.371225:
    13.95 + 0.371225 = 14.321225, 14.32 (summed unrounded, rounded once)."""
    events = [purchase(date(2025, 3, 30), "1000.00"), pay(date(2025, 5, 7), "100.00")]
    simple = run(CMB, date(2025, 3, 20), events, date(2025, 6, 18))
    compound = run(
        replace(CMB, interest_on_interest=True), date(2025, 3, 20), events, date(2025, 6, 18)
    )
    assert [s.interest for s in simple.statements[-2:]] == [D("23.95"), D("13.95")]
    assert [s.interest for s in compound.statements[-2:]] == [D("23.95"), D("14.32")]
    assert REVOLVING.interest_on_interest is True


def test_previous_statement_rule_charges_from_the_statement_day_and_new_purchases_at_once():
    """``free_period = "previous_statement"`` (the US rule, no double-cycle billing) on
    the same story: the 18 Apr statement is not paid in full, but the cycle it bills
    started clean, so the 1,000.00 bears interest from the statement day only:
    1,000.00 × 0.0005 × 19 days (18 Apr - 6 May) = 9.50 and 900.00 × 0.0005 × 11 = 4.95.
    200.00 bought 10 May, in a cycle that starts with a balance carried, bears interest
    from its day: 200.00 × 0.0005 × 8 days (10-17 May) = 0.80. 18 May interest 15.25 (under
    the Chinese rule 23.95, and the 200.00 still judged on its own statement)."""
    product = replace(CMB, free_period=FreePeriod.PREVIOUS_STATEMENT)
    events = [
        purchase(date(2025, 3, 30), "1000.00"),
        pay(date(2025, 5, 7), "100.00"),
        purchase(date(2025, 5, 10), "200.00"),
    ]
    assert run(product, date(2025, 3, 20), events, date(2025, 5, 18)).statements[-1].interest == D(
        "15.25"
    )
    assert run(CMB, date(2025, 3, 20), events, date(2025, 5, 18)).statements[-1].interest == D(
        "23.95"
    )


def test_cash_advance_bears_interest_from_its_day_even_when_paid_in_full():
    """A 2,000.00 cash advance on 10 Apr with a 1% fee (20.00): the 18 Apr statement
    charges 2,000.00 × 0.0005 × 8 days (10-17 Apr) = 8.00; balance 2,028.00, minimum
    28.00 (fee and interest) + 10% × 2,000.00 = 228.00. Paid in full (2,028.00) on 7 May:
    the cash advance still bore interest until then, 2,000.00 × 0.0005 × 19 days
    (18 Apr - 6 May) = 19.00 on the 18 May statement, its balance and minimum."""
    product = replace(CMB, cash_advance_fee_rate=D("0.01"), cash_advance_fee_min=D("10"))
    events = [("cash_advance", date(2025, 4, 10), "2000.00"), pay(date(2025, 5, 7), "2028.00")]
    card = run(product, date(2025, 3, 20), events, date(2025, 5, 18))
    april, may = card.statements[-2:]
    assert (april.fees, april.interest, april.balance) == (D("20.00"), D("8.00"), D("2028.00"))
    assert april.minimum == D("228.00") and april.paid_in_full is True
    assert (may.interest, may.balance, may.minimum) == (D("19.00"), D("19.00"), D("19.00"))


# the default catalogue's REVOLVING card: statement day 5, due 20 days on, grace 3 days,
# minimum 10%, late fee 5% of the unpaid minimum, limit 10,000.00 (+10% for purchases)
OPENED = date(2025, 1, 6)
MISSED = [purchase(date(2025, 1, 10), "9800.00"), purchase(date(2025, 2, 20), "500.00")]


def test_minimum_holds_the_unpaid_previous_minimum_and_the_charges():
    """9,800.00 bought 10 Jan; 5 Feb statement: balance 9,800.00, minimum 980.00, due
    25 Feb (grace to 28 Feb), not paid. 500.00 bought 20 Feb. Late fee 1 Mar: 5% × 980.00
    = 49.00. 5 Mar statement: the 9,800.00 lost its free period, interest 9,800.00 ×
    0.0005 × 54 days (10 Jan - 4 Mar) = 264.60 (the 500.00 is judged on this statement).
    Balance 9,800.00 + 500.00 + 49.00 + 264.60 = 10,613.60, over the limit by 613.60.
    Minimum: charges C = 49.00 + 264.60 = 313.60, the unpaid previous minimum U = 980.00
    (all principal: nothing else was billed before), over-limit principal 613.60 − 313.60
    = 300.00, so X = max(980.00, 300.00) = 980.00 in full, and 10% × (10,300.00 −
    980.00) = 932.00: 313.60 + 980.00 + 932.00 = 2,225.60."""
    card = run(REVOLVING, OPENED, MISSED, date(2025, 3, 5))
    feb, mar = card.statements
    assert (feb.balance, feb.minimum, feb.due_date) == (
        D("9800.00"),
        D("980.00"),
        date(2025, 2, 25),
    )
    assert mar.fees == D("49.00") and mar.interest == D("264.60")
    assert mar.balance == D("10613.60") and mar.over_limit == D("613.60")
    assert mar.parts.charges == D("313.60") and mar.parts.past_due == D("980.00")
    assert mar.parts.principal_in_full == D("980.00") and mar.parts.percentage == D("932.00")
    assert mar.minimum == D("2225.60")


def test_minimum_holds_the_over_limit_amount_in_full():
    """9,800.00 bought 10 Jan, the 980.00 minimum paid on its due date 25 Feb; 1,700.00
    bought 1 Mar (balance 10,520.00, within 110% of the limit). 5 Mar statement: interest
    9,800.00 × 0.0005 × 46 days (10 Jan - 24 Feb) = 225.40 and 8,820.00 × 0.0005 × 8 days
    (25 Feb - 4 Mar) = 35.28, 260.68 in all. Balance 8,820.00 + 1,700.00 + 260.68 =
    10,780.68, over the limit by 780.68, of which 780.68 − 260.68 = 520.00 is principal.
    Minimum 260.68 + 520.00 + 10% × (10,520.00 − 520.00) = 1,780.68, which brings the
    balance back to 9,000.00, within the limit."""
    events = [
        purchase(date(2025, 1, 10), "9800.00"),
        pay(date(2025, 2, 25), "980.00"),
        purchase(date(2025, 3, 1), "1700.00"),
    ]
    card = run(REVOLVING, OPENED, events, date(2025, 3, 5))
    mar = card.statements[-1]
    assert mar.interest == D("260.68")
    assert (mar.balance, mar.over_limit) == (D("10780.68"), D("780.68"))
    assert mar.parts.past_due == 0 and mar.parts.principal_in_full == D("520.00")
    assert mar.minimum == D("1780.68")
    assert mar.balance - mar.minimum == D("9000.00")


@pytest.mark.parametrize(
    ("as_of", "dpd", "bucket"),
    [
        (date(2025, 2, 25), 0, "M0"),  # the due date
        (date(2025, 2, 28), 0, "M0"),  # the last day of grace
        (date(2025, 3, 1), 4, "M1"),  # grace over: counted from the due date 25 Feb
        (date(2025, 3, 28), 31, "M2"),  # statement 2's minimum also unpaid: still 25 Feb
        (date(2025, 4, 1), 35, "M2"),
    ],
)
def test_dpd_counts_from_the_first_unpaid_minimums_due_date(as_of: date, dpd: int, bucket: str):
    """Nothing paid: the 5 Feb minimum (due 25 Feb, grace to 28 Feb) is the first unpaid;
    DPD is 0 within grace, then days since 25 Feb, whatever later statements say."""
    card = run(REVOLVING, OPENED, MISSED, as_of)
    assert (card.dpd, card.bucket) == (dpd, bucket)


def test_paying_the_old_minimum_cures_and_dpd_moves_to_the_next_unpaid_one():
    """DPD 12 on 9 Mar (25 Feb - 9 Mar). With 980.00 paid on 10 Mar the 5 Feb minimum
    is paid: DPD 0 that day (the 5 Mar
    minimum is not due until 25 Mar). Nothing more paid: 5 Mar minimum 2,225.60 less the
    980.00 paid since 5 Mar leaves 1,245.60 unpaid when grace ends 28 Mar; the late fee on
    29 Mar is 5% × 1,245.60 = 62.28 and DPD counts from 25 Mar (5 on 30 Mar). Without
    the payment DPD on 1 Apr is 35 (from 25 Feb); paid 980.00 on 2 Apr instead, the
    first unpaid minimum becomes 5 Mar's: DPD 8."""
    paid = [*MISSED, pay(date(2025, 3, 10), "980.00")]
    assert run(REVOLVING, OPENED, paid, date(2025, 3, 9)).dpd == 12
    cured = run(REVOLVING, OPENED, paid, date(2025, 3, 10))
    assert cured.dpd == 0 and cured.bucket == "M0" and cured.loan_class.value == "normal"
    assert cured.statements[0].minimum_paid is True
    late = run(REVOLVING, OPENED, paid, date(2025, 3, 30))
    assert late.dpd == 5
    assert [t.amount for t in late.transactions if t.kind is TxKind.LATE_FEE] == [
        D("49.00"),
        D("62.28"),
    ]
    assert late.past_due == D("1245.60")
    later = [*MISSED, pay(date(2025, 4, 2), "980.00")]
    assert run(REVOLVING, OPENED, MISSED, date(2025, 4, 2)).dpd == 36
    assert run(REVOLVING, OPENED, later, date(2025, 4, 2)).dpd == 8


def test_late_fee_is_five_percent_of_the_minimum_left_unpaid_when_grace_ends():
    """5 Feb minimum 980.00; 500.00 paid on 20 Feb leaves 480.00 unpaid at the end of
    grace (28 Feb): the late fee on 1 Mar is 5% × 480.00 = 24.00. Paid 980.00 on 28 Feb
    (the last day of grace) instead: no late fee, DPD 0 on 1 Mar."""
    partial = [MISSED[0], pay(date(2025, 2, 20), "500.00")]
    card = run(REVOLVING, OPENED, partial, date(2025, 3, 1))
    fees = [t for t in card.transactions if t.kind is TxKind.LATE_FEE]
    assert [(t.on, t.amount) for t in fees] == [(date(2025, 3, 1), D("24.00"))]
    assert card.dpd == 4
    on_time = run(
        REVOLVING, OPENED, [MISSED[0], pay(date(2025, 2, 28), "980.00")], date(2025, 3, 1)
    )
    assert on_time.charged_fees == 0 and on_time.dpd == 0


def test_refund_and_overpayment_are_credits():
    """500.00 bought 10 Jan, refunded 200.00 on 15 Jan: 5 Feb balance 300.00, minimum
    100.00 (10% is 30.00, raised to the 100.00 floor). Paid 400.00 on 20 Feb: 100.00 is
    held as credit (溢缴款) and settles the next purchase of 150.00 on 1 Mar, leaving
    50.00 owed on the 5 Mar statement; no interest (5 Feb was paid in full)."""
    events = [
        purchase(date(2025, 1, 10), "500.00"),
        ("refund", date(2025, 1, 15), "200.00"),
        pay(date(2025, 2, 20), "400.00"),
    ]
    feb = run(REVOLVING, OPENED, events, date(2025, 2, 28))
    assert (feb.statements[0].balance, feb.statements[0].minimum) == (D("300.00"), D("100.00"))
    assert (feb.balance, feb.credit) == (D("-100.00"), D("100.00"))
    mar = run(REVOLVING, OPENED, [*events, purchase(date(2025, 3, 1), "150.00")], date(2025, 3, 5))
    assert mar.statements[-1].balance == D("50.00") and mar.charged_interest == 0


def test_purchase_over_the_allowed_over_limit_is_refused():
    """Limit 10,000.00 with 10% over-limit: 11,000.00 may be spent, not 11,000.01; cash
    advances are limited to half the limit (5,000.00)."""
    run(REVOLVING, OPENED, [purchase(date(2025, 1, 10), "11000.00")], date(2025, 1, 10))
    with pytest.raises(DomainError, match=re.escape("over the 11000.00 allowed")):
        run(REVOLVING, OPENED, [purchase(date(2025, 1, 10), "11000.01")], date(2025, 1, 10))
    with pytest.raises(DomainError, match=re.escape("cash limit 5000.00")):
        run(REVOLVING, OPENED, [("cash_advance", date(2025, 1, 10), "5000.01")], date(2025, 1, 10))


def test_revolving_products_are_kept_apart_from_instalment_products():
    """REVOLVING is in the catalogue's revolving products, not among the instalment
    products the book's engines and store iterate."""
    assert "REVOLVING" not in CATALOG.products
    assert CATALOG.revolving_product("REVOLVING") is REVOLVING
    assert (REVOLVING.statement_day, REVOLVING.due_days, REVOLVING.grace_days) == (5, 20, 3)


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"statement_day": 31}, "statement_day 31 must be 1-28"),
        ({"due_days": 26, "grace_days": 3}, "must be 1-28"),
        ({"interest_basis": "daily"}, "revolving.interest_basis"),
        ({"min_rate": 0}, "min_rate"),
        ({"colour": "gold"}, "unknown fields ['colour']"),
    ],
)
def test_bad_revolving_product_names_the_field(rules: dict[str, object], field: str):
    data = {"products": {"X": {"method": "revolving", "revolving": rules}}}
    with pytest.raises(ProductError, match=re.escape(field)) as exc:
        parse_catalog(data, "cards.toml")
    assert "products.X" in str(exc.value)

"""Invariants of a revolving card account (domain/revolving.py), over generated card
products and stories of purchases, cash advances, fees, refunds and payments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from arrears.domain.errors import DomainError
from arrears.domain.money import ZERO
from arrears.domain.products import Catalog, FreePeriod, InterestBasis, RevolvingProduct
from arrears.domain.revolving import (
    CardAccount,
    CardEvent,
    CardState,
    Statement,
    TxKind,
    replay_card,
)

CATALOG = Catalog({})
OPENED = date(2025, 1, 1)
AS_OF = date(2025, 9, 30)
CENT = Decimal("0.01")


@st.composite
def products(draw: st.DrawFn) -> RevolvingProduct:
    due = draw(st.integers(10, 25))
    return RevolvingProduct(
        "P",
        "card",
        statement_day=draw(st.integers(1, 28)),
        due_days=due,
        grace_days=draw(st.integers(0, 28 - due)),
        daily_rate=draw(st.sampled_from([Decimal("0.0005"), Decimal("0.00035")])),
        interest_basis=draw(st.sampled_from(list(InterestBasis))),
        free_period=draw(st.sampled_from(list(FreePeriod))),
        interest_on_interest=draw(st.booleans()),
        min_rate=draw(st.sampled_from([Decimal("0.05"), Decimal("0.10")])),
        min_floor=draw(st.sampled_from([ZERO, Decimal("100")])),
        cash_advance_fee_rate=Decimal("0.01"),
        cash_advance_fee_min=Decimal("10"),
        over_limit_rate=Decimal("0.10"),
        late_fee_rate=Decimal("0.05"),
    )


amounts = st.integers(1, 300_000).map(lambda cents: Decimal(cents) * CENT)
days = st.integers(0, (AS_OF - OPENED).days).map(lambda n: OPENED + timedelta(days=n))


def events(kinds: list[TxKind]) -> st.SearchStrategy[list[CardEvent]]:
    one = st.builds(CardEvent, st.sampled_from(kinds), days, amounts)
    return st.lists(one, max_size=25).map(lambda es: sorted(es, key=lambda e: e.on))


ALL = [TxKind.PURCHASE, TxKind.CASH_ADVANCE, TxKind.FEE, TxKind.REFUND, TxKind.PAYMENT]
LIMIT = Decimal("1000000")  # no story here reaches it


def replay(product: RevolvingProduct, story: list[CardEvent], limit: Decimal = LIMIT) -> CardState:
    return replay_card(CardAccount.open(product, OPENED, limit), story, AS_OF, CATALOG)


@settings(max_examples=60, deadline=None)
@given(products(), events(ALL))
def test_balance_is_the_sum_of_debits_less_credits(product: RevolvingProduct, story):
    card = replay(product, story)
    assert card.balance == card.debits - card.credits
    owed = card.principal_billed + card.principal_unbilled + card.interest_due + card.fees_due
    assert card.balance == owed - card.credit
    assert card.credits == sum((e.amount for e in story if e.kind.credit), ZERO)
    assert all(t.amount == t.amount.quantize(CENT) and t.amount > 0 for t in card.transactions)


@settings(max_examples=60, deadline=None)
@given(products(), events(ALL))
def test_each_statement_adds_up_and_its_minimum_is_within_its_balance(
    product: RevolvingProduct, story
):
    card = replay(product, story)
    previous = ZERO
    for s in card.statements:
        assert s.opening_balance == previous
        debits = s.purchases + s.cash_advances + s.fees + s.interest
        assert s.balance == s.opening_balance + debits - s.payments - s.refunds
        assert ZERO <= s.minimum <= max(s.balance, ZERO)
        assert s.minimum >= min(s.parts.past_due, s.balance)  # the unpaid minimum stays due
        assert s.minimum == s.minimum.quantize(CENT)
        previous = s.balance


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(products(), events(ALL))
def test_minimum_brings_the_balance_back_within_the_limit(product: RevolvingProduct, story):
    """With a 5,000.00 limit (purchases up to 5,500.00): paying a statement's minimum
    leaves at most the limit owed."""
    try:
        card = replay(product, story, Decimal("5000"))
    except DomainError:
        assume(False)
        raise
    for s in card.statements:
        assert s.balance - s.minimum <= Decimal("5000") or s.minimum == s.balance


def paid_on_time(story: list[CardEvent], s: Statement) -> Decimal:
    """Payments and refunds after the statement day through its grace end."""
    return sum(
        (e.amount for e in story if e.kind.credit and s.statement_date < e.on <= s.grace_end),
        ZERO,
    )


def pay_by_due_dates(
    product: RevolvingProduct, story: list[CardEvent], owed: Callable[[Statement], Decimal]
) -> list[CardEvent]:
    """``story`` with, for each statement whose payments by its grace end fall short of
    ``owed(statement)``, a payment of what is missing on its due date (statement by
    statement, replaying again each time)."""
    story = list(story)
    for _ in range(30):
        card = replay(product, story)
        short = next(
            (
                s
                for s in card.statements
                if s.due_date <= AS_OF and paid_on_time(story, s) < owed(s)
            ),
            None,
        )
        if short is None:
            return story
        missing = owed(short) - paid_on_time(story, short)
        story.append(CardEvent(TxKind.PAYMENT, short.due_date, missing))
        story.sort(key=lambda e: e.on)
    raise AssertionError("did not converge")


@settings(max_examples=50, deadline=None)
@given(products(), events([TxKind.PURCHASE, TxKind.REFUND, TxKind.FEE]))
def test_no_interest_when_every_statement_is_paid_in_full_by_its_due_date(
    product: RevolvingProduct, story
):
    card = replay(product, pay_by_due_dates(product, story, lambda s: s.balance))
    assert all(s.paid_in_full is not False for s in card.statements)
    assert card.charged_interest == 0
    assert not [t for t in card.transactions if t.kind is TxKind.LATE_FEE]
    assert card.dpd == 0


@settings(max_examples=40, deadline=None)
@given(products(), events(ALL))
def test_paying_each_minimum_by_its_due_date_keeps_dpd_at_zero(product: RevolvingProduct, story):
    story = pay_by_due_dates(product, story, lambda s: s.minimum)
    card = replay(product, story)
    assert card.dpd == 0
    assert not [t for t in card.transactions if t.kind is TxKind.LATE_FEE]


@settings(max_examples=40, deadline=None)
@given(products(), events(ALL))
def test_interest_on_the_unpaid_part_never_exceeds_interest_on_the_full_balance(
    product: RevolvingProduct, story
):
    full = replay(replace(product, interest_basis=InterestBasis.FULL_BALANCE), story)
    unpaid = replay(replace(product, interest_basis=InterestBasis.UNPAID_BALANCE), story)
    assert unpaid.charged_interest <= full.charged_interest
    assert unpaid.balance <= full.balance

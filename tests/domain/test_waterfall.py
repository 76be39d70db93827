"""Payment waterfall (还款顺序): exact legs for hand-computed cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.domain import operations as ops
from arrears.domain.account import Payment, advance, open_account, state_of
from arrears.domain.errors import DomainError
from arrears.domain.ledger import LOAN_LEVEL, Account, EntryKind, Ledger, Leg
from arrears.domain.products import (
    CIVIL_CODE_561,
    Component,
    InstallmentOrder,
    Waterfall,
    WaterfallMode,
    load_catalog,
)
from arrears.domain.schedule import Installment, LoanTerms
from arrears.domain.waterfall import allocate, settlement_order

D = Decimal
C = Component
FEE, PEN, CMP, INT, PRI, CRED = (
    Account.FEE,
    Account.PENALTY,
    Account.COMPOUND,
    Account.INTEREST,
    Account.PRINCIPAL,
    Account.CREDIT,
)
DEFAULT_ORDER = (C.FEE, C.PENALTY, C.COMPOUND, C.INTEREST, C.PRINCIPAL)


@pytest.fixture(name="overdue")
def overdue_ledger() -> Ledger:
    """4,000 disbursed; three installments overdue, a fourth (1,000) not yet due.

    inst 1: interest 100.00, principal 1000.00
    inst 2: interest  80.00, principal 1000.00
    inst 3: interest  60.00, principal 1000.00
    loan level: fee 30.00, penalty 12.50, compound 2.50      total due 3285.00
    """
    ledger = Ledger("W1")
    ledger = ops.disburse(ledger, "disb", date(2025, 1, 1), D("4000.00")).ledger
    for seq, interest in ((1, "100.00"), (2, "80.00"), (3, "60.00")):
        inst = Installment(seq, date(2025, 1 + seq, 1), D("1000.00"), D(interest))
        ledger = ops.fall_due(ledger, inst).ledger
    ledger = ops.charge_fee(ledger, "late:1", date(2025, 2, 5), D("30.00")).ledger
    ledger = ops.accrue(ledger, "accr", date(2025, 4, 5), D("12.50"), D("2.50")).ledger
    assert ledger.total_due == D("3285.00")
    assert ledger.balance(Account.NOT_DUE, LOAN_LEVEL) == D("1000.00")
    return ledger


def legs(*items: tuple[int, Account, str]) -> tuple[Leg, ...]:
    return tuple(Leg(i, a, D(v)) for i, a, v in items)


def test_by_installment_oldest_first(overdue):
    # 1200: fee 30 → 1170, penalty 12.50 → 1157.50, compound 2.50 → 1155,
    # inst 1 interest 100 → 1055, inst 1 principal 1000 → 55, inst 2 interest 55 → 0
    wf = Waterfall(DEFAULT_ORDER, InstallmentOrder.OLDEST_FIRST, WaterfallMode.BY_INSTALLMENT)
    assert allocate(overdue, D("1200.00"), wf) == legs(
        (0, FEE, "-30.00"),
        (0, PEN, "-12.50"),
        (0, CMP, "-2.50"),
        (1, INT, "-100.00"),
        (1, PRI, "-1000.00"),
        (2, INT, "-55.00"),
    )


def test_by_installment_current_first(overdue):
    # 1200: charges 45 → 1155, inst 3 interest 60 → 1095, inst 3 principal 1000 → 95,
    # inst 2 interest 80 → 15, inst 2 principal 15 → 0
    wf = Waterfall(DEFAULT_ORDER, InstallmentOrder.CURRENT_FIRST, WaterfallMode.BY_INSTALLMENT)
    assert allocate(overdue, D("1200.00"), wf) == legs(
        (0, FEE, "-30.00"),
        (0, PEN, "-12.50"),
        (0, CMP, "-2.50"),
        (3, INT, "-60.00"),
        (3, PRI, "-1000.00"),
        (2, INT, "-80.00"),
        (2, PRI, "-15.00"),
    )


def test_by_component_oldest_first(overdue):
    # 1200: charges 45 → 1155, all interest 100 + 80 + 60 → 915, inst 1 principal 915
    wf = Waterfall(DEFAULT_ORDER, InstallmentOrder.OLDEST_FIRST, WaterfallMode.BY_COMPONENT)
    assert allocate(overdue, D("1200.00"), wf) == legs(
        (0, FEE, "-30.00"),
        (0, PEN, "-12.50"),
        (0, CMP, "-2.50"),
        (1, INT, "-100.00"),
        (2, INT, "-80.00"),
        (3, INT, "-60.00"),
        (1, PRI, "-915.00"),
    )


def test_by_component_current_first(overdue):
    # 1200: charges 45 → 1155, interest 60 + 80 + 100 (newest first) → 915, inst 3 principal
    wf = Waterfall(DEFAULT_ORDER, InstallmentOrder.CURRENT_FIRST, WaterfallMode.BY_COMPONENT)
    assert allocate(overdue, D("1200.00"), wf) == legs(
        (0, FEE, "-30.00"),
        (0, PEN, "-12.50"),
        (0, CMP, "-2.50"),
        (3, INT, "-60.00"),
        (2, INT, "-80.00"),
        (1, INT, "-100.00"),
        (3, PRI, "-915.00"),
    )


def test_charges_last_by_installment_micro_order(overdue):
    # MICRO: interest, principal, penalty, compound, fee. 2190: inst 1 1100 → 1090,
    # inst 2 interest 80 → 1010, inst 2 principal 1000 → 10, inst 3 interest 10
    wf = load_catalog().product("MICRO").waterfall
    assert allocate(overdue, D("2190.00"), wf) == legs(
        (1, INT, "-100.00"),
        (1, PRI, "-1000.00"),
        (2, INT, "-80.00"),
        (2, PRI, "-1000.00"),
        (3, INT, "-10.00"),
    )


def test_charges_after_installments_then_credit(overdue):
    # MICRO order with 3300: installments 3240, penalty 12.50, compound 2.50, fee 30,
    # 15.00 left over goes to credit
    wf = load_catalog().product("MICRO").waterfall
    assert allocate(overdue, D("3300.00"), wf) == legs(
        (1, INT, "-100.00"),
        (1, PRI, "-1000.00"),
        (2, INT, "-80.00"),
        (2, PRI, "-1000.00"),
        (3, INT, "-60.00"),
        (3, PRI, "-1000.00"),
        (0, PEN, "-12.50"),
        (0, CMP, "-2.50"),
        (0, FEE, "-30.00"),
        (0, CRED, "15.00"),
    )


def test_card_order_by_component_puts_penalty_last(overdue):
    # CARD: fee, compound, interest, principal, penalty. 3275: fee 30, compound 2.50,
    # interest 240, principal 3000 → 2.50 left for penalty (of 12.50)
    wf = load_catalog().product("CARD").waterfall
    assert allocate(overdue, D("3275.00"), wf) == legs(
        (0, FEE, "-30.00"),
        (0, CMP, "-2.50"),
        (1, INT, "-100.00"),
        (2, INT, "-80.00"),
        (3, INT, "-60.00"),
        (1, PRI, "-1000.00"),
        (2, PRI, "-1000.00"),
        (3, PRI, "-1000.00"),
        (0, PEN, "-2.50"),
    )


def test_principal_before_interest_within_an_installment(overdue):
    order = (C.FEE, C.PENALTY, C.COMPOUND, C.PRINCIPAL, C.INTEREST)
    wf = Waterfall(order, InstallmentOrder.OLDEST_FIRST, WaterfallMode.BY_INSTALLMENT)
    # 1100: charges 45 → 1055, inst 1 principal 1000 → 55, inst 1 interest 55
    assert allocate(overdue, D("1100.00"), wf) == legs(
        (0, FEE, "-30.00"),
        (0, PEN, "-12.50"),
        (0, CMP, "-2.50"),
        (1, PRI, "-1000.00"),
        (1, INT, "-55.00"),
    )


@pytest.mark.parametrize("mode", list(WaterfallMode))
@pytest.mark.parametrize("installments", list(InstallmentOrder))
def test_overpayment_settles_everything_and_the_rest_is_credit(overdue, mode, installments):
    wf = Waterfall(DEFAULT_ORDER, installments, mode)
    out = allocate(overdue, D("3300.01"), wf)
    assert out[-1] == Leg(LOAN_LEVEL, CRED, D("15.01"))
    settled = {leg.key: -leg.amount for leg in out[:-1]}
    assert settled == {k: v for k, v in overdue.balances.items() if k[1] is not Account.NOT_DUE}
    # nothing is ever taken from principal that has not fallen due
    assert all(leg.account is not Account.NOT_DUE for leg in out)


def test_exact_payment_leaves_no_credit(overdue):
    out = allocate(overdue, D("3285.00"), Waterfall())
    assert all(leg.account is not CRED for leg in out)
    assert -sum(leg.amount for leg in out) == D("3285.00")


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_nothing_to_allocate(overdue, amount):
    assert allocate(overdue, D(amount), Waterfall()) == ()


def test_payment_with_nothing_due_is_all_credit():
    ledger = ops.disburse(Ledger("W2"), "disb", date(2025, 1, 1), D("1000.00")).ledger
    assert allocate(ledger, D("250.00"), Waterfall()) == legs((0, CRED, "250.00"))


def test_settlement_order_lists_only_fallen_due_installments(overdue):
    keys = list(settlement_order(overdue, Waterfall()))
    assert keys == [
        (0, Account.COST),  # named or not, costs are settled first (Civil Code art. 561)
        (0, FEE),
        (0, PEN),
        (0, CMP),
        (1, INT),
        (1, PRI),
        (2, INT),
        (2, PRI),
        (3, INT),
        (3, PRI),
    ]


def test_pay_posts_the_waterfall_legs_and_keeps_the_gross_amount(overdue):
    wf = Waterfall(DEFAULT_ORDER, InstallmentOrder.OLDEST_FIRST, WaterfallMode.BY_COMPONENT)
    result = ops.pay(overdue, "p1", date(2025, 4, 6), D("1200.00"), wf)
    assert result.posted
    assert result.entry.amount == D("1200.00") and result.entry.kind is EntryKind.PAYMENT
    assert result.ledger.balance(PRI, 1) == D("85.00")
    assert result.ledger.total_due == D("2085.00")
    # a repeat is not re-allocated against the new balances: it changes nothing
    again = ops.pay(result.ledger, "p1", date(2025, 4, 6), D("1200.00"), wf)
    assert not again.posted and again.ledger is result.ledger


# -- credit balance and its use when the next installment falls due -------------------------


def test_prepayment_becomes_credit_and_is_applied_when_installments_fall_due():
    cat = load_catalog()
    product = cat.product("CONSUMER")
    acc = open_account("W3", product, LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10)))
    pay = [Payment("pre", date(2025, 2, 5), D("1500.00"))]
    acc, _ = advance(acc, date(2025, 2, 9), pay)
    assert acc.ledger.balance(CRED, LOAN_LEVEL) == D("1500.00")  # nothing was due yet

    # 10 Feb: installment 1 (180.00 + 920.16 = 1100.16) falls due and the credit pays it
    acc, _ = advance(acc, date(2025, 2, 10))
    applied = acc.ledger.entry("credit:2025-02-10")
    assert applied is not None and applied.kind is EntryKind.CREDIT_APPLIED
    assert applied.amount == D("1100.16")
    assert set(applied.legs) == set(
        legs((1, INT, "-180.00"), (1, PRI, "-920.16"), (0, CRED, "-1100.16"))
    )
    state = state_of(acc, cat)
    assert (state.credit, state.total_due, state.dpd) == (D("399.84"), 0, 0)

    # 10 Mar: installment 2 (166.20 + 933.96): 399.84 pays the interest and 233.64 of
    # principal, 700.32 principal left; it is due today, so DPD is still 0
    acc, _ = advance(acc, date(2025, 3, 10))
    state = state_of(acc, cat)
    assert (state.credit, state.interest_due, state.principal_due) == (0, 0, D("700.32"))
    assert state.dpd == 0


def test_credit_is_not_applied_when_nothing_falls_due():
    ledger = ops.disburse(Ledger("W4"), "disb", date(2025, 1, 1), D("1000.00")).ledger
    ledger = ops.pay(ledger, "p", date(2025, 1, 2), D("50.00"), Waterfall()).ledger
    assert ops.apply_credit(ledger, "c", date(2025, 1, 3), Waterfall()) is None


# -- invalid configurations -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "mode"),
    [
        ((C.FEE, C.PENALTY, C.COMPOUND, C.INTEREST), WaterfallMode.BY_COMPONENT),  # missing
        (
            (C.FEE, C.FEE, C.PENALTY, C.COMPOUND, C.INTEREST, C.PRINCIPAL),
            WaterfallMode.BY_COMPONENT,
        ),
        ((C.FEE, C.FEE, C.COMPOUND, C.INTEREST, C.PRINCIPAL), WaterfallMode.BY_COMPONENT),
        ((), WaterfallMode.BY_INSTALLMENT),
        # by_installment needs interest next to principal
        ((C.INTEREST, C.FEE, C.PRINCIPAL, C.PENALTY, C.COMPOUND), WaterfallMode.BY_INSTALLMENT),
        ((C.PRINCIPAL, C.FEE, C.PENALTY, C.COMPOUND, C.INTEREST), WaterfallMode.BY_INSTALLMENT),
    ],
)
def test_invalid_waterfall_raises(order, mode):
    with pytest.raises(DomainError):
        Waterfall(order, InstallmentOrder.OLDEST_FIRST, mode)


def test_non_adjacent_interest_and_principal_is_fine_by_component():
    order = (C.INTEREST, C.FEE, C.PRINCIPAL, C.PENALTY, C.COMPOUND)
    wf = Waterfall(order, InstallmentOrder.OLDEST_FIRST, WaterfallMode.BY_COMPONENT)
    assert wf.order == order


def test_replace_cannot_smuggle_an_invalid_order_past_validation():
    with pytest.raises(DomainError):
        replace(Waterfall(), order=(C.FEE,) * 5)


def _with_costs(ledger: Ledger, cost: Decimal) -> Ledger:
    return ops.charge_cost(ledger, "c1", date(2025, 4, 6), cost).ledger if cost else ledger


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the ledger is immutable
)
@given(
    cost=st.integers(0, 100_000),
    amount=st.integers(1, 500_000),
    named=st.sampled_from(["default", "card", "micro", "sme", "civil_code_561"]),
)
def test_costs_come_first_and_every_payment_is_conserved(overdue, cost, amount, named):
    # whatever the product's order: all of a payment is settled or credited, nothing is
    # paid on a component while one before it in the full order is still owed, and
    # costs (which no default order names) are settled before anything else
    ledger = _with_costs(overdue, D(cost) / 100)
    products = load_catalog().products
    wf = {
        "default": Waterfall(),
        "card": products["CARD"].waterfall,
        "micro": products["MICRO"].waterfall,
        "sme": products["SME"].waterfall,
        "civil_code_561": CIVIL_CODE_561,
    }[named]
    paid = D(amount) / 100
    out = allocate(ledger, paid, wf)
    assert (
        -sum((leg.amount for leg in out if leg.account is not CRED), D(0))
        + sum((leg.amount for leg in out if leg.account is CRED), D(0))
        == paid
    )
    owed_cost = ledger.balance(Account.COST)
    cost_paid = -sum((leg.amount for leg in out if leg.account is Account.COST), D(0))
    assert cost_paid == min(owed_cost, paid)
    if cost_paid < owed_cost:
        assert all(leg.account is Account.COST for leg in out)
    for leg in out:  # never more than is owed on any key, never principal not yet due
        assert leg.account is CRED or ledger.balances.get(leg.key, D(0)) >= -leg.amount
        assert leg.account is not Account.NOT_DUE

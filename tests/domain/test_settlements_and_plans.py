"""Settlements that forgive principal not yet due, and instalment plans that
re-amortise overdue and not-yet-due balances together (issue 25, contract 7), on the
domain core; scenario events ``settlement`` and ``plan`` of ``arrears loan replay``.

The loan is the CONSUMER worked example: 12,000.00 at 18%, 12 annuity installments of
1,100.16 from 10 Feb 2025, grace 3 days, 罚息/复利 27% a year on 360 days, late fee 30.00;
#1 paid on its due date, #2 (933.96 + 166.20, 10 Mar) and #3 (947.97 + 152.19, 10 Apr)
unpaid. On 20 Apr it owes 11,495.20: 9,197.91 not yet due, 1,881.93 principal and 318.39
interest due, 罚息 31.57 (0.70 a day on #2's principal 14 Mar-13 Apr, 31 days = 21.70,
then 1.41 a day on both for 14-20 Apr = 9.87), 复利 5.40, fees 60.00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears.domain import operations as ops
from arrears.domain.account import LoanAccount, Payment, advance, open_account, state_of
from arrears.domain.arrangements import (
    SETTLEMENT_ORDER,
    Plan,
    forgiven,
    reamortise,
    settle,
    settled,
)
from arrears.domain.cases import CaseMove, case_move, ended_on
from arrears.domain.errors import DomainError
from arrears.domain.ledger import LOAN_LEVEL, Account, EntryKind, legs_sum
from arrears.domain.products import ChargeOffRule, ScheduleMethod, load_catalog
from arrears.domain.scenario import ScenarioError, parse_scenario, replay
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
# CONSUMER without its charge-off at 180 DPD: these tests are about settlements and
# plans of loans long past due, still on the book
CONSUMER = replace(CAT.product("CONSUMER"), charge_off=ChargeOffRule())
DAY = date(2025, 4, 20)


def _worked(loan_id: str = "L") -> LoanAccount:
    acc = open_account(
        loan_id, CONSUMER, LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    )
    acc, _ = advance(acc, DAY, [Payment("p1", date(2025, 2, 10), D("1100.16"))])
    return acc


def test_the_worked_loan_owes_what_the_docstring_says():
    s = state_of(_worked(), CAT)
    assert (s.principal_not_due, s.principal_due, s.interest_due) == (
        D("9197.91"),
        D("1881.93"),
        D("318.39"),
    )
    assert (s.penalty, s.compound, s.fee, s.dpd) == (D("31.57"), D("5.40"), D("60.00"), 41)


def test_a_settlement_forgives_principal_not_yet_due_and_closes_the_loan():
    acc = _worked()
    done = settle(acc, "s1", DAY, D("9000.00"))
    # 11,495.20 owed, 9,000.00 paid: 2,495.20 forgiven, charges first, then interest,
    # principal due, and 197.91 of the principal not yet due last
    assert forgiven(done.ledger) == {
        Account.PENALTY: D("31.57"),
        Account.COMPOUND: D("5.40"),
        Account.FEE: D("60.00"),
        Account.INTEREST: D("318.39"),
        Account.PRINCIPAL: D("1881.93"),
        Account.NOT_DUE: D("197.91"),
    }
    assert done.ledger.total_outstanding == 0 and settled(done.ledger)
    payment = done.ledger.entry("s1")
    assert payment is not None and (payment.kind, payment.amount) == (EntryKind.PAYMENT, D(9000))
    # the installments not yet due became one, due on the settlement day, no interest
    assert done.schedule[:3] == acc.schedule[:3]
    assert [(i.seq, i.due_date, i.principal, i.interest) for i in done.schedule[3:]] == [
        (4, DAY, D("9000.00"), D("0.00"))
    ]
    state = state_of(done, CAT)
    assert (state.status, state.dpd, state.paid_today) == ("closed", 0, D("9000.00"))
    # reported once: status closed, so the one case rule closes the case as repaid
    assert case_move(state.status, state.dpd, True) is CaseMove.REPAID
    assert ended_on(done) == DAY
    later, _ = advance(done, date(2026, 3, 1))
    assert later.ledger.total_outstanding == 0 and state_of(later, CAT).status == "closed"


def test_a_settlement_below_the_principal_due_forgives_principal_due_too():
    done = settle(_worked(), "s1", DAY, D("100.00"))
    f = forgiven(done.ledger)
    assert f[Account.NOT_DUE] == D("9097.91") and f[Account.PRINCIPAL] == D("1881.93")


def test_a_settlement_is_refused_at_or_above_what_is_owed_and_on_a_written_off_loan():
    acc = _worked()
    with pytest.raises(DomainError, match="not below what is owed"):
        settle(acc, "s1", DAY, D("11495.20"))
    with pytest.raises(DomainError, match="closed through"):
        settle(acc, "s1", DAY + timedelta(days=1), D("100.00"))
    off = ops.write_off(acc.ledger, "wo", DAY).ledger
    with pytest.raises(DomainError, match="written off"):
        settle(LoanAccount(**{**_fields(acc), "ledger": off}), "s1", DAY, D("100.00"))


def _fields(acc: LoanAccount) -> dict[str, Any]:
    return {name: getattr(acc, name) for name in LoanAccount.__slots__}


def test_a_plan_reamortises_overdue_and_not_yet_due_together():
    acc = _worked()
    plan = Plan(6, ScheduleMethod.ANNUITY, D("0.12"), date(2025, 5, 20))
    done = reamortise(acc, "plan1", DAY, plan)
    # 9,197.91 not yet due + 1,881.93 principal + 318.39 interest due = 11,398.23; the
    # charges stay owed; 6 × 1,966.75 at 1% a month (the last 1,966.71)
    entry = done.ledger.entry("plan1")
    assert entry is not None and (entry.kind, entry.amount) == (
        EntryKind.RESTRUCTURE,
        D("11398.23"),
    )
    assert sum((leg.amount for leg in entry.legs), D(0)) == 0
    new = done.schedule[3:]
    assert [i.seq for i in new] == [4, 5, 6, 7, 8, 9]
    assert [i.amount for i in new] == [D("1966.75")] * 5 + [D("1966.71")]
    assert (new[0].principal, new[0].interest) == (D("1852.77"), D("113.98"))  # 11,398.23 × 1%
    assert [i.due_date for i in new] == [date(2025, m, 20) for m in range(5, 11)]
    assert sum(i.principal for i in new) == D("11398.23")
    s = state_of(done, CAT)
    assert (s.dpd, s.principal_not_due, s.principal_due, s.interest_due) == (
        0,
        D("11398.23"),
        0,
        0,
    )
    assert (s.penalty, s.compound, s.fee) == (D("31.57"), D("5.40"), D("60.00"))
    assert done.ledger.total_outstanding == acc.ledger.total_outstanding
    # with charges: they are re-amortised too, and equal principal splits 11,495.20 / 4
    both = reamortise(
        acc,
        "plan2",
        DAY,
        Plan(4, ScheduleMethod.EQUAL_PRINCIPAL, D(0), date(2025, 5, 1), charges=True),
    )
    assert [i.principal for i in both.schedule[3:]] == [D("2873.80")] * 4
    assert [i.interest for i in both.schedule[3:]] == [D("0.00")] * 4
    assert both.ledger.total_due == 0 and both.ledger.total_outstanding == D("11495.20")


def test_a_plan_is_paid_off_on_its_new_schedule_and_closes_the_loan():
    plan = Plan(3, ScheduleMethod.EQUAL_PRINCIPAL, D("0.06"), date(2025, 5, 20), charges=True)
    acc = reamortise(_worked(), "plan1", DAY, plan)
    pays = [Payment(f"n{i.seq}", i.due_date, i.amount) for i in acc.schedule[3:]]
    done, _ = advance(acc, date(2025, 8, 1), pays)
    s = state_of(done, CAT)
    assert (s.status, s.dpd, done.ledger.total_outstanding) == ("closed", 0, 0)
    # missed, the first new installment ages on its own due date and grace
    late, _ = advance(acc, date(2025, 5, 30))
    assert state_of(late, CAT).dpd == 10


def test_a_plan_is_refused_with_a_first_due_not_after_its_day_or_a_bad_method():
    with pytest.raises(DomainError, match="first due date"):
        reamortise(_worked(), "p", DAY, Plan(3, ScheduleMethod.ANNUITY, D(0), DAY))
    with pytest.raises(DomainError, match="method"):
        Plan(3, ScheduleMethod.INTEREST_ONLY, D(0), DAY)
    with pytest.raises(DomainError, match="at least one"):
        Plan(0, ScheduleMethod.ANNUITY, D(0), DAY)


money = st.integers(100_00, 50_000_00).map(lambda c: D(c) / 100)


@settings(max_examples=60, deadline=None)
@given(
    principal=money,
    term=st.integers(3, 24),
    months=st.integers(1, 30),
    extra=st.integers(0, 27),
    paid_share=st.integers(0, 100),
    count=st.integers(1, 36),
    method=st.sampled_from([ScheduleMethod.ANNUITY, ScheduleMethod.EQUAL_PRINCIPAL]),
    rate=st.sampled_from([D(0), D("0.06"), D("0.1234"), D("0.24")]),
    charges=st.booleans(),
)
def test_reamortising_conserves_what_is_owed_and_the_new_principal(
    principal, term, months, extra, paid_share, count, method, rate, charges
):
    disbursed = date(2025, 1, 10)
    acc = open_account("H", CONSUMER, LoanTerms(principal, D("0.18"), term, disbursed))
    day = disbursed + timedelta(days=30 * months + extra)
    pays = [
        Payment(f"p{i.seq}", i.due_date, (i.amount * paid_share / 100).quantize(D("0.01")))
        for i in acc.schedule
        if i.due_date < day and i.amount * paid_share >= 100
    ]
    acc, _ = advance(acc, day, pays)
    before = acc.ledger
    plan = Plan(count, method, rate, day + timedelta(days=1 + extra), charges)
    moved_from = before.balance(Account.NOT_DUE) + sum(
        before.balance(a) for a in (Account.PRINCIPAL, Account.INTEREST)
    )
    if charges:
        moved_from += sum(
            before.balance(a)
            for a in (Account.PENALTY, Account.COMPOUND, Account.FEE, Account.COST)
        )
    if moved_from == 0:
        with pytest.raises(DomainError, match="nothing is owed"):
            reamortise(acc, "plan", day, plan)
        return
    done = reamortise(acc, "plan", day, plan)
    after = done.ledger
    # no money created or lost: the total owed and every other account are unchanged
    assert after.total_outstanding == before.total_outstanding
    assert after.balance(Account.CREDIT) == before.balance(Account.CREDIT)
    assert legs_sum(after.entries) == dict(after.balances)
    # the new schedule's principal is exactly what was re-amortised, now not yet due
    new = done.schedule[len(done.schedule) - count :]
    assert sum(i.principal for i in new) == moved_from == after.balance(Account.NOT_DUE)
    assert all(i.principal >= 0 and i.interest >= 0 for i in new)
    assert [i.seq for i in done.schedule] == list(range(1, len(done.schedule) + 1))
    # nothing is left on the old installments; the charges only when re-amortised
    assert after.balance(Account.PRINCIPAL) == after.balance(Account.INTEREST) == 0
    assert (after.balance(Account.PENALTY) == 0) or not charges
    assert state_of(done, CAT).dpd == 0


@settings(max_examples=60, deadline=None)
@given(
    principal=money,
    months=st.integers(0, 14),
    extra=st.integers(1, 27),
    share=st.integers(1, 99),
)
def test_a_settlement_forgives_in_its_order_and_leaves_nothing(principal, months, extra, share):
    disbursed = date(2025, 1, 10)
    acc = open_account("H", CONSUMER, LoanTerms(principal, D("0.18"), 12, disbursed))
    day = disbursed + timedelta(days=30 * months + extra)
    acc, _ = advance(acc, day)
    owed = acc.ledger.total_outstanding
    amount = max((owed * share / 100).quantize(D("0.01")), D("0.01"))
    if amount >= owed:
        return
    done = settle(acc, "s", day, amount)
    f = forgiven(done.ledger)
    assert sum(f.values(), D(0)) + amount == owed
    assert done.ledger.total_outstanding == 0 and state_of(done, CAT).status == "closed"
    # an account is forgiven only once every account before it in the order is cleared
    full = [f.get(a, D(0)) == acc.ledger.balance(a) for a in SETTLEMENT_ORDER]
    partial = [a for a, whole in zip(SETTLEMENT_ORDER, full, strict=True) if not whole and f.get(a)]
    assert len(partial) <= 1
    if partial:
        index = SETTLEMENT_ORDER.index(partial[0])
        assert all(full[:index]) and not any(f.get(a) for a in SETTLEMENT_ORDER[index + 1 :])
    assert done.ledger.balance(Account.NOT_DUE, LOAN_LEVEL) == 0


# --- scenario events -------------------------------------------------------------------

LOAN = {"principal": "12000.00", "annual_rate": "0.18", "disbursed_on": date(2025, 1, 10)}
P1 = {"kind": "payment", "on": date(2025, 2, 10), "amount": "1100.16", "ref": "p1"}


def _scenario(*events: dict[str, Any]) -> Any:
    return parse_scenario(
        {"product": "CONSUMER", "loan": LOAN, "events": [P1, *events]}, CAT, "s.toml"
    )


def test_scenario_settlement_and_plan_equal_the_domain_core():
    s = replay(
        _scenario({"kind": "settlement", "on": DAY, "amount": "9000.00"}), CAT, date(2025, 6, 1)
    )
    assert (s.state.status, s.state.principal_outstanding) == ("closed", 0)
    assert s.account is not None and forgiven(s.account.ledger)[Account.NOT_DUE] == D("197.91")
    plan = {
        "kind": "plan",
        "on": DAY,
        "term": 6,
        "method": "annuity",
        "rate": "0.12",
        "first_due": date(2025, 5, 20),
    }
    r = replay(_scenario(plan), CAT, DAY)
    direct = reamortise(
        _worked("scenario"),
        "plan#2",
        DAY,
        Plan(6, ScheduleMethod.ANNUITY, D("0.12"), date(2025, 5, 20)),
    )
    assert r.account is not None and r.account.schedule == direct.schedule
    assert r.state == state_of(direct, CAT)
    # the rate and first due date default to the contract's and a month on
    r = replay(
        _scenario({"kind": "plan", "on": DAY, "term": 6, "method": "equal_principal"}), CAT, DAY
    )
    assert r.account is not None and r.account.schedule[3].due_date == date(2025, 5, 20)
    assert r.account.schedule[3].interest == D("170.97")  # 11,398.23 × 18% / 12


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"kind": "plan", "on": DAY, "method": "annuity"},
            "events #2.term: None is not a whole number",
        ),
        ({"kind": "plan", "on": DAY, "term": 6}, "events #2.method: required field is missing"),
        (
            {"kind": "plan", "on": DAY, "term": 6, "method": "balloon"},
            "events #2.method: 'balloon'",
        ),
        (
            {"kind": "plan", "on": DAY, "term": 6, "method": "annuity", "rate": "12"},
            "events #2.rate",
        ),
        (
            {"kind": "plan", "on": DAY, "term": 6, "method": "annuity", "charges": "yes"},
            "events #2.charges",
        ),
        (
            {"kind": "plan", "on": DAY, "term": 6, "method": "annuity", "first_due": DAY},
            "events #2.first_due",
        ),
        (
            {"kind": "plan", "on": DAY, "term": 6, "method": "annuity", "amount": "1.00"},
            "events #2.amount: a plan takes no amount",
        ),
        (
            {"kind": "payment", "on": DAY, "amount": "1.00", "term": 6},
            "events #2.term: only a plan",
        ),
        ({"kind": "settlement", "on": DAY}, "events #2.amount: required field is missing"),
    ],
)
def test_bad_arrangement_events_name_the_field(event: dict[str, Any], message: str):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        _scenario(event)


def test_runtime_refusals_name_the_event():
    too_much = {"kind": "settlement", "on": DAY, "amount": "20000.00", "ref": "s1"}
    with pytest.raises(
        ScenarioError,
        match=r"events #2 \(settlement on 2025-04-20\): settlement amount 20000.00 is not below",
    ):
        replay(_scenario(too_much), CAT, DAY)
    undo = {"kind": "reversal", "on": DAY + timedelta(days=1), "ref": "s1"}
    with pytest.raises(
        ScenarioError, match=r"events #3\.ref: 's1' is a settlement; it cannot be reversed"
    ):
        _scenario({**too_much, "amount": "100.00"}, undo)


def test_a_payment_reversed_after_a_plan_reopens_what_it_paid_on_the_old_installments():
    # 600.00 paid on 15 Apr, the plan on 20 Apr, the payment bounced on 25 Apr: what it
    # paid on #2 is owed again, past due from 10 Mar (46 days on 25 Apr); the plan stays
    p2 = {"kind": "payment", "on": date(2025, 4, 15), "amount": "600.00", "ref": "p2"}
    plan = {"kind": "plan", "on": DAY, "term": 6, "method": "annuity", "rate": "0.12"}
    undo = {"kind": "reversal", "on": date(2025, 4, 25), "ref": "p2"}
    before = replay(_scenario(p2, plan), CAT, date(2025, 4, 25))
    after = replay(_scenario(p2, plan, undo), CAT, date(2025, 4, 25))
    assert (before.state.dpd, after.state.dpd) == (0, 46)
    assert after.account is not None and after.account.schedule[3:] == (
        before.account.schedule[3:] if before.account else ()
    )
    paid = after.account.ledger.entry("p2")
    assert paid is not None
    reopened = after.state.principal_due + after.state.interest_due
    assert reopened == -sum(
        (leg.amount for leg in paid.legs if leg.account in (Account.PRINCIPAL, Account.INTEREST)),
        D(0),
    )

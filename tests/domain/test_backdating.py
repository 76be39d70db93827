"""Back-dated payments in the domain core (``arrears.domain.backdating``): re-closing a
loan from a payment's value date gives the balances, charges and day states of the loan
had the payment been known then, by entries appended to the stored ledger (the payment
on its value date, corrections on the first open day), never by rewriting one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from arrears.domain.account import (
    LoanAccount,
    Payment,
    advance,
    charges_to_date,
    open_account,
    state_of,
)
from arrears.domain.backdating import reclose
from arrears.domain.ledger import Account, Entry, EntryKind, legs_sum, replay
from arrears.domain.pauses import Pause, PauseReason
from arrears.domain.products import load_catalog
from arrears.domain.schedule import LoanTerms
from arrears.services.payment_reversal import reverse_payment

D = Decimal
CAT = load_catalog()
ONE = timedelta(days=1)
TERMS = LoanTerms(D("6000.00"), D("0.18"), 12, date(2025, 3, 5))  # CONSUMER: 3 days' grace
DUE = date(2025, 4, 5)  # installment 1 falls due
THROUGH = date(2025, 4, 20)  # closed through, the payment not yet known


def _closed(payments: list[Payment]) -> LoanAccount:
    acc = open_account("BD-1", CAT.product("CONSUMER"), TERMS)
    return advance(acc, THROUGH, payments)[0]


def _on_time(payments: list[Payment], record_from: date):
    acc = open_account("BD-1", CAT.product("CONSUMER"), TERMS)
    return advance(acc, THROUGH, payments, CAT, record_from)


def _refund(acc: LoanAccount, ref: str) -> tuple[Entry, ...]:
    """The entries that refund payment ``ref`` on ``acc``'s first open day."""
    return reverse_payment(
        acc.loan_id,
        acc.currency,
        acc.product,
        acc.terms,
        acc.schedule,
        acc.ledger.entries,
        acc.closed_through,
        ref,
        memo="refund",
    )


def test_a_payment_within_grace_known_late_takes_back_the_late_fee_and_the_penalty():
    installment = _closed([]).schedule[0].amount
    known_late = _closed([])  # the loan as closed without it: late fee, 罚息 and 复利
    charged = charges_to_date(known_late.ledger)
    assert charged.fees == D("30.00") and charged.penalty > 0
    paid = Payment("p1", DUE + 2 * ONE, installment)  # inside grace: on time

    redo = reclose(known_late, [paid], CAT)

    on_time, states = _on_time([paid], paid.paid_on)
    assert dict(redo.account.ledger.balances) == dict(on_time.ledger.balances)
    assert redo.account.charged == on_time.charged
    assert charges_to_date(redo.account.ledger) == charges_to_date(on_time.ledger)
    assert redo.states == tuple(states)  # each closed day as it would have been
    assert redo.value_date == paid.paid_on and redo.previous == "active"
    # appended, not rewritten: the stored entries first, unchanged
    stored = known_late.ledger.entries
    assert redo.account.ledger.entries[: len(stored)] == stored
    by_ref = {e.ref: e for e in redo.entries}
    assert by_ref["p1"].posted_on == paid.paid_on and by_ref["p1"].kind is EntryKind.PAYMENT
    assert by_ref["redo:p1:late:1"].amount == D("-30.00")
    assert by_ref["redo:p1:accrual"].amount == -(charged.penalty + charged.compound)
    assert {e.posted_on for e in redo.entries if e.ref.startswith("redo:")} == {THROUGH + ONE}
    assert legs_sum(redo.account.ledger.entries) == dict(redo.account.ledger.balances)


def test_a_later_payment_is_allocated_as_it_would_have_been():
    installment = _closed([]).schedule[0].amount
    later = Payment("p2", DUE + 10 * ONE, D("200.00"))  # known, after grace: pays charges
    known = _closed([later])
    back = Payment("p1", DUE + ONE, installment)  # then the earlier one comes in

    redo = reclose(known, [back], CAT)

    on_time, states = _on_time([back, later], back.paid_on)
    assert dict(redo.account.ledger.balances) == dict(on_time.ledger.balances)
    assert redo.states == tuple(states)
    moved = {e.ref: e for e in redo.entries}["redo:p1:payment"]
    assert moved.amount == 0 and moved.kind is EntryKind.PAYMENT  # nothing more paid
    # p2's 200.00 found the installment paid: it is held as credit, and what it had
    # paid is owed again
    credit = sum(leg.amount for leg in moved.legs if leg.account is Account.CREDIT)
    owed = sum(leg.amount for leg in moved.legs if leg.account is not Account.CREDIT)
    assert credit == on_time.ledger.balance(Account.CREDIT) == D("200.00")
    assert owed == D("200.00")


def test_only_back_dated_payments_after_disbursement_are_taken():
    acc = _closed([])
    with pytest.raises(ValueError, match="not in a closed day"):
        reclose(acc, [Payment("p9", THROUGH + ONE, D("10.00"))], CAT)
    with pytest.raises(ValueError, match="not in a closed day"):
        reclose(acc, [Payment("p9", TERMS.disbursed_on, D("10.00"))], CAT)


def test_a_back_dated_payment_reversed_later_leaves_the_loan_as_if_never_paid():
    """The payment booked on its value date is what a later refund reverses: the
    reversal's recharge counts the corrections, so the loan ends as if never paid."""
    installment = _closed([]).schedule[0].amount
    paid = Payment("p1", DUE + 2 * ONE, installment)
    redo = reclose(_closed([]), [paid], CAT)
    acc, _ = advance(redo.account, THROUGH + ONE)  # the close that booked it
    booked = _refund(acc, "p1")
    assert {e.ref for e in booked} >= {"rev:p1", "recharge:p1"}
    ledger = replay(acc.loan_id, [*acc.ledger.entries, *booked], acc.currency)

    after, _ = advance(replace(acc, ledger=ledger), THROUGH + 2 * ONE)
    never, _ = advance(_closed([]), THROUGH + 2 * ONE)
    assert dict(after.ledger.balances) == dict(never.ledger.balances)
    assert charges_to_date(after.ledger) == charges_to_date(never.ledger)


def test_a_reversal_recharges_as_if_never_paid_with_a_cost_booked_after_the_payment():
    """An enforcement cost booked after the reversed payment is an event of the loan: the
    days closed again without the payment keep it, so a later payment settles the cost
    first there too, and the loan ends as the one never paid that got the cost."""
    from arrears.domain.operations import charge_cost

    def closed(paid: bool) -> LoanAccount:
        acc = open_account("BD-1", CAT.product("CONSUMER"), TERMS)
        acc, _ = advance(acc, DUE + 6 * ONE, [Payment("p1", DUE + 6 * ONE, D("100.00"))] * paid)
        cost = charge_cost(acc.ledger, "c1", DUE + 7 * ONE, D("200.00"), memo="court fee")
        acc = replace(acc, ledger=cost.ledger)
        return advance(acc, THROUGH, [Payment("p2", DUE + 9 * ONE, D("150.00"))])[0]

    acc = closed(paid=True)
    booked = _refund(acc, "p1")
    ledger = replay(acc.loan_id, [*acc.ledger.entries, *booked], acc.currency)
    after, _ = advance(replace(acc, ledger=ledger), THROUGH + 2 * ONE)
    never, _ = advance(closed(paid=False), THROUGH + 2 * ONE)
    assert charges_to_date(never.ledger).penalty > 0
    assert dict(after.ledger.balances) == dict(never.ledger.balances)
    assert charges_to_date(after.ledger) == charges_to_date(never.ledger)


def test_a_back_dated_payment_keeps_the_loans_dpd_pause():
    """A loan whose DPD is paused (as the store's close passes it) is re-closed with its
    pause: the corrected days and the account after them are those of the loan paused
    and paid on time, not of the loan unpaused."""
    pause = (Pause(DUE + 6 * ONE, None, PauseReason.DISPUTE),)
    acc = open_account("BD-1", CAT.product("CONSUMER"), TERMS)
    known_late = advance(replace(acc, pauses=pause), THROUGH, [])[0]
    part = Payment("p1", DUE + 10 * ONE, D("100.00"))  # leaves #1 past due

    redo = reclose(known_late, [part], CAT)

    _, states = advance(replace(acc, pauses=pause), THROUGH, [part], CAT, part.paid_on)
    assert redo.account.pauses == pause
    assert redo.states == tuple(states)
    # DPD held from the pause's first day (DUE + 6: 5 days past due) to the end
    assert {s.dpd for s in redo.states} == {5}
    later = advance(redo.account, THROUGH + 5 * ONE, [])[0]
    assert state_of(later, CAT).dpd == 5


def test_a_reversal_closes_the_days_again_with_the_loans_dpd_pause():
    """A refund closes the days the payment stood again without it, and counts their DPD
    as the close does, pauses included. Product CONSUMER, here with a charge-off at 10
    DPD. Instalment #1 is due 5 Apr and paid in full on 7 Apr. A dispute pauses DPD from
    6 Apr. Unpaused, the days closed again would reach 10 DPD on 15 Apr and be charged
    off, and 罚息 would stop there. With the pause, DPD stays 0, and the 罚息 and 复利
    through 20 Apr are recharged. The loan ends as the paused loan that was never paid."""
    from arrears.domain.products import ChargeOffRule

    product = replace(CAT.product("CONSUMER"), charge_off=ChargeOffRule(at_dpd=10))
    pause = (Pause(DUE + ONE, None, PauseReason.DISPUTE),)

    def closed(payments: list[Payment]) -> LoanAccount:
        acc = replace(open_account("BD-1", product, TERMS), pauses=pause)
        return advance(acc, THROUGH, payments)[0]

    installment = closed([]).schedule[0].amount
    acc = closed([Payment("p1", DUE + 2 * ONE, installment)])
    booked = reverse_payment(
        acc.loan_id, acc.currency, acc.product, acc.terms, acc.schedule, acc.ledger.entries,
        acc.closed_through, "p1", memo="refund", pauses=pause,
    )  # fmt: skip
    ledger = replay(acc.loan_id, [*acc.ledger.entries, *booked], acc.currency)
    after, _ = advance(replace(acc, ledger=ledger), THROUGH + 2 * ONE)
    never, _ = advance(closed([]), THROUGH + 2 * ONE)
    assert state_of(never, CAT).dpd == 0 and charges_to_date(never.ledger).penalty > 0
    assert dict(after.ledger.balances) == dict(never.ledger.balances)
    assert charges_to_date(after.ledger) == charges_to_date(never.ledger)

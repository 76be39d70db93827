"""Ledger invariants under random sequences of what can happen to a loan.

An account of each catalog product is opened and then, step by step: days pass
(``advance``, with payments of any size, including overpayments), payments, waivers and
fees are reversed, components are waived, already-posted entries are posted again,
conflicting entries are posted under used references, the loan is written off and
recoveries come in. After every step the books must balance.

The conservation identity checked after every step, derived from the legs of each kind
of entry (receivables = fee + penalty + compound + interest + principal + not_due):

    disbursed principal + interest fallen due + charges (fees, 罚息, 复利)
      − waivers − write-off − (payments − credit − recovered)  ==  receivables outstanding

i.e. money paid in = reduction of receivables + credit held + recoveries, where every
figure but the outstanding balance is taken from the entries' gross amounts (reversals
subtracting the amount of what they reverse), not from their legs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.domain import operations as ops
from arrears.domain.account import (
    LoanAccount,
    Payment,
    advance,
    cost_charged,
    open_account,
    resume_account,
    state_of,
)
from arrears.domain.errors import ConflictingPosting, DomainError
from arrears.domain.ledger import (
    LOAN_LEVEL,
    RECEIVABLE,
    Account,
    EntryKind,
    Ledger,
    PostStatus,
    legs_sum,
    post,
    replay,
)
from arrears.domain.products import Component, load_catalog
from arrears.domain.schedule import LoanTerms

CAT = load_catalog()
CODES = sorted(CAT.products)
ZERO = Decimal(0)
HELD = (Account.CREDIT, Account.RECOVERED)


def cents(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


def receivable(legs) -> Decimal:
    return sum((leg.amount for leg in legs if leg.account in RECEIVABLE), ZERO)


def held(legs) -> Decimal:
    return sum((leg.amount for leg in legs if leg.account in HELD), ZERO)


def check_entry(ledger: Ledger, e) -> None:
    """Each entry's gross amount agrees with its legs."""
    if e.kind is EntryKind.DISBURSEMENT:
        assert [(leg.account, leg.amount) for leg in e.legs] == [(Account.NOT_DUE, e.amount)]
    elif e.kind is EntryKind.INSTALLMENT_DUE:
        moved = sum((leg.amount for leg in e.legs if leg.account is Account.PRINCIPAL), ZERO)
        assert receivable(e.legs) == e.amount - moved  # principal moves, interest is new
    elif e.kind in (EntryKind.ACCRUAL, EntryKind.FEE):
        assert receivable(e.legs) == e.amount and held(e.legs) == 0
    elif e.kind in (EntryKind.WAIVER, EntryKind.WRITE_OFF):
        assert -receivable(e.legs) == e.amount and held(e.legs) == 0
    elif e.kind is EntryKind.PAYMENT:
        assert -receivable(e.legs) + held(e.legs) == e.amount
    elif e.kind is EntryKind.CREDIT_APPLIED:
        assert -receivable(e.legs) == e.amount
        assert [leg.amount for leg in e.legs if leg.account is Account.CREDIT] == [-e.amount]
    elif e.kind is EntryKind.REVERSAL:
        original = ledger.entry(e.reverses)
        assert original is not None and e.amount == original.amount
        if original.kind is EntryKind.PAYMENT:
            assert receivable(e.legs) - held(e.legs) == e.amount
        elif original.kind is EntryKind.WAIVER:
            assert receivable(e.legs) == e.amount
        else:
            assert original.kind is EntryKind.FEE and receivable(e.legs) == -e.amount


def check_books(acc: LoanAccount, principal: Decimal) -> None:
    ledger = acc.ledger
    balances = dict(ledger.balances)
    # (a) balances are the sum of the legs, and replaying the entries gives them again
    assert balances == legs_sum(ledger.entries)
    replayed = replay(ledger.loan_id, ledger.entries, ledger.currency)
    assert balances == dict(replayed.balances)
    for account in Account:  # per-account totals agree with the per-installment balances
        total = sum((v for (_, a), v in balances.items() if a is account), ZERO)
        assert ledger.balance(account) == total == replayed.balance(account)
    written_off = any(e.kind is EntryKind.WRITE_OFF for e in ledger.entries)
    assert ops.is_written_off(ledger) == written_off == ops.is_written_off(replayed)
    # (b) nothing negative (zero balances are not kept)
    assert all(v > 0 for v in balances.values()), balances
    # charges and credit are loan level, interest and principal per installment
    for (seq, account), _ in balances.items():
        per_installment = account in (Account.INTEREST, Account.PRINCIPAL)
        assert (seq != LOAN_LEVEL) == per_installment, (seq, account)
    # (c) conservation, from the gross amounts of the entries
    totals = dict.fromkeys(EntryKind, ZERO)
    interest = ZERO
    for e in ledger.entries:
        check_entry(ledger, e)
        totals[e.kind] += e.amount
        if e.kind is EntryKind.INSTALLMENT_DUE:
            interest += sum((leg.amount for leg in e.legs if leg.account is Account.INTEREST), ZERO)
        if e.kind is EntryKind.REVERSAL:
            original = ledger.entry(e.reverses)
            totals[original.kind] -= e.amount
    assert totals[EntryKind.DISBURSEMENT] == principal
    charges = totals[EntryKind.ACCRUAL] + totals[EntryKind.FEE]
    credit = ledger.balance(Account.CREDIT, LOAN_LEVEL)
    recovered = ledger.balance(Account.RECOVERED, LOAN_LEVEL)
    outstanding = ledger.total_outstanding
    paid_in = totals[EntryKind.PAYMENT]
    reduction = (
        principal
        + interest
        + charges
        - totals[EntryKind.WAIVER]
        - totals[EntryKind.WRITE_OFF]
        - outstanding
    )
    assert paid_in == reduction + credit + recovered
    assert recovered <= totals[EntryKind.WRITE_OFF]
    # (d) principal outstanding never exceeds what was lent, nor an installment's
    # balance what it was scheduled for
    assert ledger.balance(Account.NOT_DUE) + ledger.balance(Account.PRINCIPAL) <= principal
    for inst in acc.schedule:
        assert ledger.balance(Account.PRINCIPAL, inst.seq) <= inst.principal, inst
        assert ledger.balance(Account.INTEREST, inst.seq) <= inst.interest, inst
    # the cost measure kept on the account is the one the ledger gives
    assert acc.charged == cost_charged(ledger)


def rebuilt(acc: LoanAccount, ledger: Ledger) -> LoanAccount:
    """The account after an operation outside the daily close (as a service would reload it)."""
    return resume_account(
        acc.loan_id, acc.product, acc.terms, acc.schedule, ledger, acc.closed_through
    )


def credit_shortfall(ledger: Ledger, original) -> Decimal:
    """How much of ``original``'s credit has been used since (reversing it must undo that)."""
    if original.kind is not EntryKind.PAYMENT:
        return ZERO
    credit_back = sum((g.amount for g in original.legs if g.account is Account.CREDIT), ZERO)
    return max(credit_back - ledger.balance(Account.CREDIT, LOAN_LEVEL), ZERO)


def owed_on(ledger: Ledger, component: Component) -> Decimal:
    account = Account.of(component)
    if component.per_installment:
        return ledger.balance(account)
    return ledger.balance(account, LOAN_LEVEL)


def draw_amount(data, ledger: Ledger, acc: LoanAccount) -> Decimal:
    kinds = ["small", "due", "over", "any", "next"]
    kind = data.draw(st.sampled_from(kinds), label="amount kind")
    if kind == "due" and ledger.total_due > 0:
        return ledger.total_due
    if kind == "next":  # prepay the next installment: credit, used when it falls due
        upcoming = [i for i in acc.schedule if i.due_date > acc.closed_through]
        if upcoming and upcoming[0].amount > 0:
            return upcoming[0].amount
    if kind == "over":
        return ledger.total_outstanding + cents(data.draw(st.integers(1, 500_000)))
    if kind == "small":
        return cents(data.draw(st.integers(1, 50_000)))
    return cents(data.draw(st.integers(1, 3_000_000)))


STEPS = ["advance", "advance", "advance", "pay", "reverse", "waive", "repeat", "write_off"]


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    code=st.sampled_from(CODES),
    principal_cents=st.integers(100_00, 500_000_00),
    disbursed=st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    n_steps=st.integers(4, 25),
)
def test_books_balance_after_every_step(data, code, principal_cents, disbursed, n_steps):
    product = CAT.product(code)
    principal = cents(principal_cents)
    terms = LoanTerms(principal, product.annual_rate, product.term_months, disbursed)
    acc = open_account(f"PROP-{code}", product, terms)
    check_books(acc, principal)
    wf = product.waterfall
    n = 0
    for _ in range(n_steps):
        n += 1
        ledger, today = acc.ledger, acc.closed_through
        step = data.draw(st.sampled_from(STEPS), label="step")
        written_off = ops.is_written_off(ledger)
        # A written-off loan with installments still to fall due cannot be closed further
        # (BUG, see test_written_off_account_can_still_be_closed): post recoveries
        # directly instead.
        if step == "advance" and written_off and any(i.due_date > today for i in acc.schedule):
            step = "pay"

        if step == "advance":
            days = data.draw(st.integers(1, 60), label="days")
            offsets = data.draw(st.lists(st.integers(1, days), max_size=2), label="pay days")
            payments = [
                Payment(f"pay{n}.{k}", today + timedelta(days=d), draw_amount(data, ledger, acc))
                for k, d in enumerate(offsets)
            ]
            acc, _ = advance(acc, today + timedelta(days=days), payments)
            for p in payments:
                entry = acc.ledger.entry(p.ref)
                assert entry is not None and entry.amount == p.amount

        elif step == "pay":
            amount = draw_amount(data, ledger, acc)
            result = ops.pay(ledger, f"pay{n}", today, amount, wf)
            assert result.posted and result.entry.amount == amount
            if written_off:  # all of it is a recovery or credit, nothing reduces receivables
                assert receivable(result.entry.legs) == 0
            acc = rebuilt(acc, result.ledger)

        elif step == "reverse":
            reversed_refs = {e.reverses for e in ledger.entries if e.kind is EntryKind.REVERSAL}
            candidates = [
                e
                for e in ledger.entries
                if e.kind in (EntryKind.PAYMENT, EntryKind.WAIVER, EntryKind.FEE)
                and e.ref not in reversed_refs
            ]
            if not candidates:
                with pytest.raises(DomainError):
                    ops.reverse(ledger, f"rev{n}", today, ledger.entries[0].ref)
                continue
            # half the time, a payment whose credit has since been used (a bounced prepayment)
            used = [e for e in candidates if credit_shortfall(ledger, e) > 0]
            if used and data.draw(st.booleans(), label="reverse a used prepayment"):
                candidates = used
            original = data.draw(st.sampled_from(candidates), label="reversed")
            fee_paid = (
                original.kind is EntryKind.FEE
                and ledger.balance(Account.FEE, LOAN_LEVEL) < original.amount
            )
            if fee_paid:  # a fee already (partly) paid cannot be taken back off the loan
                with pytest.raises(DomainError, match="negative"):
                    ops.reverse(ledger, f"rev{n}", today, original.ref)
                continue
            result = ops.reverse(ledger, f"rev{n}", today, original.ref)
            assert result.posted and result.entry.reverses == original.ref
            with pytest.raises(DomainError, match="already reversed"):
                ops.reverse(result.ledger, f"rev{n}b", today, original.ref)
            acc = rebuilt(acc, result.ledger)

        elif step == "waive":
            owing = [c for c in Component if owed_on(ledger, c) > 0]
            component = data.draw(st.sampled_from(owing or list(Component)), label="component")
            owed = owed_on(ledger, component)
            too_much = owed + cents(data.draw(st.integers(1, 10_000)))
            with pytest.raises(DomainError, match="cannot waive"):
                ops.waive(ledger, f"waive{n}x", today, component, too_much)
            if owed == 0:
                continue
            amount = cents(data.draw(st.integers(1, int(owed * 100))))
            result = ops.waive(ledger, f"waive{n}", today, component, amount)
            assert result.posted
            after = result.ledger
            assert owed_on(after, component) == owed - amount
            assert after.balance(Account.CREDIT) == ledger.balance(Account.CREDIT)
            acc = rebuilt(acc, after)

        elif step == "repeat":
            # (e) the same entry again is a duplicate and changes nothing ...
            entry = data.draw(st.sampled_from(ledger.entries), label="repeated")
            again = post(ledger, entry)
            assert again.status is PostStatus.DUPLICATE and again.ledger is ledger
            assert again.entry is ledger.entry(entry.ref)
            # ... and so is re-running an operation under its reference
            if entry.kind is EntryKind.PAYMENT:
                rerun = ops.pay(ledger, entry.ref, entry.posted_on, entry.amount, wf)
                assert rerun.status is PostStatus.DUPLICATE and rerun.ledger is ledger
            # a different entry under a used reference is refused
            other_kind = EntryKind.FEE if entry.kind is EntryKind.WAIVER else EntryKind.WAIVER
            for conflict in (
                replace(entry, amount=entry.amount + Decimal("0.01")),
                replace(entry, posted_on=entry.posted_on + timedelta(days=1)),
                replace(entry, kind=other_kind),
            ):
                with pytest.raises(ConflictingPosting):
                    post(ledger, conflict)
            if entry.kind is EntryKind.PAYMENT:
                with pytest.raises(ConflictingPosting):
                    ops.pay(ledger, entry.ref, entry.posted_on, entry.amount + 1, wf)

        elif step == "write_off":
            if written_off:
                with pytest.raises(DomainError, match="already written off"):
                    ops.write_off(ledger, f"wo{n}", today)
                continue
            if ledger.total_outstanding == 0:
                with pytest.raises(DomainError, match="nothing to write off"):
                    ops.write_off(ledger, f"wo{n}", today)
                continue
            before = ledger.total_outstanding
            result = ops.write_off(ledger, f"wo{n}", today)
            assert result.entry.amount == before and result.ledger.total_outstanding == 0
            acc = rebuilt(acc, result.ledger)

        check_books(acc, principal)


def test_written_off_account_can_still_be_closed():
    product = CAT.product("CONSUMER")
    terms = LoanTerms(Decimal("12000.00"), Decimal("0.18"), 12, date(2025, 1, 10))
    acc, _ = advance(open_account("WO-1", product, terms), date(2025, 3, 20))
    owed = acc.ledger.total_outstanding  # 12000.00 principal + 346.20 interest + charges
    acc = rebuilt(acc, ops.write_off(acc.ledger, "wo", date(2025, 3, 20)).ledger)
    recovery = Payment("rec", date(2025, 4, 15), Decimal("500.00"))
    acc, _ = advance(acc, date(2025, 6, 30), [recovery])  # raises: due:3 on 10 April
    assert acc.ledger.total_outstanding == 0  # nothing is owed again after a write-off
    assert acc.ledger.balance(Account.RECOVERED, LOAN_LEVEL) == Decimal("500.00")
    assert ops.written_off_amount(acc.ledger) == owed
    state = state_of(acc, CAT)
    # still unpaid: DPD counts from installment 1 (due 10 Feb) through 30 Jun, 损失, M5
    assert (state.status, state.dpd, state.bucket, state.loan_class) == (
        "written_off",
        140,
        "M5",
        "loss",
    )


def _two_prepaid_installments():
    """CONSUMER 12,000: 1100.16 prepaid before each of the first two due dates, each
    prepayment held as credit and applied when its installment falls due."""
    product = CAT.product("CONSUMER")
    terms = LoanTerms(Decimal("12000.00"), Decimal("0.18"), 12, date(2025, 1, 10))
    payments = [
        Payment("A", date(2025, 1, 20), Decimal("1100.16")),
        Payment("B", date(2025, 2, 20), Decimal("1100.16")),
    ]
    acc, _ = advance(open_account("CR-1", product, terms), date(2025, 3, 12), payments)
    applied = [e.ref for e in acc.ledger.entries if e.kind is EntryKind.CREDIT_APPLIED]
    assert applied == ["credit:2025-02-10", "credit:2025-03-10"]
    assert acc.ledger.total_due == 0
    return acc


def test_reversing_a_prepayment_undoes_the_credit_use():
    # B's credit paid installment 2 (166.20 + 933.96) on 10 March: reversing B owes it again
    acc = _two_prepaid_installments()
    ledger = ops.reverse(acc.ledger, "rev-B", date(2025, 3, 12), "B").ledger
    assert ledger.balance(Account.INTEREST, 2) == Decimal("166.20")
    assert ledger.balance(Account.PRINCIPAL, 2) == Decimal("933.96")
    assert ledger.balance(Account.CREDIT, LOAN_LEVEL) == 0
    assert ledger.total_due == Decimal("1100.16")
    check_books(rebuilt(acc, ledger), Decimal("12000.00"))


def test_reversing_both_prepayments_owes_both_installments_again():
    acc = _two_prepaid_installments()
    ledger = ops.reverse(acc.ledger, "rev-B", date(2025, 3, 12), "B").ledger
    ledger = ops.reverse(ledger, "rev-A", date(2025, 3, 12), "A").ledger
    owed = {
        seq: (ledger.balance(Account.INTEREST, seq), ledger.balance(Account.PRINCIPAL, seq))
        for seq in (1, 2)
    }
    assert owed == {
        1: (Decimal("180.00"), Decimal("920.16")),
        2: (Decimal("166.20"), Decimal("933.96")),
    }
    # so the loan is 30 days past due (from 10 Feb), not within grace of 10 March
    acc = rebuilt(acc, ledger)
    assert state_of(acc, CAT).dpd == 30
    # (today principal outstanding is 10145.88 + 1867.92 = 12013.80 > 12000.00)
    check_books(acc, Decimal("12000.00"))

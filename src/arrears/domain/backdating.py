"""Back-dated payments: a payment whose value date falls in a day already closed
re-closes its loan from that day, so its charges are as if it had been known then
(issue 25, contract 5).

The ledger is never rewritten: ``reclose`` closes the loan again from the value date,
the payment on its day and every stored event (payments, waivers, reversals, fees,
costs, write-offs, settlements, plans) on theirs, the derived entries (installments
falling due, credit used, accruals, late fees, and how each later payment is allocated)
derived anew; then it appends to the stored ledger

- the payment itself, dated on its value date, with the legs it pays there;
- one correcting entry per kind of derived entry that came out different, dated on the
  loan's first open day (the day the correction is booked): ``redo:<ref>:accrual`` (罚息
  and 复利 not owed, as negative legs), ``redo:<ref>:late:<seq>`` (a late fee not owed,
  with the late fee's memo, so the cost cap and a later reversal's recharge count it),
  ``redo:<ref>:payment`` (the later payments' money allocated as it would have been,
  amount 0: nothing more was paid), ``redo:<ref>:credit_applied``;

so that its balances, its cost-cap measure and its principal-days past due equal those
of the loan closed again, and the day states from the value date through the last
closed day are that loan's (each a new version of that day's snapshot).

A payment of a closed day reversed since (a refund or chargeback, booked on the first
open day with the charges the payment had avoided: ``services.payment_reversal``) needs
no further entry; ``restate_reversed`` gives the states of its closed days as corrected,
closed again without it.

A correction that would change a write-off (a loan the charge-off rule wrote off that
the payment would have kept on the book, or the reverse) cannot be booked by adding
entries: ``DomainError``, and the caller books the payment as before (on the first open
day).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from itertools import islice, permutations

from arrears.domain.account import (
    LATE_FEE_MEMO,
    DayState,
    LoanAccount,
    Payment,
    Posting,
    advance,
    close_day,
    cost_charged,
    resume_account,
    state_of,
    status_of,
)
from arrears.domain.errors import DomainError
from arrears.domain.ledger import Entry, EntryKind, Key, Ledger, Leg, legs_sum, post, replay
from arrears.domain.money import ZERO
from arrears.domain.products import Catalog

ONE_DAY = timedelta(days=1)
REDO_PREFIX = "redo:"  # the refs of the correcting entries: redo:<payment ref>:<what>


@dataclass(frozen=True, slots=True)
class Reclosed:
    """A loan after its back-dated payments: ``account`` closed through the same day as
    before, its ledger the stored one with ``entries`` appended; ``states`` the loan's
    day states from ``value_date`` through that day as corrected, and ``previous`` its
    status the day before ``value_date`` (a snapshot keeps a loan while it is active and
    on the day it stops being so)."""

    account: LoanAccount
    entries: tuple[Entry, ...]
    states: tuple[DayState, ...]
    value_date: date
    previous: str


def is_event(entry: Entry) -> bool:
    """An entry something happened for (a payment, waiver, fee, cost, reversal,
    write-off, settlement, plan), not one the close derives (installments falling due,
    credit used, accrual, late fees): closing the days again derives those anew."""
    if entry.kind is EntryKind.FEE:
        return entry.memo != LATE_FEE_MEMO
    return entry.kind in (
        EntryKind.PAYMENT,
        EntryKind.WAIVER,
        EntryKind.COST,
        EntryKind.REVERSAL,
        EntryKind.WRITE_OFF,
        EntryKind.SETTLEMENT,  # what a settlement forgave (结清)
        EntryKind.RESTRUCTURE,  # a plan's re-amortisation (分期)
    )


def events_by_day(
    entries: Iterable[Entry], start: date, through: date, left_out: Iterable[str] = ()
) -> dict[date, tuple[list[Payment], list[Posting]]]:
    """The stored events (``is_event``) posted from ``start`` through ``through``, but
    those of the refs ``left_out``, by day: the payments and the postings that close the
    days again with them (``account.close_day``'s arguments)."""
    skip = set(left_out)
    by_day: dict[date, tuple[list[Payment], list[Posting]]] = {}
    for e in entries:
        if start <= e.posted_on <= through and is_event(e) and e.ref not in skip:
            pays, posts = by_day.setdefault(e.posted_on, ([], []))
            if e.kind is EntryKind.PAYMENT:
                pays.append(Payment(e.ref, e.posted_on, e.amount))
            else:
                posts.append(partial(_post_again, e))
    return by_day


def reclose(acc: LoanAccount, payments: Sequence[Payment], catalog: Catalog) -> Reclosed:
    """Book ``payments`` (each dated on or before ``acc.closed_through``) as if they had
    been known on their value dates (see the module's doc). ``acc`` must hold its whole
    ledger (replayed from the store, not resumed from carried balances). Raises
    ``ValueError`` for a payment that is not back-dated or dated before disbursement,
    ``DomainError`` when the loan cannot be closed again or corrected by entries."""
    through = acc.closed_through
    late = sorted(payments, key=lambda p: (p.paid_on, p.ref))
    if not late:
        raise ValueError(f"loan {acc.loan_id}: no back-dated payment to re-close from")
    for p in late:
        if p.paid_on > through or p.paid_on <= acc.terms.disbursed_on:
            raise ValueError(
                f"loan {acc.loan_id}: payment {p.ref} dated {p.paid_on} is not in a closed "
                f"day after disbursement ({acc.terms.disbursed_on} to {through})"
            )
    entries = acc.ledger.entries
    value_date = late[0].paid_on
    again, states, previous, start = _close_again(acc, value_date, late, set(), catalog)
    new = _corrections(acc, again, late, start, value_date)
    ledger = _post_in_order(acc.ledger, new)
    later = [e for e in entries if e.posted_on > through]  # booked for the open day
    if dict(ledger.balances) != legs_sum([*again.ledger.entries, *later]):
        raise DomainError(f"loan {acc.loan_id}: the correction does not reach the re-closed loan")
    account = LoanAccount(
        acc.loan_id,
        acc.product,
        acc.terms,
        acc.schedule,
        ledger,
        through,
        cost_charged(ledger),
        overdue_days=again.overdue_days,
        unposted=again.unposted,
        pauses=acc.pauses,
        restructured_on=acc.restructured_on,
    )
    appended = ledger.entries[len(entries) :]
    return Reclosed(account, appended, tuple(states), value_date, previous)


def reversed_since(acc: LoanAccount) -> list[str]:
    """The payments of closed days that reversals booked since (dated after
    ``acc.closed_through``, on the first open day) reverse, in ledger order. What was
    booked since the last close is the ledger's tail, so only the tail is read (a close
    costs nothing more for the loans nobody touched)."""
    through, ledger = acc.closed_through, acc.ledger
    out = []
    for e in reversed(ledger.entries):
        if e.posted_on <= through:
            break
        if e.kind is EntryKind.REVERSAL and e.reverses:
            paid = ledger.entry(e.reverses)
            if paid is not None and paid.kind is EntryKind.PAYMENT and paid.posted_on <= through:
                out.append(paid.ref)
    return out[::-1]


def restate_reversed(acc: LoanAccount, refs: Sequence[str], catalog: Catalog) -> Reclosed:
    """The loan's day states from the day of the first of the payments ``refs`` through
    ``acc.closed_through`` as corrected by their reversals, booked since on the first
    open day (``services.payment_reversal``, whose recharge already charges what each
    payment avoided): the days closed again without them. ``account`` and ``entries``
    are ``acc`` and nothing: the ledger needs no further entry. Raises ``ValueError``
    when a ref is no payment of a closed day, ``DomainError`` when the loan cannot be
    closed again without them."""
    days = []
    for ref in refs:
        paid = acc.ledger.entry(ref)
        if paid is None or paid.kind is not EntryKind.PAYMENT:
            raise ValueError(f"loan {acc.loan_id}: {ref!r} is no payment of its ledger")
        if not acc.terms.disbursed_on < paid.posted_on <= acc.closed_through:
            raise ValueError(
                f"loan {acc.loan_id}: payment {ref} of {paid.posted_on} is not in a "
                f"closed day (closed through {acc.closed_through})"
            )
        days.append(paid.posted_on)
    if not days:
        raise ValueError(f"loan {acc.loan_id}: no reversed payment to restate")
    first = min(days)
    _, states, previous, _ = _close_again(acc, first, (), set(refs), catalog)
    return Reclosed(acc, (), tuple(states), first, previous)


def _close_again(
    acc: LoanAccount,
    value_date: date,
    added: Sequence[Payment],
    left_out: set[str],
    catalog: Catalog,
) -> tuple[LoanAccount, list[DayState], str, date]:
    """``acc`` closed again from ``value_date`` through its last closed day, with the
    ``added`` payments on their days and the stored events but ``left_out`` on theirs:
    the account, its states from ``value_date``, its status the day before, and the
    day it was closed again from (``_restart``)."""
    through, entries = acc.closed_through, acc.ledger.entries
    if not entries or entries[0].kind is not EntryKind.DISBURSEMENT:
        raise ValueError(f"loan {acc.loan_id}: re-closing needs the whole stored ledger")
    start = _restart(entries, value_date)
    again = resume_account(
        acc.loan_id,
        acc.product,
        acc.terms,
        acc.schedule,
        replay(acc.loan_id, [e for e in entries if e.posted_on < start], acc.currency),
        start - ONE_DAY,
        pauses=acc.pauses,  # closed again with its pauses and extensions (展期)
        restructured_on=acc.restructured_on,
    )
    by_day = events_by_day(entries, start, through, left_out)
    by_day.setdefault(value_date, ([], []))
    for p in added:
        by_day.setdefault(p.paid_on, ([], []))[0].append(p)
    states: list[DayState] = []
    previous = "active"
    for day in sorted(by_day):
        again, recorded = advance(again, day - ONE_DAY, (), catalog, value_date)
        states += recorded
        if day == value_date and again.closed_through >= acc.terms.disbursed_on:
            previous = status_of(again)
        again = close_day(again, day, *by_day[day])
        if day >= value_date:
            states.append(state_of(again, catalog))
    again, recorded = advance(again, through, (), catalog, value_date)
    return again, states + recorded, previous, start


def _restart(entries: Iterable[Entry], value_date: date) -> date:
    """The day to close again from: the value date, or the first day of an accrual
    stretch (``accr:<first>:<last>``, one entry for days closed together) that it falls
    in, whose days cannot be taken apart."""
    start = value_date
    for e in entries:
        if e.kind is EntryKind.ACCRUAL and e.ref.startswith("accr:") and e.ref.count(":") == 2:
            first = date.fromisoformat(e.ref.split(":")[1])
            if first < start <= e.posted_on:
                start = first
    return start


def _post_again(entry: Entry, ledger: Ledger, day: date) -> Ledger:
    return post(ledger, entry).ledger


def _kind_sums(
    entries: Iterable[Entry], start: date, through: date, skip: set[str]
) -> dict[tuple[EntryKind, int], dict[Key, Decimal]]:
    """Legs summed by key for each kind of entry (late fees by installment) dated from
    ``start`` through ``through``, leaving out the refs ``skip``."""
    out: dict[tuple[EntryKind, int], dict[Key, Decimal]] = {}
    for e in entries:
        if not start <= e.posted_on <= through or e.ref in skip:
            continue
        late = e.kind is EntryKind.FEE and e.memo == LATE_FEE_MEMO and "late:" in e.ref
        group = int(e.ref.rsplit("late:", 1)[1]) if late else 0
        sums = out.setdefault((e.kind, group), {})
        for leg in e.legs:
            sums[leg.key] = sums.get(leg.key, ZERO) + leg.amount
    return out


def _corrections(
    acc: LoanAccount,
    again: LoanAccount,
    late: Sequence[Payment],
    start: date,
    value_date: date,
) -> list[list[Entry]]:
    """The entries to append, in three groups: the payments on their value dates, the
    charges' corrections (accruals, late fees) and the other derived entries'."""
    through, ref = acc.closed_through, late[0].ref
    if acc.ledger.written_off != again.ledger.written_off:
        raise DomainError(
            f"loan {acc.loan_id}: payment {ref} of {value_date} would change its write-off; "
            "a write-off is not undone by a correcting entry"
        )
    refs = {p.ref for p in late}
    paid = []
    for p in late:
        entry = again.ledger.entry(p.ref)
        assert entry is not None  # close_day posted it
        paid.append(entry)
    was = _kind_sums(acc.ledger.entries, start, through, set())
    now = _kind_sums(again.ledger.entries, start, through, refs)
    on, memo = through + ONE_DAY, f"back-dated {ref} of {value_date}"
    charges: list[Entry] = []
    others: list[Entry] = []
    for kind, group in sorted(set(was) | set(now), key=lambda k: (k[0].value, k[1])):
        before, after = was.get((kind, group), {}), now.get((kind, group), {})
        diff = {
            key: after.get(key, ZERO) - before.get(key, ZERO)
            for key in sorted(set(before) | set(after), key=lambda k: (k[0], k[1].value))
        }
        legs = tuple(Leg(i, a, v) for (i, a), v in diff.items() if v)
        if not legs:
            continue
        total = sum((leg.amount for leg in legs), ZERO)
        if kind is EntryKind.ACCRUAL:
            charges.append(Entry(f"{REDO_PREFIX}{ref}:accrual", kind, on, total, legs, memo=memo))
        elif kind is EntryKind.FEE and group:
            redo = f"{REDO_PREFIX}{ref}:late:{group}"
            charges.append(Entry(redo, kind, on, total, legs, memo=LATE_FEE_MEMO))
        elif kind is EntryKind.PAYMENT:
            others.append(Entry(f"{REDO_PREFIX}{ref}:payment", kind, on, ZERO, legs, memo=memo))
        elif kind is EntryKind.CREDIT_APPLIED:
            used = -sum((leg.amount for leg in legs if leg.account.value == "credit"), ZERO)
            redo = f"{REDO_PREFIX}{ref}:credit_applied"
            others.append(Entry(redo, kind, on, used, legs, memo=memo))
        else:
            raise DomainError(
                f"loan {acc.loan_id}: payment {ref} of {value_date} would change its "
                f"{kind.value} entries, which a correcting entry cannot book"
            )
    return [paid, charges, others]


def _post_in_order(ledger: Ledger, groups: Sequence[Sequence[Entry]]) -> Ledger:
    """``ledger`` with the groups' entries posted, in the first order in which no balance
    goes below zero on the way (the end is the same in every order): the groups' own
    order first, then every other order of the entries (a handful: the payments and one
    correction per kind), up to ``_ORDERS`` of them."""
    entries = [entry for group in groups for entry in group]
    error: DomainError | None = None
    for order in islice(permutations(entries), _ORDERS):
        out = ledger
        try:
            for entry in order:
                out = post(out, entry).ledger
        except DomainError as exc:
            error = exc
            continue
        return out
    assert error is not None
    raise error


_ORDERS = 5040  # 7!: every order of up to seven entries

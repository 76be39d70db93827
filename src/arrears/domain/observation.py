"""The restructured mark (重组资产) and its observation period (NFRA 2023 arts. 17-20).

A loan is restructured on the day an instalment plan re-amortises it (its ledger's
``restructure`` entry) or an arrangement such as an extension (展期) marks it; the
account keeps those days (``LoanAccount.restructured_on``: ``reamortise`` adds its
day, ``resume_account`` reads them from the ledger). From the end of that day:

* its class is at least the product's floor (``RestructuredRules.floor``, 次级 by
  default), and never better than the class it had just before the restructuring;
* its observation period runs from the first instalment due after the restructuring
  (art. 18) to the later of the due date of the ``periods``-th such instalment and
  ``months`` months after the first (by default: at least 2 periods and at least 1 year);
* an instalment is paid **on time** when it was settled in full (its principal and
  interest, beyond the arrears tolerance) by the last day of its grace;
* the mark clears at the end of the first day, on or after the period's end, on which
  the last ``on_time_payments`` instalments fallen due since the restructuring were each
  paid on time and nothing is past grace unpaid; from then on the class follows DPD;
* restructured again, the last restructuring counts (the period starts again, art. 20).

Everything here is a pure function of the schedule, the ledger, the restructuring days
and the day, so a loan resumed from the store (whose ledger keeps the ``restructure``
entry) carries its mark.
A reversal of an on-time payment takes it back: judged later, it was not on time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.domain.calendar import add_months
from arrears.domain.ledger import Account, EntryKind, Ledger
from arrears.domain.money import ZERO
from arrears.domain.products import (
    ClassificationScheme,
    LoanClass,
    RestructuredRules,
    worse_class,
)
from arrears.domain.schedule import Installment

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Restructuring:
    """A loan's last restructuring as judged on one day."""

    on: date  # the day it was restructured (marked from its end)
    observation_end: date  # the last day of the observation period
    floor: LoanClass  # the class it is at least while marked
    cleared_on: date | None  # the day the mark cleared (None: not yet)

    def marked(self, day: date) -> bool:
        """Whether the loan is restructured at the end of ``day``."""
        return self.on <= day and (self.cleared_on is None or day < self.cleared_on)


def restructure_days(ledger: Ledger, marked: Iterable[date] = ()) -> tuple[date, ...]:
    """Days the loan was restructured: its ledger's ``restructure`` entries and ``marked``."""
    days = {e.posted_on for e in ledger.entries if e.kind is EntryKind.RESTRUCTURE}
    return tuple(sorted(days.union(marked)))


def settled_on(ledger: Ledger, through: date, tolerance: Decimal = ZERO) -> dict[int, date]:
    """For each instalment whose principal and interest are settled (owed no more than
    ``tolerance``) at the end of ``through``, the day they last became so."""
    owed: dict[int, Decimal] = {}
    since: dict[int, date] = {}
    for entry in ledger.entries:
        if entry.posted_on > through:
            break
        touched = set()
        for leg in entry.legs:
            if leg.installment and leg.account in (Account.PRINCIPAL, Account.INTEREST):
                owed[leg.installment] = owed.get(leg.installment, ZERO) + leg.amount
                touched.add(leg.installment)
        for seq in touched:
            if owed[seq] <= tolerance:
                since.setdefault(seq, entry.posted_on)
            else:
                since.pop(seq, None)
    return since


def observation_end(schedule: Sequence[Installment], on: date, rules: RestructuredRules) -> date:
    """The last day of the observation period of a loan restructured on ``on``."""
    new = [i for i in schedule if i.due_date > on]
    if not new:
        return add_months(on, rules.months)
    first = new[0].due_date
    nth = new[min(rules.periods, len(new)) - 1].due_date
    return max(nth, add_months(first, rules.months))


def restructuring(
    schedule: Sequence[Installment],
    ledger: Ledger,
    day: date,
    rules: RestructuredRules,
    classes: ClassificationScheme,
    grace_days: int,
    tolerance: Decimal = ZERO,
    restructured_on: Iterable[date] = (),
) -> Restructuring | None:
    """The loan's last restructuring on or before ``day`` as judged at its end, or None.
    ``restructured_on`` are the days it was restructured (``restructure_days``: kept on
    the account, so a loan never restructured costs no scan of its ledger)."""
    days = [d for d in restructured_on if d <= day]
    if not days:
        return None
    on = max(days)
    end = observation_end(schedule, on, rules)
    settled = settled_on(ledger, day, tolerance)
    floor = rules.floor
    before = _dpd_before(ledger, schedule, on, grace_days, tolerance)
    if before > 0:  # not better than the class before it (art. 19)
        floor = worse_class(floor, classes.classify(before))
    cleared = _cleared_on(schedule, settled, on, end, day, rules, grace_days)
    return Restructuring(on, end, floor, cleared)


def _dpd_before(
    ledger: Ledger, schedule: Sequence[Installment], on: date, grace: int, tolerance: Decimal
) -> int:
    """DPD at the end of ``on`` just before its restructuring: from the oldest
    instalment the ``restructure`` entry of that day took more than ``tolerance`` off."""
    taken: dict[int, Decimal] = {}
    for entry in ledger.entries:
        if entry.kind is EntryKind.RESTRUCTURE and entry.posted_on == on:
            for leg in entry.legs:
                if leg.installment and leg.account in (Account.PRINCIPAL, Account.INTEREST):
                    taken[leg.installment] = taken.get(leg.installment, ZERO) - leg.amount
    for seq in sorted(taken):
        if taken[seq] > tolerance:
            raw = (on - schedule[seq - 1].due_date).days
            return raw if raw > grace else 0
    return 0


def _cleared_on(
    schedule: Sequence[Installment],
    settled: dict[int, date],
    on: date,
    end: date,
    day: date,
    rules: RestructuredRules,
    grace: int,
) -> date | None:
    """The first day from ``end`` through ``day`` on which the upgrade rule holds."""
    if day < end:
        return None
    grace_days = timedelta(days=grace)
    new = [i for i in schedule if i.due_date > on]
    # the rule's inputs change only on these days, so it is enough to try them
    candidates = {end}
    for inst in schedule:
        for d in (inst.due_date, inst.due_date + grace_days + ONE_DAY, settled.get(inst.seq)):
            if d is not None and end < d <= day:
                candidates.add(d)
    for d in sorted(candidates):
        fallen = [i for i in new if i.due_date <= d]
        if len(fallen) < rules.on_time_payments:
            continue
        on_time = all(
            (s := settled.get(i.seq)) is not None and s <= min(d, i.due_date + grace_days)
            for i in fallen[-rules.on_time_payments :]
        )
        past_grace = any(
            (d - i.due_date).days > grace and (settled.get(i.seq) or date.max) > d
            for i in schedule
            if i.due_date < d
        )
        if on_time and not past_grace:
            return d
    return None

"""Pure schedule changes an approved arrangement makes to the installments that have
not fallen due yet (the ones already due live in the ledger and are not touched).

Every function returns new ``Installment`` values and keeps the total principal and the
total interest of the changed installments exact to the cent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_DOWN, Decimal

from arrears.domain.arrangements import extended_schedule
from arrears.domain.calendar import add_months
from arrears.domain.errors import DomainError
from arrears.domain.money import ZERO, minor_unit
from arrears.domain.schedule import Installment


def extend(remaining: Sequence[Installment], months: int) -> tuple[Installment, ...]:
    """展期: every remaining installment falls due ``months`` later (amounts unchanged,
    the day of month kept where the month has it): the domain core's rule
    (``arrangements.extended_schedule``, which the scenario's extension uses too)."""
    return extended_schedule(remaining, months)


def _split(total: Decimal, parts: int, currency: str) -> list[Decimal]:
    unit = minor_unit(currency)
    share = (total / parts).quantize(unit, rounding=ROUND_DOWN)
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def respread(
    remaining: Sequence[Installment],
    count: int,
    first_due: date,
    currency: str = "CNY",
) -> tuple[Installment, ...]:
    """Installment plan: the remaining principal and interest re-spread over ``count``
    monthly installments from ``first_due``; equal parts rounded down to the cent, the
    remainder on the last, so the sums are unchanged."""
    if count < 1:
        raise DomainError(f"an installment plan needs at least one installment, got {count}")
    if not remaining:
        raise DomainError("nothing is left to re-spread: every installment has fallen due")
    principal = sum((i.principal for i in remaining), ZERO)
    interest = sum((i.interest for i in remaining), ZERO)
    start = remaining[0].seq
    return tuple(
        Installment(start + k, add_months(first_due, k, anchor_day=first_due.day), p, r)
        for k, (p, r) in enumerate(
            zip(_split(principal, count, currency), _split(interest, count, currency), strict=True)
        )
    )


def accelerate(
    remaining: Sequence[Installment], on: date, principal: Decimal, currency: str = "CNY"
) -> tuple[Installment, ...]:
    """结清: the remaining installments become one, due on ``on``, holding ``principal``
    (the principal not yet due the settlement left to pay) and no interest: contract
    interest not yet due is not owed, so a settlement does not bring it forward."""
    if not remaining:
        raise DomainError("nothing is left to accelerate: every installment has fallen due")
    unit = minor_unit(currency)
    return (Installment(remaining[0].seq, on, principal, ZERO.quantize(unit)),)

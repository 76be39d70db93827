"""Payment waterfall (还款顺序): how one amount settles what is due."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from arrears.domain.ledger import LOAN_LEVEL, Account, Ledger, Leg
from arrears.domain.money import ZERO
from arrears.domain.products import Component, InstallmentOrder, Waterfall, WaterfallMode

_ACCOUNT = {component: Account(component.value) for component in Component}


def _installments(ledger: Ledger, order: InstallmentOrder) -> list[int]:
    due = sorted({i for (i, a), v in ledger.balances.items() if i != LOAN_LEVEL and v > 0})
    return due if order is InstallmentOrder.OLDEST_FIRST else due[::-1]


def settlement_order(ledger: Ledger, waterfall: Waterfall) -> Iterator[tuple[int, Account]]:
    """The balance keys a payment settles, in order. Fee, penalty and compound are loan
    level; interest and principal go installment by installment (fallen-due ones only)."""
    installments = _installments(ledger, waterfall.installments)
    order = waterfall.full_order
    if waterfall.mode is WaterfallMode.BY_INSTALLMENT:
        first = min(order.index(Component.INTEREST), order.index(Component.PRINCIPAL))
        pair = order[first : first + 2]
        for component in order[:first]:
            yield (LOAN_LEVEL, _ACCOUNT[component])
        for seq in installments:
            for component in pair:
                yield (seq, _ACCOUNT[component])
        for component in order[first + 2 :]:
            yield (LOAN_LEVEL, _ACCOUNT[component])
        return
    for component in order:
        if component.per_installment:
            for seq in installments:
                yield (seq, _ACCOUNT[component])
        else:
            yield (LOAN_LEVEL, _ACCOUNT[component])


def allocate(ledger: Ledger, amount: Decimal, waterfall: Waterfall) -> tuple[Leg, ...]:
    """Legs that settle ``amount`` against the ledger's due balances in waterfall order;
    whatever is left goes to the customer's credit balance, so nothing is lost."""
    if amount <= 0:
        return ()
    legs: list[Leg] = []
    remaining = amount
    for key in settlement_order(ledger, waterfall):
        balance = ledger.balances.get(key, ZERO)
        if balance <= 0:
            continue
        paid = min(balance, remaining)
        legs.append(Leg(key[0], key[1], -paid))
        remaining -= paid
        if remaining == 0:
            break
    if remaining > 0:
        legs.append(Leg(LOAN_LEVEL, Account.CREDIT, remaining))
    return tuple(legs)

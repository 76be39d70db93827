"""Overdue charges: 罚息 (penalty interest), 复利 (compound interest), late fees and the
total-cost cap. Each function computes one day's figure; the account engine posts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arrears.domain.calendar import DayCount
from arrears.domain.money import ZERO, quantize
from arrears.domain.products import CapBasis, ChargeRules

CAP_BASIS = Decimal(365)


def daily_charge(
    base: Decimal, annual_rate: Decimal, day_count: DayCount, currency: str
) -> Decimal:
    """One day of interest on ``base`` at ``annual_rate``: base × rate / basis, rounded
    half-up to the minor unit for that day (each day is rounded on its own)."""
    if base <= 0 or annual_rate == 0:
        return ZERO
    return quantize(base * annual_rate / Decimal(day_count.basis), currency)


def late_fee(rules: ChargeRules, missed: Decimal, currency: str) -> Decimal:
    """Fee for one installment that passed its grace period unpaid: the fixed fee plus
    ``late_fee_rate`` of what was missed."""
    return quantize(rules.late_fee_fixed + missed * rules.late_fee_rate, currency)


def cost_allowance(
    rules: ChargeRules,
    principal: Decimal,
    disbursed_on: date,
    on: date,
    currency: str,
    overdue_days: Decimal = ZERO,
) -> Decimal | None:
    """Most the cap's measure may have reached by ``on`` (None when the product has no
    cap). Basis ``original``: the cap rate a year on the principal since disbursement.
    Basis ``overdue``: the cap rate a year on ``overdue_days``, the principal past due
    summed over the days through ``on`` (each day's balance as the day starts)."""
    rate = rules.cap_rate(disbursed_on)
    if rate is None:
        return None
    if rules.cost_cap_basis is CapBasis.OVERDUE:
        return quantize(overdue_days * rate / CAP_BASIS, currency)
    days = Decimal((on - disbursed_on).days)
    return quantize(principal * rate * days / CAP_BASIS, currency)


@dataclass(frozen=True, slots=True)
class CappedCharges:
    amounts: tuple[Decimal, ...]
    cut: Decimal  # what the cap removed

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)


def apply_cap(headroom: Decimal | None, amounts: Sequence[Decimal]) -> CappedCharges:
    """Cut ``amounts`` (in priority order) to fit ``headroom``; None means no cap.
    Contract interest is never cut: when it alone exceeds the cap the headroom is
    negative and every charge is zero that day."""
    if headroom is None:
        return CappedCharges(tuple(amounts), ZERO)
    left = max(headroom, ZERO)
    out = []
    for amount in amounts:
        allowed = min(amount, left)
        out.append(allowed)
        left -= allowed
    return CappedCharges(tuple(out), sum(amounts, ZERO) - sum(out, ZERO))

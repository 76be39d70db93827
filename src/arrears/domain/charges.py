"""Overdue charges: 罚息 (penalty interest), 复利 (compound interest), late fees and the
total-cost cap. Each function computes one day's figure; the account engine posts them.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from arrears.domain.calendar import DayCount, days_30_360
from arrears.domain.money import MINOR_UNITS, ZERO, quantize
from arrears.domain.products import CapBasis, ChargeDays, ChargeRules

CAP_BASIS = Decimal(365)


def daily_charge(
    base: Decimal,
    annual_rate: Decimal,
    day_count: DayCount,
    currency: str,
    days: int = 1,
    basis: int | None = None,
) -> Decimal:
    """One day of interest on ``base`` at ``annual_rate``: base × rate × ``days`` / basis,
    rounded half-up to the minor unit for that day (each day is rounded on its own).
    ``days`` is what the day counts for (``charge_days``: 1, or under 30/360 0 to 3);
    ``basis`` the days of its year (``charge_basis``; the day count's by default)."""
    if base <= 0 or annual_rate == 0 or days == 0:
        return ZERO
    year = day_count.basis if basis is None else basis
    return quantize(base * annual_rate * days / Decimal(year), currency)


def exact_charge(base: Decimal, annual_rate: Decimal, basis: int, days: int = 1) -> Fraction:
    """One day of interest on ``base`` at ``annual_rate`` unrounded: base × rate ×
    ``days`` / ``basis`` as an exact fraction of the currency unit."""
    if base <= 0 or annual_rate == 0 or days == 0:
        return Fraction(0)
    return Fraction(base * annual_rate * days) / basis


def round_exact(amount: Fraction, currency: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``currency``, exactly."""
    scale = 10 ** MINOR_UNITS[currency]
    units = math.floor(amount * scale + Fraction(1, 2))
    return quantize(Decimal(units) / scale, currency)


def charge_basis(convention: ChargeDays, day_count: DayCount, day: date) -> int:
    """Days in the year that one day of 罚息 and 复利 on ``day`` is a part of: the day
    count's basis, or under ACT/ACT the length of the year of the day before (the day's
    charge covers the night before it, as ``charge_days`` counts 30/360 days from the
    day before): 366 in a leap year, 365 otherwise."""
    if convention is ChargeDays.ACT_ACT:
        return 366 if calendar.isleap((day - timedelta(days=1)).year) else 365
    return day_count.basis


def charge_days(convention: ChargeDays, day: date) -> int:
    """Days of 罚息 and 复利 that calendar ``day`` counts for: 1, or under true 30/360 the
    30/360 days from the day before (the 31st counts 0, 1 March 3 or 2 after 28 or 29
    February), so every month charges 30 days."""
    if convention is not ChargeDays.THIRTY_360:
        return 1
    return days_30_360(day - timedelta(days=1), day)


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

"""Repayment schedules (还款计划).

Every installment is quantized to the minor unit when it is built; the principal parts
always sum exactly to the principal because the last installment takes what is left.
How an equal-principal part is rounded is the product's ``principal_rounding``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

from arrears.domain.calendar import DayCount, add_months, year_fraction
from arrears.domain.errors import DomainError
from arrears.domain.money import ZERO, minor_unit, quantize
from arrears.domain.products import CardRules, PrincipalRounding, Product, ScheduleMethod

TWELVE = Decimal(12)


@dataclass(frozen=True, slots=True)
class Installment:
    """One scheduled repayment: ``principal`` and ``interest`` due on ``due_date``."""

    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def amount(self) -> Decimal:
        return self.principal + self.interest


@dataclass(frozen=True, slots=True)
class LoanTerms:
    """What the contract says: enough to build the schedule."""

    principal: Decimal
    annual_rate: Decimal
    term_months: int
    disbursed_on: date
    first_due: date | None = None

    def __post_init__(self) -> None:
        if self.principal <= 0:
            raise DomainError(f"principal must be positive, got {self.principal}")
        if self.annual_rate < 0:
            raise DomainError(f"annual rate must not be negative, got {self.annual_rate}")
        if self.term_months <= 0:
            raise DomainError(f"term must be at least one month, got {self.term_months}")
        if self.first_due is not None and self.first_due <= self.disbursed_on:
            raise DomainError("first due date must be after the disbursement date")


def due_dates(terms: LoanTerms, count: int) -> list[date]:
    """Monthly due dates: the first due date (default one month after disbursement),
    then the same day of each following month."""
    anchor = terms.first_due.day if terms.first_due else terms.disbursed_on.day
    first = terms.first_due or add_months(terms.disbursed_on, 1)
    return [add_months(first, k, anchor_day=anchor) for k in range(count)]


def annuity_payment(
    principal: Decimal, period_rate: Decimal, periods: int, currency: str
) -> Decimal:
    """Level payment P·r / (1 − (1 + r)^−n), rounded half-up to the minor unit."""
    if period_rate == 0:
        return quantize(principal / periods, currency)
    with localcontext() as ctx:
        ctx.prec = 40
        factor = (1 + period_rate) ** -periods
        payment = principal * period_rate / (1 - factor)
    return quantize(payment, currency)


def build_schedule(product: Product, terms: LoanTerms) -> tuple[Installment, ...]:
    """The schedule of ``terms`` under ``product``'s method and day-count convention."""
    if quantize(terms.principal, product.currency) != terms.principal:
        raise DomainError(
            f"principal {terms.principal} has more decimals than {product.currency} allows"
        )
    terms = replace(terms, principal=quantize(terms.principal, product.currency))
    builders = {
        ScheduleMethod.ANNUITY: _annuity,
        ScheduleMethod.EQUAL_PRINCIPAL: _equal_principal,
        ScheduleMethod.INTEREST_ONLY: _interest_only,
        ScheduleMethod.CARD_MINIMUM: _card_minimum,
    }
    return builders[product.method](product, terms)


def _period_interest(
    balance: Decimal, terms: LoanTerms, product: Product, start: date, end: date
) -> Decimal:
    """Interest on ``balance`` for one period. Under 30/360 every month is a twelfth of a
    year (月利率 = 年利率 / 12); under ACT conventions the actual days count."""
    if product.day_count is DayCount.THIRTY_360:
        fraction = Decimal(1) / TWELVE
    else:
        fraction = year_fraction(start, end, product.day_count)
    return quantize(balance * terms.annual_rate * fraction, product.currency)


def _periods(terms: LoanTerms, count: int) -> list[tuple[date, date]]:
    dates = due_dates(terms, count)
    starts = [terms.disbursed_on, *dates[:-1]]
    return list(zip(starts, dates, strict=True))


def _annuity(product: Product, terms: LoanTerms) -> tuple[Installment, ...]:
    n = terms.term_months
    payment = annuity_payment(terms.principal, terms.annual_rate / TWELVE, n, product.currency)
    balance = terms.principal
    out = []
    for seq, (start, end) in enumerate(_periods(terms, n), start=1):
        interest = _period_interest(balance, terms, product, start, end)
        if seq == n:
            principal = balance
        else:
            principal = min(max(payment - interest, ZERO), balance)
        out.append(Installment(seq, end, principal, interest))
        balance -= principal
    return tuple(out)


def equal_principal_part(
    principal: Decimal, periods: int, rounding: PrincipalRounding, currency: str
) -> Decimal:
    """The principal of each installment but the last in an equal-principal (等额本金)
    schedule: P / n rounded to the minor unit as the product says (half-up by default,
    as published calculators do: 1,000,000 / 360 = 2,777.78). The last installment takes
    the remainder. Should half-up make the first n − 1 parts exceed the principal (a
    tiny principal over many months), the part is rounded down so none goes negative."""
    unit = minor_unit(currency)
    down = (principal / periods).quantize(unit, rounding=ROUND_DOWN)
    if rounding is PrincipalRounding.DOWN:
        return down
    part = (principal / periods).quantize(unit, rounding=ROUND_HALF_UP)
    return part if part * (periods - 1) <= principal else down


def _equal_principal(product: Product, terms: LoanTerms) -> tuple[Installment, ...]:
    """等额本金: installment k is P / n + (P − (k − 1)·P / n) × the period's rate.

    Under half-up rounding the interest is on that formula's balance, P·(n − k + 1) / n
    unrounded, as published calculators compute it (1,000,000 at 4.9% over 360 months:
    first payment 6,861.11, total interest 737,041.67). Under ``down`` (the earlier
    convention, kept so such books replay unchanged) it is on the balance left after
    the rounded-down parts (6,861.10 and 737,043.71)."""
    n = terms.term_months
    rounding = product.principal_rounding
    part = equal_principal_part(terms.principal, n, rounding, product.currency)
    balance = terms.principal
    out = []
    for seq, (start, end) in enumerate(_periods(terms, n), start=1):
        base = balance
        if rounding is PrincipalRounding.HALF_UP:
            with localcontext() as ctx:
                ctx.prec = 40
                base = terms.principal * (n - seq + 1) / n
        interest = _period_interest(base, terms, product, start, end)
        principal = balance if seq == n else part
        out.append(Installment(seq, end, principal, interest))
        balance -= principal
    return tuple(out)


def _interest_only(product: Product, terms: LoanTerms) -> tuple[Installment, ...]:
    n = terms.term_months
    out = []
    for seq, (start, end) in enumerate(_periods(terms, n), start=1):
        interest = _period_interest(terms.principal, terms, product, start, end)
        out.append(Installment(seq, end, terms.principal if seq == n else ZERO, interest))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Statement:
    """One credit-card statement cycle."""

    opening_balance: Decimal
    payments: Decimal
    purchases: Decimal
    interest: Decimal
    fees: Decimal
    closing_balance: Decimal
    minimum_due: Decimal


def card_statement(
    opening_balance: Decimal,
    payments: Decimal,
    purchases: Decimal,
    interest: Decimal,
    fees: Decimal,
    rules: CardRules,
    currency: str = "CNY",
) -> Statement:
    """Close one card cycle: the new balance and its minimum payment (最低还款额): interest
    and fees plus the larger of ``min_rate`` of the rest and ``min_floor``, capped at the
    whole balance."""
    closing = opening_balance - payments + purchases + interest + fees
    if closing <= 0:
        return Statement(opening_balance, payments, purchases, interest, fees, closing, ZERO)
    base = closing - interest - fees
    principal_part = max(quantize(base * rules.min_rate, currency), rules.min_floor)
    minimum = min(closing, interest + fees + max(principal_part, ZERO))
    return Statement(opening_balance, payments, purchases, interest, fees, closing, minimum)


def _card_minimum(product: Product, terms: LoanTerms) -> tuple[Installment, ...]:
    """A card balance repaid by minimum payments: each statement's installment is its
    minimum due, so the same ageing rules apply to cards and loans. Runs until the
    balance is repaid or ``max_statements`` is reached (the last statement takes all)."""
    rules = product.card
    limit = min(rules.max_statements, max(terms.term_months, 1) * 10)
    balance = terms.principal
    out: list[Installment] = []
    seq = 0
    for start, end in _periods(terms, limit):
        seq += 1
        interest = _period_interest(balance, terms, product, start, end)
        stmt = card_statement(balance, ZERO, ZERO, interest, ZERO, rules, product.currency)
        principal = balance if seq == limit else min(balance, stmt.minimum_due - interest)
        out.append(Installment(seq, end, principal, interest))
        balance -= principal
        if balance <= 0:
            break
    return tuple(out)

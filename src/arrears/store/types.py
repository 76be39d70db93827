"""Column types that keep money and rates exact on every database.

``Money`` is ``NUMERIC(18,2)`` on PostgreSQL and an INTEGER count of minor units
(cents) on SQLite, whose NUMERIC affinity would otherwise store a REAL. ``Rate`` is
``NUMERIC(12,8)`` on PostgreSQL and a decimal string on SQLite. Neither type ever
accepts or returns a float: a float has already lost the cents.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

CENTS = Decimal("0.01")
MONEY_DIGITS = 18
MONEY_PLACES = 2
RATE_DIGITS = 12
RATE_PLACES = 8
_MONEY_LIMIT_CENTS = 10**MONEY_DIGITS
_HUNDRED = Decimal(100)
_RATE_LIMIT = Decimal(10) ** (RATE_DIGITS - RATE_PLACES)


class ExactTypeError(TypeError):
    """A value given to a Money or Rate column is not exact, or does not fit."""


def _as_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise ExactTypeError(
            f"{what} columns refuse {type(value).__name__} {value!r}: pass a Decimal "
            "(a float has already lost the exact amount)"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ExactTypeError(f"{what} columns refuse the non-finite value {value}")
        return value
    raise ExactTypeError(f"{what} columns take Decimal or int, not {type(value).__name__}")


def money_cents(value: object) -> int:
    """``value`` as a whole number of cents; raises ``ExactTypeError`` for floats,
    sub-cent amounts and amounts beyond NUMERIC(18,2). This runs once per bound
    value on the bulk paths, so the common case (a Decimal) takes three operations."""
    amount = value if type(value) is Decimal else _as_decimal(value, "Money")
    try:
        scaled = amount * _HUNDRED
        cents = int(scaled)
    except (ValueError, OverflowError):
        raise ExactTypeError(f"Money columns refuse the non-finite value {amount}") from None
    if cents != scaled:
        raise ExactTypeError(f"Money columns refuse sub-cent amount {amount}")
    if not -_MONEY_LIMIT_CENTS < cents < _MONEY_LIMIT_CENTS:
        raise ExactTypeError(f"amount {amount} does not fit NUMERIC(18,2)")
    return cents


def check_money(value: object) -> Decimal:
    """``value`` as a Decimal with exactly two places; raises ``ExactTypeError`` like
    ``money_cents``."""
    return Decimal(money_cents(value)).scaleb(-MONEY_PLACES)


def canonical_rate(value: Decimal) -> Decimal:
    """The shortest exact spelling of a rate: 0.18000000 -> 0.18, 2.0 -> 2."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def check_rate(value: object) -> Decimal:
    """``value`` as a canonical Decimal; raises ``ExactTypeError`` for floats and for
    values that NUMERIC(12,8) would round or could not hold."""
    rate = _as_decimal(value, "Rate")
    if rate.quantize(Decimal(1).scaleb(-RATE_PLACES)) != rate:
        raise ExactTypeError(f"Rate columns keep at most {RATE_PLACES} decimals, got {rate}")
    if abs(rate) >= _RATE_LIMIT:
        raise ExactTypeError(f"rate {rate} does not fit NUMERIC(12,8)")
    return canonical_rate(rate)


class Money(TypeDecorator[Decimal]):
    """An exact amount with two decimal places (signed)."""

    impl = Numeric(MONEY_DIGITS, MONEY_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        cents = money_cents(value)
        if dialect.name == "sqlite":
            return cents
        return Decimal(cents).scaleb(-MONEY_PLACES)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-MONEY_PLACES)
        return Decimal(value).quantize(CENTS)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return str(self.process_bind_param(value, dialect))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class Rate(TypeDecorator[Decimal]):
    """An exact annual rate such as 0.18 (18%), up to 8 decimals."""

    impl = Numeric(RATE_DIGITS, RATE_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(RATE_DIGITS, RATE_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        rate = check_rate(value)
        return str(rate) if dialect.name == "sqlite" else rate

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return canonical_rate(Decimal(value))

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        return str(check_rate(value))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal

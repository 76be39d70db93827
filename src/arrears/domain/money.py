"""Exact money: ``Decimal`` amounts tagged with a currency.

Amounts are kept unrounded through intermediate arithmetic and quantized to the
currency's minor unit only where a rule says so (``Money.quantize``), always with
ROUND_HALF_UP, the convention of Chinese banks and of most loan contracts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from arrears.domain.errors import CurrencyMismatch, DomainError

DEFAULT_CURRENCY = "CNY"

# ISO 4217 minor units for the currencies a lender here is likely to book.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "MYR": 2,
    "THB": 2,
    "PHP": 2,
    "INR": 2,
    "IDR": 2,
    "AUD": 2,
    "CAD": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
}

ZERO = Decimal(0)
# an optional sign, digits with optional thousands commas, an optional fraction
_AMOUNT = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|[+-]?\.\d+")
CENT = Decimal("0.01")

Number = int | Decimal


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency`` as a Decimal exponent (0.01 for CNY, 1 for JPY)."""
    try:
        places = MINOR_UNITS[currency]
    except KeyError:
        raise DomainError(f"unknown currency {currency!r}") from None
    return Decimal(1).scaleb(-places)


def quantize(amount: Decimal, currency: str = DEFAULT_CURRENCY) -> Decimal:
    """Round ``amount`` half-up to the minor unit of ``currency``."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def to_decimal(value: object) -> Decimal:
    """Convert user input (str, int, Decimal) to Decimal; floats are refused.

    A float has already lost the cents (0.1 + 0.2 != 0.3), so accepting one would
    hide the very error this type exists to prevent.
    """
    if isinstance(value, bool):
        raise DomainError(f"not an amount: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        result = parse_amount(value)
    else:
        raise DomainError(f"amounts must be Decimal, int or str, not {type(value).__name__}")
    if not result.is_finite():
        raise DomainError(f"not a finite amount: {value!r}")
    return result


def parse_amount(text: str) -> Decimal:
    """An amount as people write it: an optional sign, digits with optional thousands
    commas, an optional fraction ("1,234.50", "-0.01"). Anything else ("1.234,50",
    "12,34", "1e3", "¥100") raises DomainError rather than being guessed at."""
    stripped = text.strip()
    if not _AMOUNT.fullmatch(stripped):
        raise DomainError(
            f"not an amount: {text!r} (write 1234.50 or 1,234.50; commas only between "
            "groups of three digits)"
        )
    try:
        return Decimal(stripped.replace(",", ""))
    except InvalidOperation:
        raise DomainError(f"not an amount: {text!r}") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency. Arithmetic across currencies raises ``CurrencyMismatch``."""

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            object.__setattr__(self, "amount", to_decimal(self.amount))
        minor_unit(self.currency)  # validates the currency code

    @classmethod
    def of(cls, value: object, currency: str = DEFAULT_CURRENCY) -> Money:
        """Parse ``value`` ("1,234.50", 100, Decimal) into Money, refusing floats."""
        return cls(to_decimal(value), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(ZERO, currency)

    def _check(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Number) -> Money:
        if isinstance(factor, float | Money | bool):
            raise TypeError(f"Money can only be multiplied by Decimal or int, not {factor!r}")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def quantize(self) -> Money:
        """This amount rounded half-up to the currency's minor unit."""
        return Money(quantize(self.amount, self.currency), self.currency)

    def is_quantized(self) -> bool:
        return self.amount == quantize(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{quantize(self.amount, self.currency):,} {self.currency}"


def money_sum(items: list[Money] | tuple[Money, ...], currency: str = DEFAULT_CURRENCY) -> Money:
    """Sum of ``items`` (all in ``currency``); the empty sum is zero."""
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total

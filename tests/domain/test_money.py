"""Money: exact Decimal amounts, one currency at a time, half-up at the minor unit."""

from __future__ import annotations

import operator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.errors import CurrencyMismatch, DomainError
from arrears.domain.money import Money, minor_unit, money_sum, quantize, to_decimal

CNY = Money.of("10.00")
USD = Money.of("10.00", "USD")


@pytest.mark.parametrize("op", [operator.add, operator.sub], ids=["add", "sub"])
def test_arithmetic_across_currencies_raises_currency_mismatch(op):
    with pytest.raises(CurrencyMismatch) as info:
        op(CNY, USD)
    assert (info.value.left, info.value.right) == ("CNY", "USD")
    assert "CNY" in str(info.value) and "USD" in str(info.value)


@pytest.mark.parametrize(
    "op", [operator.lt, operator.le, operator.gt, operator.ge], ids=["lt", "le", "gt", "ge"]
)
def test_ordering_across_currencies_raises_currency_mismatch(op):
    with pytest.raises(CurrencyMismatch):
        op(CNY, USD)


def test_currency_mismatch_is_a_domain_error():
    assert issubclass(CurrencyMismatch, DomainError)


def test_equal_amounts_in_different_currencies_are_not_equal():
    assert CNY != USD
    assert Money.of("10.00") == Money.of("10")


def test_same_currency_arithmetic_and_ordering():
    a, b = Money.of("10.25"), Money.of("0.75")
    assert a + b == Money.of("11.00")
    assert a - b == Money.of("9.50")
    assert -a == Money.of("-10.25")
    assert b < a and b <= a and a > b and a >= b and a >= a
    assert a * 3 == Money.of("30.75")
    assert 3 * a == Money.of("30.75")
    assert a * Decimal("0.5") == Money(Decimal("5.125"))


def test_money_and_plain_numbers_do_not_mix():
    with pytest.raises(TypeError):
        CNY + Decimal(1)
    with pytest.raises(TypeError):
        CNY * CNY


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), True, None, [1]])
def test_floats_and_non_amounts_are_refused(value):
    with pytest.raises(DomainError):
        Money.of(value)


def test_float_given_directly_to_money_is_refused():
    with pytest.raises(DomainError):
        Money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("factor", [1.5, 0.0, True])
def test_multiplying_by_float_or_bool_raises_type_error(factor):
    with pytest.raises(TypeError):
        CNY * factor
    with pytest.raises(TypeError):
        factor * CNY


@pytest.mark.parametrize("text", ["abc", "", "   ", "NaN", "Infinity", "-inf", "1.2.3"])
def test_text_that_is_not_a_finite_amount_is_refused(text):
    with pytest.raises(DomainError):
        to_decimal(text)


def test_unknown_currency_is_refused():
    with pytest.raises(DomainError, match="XYZ"):
        Money.of("1", "XYZ")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2.345", "2.35"),
        ("-2.345", "-2.35"),
        ("2.344999", "2.34"),
        ("2.335", "2.34"),
        ("2.325", "2.33"),  # half-up, not banker's rounding (half-even gives 2.32 here)
        ("0.005", "0.01"),
        ("-0.005", "-0.01"),
        ("0.00499", "0.00"),
        ("7", "7.00"),
    ],
)
def test_quantize_rounds_half_up_to_cents(raw, expected):
    result = Money.of(raw).quantize()
    assert result.amount == Decimal(expected)
    assert str(result.amount) == expected  # exponent is the minor unit, not just equal value
    assert result.is_quantized()


@pytest.mark.parametrize(
    ("raw", "expected"), [("1234.5", "1235"), ("1234.49", "1234"), ("-0.5", "-1"), ("12", "12")]
)
def test_jpy_has_no_decimals(raw, expected):
    assert minor_unit("JPY") == Decimal(1)
    result = Money.of(raw, "JPY").quantize()
    assert str(result.amount) == expected
    assert not Money.of("1.5", "JPY").is_quantized()
    assert Money.of("1.50", "CNY").is_quantized()


def test_parsing_with_thousands_separators():
    assert Money.of("1,234.50").amount == Decimal("1234.50")
    assert Money.of(" 1,234,567.89 ").amount == Decimal("1234567.89")
    assert Money.of("-1,000").amount == Decimal("-1000")
    assert Money.of(100).amount == Decimal(100)
    assert Money.of(Decimal("0.1")).amount == Decimal("0.1")


def test_str_shows_quantized_amount_with_separators():
    assert str(Money.of("1234567.891")) == "1,234,567.89 CNY"
    assert str(Money.of("1234.5", "JPY")) == "1,235 JPY"


def test_money_sum():
    assert money_sum([]) == Money.zero()
    assert money_sum([Money.of("0.10"), Money.of("0.20")]) == Money.of("0.30")
    with pytest.raises(CurrencyMismatch):
        money_sum([Money.of("1", "USD")])


def test_zero_is_falsy_and_other_amounts_truthy():
    assert not Money.zero()
    assert Money.of("0.01")
    assert Money.of("-0.01")


@given(st.integers(-(10**12), 10**12), st.integers(0, 99))
def test_quantize_is_idempotent_and_within_half_a_cent(cents, extra_thousandths):
    # an amount with three decimals: cents plus 0..0.0099 spread over a 3rd/4th place
    raw = Decimal(cents).scaleb(-2) + Decimal(extra_thousandths).scaleb(-4)
    q = quantize(raw)
    assert quantize(q) == q
    assert abs(q - raw) <= Decimal("0.005")
    assert q == q.quantize(Decimal("0.01"))

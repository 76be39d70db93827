"""Money and Rate columns keep amounts exact on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from arrears.store.types import ExactTypeError, Money, Rate, check_money, check_rate

AMOUNTS = ["12345678901234.56", "-0.01", "0", "0.10", "-99999999999999.99", "1"]
RATES = ["0.18", "0.00000001", "1.5", "0", "0.0005", "9999.99999999"]


@pytest.fixture
def exact_table(engine: Engine) -> Table:
    metadata = MetaData()
    table = Table(
        "exact_values",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("amount", Money),
        Column("rate", Rate),
    )
    metadata.create_all(engine)
    return table


def test_money_and_rate_round_trip_exactly(engine: Engine, exact_table: Table) -> None:
    rows = [
        {"id": i, "amount": Decimal(a), "rate": Decimal(r)}
        for i, (a, r) in enumerate(zip(AMOUNTS, RATES, strict=True))
    ]
    with engine.begin() as connection:
        connection.execute(insert(exact_table), rows)
    with engine.connect() as connection:
        got = connection.execute(select(exact_table).order_by(exact_table.c.id)).all()
    for row, amount, rate in zip(got, AMOUNTS, RATES, strict=True):
        assert isinstance(row.amount, Decimal) and isinstance(row.rate, Decimal)
        assert row.amount == Decimal(amount)
        assert row.amount.as_tuple().exponent == -2  # always two places
        assert str(row.rate) == str(check_rate(Decimal(rate)))


def test_null_round_trips(engine: Engine, exact_table: Table) -> None:
    with engine.begin() as connection:
        connection.execute(insert(exact_table), [{"id": 1, "amount": None, "rate": None}])
        row = connection.execute(select(exact_table)).one()
    assert row.amount is None and row.rate is None


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("amount", 0.1, "refuse float"),
        ("amount", Decimal("0.001"), "sub-cent"),
        ("amount", Decimal("1E+16"), "does not fit"),
        ("amount", True, "refuse bool"),
        ("rate", 0.18, "refuse float"),
        ("rate", Decimal("0.123456789"), "at most 8 decimals"),
    ],
)
def test_inexact_values_are_refused(
    engine: Engine, exact_table: Table, column: str, value: object, message: str
) -> None:
    with pytest.raises(StatementError, match=message) as info, engine.begin() as connection:
        connection.execute(insert(exact_table), [{"id": 1, column: value}])
    assert isinstance(info.value.orig, ExactTypeError)
    with engine.connect() as connection:
        assert connection.execute(select(exact_table)).all() == []


def test_check_money_pads_to_two_places() -> None:
    assert str(check_money(Decimal("5"))) == "5.00"
    assert str(check_money(Decimal("5.100"))) == "5.10"
    assert str(check_money(7)) == "7.00"
    with pytest.raises(ExactTypeError):
        check_money("1.00")

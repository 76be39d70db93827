"""Cell parsing and kind detection, without a database."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from arrears.ingest.errors import FieldError, FileError
from arrears.ingest.spec import (
    LOANS,
    RowParser,
    check_header,
    detect_kind,
    fits_places,
    normalize_header,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_text,
    parse_time_zone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        (" 1234.5 ", Decimal("1234.5")),
        ("-0.01", Decimal("-0.01")),
        ("1,000,000", Decimal("1000000")),
        (0.1, Decimal("0.1")),
        (12000, Decimal("12000")),
        (Decimal("3.10"), Decimal("3.10")),
    ],
)
def test_amounts(raw: object, expected: Decimal) -> None:
    value = parse_decimal(raw)
    assert value == expected and str(value) == str(expected)


@pytest.mark.parametrize("raw", ["12,34", "1.234,50", "1,2,3", "¥100", "1e3", "NaN", "", True])
def test_amounts_refused(raw: object) -> None:
    with pytest.raises(FieldError, match="not a number"):
        parse_decimal(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-05", date(2024, 1, 5)),
        ("2024/01/05", date(2024, 1, 5)),
        ("2024/1/5", date(2024, 1, 5)),
        ("20240105", date(2024, 1, 5)),
        (20240105, date(2024, 1, 5)),
        (datetime(2024, 1, 5, 13, 30), date(2024, 1, 5)),
        (date(2024, 1, 5), date(2024, 1, 5)),
    ],
)
def test_dates(raw: object, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2024-02-30", "05/01/2024", "2024-1-5x", "2024.01.05", 45000.0])
def test_dates_refused(raw: object) -> None:
    with pytest.raises(FieldError, match="not a date"):
        parse_date(raw)


def test_text_integers_places_and_zones() -> None:
    assert parse_text(10001.0) == "10001" and parse_text(" C1 ") == "C1"
    with pytest.raises(FieldError, match="format the column as text"):
        parse_text(1.5)
    assert parse_integer("12") == 12 and parse_integer(12.0) == 12
    with pytest.raises(FieldError, match="not a whole number"):
        parse_integer("12.5")
    assert fits_places(Decimal("1.50"), 2) and fits_places(Decimal("1.500"), 2)
    assert not fits_places(Decimal("1.005"), 2) and not fits_places(Decimal("0.5"), 0)
    assert parse_time_zone("Asia/Hong_Kong") == "Asia/Hong_Kong"
    with pytest.raises(FieldError, match="unknown time zone 'Mars/Olympus'"):
        parse_time_zone("Mars/Olympus")


def test_detect_kind() -> None:
    assert detect_kind(["customer_id", "name"]) == "customers"
    assert detect_kind(["loan_id", "customer_id", "product_code"]) == "loans"
    assert detect_kind(["payment_ref", "loan_id", "amount"]) == "payments"
    assert detect_kind(["loan_id", "customer_id", "principal", "colour"]) == "loans"
    with pytest.raises(FileError, match="none of customer_id"):
        detect_kind(["name", "amount"])
    with pytest.raises(FileError, match="loans or payments"):
        detect_kind(["customer_id", "loan_id", "payment_ref"])


def test_header_checks_and_row_parsing() -> None:
    header = normalize_header(
        ["\ufeffLoan_ID ", " CUSTOMER_ID", "product_code", "principal", "disbursed_on"]
    )
    positions = check_header(LOANS, header)
    parse = RowParser(LOANS, positions)
    record, errors = parse(["L1", "C1", "CONSUMER", "1,000", "2024-01-15"])
    assert errors == [] and record["principal"] == Decimal("1000") and record["term_months"] is None
    record, errors = parse(["L1", "", "CONSUMER", "x", "2024-01-15", "extra"])
    assert errors == [
        ("customer_id", "required value is missing"),
        ("principal", "not a number: 'x'"),
        ("(row)", "has 6 values but the header has 5"),
    ]
    with pytest.raises(FileError, match="column loan_id appears twice"):
        check_header(LOANS, [*header, "loan_id"])
    with pytest.raises(FileError, match="column 6 of the header is blank"):
        check_header(LOANS, [*header, ""])

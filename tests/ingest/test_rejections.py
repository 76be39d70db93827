"""A malformed corpus: each bad file is refused with file, row, field and reason, and
the store is left exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_corpus import (
    CUSTOMER_HEADER,
    LOAN_HEADER,
    counts,
    write_csv,
    write_parquet,
    write_xlsx,
)
from sqlalchemy import Engine

from arrears.ingest import ImportRejected

Importer = Callable[..., Any]


def _rejected(importer: Importer, engine: Engine, path: Path, **kwargs: Any) -> str:
    before = counts(engine)
    with pytest.raises(ImportRejected) as info:
        importer(path, **kwargs)
    assert counts(engine) == before, "a rejected import must write nothing"
    return str(info.value)


def test_missing_required_column(
    with_customers: Engine, importer: Importer, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        ["loan_id", "customer_id", "product_code", "disbursed_on"],
        [["L1", "C1", "CONSUMER", "2024-01-15"]],
    )
    message = _rejected(importer, with_customers, path, kind="loans")
    assert message == "loans.csv: missing required columns: principal; nothing was imported"


def test_unknown_column(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        [*LOAN_HEADER, "Colour "],
        [["L1", "C1", "CONSUMER", "100", "2024-01-15", "red"]],
    )
    message = _rejected(importer, with_customers, path)
    assert message.startswith(
        "loans.csv: unknown columns for a loans file: colour (known: loan_id,"
    )


def test_bad_date(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", "100", "2024-01-15"],
            ["L2", "C1", "CONSUMER", "100", "2024-13-01"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert (
        "loans.csv: row 3, field disbursed_on: not a date: '2024-13-01' "
        "(write YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)" in message
    )
    assert message.startswith("loans.csv: 1 of 2 rows rejected (1 error); nothing was imported")


def test_negative_amount(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L2", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L3", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L4", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L5", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L6", "C1", "CONSUMER", "-100", "2024-01-15"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert "loans.csv: row 7, field principal: must be positive, got -100" in message


def test_too_many_decimals(with_loans: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "payments.csv",
        ["payment_ref", "loan_id", "paid_on", "amount"],
        [
            ["P1", "L1", "2024-02-15", "1,100.005"],
        ],
    )
    message = _rejected(importer, with_loans, path)
    assert "payments.csv: row 2, field amount: has more than 2 decimals: 1100.005" in message
    loans = write_csv(
        tmp_path / "loans.csv", LOAN_HEADER, [["L9", "C1", "CONSUMER", "10.001", "2024-01-15"]]
    )
    message = _rejected(importer, with_loans, loans)
    assert (
        "loans.csv: row 2, field principal: has more decimals than CNY allows (2): 10.001"
        in message
    )


def test_duplicate_id_in_file(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L2", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L1", "C2", "CONSUMER", "2000", "2024-01-15"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert "loans.csv: row 4, field loan_id: duplicate loan_id L1 (rows 2 and 4)" in message


def test_unknown_product(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "loans.csv", LOAN_HEADER, [["L1", "C1", "MORTGAGE", "1000", "2024-01-15"]]
    )
    message = _rejected(importer, with_customers, path)
    assert (
        "loans.csv: row 2, field product_code: unknown product 'MORTGAGE' "
        "(known: CARD, CONSUMER, MICRO, SME)" in message
    )


def test_unknown_customer(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L2", "C404", "CONSUMER", "1000", "2024-01-15"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert (
        "loans.csv: row 3, field customer_id: unknown customer C404 (import the customers first)"
        in message
    )


def test_unknown_loan_and_payment_before_disbursement(
    with_loans: Engine, importer: Importer, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "payments.csv",
        ["payment_ref", "loan_id", "paid_on", "amount", "currency"],
        [
            ["P1", "L404", "2024-02-15", "100", ""],
            ["P2", "L1", "2024-01-10", "100", ""],
            ["P3", "L1", "2024-02-10", "100", "USD"],
        ],
    )
    message = _rejected(importer, with_loans, path)
    assert "row 2, field loan_id: unknown loan L404 (import the loans first)" in message
    assert (
        "row 3, field paid_on: 2024-01-10 is before the loan's disbursement on 2024-01-15"
        in message
    )
    assert "row 4, field currency: must be CNY, the loan's currency, got USD" in message


def test_gbk_file_read_as_utf8_is_refused_clearly(
    engine: Engine, importer: Importer, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [["C1", "张三", "individual", "13800000001"]],
        encoding="gbk",
    )
    message = _rejected(importer, engine, path)
    assert message == (
        "customers.csv: not valid UTF-8 at row 2; if it was saved in a Chinese-locale Excel, "
        "pass --encoding gbk; nothing was imported"
    )


def test_empty_and_header_only_files(engine: Engine, importer: Importer, tmp_path: Path) -> None:
    empty = tmp_path / "customers.csv"
    empty.write_bytes(b"")
    assert (
        _rejected(importer, engine, empty)
        == "customers.csv: the file is empty; nothing was imported"
    )
    header_only = write_csv(tmp_path / "loans.csv", LOAN_HEADER, [])
    assert _rejected(importer, engine, header_only) == (
        "loans.csv: has a header but no data rows; nothing was imported"
    )


def test_xlsx_with_a_bad_row(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    from datetime import datetime

    path = write_xlsx(
        tmp_path / "loans.xlsx",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", 1000, datetime(2024, 1, 15)],
            ["L2", "C1", "CONSUMER", 1000, "15.01.2024"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert (
        "loans.xlsx: row 3, field disbursed_on: not a date: '15.01.2024' "
        "(write YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)" in message
    )


def test_parquet_with_a_bad_row(with_customers: Engine, importer: Importer, tmp_path: Path) -> None:
    from datetime import date
    from decimal import Decimal

    path = write_parquet(
        tmp_path / "loans.parquet",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", Decimal("1000.00"), date(2024, 1, 15)],
            ["L2", "C1", "CONSUMER", Decimal("0.00"), date(2024, 1, 15)],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert "loans.parquet: row 3, field principal: must be positive, got 0.00" in message


def test_future_disbursement_and_bad_first_due(
    with_customers: Engine, importer: Importer, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        [*LOAN_HEADER, "first_due_date"],
        [
            ["L1", "C1", "CONSUMER", "1000", "2024-07-01", ""],
            ["L2", "C1", "CONSUMER", "1000", "2024-01-15", "2024-01-15"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert "row 2, field disbursed_on: is in the future: 2024-07-01 is after 2024-06-30" in message
    assert (
        "row 3, field first_due_date: must be after disbursed_on 2024-01-15, got 2024-01-15"
        in message
    )


def test_ambiguous_header(engine: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "mixed.csv", ["customer_id", "loan_id", "payment_ref"], [["C", "L", "P"]]
    )
    message = _rejected(importer, engine, path)
    assert message == (
        "mixed.csv: cannot tell whether the file holds loans or payments: its header "
        "has columns of each; pass the kind explicitly (--kind); nothing was imported"
    )


def test_many_bad_rows_are_counted_but_only_the_first_thousand_kept(
    engine: Engine, importer: Importer, tmp_path: Path
) -> None:
    rows = [[f"C{i}", f"name {i}", "individual", "", "Mars/Olympus"] for i in range(1200)]
    path = write_csv(tmp_path / "customers.csv", [*CUSTOMER_HEADER, "time_zone"], rows)
    before = counts(engine)
    with pytest.raises(ImportRejected) as info:
        importer(path)
    report = info.value.report
    assert (report.error_count, len(report.errors), report.rows_rejected) == (1200, 1000, 1200)
    assert report.batch_id is None and report.rows_imported == 0
    assert str(report.errors[0]) == (
        "customers.csv: row 2, field time_zone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name such as Asia/Shanghai)"
    )
    assert "... and 1150 more errors" in str(info.value)
    assert counts(engine) == before


def test_rate_and_term_out_of_range(
    with_customers: Engine, importer: Importer, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        [*LOAN_HEADER, "annual_rate", "term_months", "currency"],
        [
            ["L1", "C1", "CONSUMER", "1000", "2024-01-15", "18", "12", ""],
            ["L2", "C1", "CONSUMER", "1000", "2024-01-15", "0.18", "0", "usd"],
        ],
    )
    message = _rejected(importer, with_customers, path)
    assert (
        "row 2, field annual_rate: must be between 0 and 1 (write 0.18 for 18%), got 18" in message
    )
    assert "row 3, field term_months: must be between 1 and 480, got 0" in message
    assert "row 3, field currency: must be CNY for product CONSUMER, got USD" in message

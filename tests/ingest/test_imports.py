"""Good files go in whole, once; the same data from CSV, Excel and Parquet is stored
identically; schedules and disbursements are the domain's."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ingest_corpus import (
    CUSTOMER_HEADER,
    CUSTOMERS,
    LOAN_HEADER,
    LOANS,
    counts,
    write_csv,
    write_parquet,
    write_xlsx,
)
from sqlalchemy import Engine, delete, select

from arrears.domain.ledger import Account, EntryKind
from arrears.domain.products import Catalog
from arrears.domain.schedule import LoanTerms, build_schedule
from arrears.ingest import ImportRejected
from arrears.store.models import TABLES
from arrears.store.unit_of_work import UnitOfWork

Importer = Callable[..., Any]
PAYMENT_HEADER = ["payment_ref", "loan_id", "paid_on", "amount", "channel"]


def test_customers_import_with_defaults(engine: Engine, importer: Importer, tmp_path: Path) -> None:
    report = importer(write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, CUSTOMERS))
    assert (report.kind, report.rows_total, report.rows_imported, report.error_count) == (
        "customers",
        3,
        3,
        0,
    )
    with UnitOfWork(engine) as uow:
        c2 = uow.customers.get("C2")
        c3 = uow.customers.get("C3")
        batch = uow.import_batches.get(report.batch_id)
    assert c2 is not None and c3 is not None and batch is not None
    assert (c2.name, c2.customer_type, c2.time_zone, c2.language) == (
        "李四",
        "individual",
        "Asia/Shanghai",
        "zh_CN",
    )
    assert (c3.customer_type, c3.mobile, c3.import_batch_id) == ("sme", None, report.batch_id)
    assert (batch.kind, batch.rows_imported, batch.status) == ("customers", 3, "imported")


def test_gbk_file_with_encoding_option(engine: Engine, importer: Importer, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, CUSTOMERS, encoding="gbk")
    importer(path, encoding="gbk")
    with UnitOfWork(engine) as uow:
        names = [uow.customers.get(c[0]).name for c in CUSTOMERS]  # type: ignore[union-attr]
    assert names == [c[1] for c in CUSTOMERS]


def test_loans_store_the_domain_schedule_and_disbursement(
    with_loans: Engine, catalog: Catalog
) -> None:
    with UnitOfWork(with_loans) as uow:
        for loan_id, _, code, principal, _ in LOANS:
            loan = uow.loans.require(loan_id)
            product = catalog.product(code)
            assert loan.principal == Decimal(principal.replace(",", ""))
            assert (loan.annual_rate, loan.term_months) == (
                product.annual_rate,
                product.term_months,
            )
            terms = LoanTerms(loan.principal, loan.annual_rate, loan.term_months, loan.disbursed_on)
            assert uow.loans.terms(loan_id) == terms
            assert uow.loans.schedule(loan_id) == build_schedule(product, terms)
            ledger = uow.entries.ledger(loan_id)
            (entry,) = ledger.entries
            assert (entry.ref, entry.kind, entry.amount) == (
                f"disb:{loan_id}",
                EntryKind.DISBURSEMENT,
                loan.principal,
            )
            assert ledger.balance(Account.NOT_DUE) == loan.principal
        assert uow.loans.require("L2").disbursed_on == date(2024, 2, 1)
        assert uow.products.get("CONSUMER") is not None


def test_payments_go_to_the_inbox(with_loans: Engine, importer: Importer, tmp_path: Path) -> None:
    progress: list[int] = []
    path = write_csv(
        tmp_path / "bank.csv",
        PAYMENT_HEADER,
        [
            ["P1", "L1", "2024-02-15", "1,100.10", "wechat"],
            ["P2", "L2", "2024-03-01", "900", "Bank_Transfer"],
        ],
    )
    report = importer(path, progress=progress.append)
    assert report.kind == "payments" and progress == [2]
    with UnitOfWork(with_loans) as uow:
        p1, p2 = uow.payments.unposted()
    assert (p1.payment_ref, p1.amount, p1.currency, p1.channel) == (
        "P1",
        Decimal("1100.10"),
        "CNY",
        "wechat",
    )
    assert (p2.channel, p2.posted_entry_ref) == ("bank_transfer", None)


def test_reimport_is_a_no_op(with_loans: Engine, importer: Importer, tmp_path: Path) -> None:
    before = counts(with_loans)
    report = importer(tmp_path / "loans.csv")
    assert report.already_imported
    assert report.message.startswith("already imported as batch 2 at ")
    assert "nothing was written" in report.summary()
    assert counts(with_loans) == before


def test_existing_ids_same_values_skip_different_values_refused(
    with_loans: Engine, importer: Importer, tmp_path: Path
) -> None:
    same = write_csv(
        tmp_path / "again.csv",
        LOAN_HEADER,
        [LOANS[0], ["L4", "C1", "CONSUMER", "800", "2024-03-01"]],
    )
    report = importer(same)
    assert (report.rows_skipped, report.rows_imported) == (1, 1)
    changed = write_csv(
        tmp_path / "changed.csv", LOAN_HEADER, [["L1", "C1", "CONSUMER", "2000", "2024-01-15"]]
    )
    before = counts(with_loans)
    with pytest.raises(ImportRejected) as info:
        importer(changed)
    assert (
        "changed.csv: row 2, field principal: loan L1 already exists with principal 12000.00; "
        "this row has 2000.00" in str(info.value)
    )
    assert counts(with_loans) == before


def test_quarantine_writes_good_rows_and_a_rejects_file(
    with_customers: Engine, importer: Importer, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "loans.csv",
        LOAN_HEADER,
        [
            ["L1", "C1", "CONSUMER", "1000", "2024-01-15"],
            ["L2", "C1", "CONSUMER", "-5", "2024-01-15"],
            ["L3", "C9", "CONSUMER", "1000", "2024-01-15"],
            ["L4", "C2", "MICRO", "3000", "2024-02-15"],
        ],
    )
    report = importer(path, quarantine=True)
    assert (report.rows_imported, report.rows_rejected, report.error_count) == (2, 2, 2)
    assert report.rejects_path == tmp_path / "loans.rejects.csv"
    assert "rejected rows written to" in report.summary()
    with report.rejects_path.open(encoding="utf-8-sig", newline="") as handle:
        rejects = list(csv.reader(handle))
    assert rejects == [
        [*LOAN_HEADER, "error_field", "error_reason"],
        ["L2", "C1", "CONSUMER", "-5", "2024-01-15", "principal", "must be positive, got -5"],
        [
            "L3",
            "C9",
            "CONSUMER",
            "1000",
            "2024-01-15",
            "customer_id",
            "unknown customer C9 (import the customers first)",
        ],
    ]
    with UnitOfWork(with_customers) as uow:
        assert uow.loans.get("L1") and uow.loans.get("L4") and not uow.loans.get("L2")
        batch = uow.import_batches.get(report.batch_id)
        assert batch is not None and batch.status == "imported_with_rejects"


def _stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    ignored = {"import_batch_id", "created_at"}
    out = {}
    with engine.connect() as connection:
        for name in ("loans", "installments", "entries", "legs"):
            table = TABLES[name]
            columns = [c for c in table.columns if c.name not in ignored]
            query = select(*columns).order_by(*table.primary_key.columns)
            out[name] = [tuple(row) for row in connection.execute(query)]
    return out


def _forget_loans(engine: Engine) -> None:
    with engine.begin() as connection:
        for name in ("legs", "entries", "installments", "loans"):
            connection.execute(delete(TABLES[name]))


def test_csv_xlsx_and_parquet_store_identical_rows(
    with_customers: Engine, importer: Importer, tmp_path: Path
) -> None:
    header = [*LOAN_HEADER, "annual_rate", "term_months", "first_due_date"]
    text_rows = [
        ["L1", "C1", "CONSUMER", "12,000.00", "2024-01-15", "0.18", "12", ""],
        ["L2", "C2", "MICRO", "5000", "2024/02/01", "", "", "2024-03-10"],
        ["L3", "C3", "SME", "300000.5", "20240301", "0.065", "24", ""],
    ]
    excel_rows = [
        ["L1", "C1", "CONSUMER", 12000, datetime(2024, 1, 15), 0.18, 12, None],
        ["L2", "C2", "MICRO", 5000.0, date(2024, 2, 1), None, None, "2024-03-10"],
        ["L3", "C3", "SME", 300000.5, "20240301", 0.065, 24.0, None],
    ]
    parquet_rows = [
        ["L1", "C1", "CONSUMER", Decimal("12000.00"), date(2024, 1, 15), Decimal("0.18"), 12, None],
        ["L2", "C2", "MICRO", Decimal("5000"), date(2024, 2, 1), None, None, date(2024, 3, 10)],
        ["L3", "C3", "SME", Decimal("300000.50"), date(2024, 3, 1), Decimal("0.065"), 24, None],
    ]
    stored = []
    for path in (
        write_csv(tmp_path / "loans.csv", header, text_rows),
        write_xlsx(tmp_path / "loans.xlsx", header, excel_rows),
        write_parquet(tmp_path / "loans.parquet", header, parquet_rows),
    ):
        assert importer(path).rows_imported == 3
        stored.append(_stored(with_customers))
        _forget_loans(with_customers)
    assert stored[0] == stored[1] == stored[2]
    assert len(stored[0]["installments"]) == 12 + 6 + 24

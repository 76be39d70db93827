"""The import test corpus: rows, file writers (CSV, xlsx, Parquet) and table counts."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from arrears.store.models import TABLES

AS_OF = date(2024, 6, 30)
CUSTOMER_HEADER = ["customer_id", "name", "customer_type", "mobile"]
CUSTOMERS = [
    ["C1", "张三", "individual", "13800000001"],
    ["C2", "李四", "", "13800000002"],
    ["C3", "深圳市某某科技有限公司", "sme", ""],
]
LOAN_HEADER = ["loan_id", "customer_id", "product_code", "principal", "disbursed_on"]
LOANS = [
    ["L1", "C1", "CONSUMER", "12,000.00", "2024-01-15"],
    ["L2", "C2", "MICRO", "5000", "2024/02/01"],
    ["L3", "C3", "SME", "300000.50", "20240301"],
]

Rows = Sequence[Sequence[Any]]


def write_csv(path: Path, header: Sequence[str], rows: Rows, encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Rows) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def write_parquet(path: Path, header: Sequence[str], rows: Rows) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    pq.write_table(pa.table(columns), path)
    return path


def counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the store."""
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in TABLES.items()
        }

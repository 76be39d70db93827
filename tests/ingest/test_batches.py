"""Column-by-column parsing gives what row-by-row parsing gives, and the Parquet
reader skips exactly the blank rows."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.ingest.batches import BatchParser
from arrears.ingest.readers import NOT_SPACE, ParquetReader, _blank
from arrears.ingest.spec import LOANS, PAYMENTS, RowParser, check_header

ODD_CELLS: list[Any] = [
    None, "", "  ", "\x1c", " L1 ", "C1", "consumer", "CONSUMER", "1,000.50", "1.234,50", "x",
    "2024-01-15", "2024/1/5", "20240230", "12", "12.5", " 0.18 ", 12, 12.0, 12.5, True,
    Decimal("1000.00"), Decimal("NaN"), date(2024, 1, 15), datetime(2024, 1, 15, 9, 30),
    "wechat", "WeChat", "cny", 10001.0,
]  # fmt: skip


def _compare(spec: Any, header: list[str], rows: list[Any], types: Any = None) -> None:
    positions = check_header(spec, header)
    records, errors = BatchParser(spec, positions, types)(rows)
    by_row = [RowParser(spec, positions)(cells) for cells in rows]
    assert records == [r for r, _ in by_row]
    assert [list(e) for e in errors] == [e for _, e in by_row]


def test_batches_parse_like_rows_whatever_the_cells() -> None:
    rng = random.Random(3)
    for spec in (LOANS, PAYMENTS):
        header = list(spec.names)
        rows = []
        for _ in range(3000):
            width = len(header) + rng.choice([0, 0, 0, -2, 1])  # ragged rows too
            rows.append([rng.choice(ODD_CELLS) for _ in range(width)])
        _compare(spec, header, rows)
        _compare(spec, header, [r for r in rows if len(r) == len(header)])


def test_typed_columns_parse_like_rows() -> None:
    header = ["payment_ref", "loan_id", "paid_on", "amount", "channel"]
    types = ["text", "text", "date", "decimal", "text"]
    rows = [
        [" P1 ", "L1", date(2024, 1, 2), Decimal("10.50"), "wechat"],
        [None, "  ", None, None, None],
        ["P3", "L1", date(2024, 1, 3), Decimal("-1"), "Card "],
        ["P4", "\u3000", date(2024, 1, 4), Decimal("0.001"), "bad"],
    ]
    _compare(PAYMENTS, header, rows, types)


def test_not_space_is_everything_str_strip_keeps() -> None:
    chars = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    matched = pc.match_substring_regex(pa.array(chars), NOT_SPACE).to_pylist()
    assert matched == [not c.isspace() for c in chars]


def test_parquet_reader_skips_exactly_the_blank_rows(tmp_path: Path) -> None:
    rows = [
        ["P1", Decimal("1.00"), date(2024, 1, 1)],
        [None, None, None],
        [" ", None, None],
        ["\x1c\u3000", None, None],
        [None, Decimal("0"), None],
        ["x", None, None],
        [None, None, date(2024, 1, 1)],
    ]
    table = pa.table(
        {
            "payment_ref": pa.array([r[0] for r in rows], pa.string()),
            "amount": pa.array([r[1] for r in rows], pa.decimal128(18, 2)),
            "paid_on": pa.array([r[2] for r in rows], pa.date32()),
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    with ParquetReader(tmp_path / "p.parquet") as reader:
        got = list(reader.rows())
        batched = [
            (n, list(cells))
            for numbers, rows_, _ in reader.batches(3)
            for n, cells in zip(numbers, rows_, strict=True)
        ]
    want = [(n, r) for n, r in enumerate(rows, start=2) if not _blank(r)]
    assert got == want == batched
    assert [n for n, _ in want] == [2, 6, 7, 8]

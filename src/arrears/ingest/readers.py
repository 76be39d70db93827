"""Streaming row readers for CSV, Excel (.xlsx) and Parquet.

Each reader yields ``(row_number, cells)`` one row at a time and never holds the
file: CSV is decoded line by line (so a bad byte is reported with its row), Excel is
read with openpyxl in read-only mode, Parquet batch by batch. Row numbers are what a
spreadsheet shows: the header is row 1, the first data row is row 2 (Parquet has no
header row, but its data rows are numbered from 2 as well, so the numbers match a CSV
export of the same table). Completely blank rows are skipped but still counted.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from arrears.ingest.errors import FileError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
PARQUET_BATCH_ROWS = 10_000


class TableReader:
    """A header and an iterator of data rows; use as a context manager."""

    header: list[Any]

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> TableReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


class CsvReader(TableReader):
    """CSV text in ``encoding`` (UTF-8 by default, with or without a BOM; ``gbk`` for
    files saved by a Chinese-locale Excel). The delimiter is ',' (tab for .tsv)."""

    def __init__(self, path: Path, encoding: str = "utf-8") -> None:
        self.path = path
        self.encoding = codecs.lookup(encoding).name
        self._file = path.open("rb")
        self._records = 0  # records read so far, header included
        self._reader = csv.reader(self._lines(), delimiter="\t" if path.suffix == ".tsv" else ",")
        header = self._next()
        if header is None:
            raise FileError("the file is empty")
        self.header = header

    def _lines(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        first = True
        for raw in self._file:
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError:
                raise FileError(self._decode_problem()) from None
            if first:
                text, first = text.removeprefix("\ufeff"), False
            yield text
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileError(self._decode_problem()) from None
        if tail:
            yield tail

    def _decode_problem(self) -> str:
        row = self._records + 1
        if self.encoding in ("utf-8", "utf-8-sig"):
            return (
                f"not valid UTF-8 at row {row}; if it was saved in a Chinese-locale Excel, "
                "pass --encoding gbk"
            )
        return f"not valid {self.encoding} at row {row}; check the file's encoding"

    def _next(self) -> list[str] | None:
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise FileError(f"row {self._records + 1}: not valid CSV: {exc}") from None
            self._records += 1
            if self._records == 1 or "".join(cells).strip():
                return cells

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        while (cells := self._next()) is not None:
            yield self._records, cells

    def close(self) -> None:
        self._file.close()


class ExcelReader(TableReader):
    """The first sheet (or ``sheet``) of an .xlsx workbook, read-only and streaming."""

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        from openpyxl import load_workbook  # imported here: only Excel imports pay for it

        try:
            self._book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            raise FileError(f"cannot be read as an Excel workbook ({exc})") from None
        if sheet is not None and sheet not in self._book.sheetnames:
            self._book.close()
            raise FileError(f"has no sheet {sheet!r} (sheets: {', '.join(self._book.sheetnames)})")
        self._sheet = self._book[sheet] if sheet is not None else self._book.worksheets[0]
        self._rows = enumerate(self._sheet.iter_rows(values_only=True), start=1)
        header = next(self._rows, None)
        if header is None:
            raise FileError("the sheet is empty")
        cells = list(header[1])
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            raise FileError("the sheet is empty")
        self.header = cells

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        width = len(self.header)
        for number, values in self._rows:
            cells = list(values)
            if _blank(cells):
                continue
            if len(cells) < width:
                cells += [None] * (width - len(cells))
            yield number, cells

    def close(self) -> None:
        self._book.close()


class ParquetReader(TableReader):
    """A Parquet file, read ``PARQUET_BATCH_ROWS`` rows at a time; data rows are
    numbered from 2 as if the column names were row 1."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise FileError(f"cannot be read as Parquet ({exc})") from None
        self.header = list(self._file.schema_arrow.names)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        number = 1
        for batch in self._file.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            columns = [column.to_pylist() for column in batch.columns]
            for cells in zip(*columns, strict=True):
                number += 1
                if not _blank(list(cells)):
                    yield number, list(cells)

    def close(self) -> None:
        self._file.close()


def open_table(path: Path, encoding: str = "utf-8", sheet: str | None = None) -> TableReader:
    """The reader for ``path`` by its suffix (.csv/.tsv/.txt, .xlsx, .parquet).
    Raises FileError when the file cannot be opened as that kind."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FileError("no such file")
    if suffix in CSV_SUFFIXES:
        return CsvReader(path, encoding)
    if suffix in EXCEL_SUFFIXES:
        return ExcelReader(path, sheet)
    if suffix in PARQUET_SUFFIXES:
        return ParquetReader(path)
    raise FileError(f"unsupported file type {suffix or '(none)'}: use .csv, .xlsx or .parquet")

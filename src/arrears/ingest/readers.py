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
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from arrears.ingest.errors import BrokenCell, FileError

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
PARQUET_BATCH_ROWS = 10_000
CSV_BYTES_PER_ROW = 60  # a guess, for the row estimate only
# A character outside every one str.strip() removes (tests check the set against
# str.isspace): a text cell with one is not blank.
NOT_SPACE = (
    r"[^\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)

Batch = tuple[Sequence[int], list[Sequence[Any]], list[list[Any]] | None]


class TableReader:
    """A header and an iterator of data rows; use as a context manager."""

    header: list[Any]
    # By file column: "decimal", "date", "integer" or "text" when every cell of the
    # column is None or a value of that Python type (Decimal, date, int, str).
    column_types: list[str | None] | None = None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        raise NotImplementedError

    def batches(self, size: int) -> Iterator[Batch]:
        """The data rows, up to ``size`` at a time, as (row numbers, rows, the same
        cells by column or None when the reader does not have them so)."""
        numbers: list[int] = []
        rows: list[Sequence[Any]] = []
        for number, cells in self.rows():
            numbers.append(number)
            rows.append(cells)
            if len(rows) >= size:
                yield numbers, rows, None
                numbers, rows = [], []
        if rows:
            yield numbers, rows, None

    def row_estimate(self) -> int:
        """About how many data rows the file has (0 when unknown): the import uses it
        to choose how to load, never to decide what is loaded."""
        return 0

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
    files saved by a Chinese-locale Excel). The delimiter is ',' (tab for .tsv).

    No value of any kind of file may hold a line break (docs/import-format.md), so a
    record is one line of the file. A quoted value that runs onto the next lines, or
    to the end of the file, is almost always a closing quote left out, and the lines
    it took in are other records: such a value is a ``BrokenCell`` (a field error
    naming the lines it ran over), never a name with three customers inside it."""

    def __init__(self, path: Path, encoding: str = "utf-8") -> None:
        self.path = path
        self.encoding = codecs.lookup(encoding).name
        self._file = path.open("rb")
        self._records = 0  # records read so far, header included
        self._line = 0  # physical lines handed to the csv parser so far
        self._reader = csv.reader(self._lines(), delimiter="\t" if path.suffix == ".tsv" else ",")
        header = self._next()
        if header is None:
            raise FileError("the file is empty")
        self.header = header

    def _lines(self) -> Iterator[str]:
        """The file's lines, decoded; when the last one has no line break, one more
        (not counted as a line of the file) follows, so a quote still open at the end
        of the file leaves a line break in its value and is caught like a quote open
        at the end of any other line."""
        decoder = codecs.getincrementaldecoder(self.encoding)()
        first = True
        text = ""
        for raw in self._file:
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError:
                raise FileError(self._decode_problem()) from None
            if first:
                text, first = text.removeprefix("\ufeff"), False
            self._line += 1
            yield text
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise FileError(self._decode_problem()) from None
        if tail:
            text = tail
            yield tail
        if text and not text.endswith(("\n", "\r")):
            yield "\n"

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
            first_line = self._line + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return None
            except csv.Error as exc:
                raise FileError(
                    f"row {self._records + 1} (line {self._line}): not valid CSV: {exc}"
                ) from None
            self._records += 1
            # a value holds a line break only when a quote was open at the end of a line
            if self._line > first_line or (cells and cells[-1].endswith(("\n", "\r"))):
                cells = self._mark_line_breaks(cells, first_line)
            if self._records == 1 or "".join(cells).strip():
                return cells

    def _mark_line_breaks(self, cells: list[str], first_line: int) -> list[str]:
        if self._line > first_line:
            reason = (
                f"runs over lines {first_line}-{self._line} of the file: a quote opened in "
                "this value is not closed on its line (is a closing quote missing?); no "
                "value may hold a line break"
            )
        else:
            reason = "opens a quote that is never closed (the file ends inside it)"
        return [
            BrokenCell(cell, reason) if "\n" in cell or "\r" in cell else cell for cell in cells
        ]

    def row_estimate(self) -> int:
        return self.path.stat().st_size // CSV_BYTES_PER_ROW

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
        self._estimate = max((self._sheet.max_row or 1) - 1, 0)
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

    def row_estimate(self) -> int:
        return self._estimate

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
        self.column_types = [_arrow_kind(field.type) for field in self._file.schema_arrow]

    def row_estimate(self) -> int:
        return self._file.metadata.num_rows

    def batches(self, size: int) -> Iterator[Batch]:
        import pyarrow as pa
        import pyarrow.compute as pc

        kinds = [_arrow_kind(field.type) for field in self._file.schema_arrow]
        first = 2
        for batch in self._file.iter_batches(batch_size=size):
            count = batch.num_rows
            numbers: Sequence[int] = range(first, first + count)
            first += count
            # Rows with a value in some column are not blank; the others are checked
            # cell by cell as rows() does (they are nearly always truly blank). A
            # column of another type might hold blank text, so it never says filled.
            filled = None
            for column, kind in zip(batch.columns, kinds, strict=True):
                if kind == "text":
                    has = pc.fill_null(pc.match_substring_regex(column, NOT_SPACE), False)
                elif kind is not None or _never_text(pa, column.type):
                    has = pc.is_valid(column)
                else:
                    continue
                filled = has if filled is None else pc.or_(filled, has)
            columns = [
                _pylist(column, kind) for column, kind in zip(batch.columns, kinds, strict=True)
            ]
            if filled is None or not pc.all(filled).as_py():
                marks = filled.to_pylist() if filled is not None else [False] * count
                keep = [
                    i for i, ok in enumerate(marks) if ok or not _blank([c[i] for c in columns])
                ]
                numbers = [numbers[i] for i in keep]
                columns = [[c[i] for i in keep] for c in columns]
            if numbers:
                yield numbers, list(zip(*columns, strict=True)), columns

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        for numbers, rows, _ in self.batches(PARQUET_BATCH_ROWS):
            yield from zip(numbers, map(list, rows), strict=True)

    def close(self) -> None:
        self._file.close()


def _pylist(column: Any, kind: str | None) -> list[Any]:
    """``column.to_pylist()``; dates and decimals, which pyarrow makes one Python
    object at a time, are made once per distinct value."""
    if kind not in ("date", "decimal"):
        return column.to_pylist()
    import pyarrow.compute as pc

    encoded = column.dictionary_encode()
    values = encoded.dictionary.to_pylist()
    values.append(None)
    indices = pc.fill_null(encoded.indices, len(values) - 1).to_numpy().tolist()
    return list(map(values.__getitem__, indices))


def _never_text(pa: Any, arrow_type: Any) -> bool:
    types = pa.types
    return bool(
        types.is_floating(arrow_type)
        or types.is_boolean(arrow_type)
        or types.is_temporal(arrow_type)
    )


def _arrow_kind(arrow_type: Any) -> str | None:
    """What Python values a Parquet column gives, as ``TableReader.column_types``."""
    import pyarrow as pa

    if pa.types.is_decimal(arrow_type):
        return "decimal"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    return None


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

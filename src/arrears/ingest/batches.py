"""Reading rows a batch at a time, column by column.

``BatchParser`` gives exactly what ``spec.RowParser`` gives row by row (the same
values, the same errors in the same order) but works down each column, so a column
whose reader already typed it (a Parquet decimal, date, integer or string column)
is taken as it is instead of being parsed cell by cell, and repeated text cells (a
channel, a currency, a date in a CSV) are parsed once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arrears.ingest.errors import BrokenCell, FieldError
from arrears.ingest.spec import (
    KindSpec,
    Parser,
    check_characters,
    is_blank,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_text,
)

MISSING = "required value is missing"
MEMO_SIZE = 4096

# Parsers that return a value of these reader types unchanged (Parquet decimal128 is
# always finite; date32 cells are dates; integer cells whole numbers).
_UNCHANGED = {
    (parse_decimal, "decimal"),
    (parse_date, "date"),
    (parse_integer, "integer"),
}

Errors = list[Any]  # by row: the shared empty tuple, or the row's list of errors
NO_ERRORS: tuple[tuple[str, str], ...] = ()


class BatchParser:
    """Built once from the header's column positions and, when the reader knows
    them, its columns' types ("decimal", "date", "integer", "text" or None, by file
    position); then called per batch of rows."""

    def __init__(
        self,
        spec: KindSpec,
        positions: dict[str, int],
        types: Sequence[str | None] | None = None,
    ) -> None:
        self.width = len(positions)
        self.fields = []
        for c in spec.columns:
            index = positions.get(c.name)
            kind = types[index] if types is not None and index is not None else None
            if (c.parse, kind) in _UNCHANGED:
                mode = "unchanged"
            elif c.parse is parse_text and kind == "text":
                mode = "text"
            else:
                mode = "parse"
            self.fields.append((c.name, index, c.parse, c.required, c.default, mode))
        self.names = [f[0] for f in self.fields]

    def __call__(
        self, rows: Sequence[Sequence[Any]], columns: Sequence[Sequence[Any]] | None = None
    ) -> tuple[list[dict[str, Any]], Errors]:
        """The records (values by column, defaults filled in) and the field errors
        (column, reason) of each of ``rows``. ``columns`` are the same cells by file
        column, when the reader has them so."""
        count = len(rows)
        errors: Errors = [NO_ERRORS] * count
        ragged = columns is None and any(len(cells) != self.width for cells in rows)
        if columns is None:
            columns = self._columns(rows, ragged)
        parsed = []
        for name, index, parse, required, default, mode in self.fields:
            raw = columns[index] if index is not None else [None] * count
            if mode == "unchanged":
                values = _unchanged(raw, name, required, default, errors)
            elif mode == "text":
                values = _text(raw, name, required, default, errors)
            else:
                values = _parsed(raw, name, parse, required, default, errors)
            parsed.append(values)
        if ragged:
            for i, cells in enumerate(rows):
                if len(cells) > self.width and any(not is_blank(c) for c in cells[self.width :]):
                    reason = f"has {len(cells)} values but the header has {self.width}"
                    _add(errors, i, "(row)", reason)
        names = self.names
        records = [dict(zip(names, values, strict=True)) for values in zip(*parsed, strict=True)]
        if not parsed:
            records = [{} for _ in range(count)]
        return records, errors

    def _columns(self, rows: Sequence[Sequence[Any]], ragged: bool) -> list[Sequence[Any]]:
        if not ragged:
            columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
            return columns or [() for _ in range(self.width)]
        return [[cells[i] if i < len(cells) else None for cells in rows] for i in range(self.width)]


def _add(errors: Errors, i: int, name: str, reason: str) -> None:
    if errors[i]:
        errors[i].append((name, reason))
    else:
        errors[i] = [(name, reason)]


def _missing(i: int, name: str, required: bool, errors: Errors) -> None:
    if required:
        _add(errors, i, name, MISSING)


def _unchanged(
    raw: Sequence[Any], name: str, required: bool, default: Any, errors: Errors
) -> list[Any]:
    values = list(raw)
    if None in values:
        for i, value in enumerate(values):
            if value is None:
                _missing(i, name, required, errors)
                values[i] = default
    return values


def _text(raw: Sequence[Any], name: str, required: bool, default: Any, errors: Errors) -> list[Any]:
    values = [None if value is None else value.strip() for value in raw]
    for i, value in enumerate(values):
        if not value:  # None or blank
            _missing(i, name, required, errors)
            values[i] = default
        elif not value.isprintable():
            try:
                check_characters(value)
            except FieldError as exc:
                _add(errors, i, name, str(exc))
                values[i] = None
    return values


_NOT_SEEN = object()
_BLANK = object()


class _Failed:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parsed(
    raw: Sequence[Any], name: str, parse: Parser, required: bool, default: Any, errors: Errors
) -> list[Any]:
    """Each cell through ``parse``; a text cell seen before in the batch takes the
    earlier outcome (parsers are pure functions of the cell)."""
    if set(map(type, raw)) <= {str, type(None)}:
        distinct = set(raw)
        if len(distinct) * 4 <= len(raw):  # a channel, a currency, a date: few values
            return _parsed_distinct(raw, distinct, name, parse, required, default, errors)
    values: list[Any] = []
    append = values.append
    memo: dict[str, Any] = {}
    for i, cell in enumerate(raw):
        if cell is None:
            _missing(i, name, required, errors)
            append(default)
            continue
        if type(cell) is BrokenCell:
            _add(errors, i, name, cell.reason)
            append(None)
            continue
        text = type(cell) is str
        if text:
            outcome = memo.get(cell, _NOT_SEEN)
            if outcome is not _NOT_SEEN:
                if type(outcome) is _Failed:
                    _add(errors, i, name, outcome.reason)
                    append(None)
                elif outcome is _BLANK:
                    _missing(i, name, required, errors)
                    append(default)
                else:
                    append(outcome)
                continue
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            if not cell.strip():
                memo[cell] = _BLANK
                _missing(i, name, required, errors)
                append(default)
                continue
        try:
            value = parse(cell)
        except FieldError as exc:
            if text:
                memo[cell] = _Failed(str(exc))
            _add(errors, i, name, str(exc))
            append(None)
            continue
        if text:
            memo[cell] = value
        append(value)
    return values


def _parsed_distinct(
    raw: Sequence[Any],
    distinct: set[Any],
    name: str,
    parse: Parser,
    required: bool,
    default: Any,
    errors: Errors,
) -> list[Any]:
    """``_parsed`` for a column of text (or None) cells with few distinct values:
    each parsed once, then looked up."""
    outcomes: dict[Any, Any] = {}
    for cell in distinct:
        if cell is None:
            outcomes[cell] = _BLANK
            continue
        if not cell.strip():
            outcomes[cell] = _BLANK
            continue
        try:
            outcomes[cell] = parse(cell)
        except FieldError as exc:
            outcomes[cell] = _Failed(str(exc))
    values = list(map(outcomes.__getitem__, raw))
    if any(o is _BLANK or type(o) is _Failed for o in outcomes.values()):
        for i, outcome in enumerate(values):
            if outcome is _BLANK:
                _missing(i, name, required, errors)
                values[i] = default
            elif type(outcome) is _Failed:
                _add(errors, i, name, outcome.reason)
                values[i] = None
    return values

"""Reading attempts, holds and blacklists from files, all or nothing.

Every row is validated before anything is evaluated, so a bad file produces a list
of problems (file, row, field, reason) and no verdicts at all.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from arrears.compliance.model import (
    CHANNELS,
    DIALINGS,
    HOLD_KINDS,
    OUTCOMES,
    PARTIES,
    RECIPIENT_TYPES,
    Attempt,
    ComplianceError,
    Consent,
    Hold,
)

ATTEMPT_COLUMNS = ("attempt_id", "debtor_id", "debt_id", "channel", "at", "debtor_tz", "party")
OPTIONAL_ATTEMPT_COLUMNS = ("outcome", "recipient", "recipient_type", "agents", "dialing")
HOLD_COLUMNS = ("debtor_id", "kind")
OPTIONAL_HOLD_COLUMNS = ("channel", "debt_id", "reason")
CONSENT_COLUMNS = ("debtor_id", "recipient")
OPTIONAL_CONSENT_COLUMNS = ("channel",)
MAX_PROBLEMS = 50  # enough to fix a file in one go, short enough to read


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one field of one row. ``row`` counts data rows from 1;
    ``line`` is the physical line in the file (the header is line 1)."""

    file: str
    row: int
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.file}: {self.reason}"
        if self.row == 0:
            return f"{self.file}: header (line 1): {self.reason}"
        return (
            f"{self.file}, row {self.row} (line {self.line}), field {self.field!r}: {self.reason}"
        )


class InputFileError(ComplianceError):
    """A file the gate was given has problems; ``problems`` lists each one."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:MAX_PROBLEMS])
        more = len(problems) - MAX_PROBLEMS
        super().__init__(shown + (f"\n... and {more} more problems" if more > 0 else ""))


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One valid row of an attempts file: the attempt and, when given, the recipient."""

    attempt: Attempt
    recipient: str | None


def _rows(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], problems: list[RowProblem]
) -> Iterator[tuple[int, int, dict[str, str]]]:
    name = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        problems.append(RowProblem(name, 0, 0, "", f"cannot be read: {exc.strerror}"))
        return
    with handle:
        reader = csv.DictReader(handle)
        try:
            yield from _checked_rows(reader, name, required, optional, problems)
        except UnicodeDecodeError as exc:
            problems.append(
                RowProblem(name, 0, 0, "", f"is not UTF-8 text (byte {exc.start}: {exc.reason})")
            )
        except csv.Error as exc:
            problems.append(RowProblem(name, 0, reader.line_num, "", f"is not valid CSV: {exc}"))


def _checked_rows(
    reader: csv.DictReader[str],
    name: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    problems: list[RowProblem],
) -> Iterator[tuple[int, int, dict[str, str]]]:
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if missing or twice:
        why = (
            f"missing column(s) {', '.join(missing)}; the file needs "
            f"{', '.join(required)} (optional: {', '.join(optional)})"
            if missing
            else f"column(s) {', '.join(twice)} appear more than once"
        )
        problems.append(RowProblem(name, 0, 1, (missing or twice)[0], why))
        return
    reader.fieldnames = header
    for number, raw in enumerate(reader, start=1):
        line = reader.line_num  # the line the row ends on (header is line 1)
        if None in raw:
            why = f"has more fields than the header ({len(header)})"
            problems.append(RowProblem(name, number, line, "", why))
            continue
        short = [c for c in required if raw.get(c) is None]
        if short:
            why = "missing (the row has too few fields)"
            problems.append(RowProblem(name, number, line, short[0], why))
            continue
        yield number, line, {k: (v or "").strip() for k, v in raw.items()}


def _choice(value: str, allowed: tuple[str, ...], *, blank_ok: bool) -> str | None:
    if not value and blank_ok:
        return None
    if value not in allowed:
        shown = repr(value) if value else "empty"
        raise ValueError(f"{shown} is not one of {', '.join(allowed)}")
    return value


def _agents(value: str) -> int:
    # empty: one collector (the column is optional; only visits are checked)
    if not value:
        return 1
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ValueError(f"{value!r} is not a whole number >= 1 (collectors on the visit)")
    return int(value)


def _timestamp(value: str) -> datetime:
    if not value:
        raise ValueError(
            "empty; give an ISO 8601 timestamp with offset, e.g. 2026-03-09T08:30-04:00"
        )
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset (write e.g. +08:00 or Z)")
    return at


def read_attempts(path: Path) -> list[AttemptRow]:
    """Every attempt in the CSV at ``path``, in file order, or InputFileError listing
    every problem (missing columns or values, bad timestamps, unknown channel, party,
    outcome, recipient_type or dialing, agents not a whole number >= 1, rows out of
    time order, duplicate attempt ids). Empty ``recipient_type`` is ``personal``, empty
    ``agents`` is 1, empty ``dialing`` is not stated (rules about autodialled contacts
    do not look at the row, as before the column existed)."""
    problems: list[RowProblem] = []
    rows = _rows(path, ATTEMPT_COLUMNS, OPTIONAL_ATTEMPT_COLUMNS, problems)
    return _attempts(str(path), rows, problems)


def table_attempts(
    name: str, columns: Sequence[str], rows: Iterable[Mapping[str, str | None]]
) -> list[AttemptRow]:
    """``read_attempts`` for a table read by the caller (e.g. a Parquet file): the
    column names and each row's values as text (None = empty), under the same rules.
    Problems name row N and "line" N + 1, as if the table were a CSV with a header."""
    problems: list[RowProblem] = []
    return _attempts(name, _table_rows(name, columns, rows, problems), problems)


def _table_rows(
    name: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, str | None]],
    problems: list[RowProblem],
) -> Iterator[tuple[int, int, dict[str, str]]]:
    header = [c.strip() for c in columns]
    missing = [c for c in ATTEMPT_COLUMNS if c not in header]
    if missing:
        why = (
            f"missing column(s) {', '.join(missing)}; the file needs "
            f"{', '.join(ATTEMPT_COLUMNS)} (optional: {', '.join(OPTIONAL_ATTEMPT_COLUMNS)})"
        )
        problems.append(RowProblem(name, 0, 1, missing[0], why))
        return
    for number, raw in enumerate(rows, start=1):
        yield number, number + 1, {k.strip(): (v or "").strip() for k, v in raw.items()}


def _attempts(
    name: str, rows: Iterator[tuple[int, int, dict[str, str]]], problems: list[RowProblem]
) -> list[AttemptRow]:
    out: list[AttemptRow] = []
    seen: dict[str, int] = {}
    last: tuple[datetime, int] | None = None
    for number, line, row in rows:

        def bad(field: str, reason: str, number: int = number, line: int = line) -> None:
            problems.append(RowProblem(name, number, line, field, reason))

        before = len(problems)
        for column in ("attempt_id", "debtor_id"):
            if not row[column]:
                bad(column, "empty")
        attempt_id = row["attempt_id"]
        if attempt_id in seen:
            bad("attempt_id", f"{attempt_id!r} was already used in row {seen[attempt_id]}")
        elif attempt_id:
            seen[attempt_id] = number
        values: dict[str, str | None] = {}
        for column, allowed, blank_ok in (
            ("channel", CHANNELS, False),
            ("party", PARTIES, False),
            ("outcome", OUTCOMES, True),
            ("recipient_type", RECIPIENT_TYPES, True),
            ("dialing", DIALINGS, True),
        ):
            try:
                values[column] = _choice(row.get(column, ""), allowed, blank_ok=blank_ok)
            except ValueError as exc:
                bad(column, str(exc))
        agents = 1
        try:
            agents = _agents(row.get("agents", ""))
        except ValueError as exc:
            bad("agents", str(exc))
        at: datetime | None = None
        try:
            at = _timestamp(row["at"])
        except ValueError as exc:
            bad("at", str(exc))
        if at is not None:
            if last is not None and at < last[0]:
                bad(
                    "at",
                    f"{row['at']} is earlier than row {last[1]} ({last[0].isoformat()});"
                    " rows must be in time order",
                )
            else:
                last = (at, number)
        if len(problems) > before or at is None:
            continue
        attempt = Attempt(
            attempt_id=attempt_id,
            debtor_id=row["debtor_id"],
            debt_id=row["debt_id"] or None,
            channel=str(values["channel"]),
            at=at,
            debtor_tz=row["debtor_tz"] or None,
            party=str(values["party"]),
            outcome=values["outcome"],
            recipient=row.get("recipient") or None,
            recipient_type=values["recipient_type"] or "personal",
            agents=agents,
            dialing=values["dialing"],
        )
        out.append(AttemptRow(attempt, attempt.recipient))
    if problems:
        raise InputFileError(problems)
    return out


def read_holds(path: Path) -> dict[str, list[Hold]]:
    """Holds from the CSV at ``path`` (debtor_id, kind[, channel, debt_id, reason]),
    keyed by debtor, or InputFileError listing every bad row."""
    problems: list[RowProblem] = []
    holds: dict[str, list[Hold]] = {}
    for number, line, row in _rows(path, HOLD_COLUMNS, OPTIONAL_HOLD_COLUMNS, problems):
        before = len(problems)
        if not row["debtor_id"]:
            problems.append(RowProblem(str(path), number, line, "debtor_id", "empty"))
        try:
            kind = _choice(row["kind"], HOLD_KINDS, blank_ok=False)
            channel = _choice(row.get("channel", ""), CHANNELS, blank_ok=True)
        except ValueError as exc:
            field = "kind" if row["kind"] not in HOLD_KINDS else "channel"
            problems.append(RowProblem(str(path), number, line, field, str(exc)))
            continue
        if len(problems) == before:
            hold = Hold(str(kind), channel, row.get("debt_id") or None, row.get("reason", ""))
            holds.setdefault(row["debtor_id"], []).append(hold)
    if problems:
        raise InputFileError(problems)
    return holds


def read_consents(path: Path) -> dict[str, list[Consent]]:
    """Prior consents on record from the CSV at ``path`` (debtor_id, recipient[,
    channel]; empty recipient: every number, empty channel: calls and texts), keyed by
    debtor, or InputFileError listing every bad row."""
    problems: list[RowProblem] = []
    consents: dict[str, list[Consent]] = {}
    for number, line, row in _rows(path, CONSENT_COLUMNS, OPTIONAL_CONSENT_COLUMNS, problems):
        if not row["debtor_id"]:
            problems.append(RowProblem(str(path), number, line, "debtor_id", "empty"))
            continue
        try:
            channel = _choice(row.get("channel", ""), CHANNELS, blank_ok=True)
        except ValueError as exc:
            problems.append(RowProblem(str(path), number, line, "channel", str(exc)))
            continue
        consent = Consent(row["recipient"] or None, channel)
        consents.setdefault(row["debtor_id"], []).append(consent)
    if problems:
        raise InputFileError(problems)
    return consents


def read_blacklist(path: Path) -> list[str]:
    """Contact values (phone numbers, emails) from ``path``: one per line; blank lines
    and lines starting with # are ignored."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ComplianceError(f"{path}: cannot be read: {exc.strerror}") from None
    return [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]

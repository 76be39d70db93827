"""What can go wrong in an import, in words that name the file, row, field and reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from arrears.domain.errors import DomainError

if TYPE_CHECKING:
    from arrears.ingest.report import ImportReport


SHOWN_CHARACTERS = 200  # of a value quoted in a message: a 10 MB cell is not repeated


def shorten(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """``text`` cut to about ``limit`` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


class BrokenCell(str):
    """A cell the reader read but must not be taken as a value (its text is kept, so
    a rejects file shows what was read); ``reason`` says why. Every parser turns it
    into a field error."""

    reason: str

    def __new__(cls, text: str, reason: str) -> BrokenCell:
        cell = super().__new__(cls, text)
        cell.reason = reason
        return cell


class FieldError(ValueError):
    """A cell could not be read as its column's type; the message is the reason."""


class FileError(DomainError):
    """The file as a whole cannot be imported (empty, unreadable, wrong columns)."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad value: ``row`` is numbered as a spreadsheet shows it (header = 1)."""

    file: str
    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}, field {self.field}: {self.reason}"


@dataclass(slots=True)
class ErrorLog:
    """Every error counted, the first ``keep`` kept (a bad million-row file must not
    fill the memory with messages)."""

    keep: int = 1000
    count: int = 0
    kept: list[RowError] = field(default_factory=list)

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.kept) < self.keep:
            self.kept.append(error)


class ImportRejected(DomainError):
    """Nothing was written; ``report`` says why (``file_error`` or ``errors``)."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        super().__init__(report.rejection_message())

    @property
    def path(self) -> Path:
        return self.report.path

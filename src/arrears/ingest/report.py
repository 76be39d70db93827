"""The outcome of one import, for the CLI to print and the tests to check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from arrears.ingest.errors import RowError

SHOWN_ERRORS = 50


@dataclass(slots=True)
class ImportReport:
    """Counts, errors and where things went. ``errors`` keeps the first 1000 row
    errors in row order; ``error_count`` counts them all."""

    path: Path
    kind: str | None = None
    sha256: str = ""
    batch_id: int | None = None
    rows_total: int = 0
    rows_imported: int = 0
    rows_skipped: int = 0
    rows_rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    file_error: str | None = None
    rejects_path: Path | None = None
    already_imported: bool = False
    message: str = ""
    seconds: float = 0.0

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def ok(self) -> bool:
        return self.file_error is None and (self.error_count == 0 or self.rejects_path is not None)

    def rejection_message(self) -> str:
        """Why nothing was written: the file-level reason, or the row errors."""
        if self.file_error is not None:
            return f"{self.file}: {self.file_error}; nothing was imported"
        lines = [
            f"{self.file}: {self.rows_rejected} of {self.rows_total} rows rejected "
            f"({self.error_count} error{'' if self.error_count == 1 else 's'}); "
            "nothing was imported"
        ]
        lines += [f"  {e}" for e in self.errors[:SHOWN_ERRORS]]
        if self.error_count > SHOWN_ERRORS:
            lines.append(f"  ... and {self.error_count - SHOWN_ERRORS} more errors")
        return "\n".join(lines)

    def summary(self) -> str:
        """One paragraph for the user: what was imported, skipped and rejected."""
        if self.already_imported:
            return f"{self.file}: {self.message}; nothing was written"
        text = (
            f"{self.file}: {self.kind} imported as batch {self.batch_id}: "
            f"{self.rows_imported} rows imported, {self.rows_skipped} already present and "
            f"skipped, {self.rows_rejected} rejected (of {self.rows_total})"
        )
        if self.rejects_path is not None:
            text += f"; rejected rows written to {self.rejects_path}"
        return text

    def __str__(self) -> str:
        return self.summary()

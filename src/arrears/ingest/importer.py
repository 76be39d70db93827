"""Import a customers, loans or payments file: one pass, one transaction.

Every row is parsed and checked; bad rows are collected with their row, field and
reason. Without quarantine, one bad row means nothing is written and
``ImportRejected`` lists the errors; with quarantine, good rows are written and bad
ones go to ``<name>.rejects.csv`` beside the file. A file already imported (same
sha256) is not imported again; a row whose id is already stored with the same
values is skipped, with different values it is an error.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine

from arrears.domain.products import Catalog, load_catalog
from arrears.files import open_private
from arrears.ingest.batches import BatchParser
from arrears.ingest.errors import ErrorLog, FileError, ImportRejected, RowError, shorten
from arrears.ingest.kinds import HANDLERS, Handler, Pending
from arrears.ingest.readers import TableReader, open_table
from arrears.ingest.report import ImportReport
from arrears.ingest.seen import SeenIds
from arrears.ingest.spec import (
    SPECS,
    KindSpec,
    check_header,
    detect_kind,
    normalize_header,
)
from arrears.store.db import refresh_statistics
from arrears.store.models import ImportBatch
from arrears.store.rows import deferred_indexes
from arrears.store.unit_of_work import UnitOfWork

BATCH_ROWS = 5000
PROGRESS_EVERY = 5000
KEPT_ERRORS = 1000

Progress = Callable[[int], None]


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def rejects_path_for(path: Path) -> Path:
    """Where quarantined rows of ``path`` go: ``loans.csv`` -> ``loans.rejects.csv``."""
    return path.with_name(f"{path.stem}.rejects.csv")


def import_file(
    engine: Engine,
    path: Path | str,
    kind: str | None = None,
    catalog: Catalog | None = None,
    quarantine: bool = False,
    encoding: str = "utf-8",
    progress: Progress | None = None,
    as_of: date | None = None,
    sheet: str | None = None,
) -> ImportReport:
    """Import ``path`` (CSV, .xlsx or Parquet) into the store behind ``engine``.

    ``kind`` is customers, loans or payments (detected from the header when None);
    ``catalog`` defaults to the packaged products; ``as_of`` (default today) is the
    latest date a disbursement or payment may carry. ``progress(rows_done)`` is called
    every few thousand rows. Returns the report; raises ``ImportRejected`` (nothing
    written) for a file-level problem, or for any bad row unless ``quarantine``.
    """
    started = time.perf_counter()
    path = Path(path)
    kind = kind.strip().lower() if kind else None
    report = ImportReport(path=path, kind=kind)
    if kind is not None and kind not in SPECS:
        report.file_error = f"unknown kind {kind!r} (use {', '.join(SPECS)})"
        raise ImportRejected(report)
    try:
        report.sha256 = file_sha256(path)
    except OSError as exc:
        report.file_error = f"cannot be read ({exc.strerror or exc})"
        raise ImportRejected(report) from None
    with _collector_paused(), UnitOfWork(engine) as uow:
        previous = uow.import_batches.by_sha256(report.sha256)
        if previous is not None:
            report.already_imported, report.batch_id, report.kind = True, previous.id, previous.kind
            at = f"{previous.imported_at:%Y-%m-%d %H:%M:%S}"
            report.message = f"already imported as batch {previous.id} at {at}"
            return report
        try:
            with open_table(path, encoding, sheet) as reader:
                _run(uow, reader, report, catalog or load_catalog(), quarantine, progress, as_of)
        except FileError as exc:
            uow.rollback()
            report.batch_id, report.rows_imported = None, 0
            if report.rejects_path is not None:
                report.rejects_path.unlink(missing_ok=True)
                report.rejects_path = None
            report.file_error = str(exc)
            raise ImportRejected(report) from None
        if report.error_count and not quarantine:
            uow.rollback()
            report.batch_id, report.rows_imported = None, 0
            raise ImportRejected(report)
        uow.commit()
    refresh_statistics(engine)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the import: it would otherwise walk the
    ever-growing heap of rows again and again (an eighth of a large import's time)
    and the import makes no reference cycles worth collecting early."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(
    uow: UnitOfWork,
    reader: TableReader,
    report: ImportReport,
    catalog: Catalog,
    quarantine: bool,
    progress: Progress | None,
    as_of: date | None,
) -> None:
    header = normalize_header(reader.header)
    kind = report.kind or detect_kind(header)
    report.kind = kind
    spec = SPECS[kind]
    positions = check_header(spec, header)
    handler = HANDLERS[kind](catalog, as_of or date.today())
    batch = uow.import_batches.add(
        ImportBatch(file_name=report.file, sha256=report.sha256, kind=kind, status="importing")
    )
    report.batch_id = batch.id
    connection = uow.connection
    handler.prepare(connection)
    expected = {table: per_row * reader.row_estimate() for table, per_row in handler.writes.items()}
    with deferred_indexes(connection, handler.writes, expected):
        run = _Run(connection, handler, report, quarantine, reader.header, batch.id)
        try:
            _read(reader, spec, positions, handler, run, progress)
        finally:
            run.close()
    if report.rows_total == 0:
        raise FileError("has a header but no data rows")
    if progress is not None:
        progress(report.rows_total)
    report.errors = sorted(run.log.kept, key=lambda e: e.row)
    report.error_count = run.log.count
    batch.rows_total, batch.rows_imported = report.rows_total, report.rows_imported
    batch.rows_skipped, batch.rows_rejected = report.rows_skipped, report.rows_rejected
    batch.status = "imported_with_rejects" if report.rows_rejected else "imported"


def _read(
    reader: TableReader,
    spec: KindSpec,
    positions: dict[str, int],
    handler: Handler,
    run: _Run,
    progress: Progress | None,
) -> None:
    report = run.report
    parse = BatchParser(spec, positions, reader.column_types)
    validate = handler.validate
    for numbers, rows, columns in reader.batches(BATCH_ROWS):
        records, errors = parse(rows, columns)
        items = list(map(Pending, numbers, rows, records, errors))
        for item in items:
            if not item.errors:
                validate(item)
        done = report.rows_total
        report.rows_total += len(items)
        run.flush(items)
        if progress is not None and done // PROGRESS_EVERY != report.rows_total // PROGRESS_EVERY:
            progress(report.rows_total)


class _Run:
    """The state of one import between batches: errors, rejects file, counts."""

    def __init__(
        self,
        connection: Connection,
        handler: Handler,
        report: ImportReport,
        quarantine: bool,
        header: list[Any],
        batch_id: int,
    ) -> None:
        self.connection, self.handler, self.report = connection, handler, report
        self.quarantine, self.header, self.batch_id = quarantine, header, batch_id
        self.log = ErrorLog(keep=KEPT_ERRORS)
        self.seen = SeenIds()
        self._rejects: IO[str] | None = None
        self._writer: Any = None

    def flush(self, items: list[Pending]) -> None:
        """Check a batch against the store and write its good rows (unless the
        import is already doomed to roll back)."""
        self._mark_duplicates(items)
        clean = [i for i in items if not i.errors]
        if clean:
            self.handler.check(self.connection, clean)
        good = []
        for item in items:
            if item.errors:
                self._reject(item)
            elif item.skip:
                self.report.rows_skipped += 1
            else:
                good.append(item)
        if good and (self.quarantine or self.log.count == 0):
            self.handler.write(self.connection, good, self.batch_id)
            self.report.rows_imported += len(good)

    def _mark_duplicates(self, items: list[Pending]) -> None:
        key = self.handler.spec.key
        keyed = [i for i in items if i.record.get(key) is not None]
        firsts = self.seen.add([i.record[key] for i in keyed], [i.row for i in keyed])
        for item, first in zip(keyed, firsts, strict=True):
            if first is not None:
                item.error(key, f"duplicate {key} {item.record[key]} (rows {first} and {item.row})")

    def _reject(self, item: Pending) -> None:
        self.report.rows_rejected += 1
        errors = [(column, shorten(reason)) for column, reason in item.errors]
        for column, reason in errors:
            self.log.add(RowError(self.report.file, item.row, column, reason))
        if not self.quarantine:
            return
        if self._writer is None:
            target = rejects_path_for(self.report.path)
            self.report.rejects_path = target
            self._rejects = open_private(target, "w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._rejects)
            self._writer.writerow([*self.header, "error_field", "error_reason"])
        fields = "; ".join(column for column, _ in errors)
        reasons = "; ".join(reason for _, reason in errors)
        cells = ["" if c is None else c for c in item.cells]
        self._writer.writerow([*cells, fields, reasons])

    def close(self) -> None:
        if self._rejects is not None:
            self._rejects.close()

"""Importers (customers, loans, payments from CSV, Excel, Parquet) and the generator."""

from arrears.ingest.errors import ImportRejected, RowError
from arrears.ingest.importer import import_file
from arrears.ingest.report import ImportReport
from arrears.ingest.spec import detect_kind

__all__ = ["ImportRejected", "ImportReport", "RowError", "detect_kind", "import_file"]

"""The snapshot module's old place: its names, for the imports that still use it. The
snapshot lives in ``arrears.snapshots``."""

from arrears.snapshots import (
    BATCH_SCHEMA,
    FLAG_FIELDS,
    MONEY,
    MONEY_COLUMNS,
    SCHEMA,
    decimal_from_cents,
    read_snapshot,
    snapshot_dates,
    snapshot_file,
    snapshot_from_accounts,
    snapshot_table,
    write_snapshot,
)

__all__ = [
    "BATCH_SCHEMA",
    "FLAG_FIELDS",
    "MONEY",
    "MONEY_COLUMNS",
    "SCHEMA",
    "decimal_from_cents",
    "read_snapshot",
    "snapshot_dates",
    "snapshot_file",
    "snapshot_from_accounts",
    "snapshot_table",
    "write_snapshot",
]

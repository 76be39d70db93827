"""Reading the book's dated snapshots for modelling, and the calendar of horizons.

The caller hands in the snapshot dates and how to read one day's columns (a
workspace's through ``arrears.snapshots``); money columns are read as float64 here
because they are model inputs, never amounts that are booked.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

COLUMNS = (
    "loan_id",
    "customer_id",
    "product_code",
    "status",
    "dpd",
    "bucket_index",
    "principal_outstanding",
    "overdue_amount",
    "total_due",
    "charged_to_date",
    "paid_today",
)


def is_month_end(day: date) -> bool:
    """True on the last day of its month."""
    return day.day == calendar.monthrange(day.year, day.month)[1]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (clipped to the month's length); a month end maps to
    the month end."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    target_day = last if is_month_end(day) else min(day.day, last)
    return date(year, month + 1, target_day)


def horizon_end(day: date, days: int) -> date:
    """End of a ``days``-long outcome window after ``day``. From a month end a window of
    whole 30-day months ends at a month end (30 days after 30 September is read as
    31 October), so month-end snapshot histories are used as they are meant."""
    if is_month_end(day) and days % 30 == 0:
        return add_months(day, days // 30)
    return day + timedelta(days=days)


class SnapshotHistory:
    """The book's snapshots by date, read on demand and kept once read."""

    def __init__(
        self, dates: Iterable[date], read: Callable[[date, Sequence[str]], pa.Table]
    ) -> None:
        """``read(day, columns)`` reads those columns of the snapshot of ``day``."""
        self._dates = sorted(dates)
        self.read = read
        self._read: dict[date, pd.DataFrame] = {}

    @property
    def dates(self) -> list[date]:
        """Snapshot dates, oldest first."""
        return list(self._dates)

    def day(self, as_of: date) -> pd.DataFrame:
        """One day's snapshot: the modelling columns, money as float64, by loan id."""
        if as_of not in self._read:
            if as_of not in self._dates:
                raise KeyError(f"no snapshot for {as_of.isoformat()}")
            table = self.read(as_of, list(COLUMNS))
            columns = {}
            for name in table.column_names:
                col = table.column(name)
                if pa.types.is_decimal(col.type):
                    col = pc.cast(col, pa.float64())
                columns[name] = col
            frame = pa.table(columns).to_pandas()
            self._read[as_of] = frame.set_index("loan_id", drop=False)
        return self._read[as_of]

    @property
    def grid(self) -> list[date]:
        """The dates targets and history features are read on: the month ends when there
        are any, else every snapshot. One grid keeps "max dpd over 3 months" or "dpd > 0
        within 30 days" meaning the same whether the recent past has daily snapshots
        and the older past only month ends, so training and scoring rows agree."""
        month_ends = [d for d in self._dates if is_month_end(d)]
        return month_ends or list(self._dates)

    def between(self, start: date, end: date) -> list[date]:
        """Grid dates d with start < d <= end."""
        return [d for d in self.grid if start < d <= end]

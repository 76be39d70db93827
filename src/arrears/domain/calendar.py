"""Dates and day-count conventions used by schedules and accruals."""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from enum import StrEnum


class DayCount(StrEnum):
    """How a period's length in years is counted for interest."""

    ACT_365 = "ACT/365"
    ACT_360 = "ACT/360"
    THIRTY_360 = "30/360"

    @property
    def basis(self) -> int:
        """Days in the year for daily rates: daily rate = annual rate / basis."""
        return 365 if self is DayCount.ACT_365 else 360


def add_months(start: date, months: int, anchor_day: int | None = None) -> date:
    """``start`` moved by ``months`` calendar months, keeping ``anchor_day`` where the month has it.

    31 Jan + 1 month is 28/29 Feb, and + 2 months is 31 Mar again (the anchor day is
    kept, not the clamped one), as loan contracts expect.
    """
    day = anchor_day if anchor_day is not None else start.day
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last))


def days_30_360(start: date, end: date) -> int:
    """Days between two dates under the 30/360 US (bond basis) convention."""
    d1 = min(start.day, 30)
    d2 = end.day
    if d2 == 31 and d1 == 30:
        d2 = 30
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def day_count_days(start: date, end: date, convention: DayCount) -> int:
    """Number of interest days from ``start`` (exclusive) to ``end`` (inclusive)."""
    if convention is DayCount.THIRTY_360:
        return days_30_360(start, end)
    return (end - start).days


def year_fraction(start: date, end: date, convention: DayCount) -> Decimal:
    """The period ``start``..``end`` as an exact fraction of a year under ``convention``."""
    return Decimal(day_count_days(start, end, convention)) / Decimal(convention.basis)

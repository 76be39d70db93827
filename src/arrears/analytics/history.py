"""Which past days the analytics need snapshots of: the month ends of the book's life.

Roll rates month over month, vintage curves and flow rates compare month-end states,
so the close is asked to record those days too (``close_book(..., extra_days=...)``).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, func, select

from arrears.store.models import Loan


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def month_ends(first: date, last: date) -> list[date]:
    """Every month end from ``first``'s month up to and including ``last`` (a month end
    after ``last`` is left out), in order."""
    out = []
    day = month_end(first)
    while day <= last:
        out.append(day)
        day = month_end(day + timedelta(days=1))
    return out


def first_disbursement(engine: Engine) -> date | None:
    """The earliest disbursement date in the store's book (None for an empty book)."""
    with engine.connect() as conn:
        return conn.scalar(select(func.min(Loan.disbursed_on)))


def book_month_ends(engine: Engine, as_of: date) -> list[date]:
    """The month ends from the book's first disbursement through ``as_of``: the extra
    days a close should record so that the whole history can be analysed."""
    first = first_disbursement(engine)
    return month_ends(first, as_of) if first else []

"""The business clock: what day it is for the collections floor.

The store keeps instants in UTC; a *business date* (today's queue, "due today", the
default date of a promise, the dashboard's day) is the date on the wall clock of the
workspace's time zone, never the UTC date: at 06:28 in Beijing on 12-07 it is 12-07,
although UTC still says 12-06.

The zone is the workspace's setting ``time_zone`` in ``arrears.toml``::

    [workspace]
    time_zone = "Asia/Shanghai"

an IANA name; without it the zone is ``Asia/Shanghai`` (the demo's and the product's
home market). Every business date in the workbench comes from :func:`business_date`;
every "now" from :func:`utc_now` (or a clock a test pins).
"""

from __future__ import annotations

import functools
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"
SETTINGS_FILE = "arrears.toml"


class ClockError(ValueError):
    """The workspace names a time zone that does not exist (or is not a string)."""


def zone(name: str | None = None) -> ZoneInfo:
    """The zone called ``name`` (default: :data:`DEFAULT_TIME_ZONE`)."""
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(f"time_zone {name!r} is not an IANA time zone (Asia/Shanghai …)") from None


def workspace_time_zone(root: Path | str | None) -> str:
    """The name of the time zone of the workspace at ``root``: ``[workspace] time_zone``
    of its ``arrears.toml``, else :data:`DEFAULT_TIME_ZONE`. A zone that does not exist
    is an error naming the file (ClockError), never a silent fallback."""
    if root is None:
        return DEFAULT_TIME_ZONE
    path = Path(root) / SETTINGS_FILE
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return DEFAULT_TIME_ZONE
    return _read_zone(path, stamp)


@functools.lru_cache(maxsize=32)
def _read_zone(path: Path, stamp: int) -> str:  # stamp: a changed file is read again
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return DEFAULT_TIME_ZONE  # the settings loader reports a broken file
    table = data.get("workspace", {})
    name = table.get("time_zone", DEFAULT_TIME_ZONE) if isinstance(table, dict) else None
    if not isinstance(name, str):
        raise ClockError(f"{path}: workspace.time_zone must be a string such as 'Asia/Shanghai'")
    try:
        zone(name)
    except ClockError as exc:
        raise ClockError(f"{path}: workspace.{exc}") from None
    return name


def utc_now() -> datetime:
    """The current instant, in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive time is UTC: the store writes UTC, SQLite drops the
    zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def business_date(moment: datetime | None = None, time_zone: str | ZoneInfo | None = None) -> date:
    """The business date at ``moment`` (default: now) in ``time_zone`` (a name or a zone;
    default :data:`DEFAULT_TIME_ZONE`)."""
    where = time_zone if isinstance(time_zone, ZoneInfo) else zone(time_zone)
    return as_utc(moment or utc_now()).astimezone(where).date()


def day_bounds(day: date, time_zone: str | ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """The instants (UTC) where business date ``day`` starts and ends (end excluded) in
    ``time_zone``; the calendar's last day ends at its last instant."""
    where = time_zone if isinstance(time_zone, ZoneInfo) else zone(time_zone)
    return _midnight(day, where), _midnight(day + timedelta(days=1), where) if day < date.max else (
        datetime.max.replace(tzinfo=UTC)
    )


def _midnight(day: date, where: ZoneInfo) -> datetime:
    try:
        return datetime.combine(day, time(0), tzinfo=where).astimezone(UTC)
    except OverflowError:  # the calendar's first day, east of UTC
        return datetime.min.replace(tzinfo=UTC)

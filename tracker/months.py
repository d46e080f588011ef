"""Calendar months in the configured time zone: the unit of every metric and report."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from tracker.errors import ConfigError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_STORED = "%Y-%m-%dT%H:%M:%SZ"  # the database's UTC timestamp format


def parse_month(month: str) -> tuple[int, int]:
    """``"2026-03"`` -> ``(2026, 3)``; ConfigError for anything else."""
    match = _MONTH.match(month or "")
    if not match:
        raise ConfigError(f"month: expected YYYY-MM, got {month!r}")
    return int(match.group(1)), int(match.group(2))


def current_month(tz: str, now: datetime | None = None) -> str:
    """``YYYY-MM`` of ``now`` (default: the clock) in the time zone ``tz``."""
    return (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).strftime("%Y-%m")


def check_requested_month(month: str, tz: str, now: datetime | None = None) -> str:
    """The one check of a month a user asked for (``--month``): ``YYYY-MM`` and not in the future.

    The month in progress is allowed (its figures are partial); a month that has not begun
    in ``tz`` is refused with a ConfigError, so no command reports an empty future as data.
    """
    parse_month(month)
    current = current_month(tz, now)
    if month > current:
        raise ConfigError(f"month: {month} has not begun yet (it is {current} in {tz}); "
                          "choose this month or an earlier one")
    return month


def shift_month(month: str, delta: int) -> str:
    year, number = parse_month(month)
    index = year * 12 + (number - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def last_complete_month(tz: str, now: datetime | None = None) -> str:
    """The calendar month before the current one, in the time zone ``tz``."""
    local = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz))
    return shift_month(local.strftime("%Y-%m"), -1)


def month_bounds(month: str, tz: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, local midnight, as UTC datetimes."""
    year, number = parse_month(month)
    zone = ZoneInfo(tz)
    next_year, next_number = parse_month(shift_month(month, 1))
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(next_year, next_number, 1, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def month_bounds_utc(month: str, tz: str) -> tuple[str, str]:
    """``month_bounds`` as stored UTC text: start inclusive, end exclusive."""
    start, end = month_bounds(month, tz)
    return start.strftime(_STORED), end.strftime(_STORED)


def month_start_utc(now: datetime, tz: str) -> str:
    """The start of ``now``'s calendar month in ``tz``, as stored UTC text."""
    local = now.astimezone(ZoneInfo(tz))
    return month_bounds_utc(local.strftime("%Y-%m"), tz)[0]

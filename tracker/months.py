"""Calendar months in the configured time zone: the unit of every metric and report.

The one owner of month bounds, local time and weeks (Monday to Sunday, ISO numbering), in
Python and in the SQL the metrics count with: a post at 23:30 UTC on 31 March is in April
in Tokyo, for the metrics and the report alike.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tracker.errors import ConfigError
from tracker.domain import parse_utc, utc_iso

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


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
    return utc_iso(start), utc_iso(end)


def utc_month_start(now: datetime) -> datetime:
    """The start of ``now``'s calendar month in UTC (X bills and caps reads by the UTC month)."""
    return now.astimezone(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_start_utc(now: datetime, tz: str) -> str:
    """The start of ``now``'s calendar month in ``tz``, as stored UTC text."""
    local = now.astimezone(ZoneInfo(tz))
    return month_bounds_utc(local.strftime("%Y-%m"), tz)[0]


def local_time(stamp: str | None, tz: str) -> datetime | None:
    """A stored UTC timestamp (``2026-03-04T09:15:00Z``) in the time zone ``tz``; None for None."""
    if not stamp:
        return None
    return parse_utc(stamp).astimezone(ZoneInfo(tz))


def local_time_text(stamp: str | None, tz: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str | None:
    """``local_time`` as text (default "2026-03-04 09:15 GMT"); None for None."""
    moment = local_time(stamp, tz)
    return moment.strftime(fmt) if moment else None


def week_of(day: date) -> tuple[str, str]:
    """The week a local day is in: ("2026-W10", its Monday as "2026-03-02")."""
    iso = day.isocalendar()
    monday = day - timedelta(days=day.weekday())
    return f"{iso.year}-W{iso.week:02d}", monday.isoformat()


def month_weeks(month: str) -> list[tuple[str, str]]:
    """The weeks that overlap the month, as ``week_of`` gives them, in order."""
    year, number = parse_month(month)
    day = date(year, number, 1)
    weeks: list[tuple[str, str]] = []
    while day.month == number:
        week = week_of(day)
        if not weeks or weeks[-1] != week:
            weeks.append(week)
        day += timedelta(days=1)
    return weeks


def week_start_sql(local: str) -> str:
    """SQL giving the Monday (``YYYY-MM-DD``) of the local time ``local``: ``week_of``'s second part.

    SQLite's ``weekday 0`` moves forward to the next Sunday (a Sunday stays), six days back is its Monday.
    """
    return f"date({local}, 'weekday 0', '-6 days')"


def local_time_sql(column: str, start: datetime, end: datetime, tz: str) -> str:
    """SQL turning ``column`` (stored UTC text) into local time in ``tz`` within [start, end).

    SQLite knows no time zones, so the span is cut into parts of constant UTC offset (a DST
    change makes two) and each part gets its own shift.
    """
    zone = ZoneInfo(tz)
    spans: list[tuple[str, int]] = []  # (span ends before, offset seconds)
    moment, offset = start, None
    while moment < end:
        current = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if offset is not None and current != offset:
            spans.append((utc_iso(moment), offset))
        offset = current
        moment += timedelta(minutes=15)
    assert offset is not None
    cases = " ".join(f"WHEN {column} < '{edge}' THEN datetime({column}, '{shift:+d} seconds')"
                     for edge, shift in spans)
    last = f"datetime({column}, '{offset:+d} seconds')"
    return f"CASE {cases} ELSE {last} END" if cases else last

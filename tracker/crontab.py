"""Crontab strings from the config, turned into APScheduler 3.x triggers with cron's meaning.

APScheduler 3.x numbers weekdays from Monday = 0, while crontab uses Sunday = 0 (and 7);
``CronTrigger.from_crontab`` passes the field through unchanged, so ``0 9 * * 1-5`` would run
Tuesday to Saturday (documented in its docstring, agronholm/apscheduler issue 286, fixed
only in 4.x). Numeric weekday fields are therefore rewritten as day names first.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from apscheduler.triggers.cron import CronTrigger

# crontab weekday numbers 0..7 (0 and 7 are both Sunday) as APScheduler day names.
CRON_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NUMERIC_WEEKDAYS = re.compile(r"^(\*|\d)(?:-(\d))?(?:/(\d+))?$")


def _weekdays(field: str) -> str:
    """Rewrite crontab weekday numbers (Sunday = 0 or 7) as names; names pass unchanged."""
    parts = []
    for part in field.split(","):
        match = _NUMERIC_WEEKDAYS.match(part)
        if match is None:
            parts.append(part)
            continue
        start_text, end_text, step_text = match.groups()
        if start_text == "*":
            if step_text is None:
                parts.append("*")
                continue
            start, end = 0, 6
        else:
            start = int(start_text)
            end = int(end_text) if end_text is not None else (6 if step_text else start)
        if start > 7 or end > 7 or start > end:
            raise ValueError(f"weekday {part!r} is not a crontab weekday (0-7, Sunday = 0 or 7)")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step in {part!r} must be at least 1")
        parts.extend(CRON_WEEKDAYS[day] for day in range(start, end + 1, step))
    return ",".join(dict.fromkeys(parts))


def parse_crontab(expression: str, timezone: tzinfo | str) -> CronTrigger:
    """A CronTrigger for 5 crontab fields, or 6 with seconds first (a testing aid).

    Raises ValueError naming what is wrong.
    """
    fields = expression.split()
    if len(fields) == 5:
        second = "0"
        minute, hour, day, month, weekday = fields
    elif len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
    else:
        raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=_weekdays(weekday), timezone=timezone)


def crontab_problem(expression: str) -> str | None:
    """None when ``expression`` parses and fires, else why not (for config validation)."""
    try:
        trigger = parse_crontab(expression, "UTC")
    except ValueError as error:
        return str(error)
    # A date that no month has (31 February, 31 April) parses but never fires: the job
    # would silently never run.
    if trigger.get_next_fire_time(None, datetime.now(trigger.timezone)) is None:
        return "it never fires (no such date in any year)"
    return None


def fire_times(trigger: CronTrigger, start: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times at or after ``start``, computed without a scheduler."""
    times: list[datetime] = []
    previous: datetime | None = None
    now = start
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous, now = fire, fire + timedelta(microseconds=1)
    return times


def longest_interval(trigger: CronTrigger, start: datetime, horizon: timedelta = timedelta(days=35),
                     max_fires: int = 2000) -> timedelta | None:
    """The longest gap between consecutive fire times within ``horizon`` of ``start``.

    A weekday-only schedule has a longer gap over the weekend than during the week; the
    health check must not call an account stale on a Monday morning for that.
    """
    end = start + horizon
    times = fire_times(trigger, start, 2)
    if len(times) < 2:
        return None
    longest = times[1] - times[0]
    previous = times[1]
    for _ in range(max_fires):
        fire = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
        if fire is None or fire > end:
            break
        longest = max(longest, fire - previous)
        previous = fire
    return longest

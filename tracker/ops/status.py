"""Per-account health, read from the database (``tracker status``).

Staleness is judged against the schedule: an account is stale when its last
successful collection is older than ``[health] stale_after_hours``, by default three times
the longest gap between two runs of ``[schedule] collect``, so one missed or failed run is
tolerated and a monitoring system alerts on the second.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlite_utils import Database

from tracker.config import IMPORT_ONLY_PLATFORMS, Config
from tracker.months import month_start_utc
from tracker.crontab import longest_interval, parse_crontab
from tracker.domain import parse_utc
from tracker.store import queries

STALE_FACTOR = 3


@dataclass(frozen=True)
class AccountHealth:
    account_id: str
    leader_id: str
    platform: str
    handle: str
    status: str
    last_success_at: str | None
    posts_stored: int
    requests_month: int
    posts_read_month: int
    last_error: str | None
    consecutive_failures: int = 0
    hours_since_success: float | None = None
    stale: bool = False
    # Import-only platforms (LinkedIn): the newest imported export's date; staleness is its age.
    newest_export: str | None = None
    # From when the stored posts are complete, and why not earlier (accounts.complete_since,
    # accounts.history_limit): months before it have no data.
    complete_since: str | None = None
    history_limit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def columns(cls) -> list[str]:
        """The keys of ``as_dict``: the CSV header, also when there are no accounts."""
        return [f.name for f in fields(cls)]


@dataclass(frozen=True)
class Health:
    accounts: list[AccountHealth]
    expected_interval_hours: float | None
    stale_after_hours: float | None
    export_stale_after_days: int | None = None  # import-only accounts (LinkedIn)

    @property
    def stale(self) -> list[AccountHealth]:
        return [account for account in self.accounts if account.stale]

    def as_dict(self) -> dict[str, Any]:
        return {"expected_interval_hours": self.expected_interval_hours,
                "stale_after_hours": self.stale_after_hours,
                "export_stale_after_days": self.export_stale_after_days,
                "stale_accounts": [account.account_id for account in self.stale],
                "accounts": [account.as_dict() for account in self.accounts]}


def account_statuses(db: Database, now: datetime | None = None, stale_after: timedelta | None = None,
                     timezone_name: str = "UTC",
                     export_stale_after: timedelta | None = None) -> list[AccountHealth]:
    """One row per configured account: last success, posts stored, this month's reads, last
    error, failures since the last success and, given ``stale_after``, whether it is stale.

    An import-only account (LinkedIn) is stale, given ``export_stale_after``, when its newest
    export is older than that or it has none."""
    now = now or datetime.now(timezone.utc)
    month_start = month_start_utc(now, timezone_name)
    rows = []
    for row in queries.select_account_health(db, month_start):
        last_success = row[5]
        hours = None if last_success is None else round((now - parse_utc(last_success)).total_seconds() / 3600, 2)
        stale = stale_after is not None and (
            last_success is None or now - parse_utc(last_success) > stale_after)
        (account_id, leader_id, platform, handle, status, _, posts, requests, reads, error, failures,
         newest_export, complete_since, history_limit) = row
        if platform in IMPORT_ONLY_PLATFORMS:
            stale = export_stale_after is not None and (
                newest_export is None or now - parse_utc(newest_export) > export_stale_after)
        rows.append(AccountHealth(account_id, leader_id, platform, handle, status, last_success, posts, requests,
                                  reads, error, failures, hours, stale, newest_export, complete_since, history_limit))
    return rows


def stale_threshold(config: Config, now: datetime) -> tuple[timedelta | None, timedelta]:
    """(the schedule's longest gap between collect runs, the staleness threshold)."""
    trigger = parse_crontab(config.schedule.collect, zoneinfo.ZoneInfo(config.schedule.timezone))
    interval = longest_interval(trigger, now)
    if config.health.stale_after_hours:
        return interval, timedelta(hours=config.health.stale_after_hours)
    return interval, STALE_FACTOR * (interval or timedelta(hours=1))


def account_health(config: Config, db: Database, now: datetime | None = None) -> Health:
    """Every configured account's health, with staleness judged against ``[schedule] collect``."""
    now = now or datetime.now(timezone.utc)
    interval, threshold = stale_threshold(config, now)
    return Health(
        accounts=account_statuses(db, now, threshold, config.timezone,
                                  timedelta(days=config.linkedin.stale_after_days)),
        expected_interval_hours=None if interval is None else round(interval.total_seconds() / 3600, 4),
        stale_after_hours=round(threshold.total_seconds() / 3600, 4),
        export_stale_after_days=config.linkedin.stale_after_days,
    )


def check_health(config: Config, now: datetime | None = None) -> Health:
    """``account_health`` on the configured database (read-only is enough)."""
    from tracker.store import open_db

    db = open_db(config.database, create=False, read_only_ok=True)
    try:
        return account_health(config, db, now)
    finally:
        db.close()


def stale_problems(config: Config, health: Health) -> list[str]:
    """One sentence per kind of stale account: collected ones, and imported ones with no new export."""
    collected = [r.account_id for r in health.stale if r.platform not in IMPORT_ONLY_PLATFORMS]
    imported = [r.account_id for r in health.stale if r.platform in IMPORT_ONLY_PLATFORMS]
    problems = []
    if collected:
        problems.append(f"{len(collected)} account(s) stale (no successful collection for more than "
                        f"{health.stale_after_hours:g} h): {', '.join(collected)}")
    if imported:
        problems.append(f"{len(imported)} account(s) with no export newer than "
                        f"{config.linkedin.stale_after_days} days (import a new one): {', '.join(imported)}")
    return problems

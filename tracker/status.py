"""Per-account health, read from the database (``tracker status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database


@dataclass(frozen=True)
class AccountStatus:
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def month_start_utc(now: datetime, timezone_name: str) -> str:
    """The start of ``now``'s calendar month in the configured time zone, as stored UTC text."""
    local = now.astimezone(ZoneInfo(timezone_name))
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def account_statuses(db: Database, timezone_name: str = "UTC", now: datetime | None = None) -> list[AccountStatus]:
    """One row per configured account: last success, posts stored, this month's reads, last error."""
    now = now or datetime.now(timezone.utc)
    month_start = month_start_utc(now, timezone_name)
    sql = """
        SELECT a.id, a.leader_id, a.platform, a.handle, a.status, a.last_success_at,
            (SELECT count(*) FROM posts p WHERE p.account_id = a.id),
            (SELECT coalesce(sum(requests), 0) FROM runs r WHERE r.account_id = a.id AND r.started_at >= :month),
            (SELECT coalesce(sum(posts_read), 0) FROM runs r WHERE r.account_id = a.id AND r.started_at >= :month),
            (SELECT r.error FROM runs r WHERE r.account_id = a.id AND r.status != 'running'
                ORDER BY r.id DESC LIMIT 1)
        FROM accounts a WHERE a.in_config = 1 ORDER BY a.leader_id, a.platform
    """
    return [AccountStatus(*row) for row in db.execute(sql, {"month": month_start}).fetchall()]

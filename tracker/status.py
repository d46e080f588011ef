"""Per-account health, read from the database (``tracker status``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

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


def account_statuses(db: Database, now: datetime | None = None) -> list[AccountStatus]:
    """One row per configured account: last success, posts stored, this month's reads, last error."""
    now = now or datetime.now(timezone.utc)
    month_start = now.astimezone(timezone.utc).strftime("%Y-%m-01T00:00:00Z")
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

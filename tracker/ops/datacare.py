"""Data care: purge third-party context text after the retention period (backups: ``tracker.store.backup``).

Context posts (the posts leaders reply to, quote or repost) are written by other people:
personal data we keep only as long as ``[retention] context_days`` says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tracker import store
from tracker.config import Config
from tracker.domain import utc_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    purged: int
    cutoff: str | None  # None when retention is off (context_days = 0)


def purge_context(config: Config, now: datetime | None = None) -> PurgeResult:
    """Null the text, raw JSON and author names of context posts older than the retention."""
    days = config.retention.context_days
    if days == 0:
        return PurgeResult(0, None)
    now = now or datetime.now(timezone.utc)
    cutoff = utc_iso(now - timedelta(days=days))
    db = store.open_db(config.database, create=False)
    try:
        purged = store.save_context_purge(db, cutoff, utc_iso(now))
    finally:
        db.close()
    log.info("purged the text of %d context post(s) first seen before %s", purged, cutoff)
    return PurgeResult(purged, cutoff)

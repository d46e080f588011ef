"""Write a month's report from the config: open the database, read the data, render (issue 4).

The one library call behind ``tracker report``; the scheduler's monthly job and the demo
call it too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from tracker.config import Config
from tracker.report.pdf import FORMATS, ReportFiles, render_report
from tracker.months import check_requested_month, month_bounds_utc
from tracker.report.data import TREND_MONTHS, build_report_data, last_complete_month, shift_month

log = logging.getLogger(__name__)


def report_folder(config: Config, month: str) -> Path:
    """Where a month's report goes by default: ``REPORTS_DIR/YYYY-MM/``."""
    return config.reports_dir / month


def refresh_report_metrics(db: Database, config: Config, month: str) -> None:
    """Bring the metrics the report reads up to date, through the metrics layer.

    New posts are labelled; the report's month and the one before (its "change since last
    month") are computed again, since late collections can add to them; older months of
    the trend are computed only when missing, which keeps a report on a large database fast.
    """
    from tracker import store
    from tracker.label.stored import label_stored_posts
    from tracker.metrics.monthly import compute_metrics

    store.save_config(db, config)
    trend = [shift_month(month, delta) for delta in range(-TREND_MONTHS, 1)]
    label_stored_posts(db, config, created=(month_bounds_utc(trend[0], config.timezone)[0],
                                            month_bounds_utc(month, config.timezone)[1]))
    stored = {row[0] for row in db.execute(
        f"SELECT DISTINCT month FROM metrics WHERE month IN ({', '.join('?' for _ in trend)})", trend)}
    for one in trend:
        if one not in stored or one in (month, shift_month(month, -1)):
            store.save_metrics(db, compute_metrics(db, config, one))


def write_report(config: Config, month: str | None = None, group: str | None = None,
                 leader_ids: Sequence[str] = (), out_dir: Path | None = None,
                 formats: Sequence[str] = FORMATS, now: datetime | None = None) -> ReportFiles:
    """Render the report of ``month`` (default: the last complete month in the config's time zone)."""
    from tracker.store import ReadOnlyDatabase, open_db

    month = check_requested_month(month, config.timezone, now) if month else last_complete_month(config.timezone, now)
    db = open_db(config.database, create=False, read_only_ok=True)
    if isinstance(db, ReadOnlyDatabase):
        log.warning("the database %s is read-only (%s): the report's metrics are computed for it and not saved",
                    config.database, db.reason)
    try:
        refresh_report_metrics(db, config, month)
        data = build_report_data(db, config, month, group=group, leader_ids=tuple(leader_ids))
    finally:
        db.close()
    return render_report(data, out_dir or report_folder(config, month), formats)

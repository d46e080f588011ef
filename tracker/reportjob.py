"""Write a month's report from the config: open the database, read the data, render (issue 4).

The one library call behind ``tracker report``; the scheduler's monthly job and the demo
call it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tracker.config import Config
from tracker.errors import TrackerError
from tracker.report import FORMATS, ReportFiles, render_report
from tracker.reportdata import build_report_data, last_complete_month, parse_month


def report_folder(config: Config, month: str) -> Path:
    """Where a month's report goes by default: ``REPORTS_DIR/YYYY-MM/``."""
    return config.reports_dir / month


def write_report(config: Config, month: str | None = None, group: str | None = None,
                 leader_ids: Sequence[str] = (), out_dir: Path | None = None,
                 formats: Sequence[str] = FORMATS, now: datetime | None = None) -> ReportFiles:
    """Render the report of ``month`` (default: the last complete month in the config's time zone)."""
    from tracker.store import open_db

    month = month or last_complete_month(config.timezone, now)
    parse_month(month)
    if not config.database.exists():
        raise TrackerError(f"no database at {config.database} yet: run `tracker collect` first")
    db = open_db(config.database)
    try:
        data = build_report_data(db, config, month, group=group, leader_ids=tuple(leader_ids))
    finally:
        db.close()
    return render_report(data, out_dir or report_folder(config, month), formats)

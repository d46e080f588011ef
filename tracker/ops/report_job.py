"""The monthly report job, in one place: bring the labels and metrics up to date, read the
report's data from the store, render it, and mail it.

``tracker report`` (and its ``--send``), the scheduler's monthly job and the demo all call
these functions. The report package only shapes and draws: every query is in
``tracker.store.queries``, every write in the labelling and metrics stages called here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from tracker.config import Config
from tracker.domain import RunStatus
from tracker.errors import ConfigError, DeliveryError, TrackerError
from tracker.months import check_requested_month, last_complete_month, month_bounds_utc, parse_month, shift_month
from tracker.report.data import (BEHAVIOURS, FAILED_RUN_STATUSES, SAMPLE_CANDIDATES, TREND_MONTHS, ReportData,
                                 ReportRows, choose_leaders, describe_labeller, metric_months, shape_report)
from tracker.report.pdf import FORMATS, ReportFiles, render_report
from tracker.store import queries

log = logging.getLogger(__name__)


def report_folder(config: Config, month: str) -> Path:
    """Where a month's report goes by default: ``REPORTS_DIR/YYYY-MM/``."""
    return config.reports_dir / month


def refresh_report_metrics(db: Database, config: Config, month: str) -> None:
    """Bring the metrics the report reads up to date, through the labelling and metrics stages.

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
    stored = queries.select_metric_months(db, trend)
    for one in trend:
        if one not in stored or one in (month, shift_month(month, -1)):
            store.save_metrics(db, compute_metrics(db, config, one))


def build_report_data(db: Database, config: Config, month: str, group: str | None = None,
                      leader_ids: Sequence[str] = ()) -> ReportData:
    """Read everything the month's report shows from the store and shape it (reads only)."""
    from tracker.label.stored import labeller_for
    from tracker.metrics.monthly import load_metrics

    parse_month(month)
    leaders = choose_leaders(queries.select_own_leaders(db), group, tuple(dict.fromkeys(leader_ids)))
    ids = [leader[0] for leader in leaders]
    peers = queries.select_peer_leaders(db)
    start, end = month_bounds_utc(month, config.timezone)
    metrics = {one: load_metrics(db, one, tuple(ids + [peer[0] for peer in peers])) if ids else []
               for one in metric_months(month)}
    runs_ok, runs_failed = queries.count_runs_since(db, ids, start, RunStatus.OK, FAILED_RUN_STATUSES) if ids else (0, 0)
    rows = ReportRows(
        organisation=config.organisation_name, month=month, timezone=config.timezone, group=group,
        leaders=leaders, peers=peers, metrics=metrics,
        authored=queries.select_authored_posts_with_labels(db, ids, start, end) if ids else [],
        samples=queries.select_labelled_samples(db, ids, start, end, BEHAVIOURS, SAMPLE_CANDIDATES) if ids else [],
        others=queries.select_unlabelled_posts(db, ids, start, end, BEHAVIOURS, SAMPLE_CANDIDATES) if ids else [],
        accounts=queries.select_account_states(db, ids) if ids else [],
        failed_runs=queries.select_failed_runs(db, ids, start, end, FAILED_RUN_STATUSES) if ids else [],
        span=queries.select_data_span(db, ids) if ids else (None, None, None),
        account_count=queries.count_accounts(db, ids) if ids else 0, runs_ok=runs_ok, runs_failed=runs_failed,
        labeller=describe_labeller(labeller_for(config).model),
    )
    return shape_report(rows)


def write_report(config: Config, month: str | None = None, group: str | None = None,
                 leader_ids: Sequence[str] = (), out_dir: Path | None = None,
                 formats: Sequence[str] = FORMATS, now: datetime | None = None) -> ReportFiles:
    """Refresh labels and metrics, then render the report of ``month`` (default: the last
    complete month in the config's time zone)."""
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


def send_report(config: Config, files: ReportFiles) -> Path:
    """Mail a report just written through ``[delivery.email]``; return the PDF sent.

    ConfigError when there is no PDF or no mail server; a failed delivery is a DeliveryError
    that says the report is kept on disk.
    """
    from tracker.ops.delivery import deliver_report

    if files.pdf is None:
        raise ConfigError("--send needs the pdf format")
    if not config.email.enabled:
        raise ConfigError(f"{config.path}: delivery.email.host: expected an SMTP host to send the report")
    summary = files.summary.read_text(encoding="utf-8") if files.summary else None
    try:
        deliver_report(config, files.month, files.pdf, summary)
    except TrackerError as error:
        raise DeliveryError(f"{error} (the report is kept at {files.pdf})") from None
    return files.pdf


def monthly_report_job(config: Config, month: str) -> ReportFiles:
    """The scheduler's job: write ``month``'s report and, when ``[delivery.email]`` is set, mail it."""
    files = write_report(config, month)
    log.info("report for %s written to %s", month, files.folder)
    if config.email.enabled and files.pdf is not None:
        send_report(config, files)
        log.info("report for %s mailed to %d recipient(s)", month, len(config.email.recipients))
    return files

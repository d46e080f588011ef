"""One owner of local time and weeks (tracker.months): the SQL the metrics count with and the
Python the report shapes with agree, and a post near midnight lands in the same month in both."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

from tracker import store
from tracker.config import parse_config
from tracker.domain import HistoryEnd, Identity, Post
from tracker.metrics.monthly import compute_metrics
from tracker.months import local_time, local_time_sql, month_bounds, month_weeks, week_of, week_start_sql
from tracker.ops.report_job import build_report_data


def test_week_start_sql_is_the_monday_of_week_of():
    connection = sqlite3.connect(":memory:")
    day = date(2023, 12, 20)
    for _ in range(800):
        (monday,) = connection.execute(f"SELECT {week_start_sql('?')}", [f"{day.isoformat()} 12:34:56"]).fetchone()
        assert monday == week_of(day)[1], day
        day += timedelta(days=1)
    connection.close()


def test_local_time_sql_matches_local_time_across_daylight_saving_changes():
    connection = sqlite3.connect(":memory:")
    for month, tz in (("2026-03", "Europe/London"), ("2026-10", "Europe/London"), ("2026-04", "Australia/Sydney"),
                      ("2026-03", "Asia/Tokyo")):
        start, end = month_bounds(month, tz)
        sql = f"SELECT {local_time_sql('?1', start, end, tz)}"
        moment = start
        while moment < end:
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            (shifted,) = connection.execute(sql.replace("?1", f"'{stamp}'")).fetchone()
            expected = local_time(stamp, tz)
            assert expected is not None and shifted == expected.strftime("%Y-%m-%d %H:%M:%S"), (tz, stamp)
            moment += timedelta(minutes=50)
    connection.close()


def test_month_weeks_are_the_weeks_of_its_days():
    weeks = month_weeks("2026-04")
    assert weeks[0] == ("2026-W14", "2026-03-30") and weeks[-1] == ("2026-W18", "2026-04-27")
    assert len(weeks) == 5


CONFIG = """
[tracker]
database = "t.db"
timezone = "Asia/Tokyo"
[organisation]
name = "Acme"
[collect]
backfill_days = 0
[[leaders]]
id = "ada"
name = "Ada"
accounts = { x = "ada_x" }
"""


def test_a_post_late_on_the_last_utc_day_is_next_month_and_week_east_of_utc_in_metrics_and_report(tmp_path: Path):
    config = parse_config(CONFIG, tmp_path / "tracker.toml")
    db = store.open_db(config.database)
    try:
        store.save_config(db, config)
        [account] = store.get_accounts(db)
        store.save_identity(db, account.id, Identity("100", account.handle))
        [account] = store.get_accounts(db)
        # 31 May 2026 is a Sunday: 23:30 UTC is Monday 1 June, 08:30 in Tokyo, a new month and a new week.
        store.save_posts(db, account, [
            Post("x", "late", "2026-05-31T23:30:00Z", "Late on 31 May in UTC: 1 June, 08:30 in Tokyo.", "original"),
            Post("x", "may", "2026-05-31T14:00:00Z", "Sunday 31 May, 23:00 in Tokyo.", "original"),
            Post("x", "june", "2026-06-01T12:00:00Z", "Monday 1 June, 21:00 in Tokyo: the late post's week.", "original"),
        ])
        store.finish_run(db, store.start_run(db, "run-1", account), status="ok")
        store.save_history_end(db, account, HistoryEnd("2025-01-01T00:00:00Z", "first_post"))
        metrics = {month: {row["platform"]: row for row in compute_metrics(db, config, month)}
                   for month in ("2026-05", "2026-06")}
        reports = {month: build_report_data(db, config, month) for month in ("2026-05", "2026-06")}
    finally:
        db.close()
    assert metrics["2026-05"]["all"]["posts"] == 1 and metrics["2026-06"]["all"]["posts"] == 2
    assert metrics["2026-05"]["all"]["active_weeks"] == 1 and metrics["2026-06"]["all"]["active_weeks"] == 1
    # The report's weeks put each post in the month and the week the metrics do.
    weeks = {month: {week.week: week.posts for week in reports[month].leaders[0].weeks if week.posts}
             for month in ("2026-05", "2026-06")}
    assert weeks == {"2026-05": {"2026-W22": 1}, "2026-06": {"2026-W23": 2}}

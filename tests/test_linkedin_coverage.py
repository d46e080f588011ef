"""LinkedIn in the numbers: covered months from the exports, staleness, metrics and cross-posts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker import store
from tracker.cli import cli
from tracker.config import load_config
from tracker.demo.emulators.linkedin_export import Comment, Share, share_link, write_export
from tracker.collect.linkedin import import_linkedin_export
from tracker.metrics.monthly import compute_metrics, export_coverage
from tracker.months import month_bounds
from tracker.domain import Post
from tracker.ops.status import account_health

from platform_helpers import rows


def _config(tmp_path: Path, x: bool = False, extra: str = ""):
    accounts = 'linkedin = "ada-example"' + (', x = "ada_example"' if x else "")
    path = tmp_path / "tracker.toml"
    path.write_text(f"""
[tracker]
database = "tracker.db"
[organisation]
name = "Test Org"
{extra}
[[leaders]]
id = "ada"
name = "Ada Example"
accounts = {{ {accounts} }}
""", encoding="utf-8")
    return load_config(path)


@pytest.mark.parametrize(("month", "expected"), [
    ("2025-12", "none"),     # before the oldest item's month
    ("2026-01", "full"),     # the oldest item's month
    ("2026-02", "full"),
    ("2026-04", "partial"),  # the export was taken on 2026-04-20
    ("2026-05", "none"),     # later months: no data until a newer export arrives
])
def test_months_are_covered_from_the_oldest_item_to_the_export_date(month, expected):
    start, end = month_bounds(month, "Europe/London")
    assert export_coverage("2026-01-15T10:00:00Z", "2026-04-20T00:00:00Z", start, end, "Europe/London") == expected


def test_no_export_means_no_data():
    start, end = month_bounds("2026-03", "UTC")
    assert export_coverage(None, None, start, end, "UTC") == "none"


SHARES = [
    Share("2026-01-15 10:00:00", share_link("share", 1), "Our robot fleet passed 1,000 sites.\nThank you all"),
    Share("2026-02-03 09:00:00", share_link("share", 2), "What should we build next? Tell me in the comments."),
    Share("2026-02-04 09:00:00", share_link("share", 3), ""),
    Share("2026-03-10 08:00:00", share_link("share", 4), "Offline mode is live for every customer today."),
]
COMMENTS = [
    Comment("2026-02-03 12:00:00", share_link("activity", 11), "Lena Fischer Yes, it ships in March for everyone."),
    Comment("2026-02-05 12:00:00", share_link("activity", 12), "Omar Haddad Agreed, the data says otherwise though."),
    Comment("2026-02-06 12:00:00", share_link("activity", 13), "Congrats, team!"),
]


def _import(config, tmp_path, name="Basic_LinkedInDataExport_04-20-2026.zip", shares=SHARES, comments=COMMENTS):
    return import_linkedin_export(config, "ada", [write_export(tmp_path / name, shares, comments, ("Ada", "Example"))])


def _row(metrics, platform):
    return next(row for row in metrics if row["platform"] == platform)


def test_metrics_count_linkedin_posts_and_comments_in_covered_months_only(tmp_path):
    config = _config(tmp_path)
    _import(config, tmp_path)
    db = store.open_db(config.database)
    try:
        february = compute_metrics(db, config, "2026-02")
        may = compute_metrics(db, config, "2026-05")
        april = compute_metrics(db, config, "2026-04")
    finally:
        db.close()
    linkedin = _row(february, "linkedin")
    assert linkedin["coverage"] == "full"
    assert (linkedin["posts"], linkedin["originals"], linkedin["replies"], linkedin["reposts"]) == (4, 1, 3, 1)
    assert linkedin["unique_counterparts"] == 2  # two comments name the person answered; one does not
    assert _row(february, "all")["posts"] == 4
    assert _row(april, "linkedin")["coverage"] == "partial"
    assert _row(may, "linkedin")["coverage"] == "none" and _row(may, "linkedin")["posts"] is None


def test_a_newer_export_extends_the_covered_months(tmp_path):
    config = _config(tmp_path)
    _import(config, tmp_path)
    later = Share("2026-05-28 08:00:00", share_link("share", 5), "May retrospective")
    _import(config, tmp_path, "Basic_LinkedInDataExport_06-02-2026.zip", shares=[later, *SHARES])
    assert rows(config, "SELECT covered_from, covered_until FROM accounts WHERE id = 'ada:linkedin'") == [
        ("2026-01-15T10:00:00Z", "2026-06-02T00:00:00Z")]
    db = store.open_db(config.database)
    try:
        may = _row(compute_metrics(db, config, "2026-05"), "linkedin")
    finally:
        db.close()
    assert (may["coverage"], may["posts"]) == ("full", 1)


def test_cross_post_on_x_and_linkedin_counts_once_in_all(tmp_path):
    config = _config(tmp_path, x=True)
    _import(config, tmp_path)
    db = store.open_db(config.database)
    try:
        store.save_config(db, config)
        [x_account] = store.get_accounts(db, ["ada"], ["x"])
        run = store.start_run(db, "r1", x_account)
        store.save_posts(db, x_account, [Post("x", "900", "2026-03-10T09:30:00Z",
                                              "Offline mode is live for every customer today. https://t.co/x",
                                              "original")])
        store.finish_run(db, run, status="ok")
        db.execute("UPDATE runs SET started_at = '2025-01-01T00:00:00Z', finished_at = '2026-12-01T00:00:00Z'")
        march = compute_metrics(db, config, "2026-03")
    finally:
        db.close()
    assert (_row(march, "linkedin")["posts"], _row(march, "x")["posts"]) == (1, 1)
    assert _row(march, "all")["posts"] == 1
    assert _row(march, "x")["cross_posts"] == 1


def _health(config, now):
    db = store.open_db(config.database)
    try:
        return {account.account_id: account for account in account_health(config, db, now).accounts}
    finally:
        db.close()


def test_status_shows_the_newest_export_and_calls_it_stale_after_35_days(tmp_path):
    config = _config(tmp_path)
    _import(config, tmp_path)
    fresh = _health(config, datetime(2026, 5, 25, tzinfo=timezone.utc))["ada:linkedin"]
    assert (fresh.newest_export, fresh.stale) == ("2026-04-20T00:00:00Z", False)
    assert _health(config, datetime(2026, 5, 26, tzinfo=timezone.utc))["ada:linkedin"].stale


def test_status_of_an_account_with_no_export_is_stale(tmp_path):
    config = _config(tmp_path)
    db = store.open_db(config.database)
    store.save_config(db, config)
    db.close()
    account = _health(config, datetime(2026, 5, 1, tzinfo=timezone.utc))["ada:linkedin"]
    assert (account.newest_export, account.stale) == (None, True)


def test_status_command_exits_1_on_a_stale_export_and_0_on_a_fresh_one(tmp_path):
    config = _config(tmp_path, extra="[sources.linkedin]\nstale_after_days = 10")
    today = datetime.now(timezone.utc).replace(microsecond=0)
    old = today - timedelta(days=11)
    _import(config, tmp_path, "old.zip", shares=[Share(old.strftime("%Y-%m-%d %H:%M:%S"), share_link("share", 1),
                                                       "Old news")], comments=[])
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status"])
    assert result.exit_code == 1
    assert "no export newer than 10 days" in result.output and "ada:linkedin" in result.output
    assert old.strftime("%Y-%m-%dT%H:%M:%SZ") in result.output
    recent = today - timedelta(days=2)
    _import(config, tmp_path, "new.zip", shares=[Share(recent.strftime("%Y-%m-%d %H:%M:%S"),
                                                       share_link("share", 2), "New news")], comments=[])
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status"])
    assert result.exit_code == 0, result.output
    assert recent.strftime("%Y-%m-%dT%H:%M:%SZ") in result.output
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status", "--json"])
    health = json.loads(result.output)
    assert health["export_stale_after_days"] == 10 and health["stale_accounts"] == []
    assert health["accounts"][0]["newest_export"] == recent.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_comment_answering_a_colleague_leader_is_internal(tmp_path):
    config = _config(tmp_path)
    text = config.path.read_text(encoding="utf-8") + (
        '\n[[leaders]]\nid = "grace"\nname = "Grace Hopper"\naccounts = { x = "grace_hopper" }\n')
    config.path.write_text(text, encoding="utf-8")
    config = load_config(config.path)
    comments = [Comment("2026-02-03 12:00:00", share_link("activity", 11), "Grace Hopper Yes, it ships in March."),
                Comment("2026-02-04 12:00:00", share_link("activity", 12), "Lena Fischer Yes, it ships in March.")]
    _import(config, tmp_path, comments=comments)
    db = store.open_db(config.database)
    try:
        linkedin = _row(compute_metrics(db, config, "2026-02", leader_ids=["ada"]), "linkedin")
    finally:
        db.close()
    assert (linkedin["replies"], linkedin["external_replies"], linkedin["unique_counterparts"]) == (2, 1, 1)


def test_an_import_with_new_posts_drops_the_leaders_stored_metrics(tmp_path):
    config = _config(tmp_path)
    _import(config, tmp_path, shares=SHARES[:1], comments=[])
    db = store.open_db(config.database)
    try:
        store.save_metrics(db, compute_metrics(db, config, "2026-02"))
        assert db.execute("SELECT count(*) FROM metrics").fetchone()[0] > 0
    finally:
        db.close()
    _import(config, tmp_path, name="same.zip", shares=SHARES[:1], comments=[])  # nothing new: kept
    assert rows(config, "SELECT count(*) FROM metrics")[0][0] > 0
    _import(config, tmp_path, name="more.zip")
    assert rows(config, "SELECT count(*) FROM metrics") == [(0,)]

"""`tracker status`: staleness against the schedule, consecutive failures, exit code 1."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from tracker import store
from tracker.cli import cli
from tracker.config import load_config
from tracker.domain import utc_iso
from tracker.ops.status import account_health

CONFIG = """
[tracker]
database = "tracker.db"
[organisation]
name = "Example"
{extra}
[[leaders]]
id = "ada"
name = "Ada"
accounts = {{ x = "ada" }}
[[leaders]]
id = "grace"
name = "Grace"
accounts = {{ x = "grace" }}
"""


def _setup(tmp_path, now: datetime, extra: str = ""):
    """ada succeeded 2 h ago then failed twice; grace last succeeded 5 h ago."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "tracker.toml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    config = load_config(path)
    db = store.open_db(config.database)
    store.save_config(db, config)
    accounts = {a.id: a for a in store.get_accounts(db)}
    for account_id, statuses in (("ada:x", ["ok", "failed", "ok", "failed", "failed"]), ("grace:x", ["ok"])):
        for status in statuses:
            progress = store.start_run(db, "run", accounts[account_id])
            store.finish_run(db, progress, status=status,
                             error=None if status == "ok" else f"X server error (HTTP 503) #{progress.row_id}")
    # Test fixture: the last successes at chosen times (collect writes "now").
    db.execute("UPDATE accounts SET last_success_at = ? WHERE id = 'ada:x'", [utc_iso(now - timedelta(hours=2))])
    db.execute("UPDATE accounts SET last_success_at = ? WHERE id = 'grace:x'", [utc_iso(now - timedelta(hours=5))])
    db.conn.commit()
    return config, db


def test_staleness_against_the_hourly_schedule(tmp_path):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    config, db = _setup(tmp_path, now)
    health = account_health(config, db, now)
    db.close()
    assert (health.expected_interval_hours, health.stale_after_hours) == (1.0, 3.0)
    ada, grace = health.accounts
    assert (ada.account_id, ada.stale, ada.hours_since_success, ada.consecutive_failures) == ("ada:x", False, 2.0, 2)
    assert ada.last_error == "X server error (HTTP 503) #5"
    assert (grace.account_id, grace.stale, grace.hours_since_success, grace.consecutive_failures) == (
        "grace:x", True, 5.0, 0)
    assert [a.account_id for a in health.stale] == ["grace:x"]


def test_threshold_follows_the_schedule_or_the_health_setting(tmp_path):
    now = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
    config, db = _setup(tmp_path, now, '[schedule]\ncollect = "0 */2 * * *"\n')
    health = account_health(config, db, now)
    assert (health.expected_interval_hours, health.stale_after_hours, health.stale) == (2.0, 6.0, [])
    db.close()
    config, db = _setup(tmp_path / "b", now, "[health]\nstale_after_hours = 1.5\n")
    health = account_health(config, db, now)
    db.close()
    assert health.stale_after_hours == 1.5
    assert [a.account_id for a in health.stale] == ["ada:x", "grace:x"]


def test_status_json_and_exit_code_1_when_stale(tmp_path):
    config, db = _setup(tmp_path, datetime.now(timezone.utc))
    db.close()
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status", "--json"])
    assert result.exit_code == 1
    body, _, error = result.output.partition("\nError: ")
    data = json.loads(body)
    assert data["stale_accounts"] == ["grace:x"]
    assert data["stale_after_hours"] == 3.0
    assert [(a["account_id"], a["stale"], a["consecutive_failures"]) for a in data["accounts"]] == [
        ("ada:x", False, 2), ("grace:x", True, 0)]
    assert error == "1 account(s) stale (no successful collection for more than 3 h): grace:x\n"


def test_status_exit_0_when_fresh(tmp_path):
    config, db = _setup(tmp_path, datetime.now(timezone.utc), "[health]\nstale_after_hours = 48\n")
    db.close()
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status"])
    assert result.exit_code == 0, result.output
    header, ada, grace = result.output.splitlines()
    assert header.split()[:6] == ["account", "status", "last", "success", "age", "(h)"]
    assert ada.split()[0] == "ada:x" and " no " in ada and ada.rstrip().endswith("#5")

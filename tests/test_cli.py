"""The command line: exit codes, messages, the collect lock, and secrets kept out of output."""

from __future__ import annotations

import fcntl
import subprocess
import sys

from click.testing import CliRunner

from conftest import ENV, TOKEN
from tracker import __version__
from tracker.cli import cli
from tracker.store.lock import lock_path


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env if env is not None else ENV)


def test_version_and_help():
    assert run("--version").output == f"tracker, version {__version__}\n"
    result = run("-h")
    assert result.exit_code == 0 and "collect" in result.output


def test_collect_ok_then_partial_failure_names_the_account(config, emulator):
    result = run("--config", str(config.path), "collect", "--summary")
    assert result.exit_code == 0, result.output
    assert "alice:x" in result.stdout and "ok" in result.stdout
    emulator.add_fault("500", path="/2/users/102/tweets", times=10)
    result = run("--config", str(config.path), "collect")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        "Error: 1 of 3 accounts failed (the rest was saved): bob:x (X server error (HTTP 500)")


def test_collect_is_quiet_when_nothing_goes_wrong_off_a_terminal(config, emulator):
    first = run("--config", str(config.path), "collect")
    assert first.exit_code == 0
    assert first.output == f"tracker: WARNING: starting a new database at {config.database} (there was none)\n"
    result = run("--config", str(config.path), "collect")
    assert result.exit_code == 0
    assert result.output == ""


def test_unknown_leader_is_bad_usage(config, emulator):
    result = run("--config", str(config.path), "collect", "--leader", "nobody")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {config.path}: no leader with id 'nobody'\n"


def test_the_token_appears_nowhere(config, emulator):
    emulator.add_fault("503", path="/tweets", times=1)
    emulator.add_fault("429", path="/2/users/by/username/carol", reset_after=900)
    result = run("-vv", "--config", str(config.path), "collect", "--summary")
    assert result.exit_code == 1
    assert TOKEN not in result.output
    assert "Received API response" not in result.output  # tweepy's debug lines stay off
    assert TOKEN.encode() not in config.database.read_bytes()
    for extra in config.database.parent.glob("tracker.db*"):
        assert TOKEN.encode() not in extra.read_bytes()
    wrong = run("-vv", "--config", str(config.path), "collect", env={"TRACKER_X_BEARER_TOKEN": "wrong-secret-42"})
    assert wrong.exit_code == 1 and "X rejected the credentials (HTTP 401" in wrong.stderr
    assert "wrong-secret-42" not in wrong.output


def test_a_second_collect_exits_at_once_without_touching_the_database(config, emulator):
    holder = open(lock_path(config.database), "a+")
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        result = run("--config", str(config.path), "collect")
    finally:
        holder.close()
    assert result.exit_code == 1
    assert "another collection is already running" in result.stderr
    assert not config.database.exists()
    assert emulator.requests == []


def test_status_lists_every_account(config, emulator):
    assert run("--config", str(config.path), "collect").exit_code == 0
    result = run("--config", str(config.path), "status", "--json")
    assert result.exit_code == 0
    import json

    rows = json.loads(result.stdout)["accounts"]
    assert [(r["account_id"], r["posts_stored"], r["requests_month"], r["posts_read_month"]) for r in rows] == [
        ("alice:x", 3, 2, 3), ("bob:x", 3, 2, 3), ("carol:x", 3, 2, 3)]
    table = run("--config", str(config.path), "status")
    assert table.exit_code == 0 and "bob:x" in table.stdout


def test_init_writes_the_starter_config_once(tmp_path):
    path = tmp_path / "conf" / "tracker.toml"
    result = run("--config", str(path), "init")
    assert result.exit_code == 0 and path.exists()
    again = run("--config", str(path), "init")
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert run("--config", str(path), "init", "--force").exit_code == 0


def test_demo_collects_the_demo_organisation_offline(tmp_path):
    result = run("demo", "--out", str(tmp_path / "demo"), env={})
    assert result.exit_code == 0, result.output
    assert "failed accounts: 0" in result.stdout
    assert (tmp_path / "demo" / "tracker.db").exists()


def test_python_dash_m_runs_the_cli():
    completed = subprocess.run([sys.executable, "-m", "tracker", "--version"], capture_output=True, text=True,
                               check=True)
    assert completed.stdout == f"tracker, version {__version__}\n"


def test_month_to_date_starts_at_midnight_in_the_configured_time_zone():
    from datetime import datetime, timezone

    from tracker.months import month_start_utc

    now = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)  # already April 1st in Paris
    assert month_start_utc(now, "Europe/Paris") == "2026-03-31T22:00:00Z"
    assert month_start_utc(now, "UTC") == "2026-03-01T00:00:00Z"

"""A dead API stops early, every retry line names its account, and no account is starved."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner

from conftest import ENV, write_config
from tracker.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=ENV)


def test_an_unreachable_api_stops_the_platform_after_a_few_failures(tmp_path, emulator):
    # max_retries = 2: one account's three attempts and the next account's first fail.
    path = write_config(tmp_path, emulator.url)
    emulator.add_fault("drop", times=1000)
    result = run("--config", str(path), "collect", "--summary")
    assert result.exit_code == 1
    assert len(emulator.requests) == 4
    assert result.stderr.count("X API unreachable: 4 requests in a row failed to connect or timed out") == 2
    assert "X is skipped for the rest of this run" in result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert all("failed" in rows[account] for account in ("alice:x", "bob:x", "carol:x"))
    # Every retry line names the account it was for.
    retries = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(retries) == 2
    assert all(line.startswith("tracker: WARNING: alice:x (@alice): X request failed") for line in retries)


def test_timeouts_count_as_unreachable_too(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url, timeout=0.2)
    emulator.add_fault("hang", times=1000)
    try:
        result = run("--config", str(path), "collect")
    finally:
        emulator.release()
    assert result.exit_code == 1
    assert len(emulator.requests) == 4
    assert "X API unreachable" in result.stderr and "ReadTimeout" in result.stderr


def test_a_server_that_answers_errors_is_not_unreachable(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    emulator.add_fault("503", path="/tweets", times=1000)
    result = run("--config", str(path), "collect")
    assert result.exit_code == 1
    assert "unreachable" not in result.stderr
    assert len(emulator.requests_to("/tweets")) == 9  # every account tried, three times each


def test_accounts_start_with_the_least_recently_completed(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    assert run("--config", str(path), "collect").exit_code == 0
    assert run("--config", str(path), "collect", "--leader", "alice").exit_code == 0
    emulator.requests.clear()
    result = run("--config", str(path), "collect", "--summary")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["bob:x", "carol:x", "alice:x"]
    assert [r["path"] for r in emulator.requests] == ["/2/users/102/tweets", "/2/users/103/tweets",
                                                      "/2/users/101/tweets"]
    with sqlite3.connect(tmp_path / "tracker.db") as conn:
        assert conn.execute("SELECT count(*) FROM runs WHERE status = 'ok'").fetchone()[0] == 7

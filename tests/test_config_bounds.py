"""Config that validates but cannot work is refused up front, naming the key (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ENV, write_config
from tracker.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env=ENV)


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("timeout = 5", "timeout = inf", "sources.x.timeout: expected a number of seconds > 0, at most 300, got inf"),
    ("backfill_days = 0", "backfill_days = 1000000000", "collect.backfill_days: expected a whole number of days >= 0 "
     "(0 = all the API serves), at most 5000, got 1000000000"),
    ("retry_backoff = 0", "retry_backoff = 1e9", "sources.x.retry_backoff: expected a number of seconds >= 0, "
     "at most 60, got 1000000000.0"),
    ("max_retries = 2", "max_retries = 1000", "sources.x.max_retries: expected a whole number >= 0, at most 10"),
    ("max_rate_limit_wait = 0", "max_rate_limit_wait = nan", "sources.x.max_rate_limit_wait: expected a number of "
     "seconds >= 0, at most 3600, got nan"),
    ('api_base_url = "http://127.0.0.1', 'api_base_url = "http://exa mple.com', "sources.x.api_base_url: expected an "
     "http(s) URL, got 'http://exa mple.com"),
    ('api_base_url = "http://127.0.0.1:', 'api_base_url = "http://127.0.0.1:99999', "sources.x.api_base_url: "
     "expected an http(s) URL, got 'http://127.0.0.1:99999"),
    ("[collect]", "[sources.linkedin]\nstale_after_days = 1000000\n[collect]", "sources.linkedin.stale_after_days: "
     "expected a whole number of days >= 1, at most 36500, got 1000000"),
    ("[collect]", '[schedule]\ncollect = "0 0 31 2 *"\n[collect]', "schedule.collect: expected a crontab expression "
     "that fires"),
    ('name = "Test Org"', 'name = "Test\\nOrg"', "organisation.name: expected a non-empty string without control "
     "characters, got 'Test\\nOrg'"),
    ('name = "Alice"', 'name = "Alice\\u0007"', "leaders[0].name: expected a non-empty string without control "
     "characters"),
])
def test_absurd_values_are_refused_before_any_request(tmp_path, emulator, old, new, expected):
    path = write_config(tmp_path, emulator.url)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = run("--config", str(path), "collect")
    assert result.exit_code == 2, result.output
    assert f"Error: {path}: {expected}" in result.stderr
    assert "Traceback" not in result.output
    assert emulator.requests == []
    assert not (tmp_path / "tracker.db").exists()


def test_a_fifo_as_config_file_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "tracker.toml"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "tracker", "--config", str(fifo), "collect"],
                            capture_output=True, text=True, timeout=60, env={**os.environ, **ENV})
    assert result.returncode == 2
    assert result.stderr == f"Error: {fifo}: the config file is a named pipe (FIFO); expected a regular TOML file\n"


def test_a_blog_feed_url_with_an_impossible_port_is_refused(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    text = path.read_text(encoding="utf-8").replace('accounts = { x = "alice" }',
                                                    'accounts = { x = "alice", blog = "https://blog.example:0/feed" }')
    path.write_text(text, encoding="utf-8")
    result = run("--config", str(path), "collect")
    assert result.exit_code == 2
    assert "leaders[0].accounts.blog: expected the http(s) URL of the blog's RSS or Atom feed" in result.stderr


def test_a_mastodon_server_with_an_impossible_port_is_refused(tmp_path, emulator):
    path = write_config(tmp_path, emulator.url)
    text = path.read_text(encoding="utf-8").replace('accounts = { x = "alice" }',
                                                    'accounts = { x = "alice", mastodon = "alice@social.example:70000" }')
    path.write_text(text, encoding="utf-8")
    result = run("--config", str(path), "collect")
    assert result.exit_code == 2
    assert "leaders[0].accounts.mastodon: expected a Mastodon address user@server" in result.stderr

"""A collection killed with SIGKILL while a request is in flight (the pages before it answered and
saved, or being saved), then run again, loses and duplicates nothing. Killing inside a page's
write is covered by the store's tests of a page and its cursor committing together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlite_utils import Database

from conftest import ENV, make_tweet
from tracker.collect.run import collect


@pytest.mark.parametrize("kill_after_requests", [1, 2, 3, 4, 5, 7])
def test_sigkill_then_rerun_leaves_every_post_exactly_once(config, emulator, dataset, kill_after_requests):
    dataset.add_tweets(make_tweet(4_000_000 + n, "101") for n in range(420))  # alice: 5 pages
    expected = {f"x:{t['id']}" for t in dataset.tweets}
    # Hold the request numbered kill_after_requests: the kill lands while it is in flight,
    # after the pages before it were answered (and saved, or being saved).
    emulator.add_fault("hang", times=1, after=kill_after_requests - 1)
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(config.path), "collect"],
        env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert emulator.hanging.wait(30), f"the collection ended before request {kill_after_requests}"
        assert len(emulator.requests) == kill_after_requests
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    emulator.clear_faults()
    first = Database(config.database)
    saved = {row[0] for row in first.execute("SELECT id FROM posts")} if "posts" in first.table_names() else set()
    first.close()
    assert saved <= expected

    result = collect(config, env=ENV)
    assert all(r.status == "ok" for r in result.accounts)
    db = Database(config.database)
    ids = [row[0] for row in db.execute("SELECT id FROM posts")]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    # Posts saved before the kill were not read again.
    assert sum(r.posts_read for r in result.accounts) == len(expected) - len(saved)
    # The killed run's rows were closed, never left 'running'.
    assert db.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0

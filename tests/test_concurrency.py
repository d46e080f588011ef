"""Writers wait for each other: collect, metrics, report and purge at once never fail on the lock.

Every write transaction takes the lock up front (``BEGIN IMMEDIATE``), so a writer queues
within ``busy_timeout`` instead of failing with "database is locked" (a deferred ``BEGIN``
that reads and then writes cannot wait in WAL mode). The collections here are held
mid-request by the emulator's ``hang`` fault, so the other writers run while a page is in
flight, whatever the machine's speed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from conftest import ENV, make_tweet
from tracker.collect.run import collect

TRACKER = [sys.executable, "-m", "tracker"]


def start(config_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*TRACKER, "--config", str(config_path), *args], env={**os.environ, **ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


def stored_ids(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM posts")}


def test_collect_waits_for_another_writer_instead_of_losing_the_page(config, emulator, dataset):
    """The old failure: a page arrives while another process holds the write lock."""
    dataset.add_tweets(make_tweet(4_000_000 + n, "101") for n in range(250))  # alice: 3 pages
    expected = {f"x:{t['id']}" for t in dataset.tweets}
    emulator.add_fault("hang", path="/2/users/101/tweets", times=1)
    process = start(config.path, "collect")
    writer = None
    try:
        assert emulator.hanging.wait(30), "the collection never asked for alice's first page"
        # Another writer (a report storing its metrics, say) takes the lock while the page
        # is in flight, and keeps it for a second after the page has been served.
        writer = sqlite3.connect(config.database, timeout=30, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE leaders SET name = name")
        served = len(emulator.requests_to("/2/users/101/tweets"))
        emulator.release()  # the held request is dropped; the collector asks again
        assert emulator.wait_for_requests("/2/users/101/tweets", served + 1), "the collector did not ask again"
        threading.Event().wait(1.0)  # the other writer's work, not synchronisation
        writer.execute("COMMIT")
        code, output = finish(process)
    finally:
        if writer is not None:
            writer.close()
        if process.poll() is None:
            process.kill()
    assert code == 0, output
    assert "locked" not in output
    assert stored_ids(config.database) == expected


def test_collect_metrics_report_and_purge_together(tmp_path, config, emulator, dataset):
    # A few thousand stored posts, then new ones for the collection under test.
    dataset.add_tweets(make_tweet(5_000_000 + n, author) for author in ("101", "102", "103")
                       for n in range(1000))
    assert all(r.status == "ok" for r in collect(config, env=ENV).accounts)
    dataset.add_tweets(make_tweet(5_001_000 + n, author) for author in ("101", "102", "103")
                       for n in range(300))
    expected = {f"x:{t['id']}" for t in dataset.tweets}
    emulator.add_fault("hang", path="/tweets", times=1)
    collecting = start(config.path, "collect")
    others = []
    try:
        assert emulator.hanging.wait(30), "the collection never asked for a page"
        others = [start(config.path, "metrics", "--month", "2026-10"),
                  start(config.path, "report", "--month", "2026-10", "--format", "pdf,csv",
                        "--out", str(tmp_path / "out")),
                  start(config.path, "purge")]
        emulator.release()
        results = [finish(process) for process in (collecting, *others)]
    finally:
        for process in (collecting, *others):
            if process.poll() is None:
                process.kill()
    for code, output in results:
        assert code == 0, output
        assert "locked" not in output
    assert stored_ids(config.database) == expected
    assert (tmp_path / "out" / "report-2026-10.pdf").read_bytes().startswith(b"%PDF-")

"""The retry policy on blogs, through requests + feedparser against the local feed server:
5xx bursts and a timeout (the Retry-After wait is in test_source_blog.py). A feed has no
pagination: each run reads it whole, conditionally."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from platform_helpers import Sleeps, post_ids, run, write_config
from tracker.demo.emulators.blog import BlogDataset, BlogEmulator, BlogFeed, FeedEntry

START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _feed(name: str, entries: int) -> BlogFeed:
    return BlogFeed(f"{name} builds", f"https://{name}.example/", entries=[
        FeedEntry(title=f"{name} {n}", link=f"https://{name}.example/{n}", html=f"<p>Week {n}</p>",
                  published=START + timedelta(days=n)) for n in range(entries)])


@pytest.fixture
def emulator():
    feeds = {"/alice/feed.xml": _feed("alice", 3), "/bob/feed.xml": _feed("bob", 2)}
    with BlogEmulator(BlogDataset(feeds)) as running:
        yield running


def _config(tmp_path, emulator, **settings):
    values = {"retry_backoff": 0.5, "max_retries": 3, **settings}
    sources = "\n".join(["[sources.blog]", *(f"{key} = {value}" for key, value in values.items())])
    accounts = {name: {"blog": f"{emulator.url}/{name}/feed.xml"} for name in ("alice", "bob")}
    return write_config(tmp_path, accounts, sources)


def _statuses(result) -> dict[str, str]:
    return {r.account_id: r.status for r in result.accounts}


def test_a_503_burst_is_retried_with_exponential_backoff(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="/alice", times=3)
    sleeps = Sleeps()
    result = run(config, sleeps)
    assert _statuses(result) == {"alice:blog": "ok", "bob:blog": "ok"}
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(post_ids(config)) == 5


def test_a_503_burst_longer_than_the_retries_fails_only_that_feed(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="/alice", times=10)
    result = run(config, Sleeps())
    assert _statuses(result) == {"alice:blog": "failed", "bob:blog": "ok"}
    assert f"{emulator.url}/alice/feed.xml answered HTTP 503; gave up after 4 attempts" in result.accounts[0].error
    assert len(emulator.requests_to("/alice")) == 4
    assert len(post_ids(config)) == 2


def test_a_request_that_times_out_is_retried(tmp_path, emulator):
    config = _config(tmp_path, emulator, timeout=0.3)
    emulator.add_fault("hang", path="/alice")  # held until the emulator stops
    sleeps = Sleeps()
    result = run(config, sleeps)
    assert _statuses(result) == {"alice:blog": "ok", "bob:blog": "ok"}, result.accounts[0].error
    assert sleeps == [0.5]
    assert len(post_ids(config)) == 5

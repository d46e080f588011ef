"""Blog collection end to end: requests + feedparser against the local feed server."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tracker.demo.emulators.blog import BlogDataset, BlogEmulator, BlogFeed, FeedEntry
from tracker.collect.sources.blog import entry_id

from platform_helpers import Sleeps, collect_killed_mid_walk, cursor, post_ids, rows, run, write_config

START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _entry(number: int, **options) -> FeedEntry:
    return FeedEntry(title=f"Build log {number}", link=f"https://blog.example/posts/{number}",
                     html=f"<p>Week {number}: we shipped &amp; learned.</p><p>Next: more tests.</p>",
                     published=START + timedelta(days=number), **options)


@pytest.fixture(params=["rss", "atom"])
def emulator(request):
    feed = BlogFeed("Alice builds", "https://blog.example/", kind=request.param,
                    entries=[_entry(n) for n in range(3)])
    with BlogEmulator(BlogDataset({"/alice/feed.xml": feed})) as running:
        yield running


def _config(tmp_path, emulator, path="/alice/feed.xml", **extra):
    sources = "\n".join(["[sources.blog]", "retry_backoff = 0.5", *(f"{k} = {v}" for k, v in extra.items())])
    return write_config(tmp_path, {"alice": {"blog": emulator.url + path}}, sources)


def test_first_collection_stores_each_entry_as_an_original_post(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    [result] = run(config).accounts
    assert (result.status, result.requests, result.new_posts) == ("ok", 1, 3), result.error
    stored = rows(config, "SELECT native_id, kind, platform, created_at, text, url FROM posts ORDER BY created_at")
    feed_url = emulator.url + "/alice/feed.xml"
    assert stored[0] == (entry_id(feed_url, {"link": "https://blog.example/posts/0"}), "original", "blog",
                         "2026-03-01T09:00:00Z", "Build log 0\n\nWeek 0: we shipped & learned.\n\nNext: more tests.",
                         "https://blog.example/posts/0")


def test_unchanged_feed_is_one_conditional_request_and_nothing_read(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    [result] = run(config).accounts
    assert (result.status, result.requests, result.posts_read, result.new_posts) == ("ok", 1, 0, 0)
    last = emulator.requests[-1]["headers"]
    assert last["if-none-match"] == cursor(config, "alice:blog")["etag"]
    assert "if-modified-since" in last


def test_new_entry_is_the_only_one_read(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    emulator.dataset.add_entry("/alice/feed.xml", _entry(7))
    [result] = run(config).accounts
    assert (result.requests, result.posts_read, result.new_posts) == (1, 1, 1)
    assert len(post_ids(config)) == 4


def test_changed_guid_with_the_same_link_is_not_duplicated(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    for entry in emulator.dataset.feeds["/alice/feed.xml"].entries:
        entry.guid = f"urn:uuid:new-engine-{entry.link[-1]}"
    [result] = run(config).accounts
    assert result.status == "ok" and result.new_posts == 0
    assert len(post_ids(config)) == 3


@pytest.mark.parametrize("kind", ["500", "502", "malformed", "drop"])
def test_transient_faults_are_retried(tmp_path, emulator, kind):
    config = _config(tmp_path, emulator)
    emulator.add_fault(kind, path="/alice", times=2)
    sleeps = Sleeps()
    [result] = run(config, sleeps).accounts
    assert (result.status, result.new_posts) == ("ok", 3)
    assert sleeps == [0.5, 1.0]


def test_persistently_malformed_feed_fails_the_account(tmp_path, emulator):
    config = _config(tmp_path, emulator, max_retries=1)
    emulator.add_fault("malformed", path="/alice", times=3)
    [result] = run(config).accounts
    assert result.status == "failed"
    assert "is not a well-formed feed" in result.error and "gave up after 2 attempts" in result.error
    assert post_ids(config) == []


def test_rate_limit_retry_after_is_honoured(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("429", path="/alice", reset_after=30)
    sleeps = Sleeps()
    [result] = run(config, sleeps).accounts
    assert result.status == "ok" and len(sleeps) == 1 and 29 <= sleeps[0] <= 32


def test_missing_feed_is_not_found(tmp_path, emulator):
    config = _config(tmp_path, emulator, path="/nobody/feed.xml")
    [result] = run(config).accounts
    assert result.status == "failed" and "HTTP 404" in result.error
    assert rows(config, "SELECT status FROM accounts") == [("not_found",)]


def test_killed_run_leaves_nothing_half_done(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("hang", path="/alice")
    assert collect_killed_mid_walk(config, emulator) == -9
    assert post_ids(config) == [] and cursor(config, "alice:blog") is None
    [result] = run(config).accounts
    assert (result.status, result.new_posts) == ("ok", 3)
    [result] = run(config).accounts
    assert (result.requests, result.new_posts) == (1, 0)

"""Bluesky collection end to end: the real atproto client against the local AppView emulator."""

from __future__ import annotations

import copy

from datetime import datetime, timedelta, timezone

import pytest

from tracker.demo.emulators.bluesky import BlueskyDataset, BlueskyEmulator, actor, feed_item, post_view
from tracker.collect.sources.bluesky import normalize_item

from platform_helpers import Sleeps, collect_killed_mid_walk, cursor, post_ids, rows, run, write_config

ALICE = actor("did:plc:alice111", "alice.test", "Alice Leader")
BOB = actor("did:plc:bob22222", "bob.test", "Bob Public")
START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def _at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def build_dataset() -> BlueskyDataset:
    """Alice: 3 originals, a reply to Bob, a self-thread reply, a quote of Bob and a repost of Bob."""
    question = post_view(BOB, "bq1", "@alice.test when does the dock ship?", _at(0))
    bob_post = post_view(BOB, "bp1", "Robots will never work in cold rooms.", _at(1))
    first = post_view(ALICE, "a1", "We shipped offline mode today.", _at(10), counts=(1, 2, 30, 0))
    items = [
        feed_item(first),
        feed_item(post_view(ALICE, "a2", "Details: calibration is automatic now.", _at(12), reply=first),
                  parent=first),
        feed_item(post_view(ALICE, "a3", "@bob.test The dock ships in May.", _at(20), reply=question),
                  parent=question),
        feed_item(post_view(ALICE, "a4", "Here is the data on cold rooms: 3% slower.", _at(30), quote=bob_post)),
        feed_item(bob_post, reposted_by=ALICE, reposted_at=_at(40)),
        feed_item(post_view(ALICE, "a5", "Milestone: one million picks.", _at(50))),
        feed_item(post_view(ALICE, "a6", "Beta of the route planner goes out Friday.", _at(60))),
    ]
    # Deep-copied: the emulator's rename() edits the actor views in place.
    actors, items = copy.deepcopy(([ALICE, BOB], items))
    return BlueskyDataset(actors=actors, feeds={ALICE["did"]: items})


@pytest.fixture
def emulator():
    with BlueskyEmulator(build_dataset()) as running:
        yield running


def _config(tmp_path, emulator, handle="alice.test", **extra):
    sources = "\n".join(["[sources.bluesky]", f'api_base_url = "{emulator.url}"', "page_size = 3",
                         "retry_backoff = 0.5", *(f"{k} = {v}" for k, v in extra.items())])
    return write_config(tmp_path, {"alice": {"bluesky": handle}}, sources)


def test_first_collection_stores_every_kind_and_the_context(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    result = run(config)
    [account] = result.accounts
    assert account.status == "ok", account.error
    # resolveHandle once, then 7 items in pages of 3.
    assert account.requests == 1 + 3
    assert account.new_posts == 7 and account.posts_read == 7
    kinds = dict(rows(config, "SELECT native_id, kind FROM posts"))
    base = "at://did:plc:alice111/app.bsky.feed.post/"
    assert kinds[base + "a1"] == "original"
    assert kinds[base + "a2"] == "thread"
    assert kinds[base + "a3"] == "reply"
    assert kinds[base + "a4"] == "quote"
    assert kinds["repost:did:plc:alice111:at://did:plc:bob22222/app.bsky.feed.post/bp1"] == "repost"
    reply = rows(config, "SELECT in_reply_to_id, in_reply_to_user_id, created_at FROM posts WHERE native_id = ?",
                 [base + "a3"])
    assert reply == [("bluesky:at://did:plc:bob22222/app.bsky.feed.post/bq1", "did:plc:bob22222",
                      "2026-03-01T09:20:00Z")]
    context = rows(config, "SELECT native_id, author_handle, text FROM context_posts ORDER BY native_id")
    assert context == [
        ("at://did:plc:bob22222/app.bsky.feed.post/bp1", "bob.test", "Robots will never work in cold rooms."),
        ("at://did:plc:bob22222/app.bsky.feed.post/bq1", "bob.test", "@alice.test when does the dock ship?"),
    ]
    assert rows(config, "SELECT platform_user_id FROM accounts") == [("did:plc:alice111",)]
    # The feed was read by DID, with replies included.
    feed_requests = emulator.requests_to("getAuthorFeed")
    assert {r["query"]["actor"] for r in feed_requests} == {"did:plc:alice111"}
    assert {r["query"]["filter"] for r in feed_requests} == {"posts_with_replies"}


def test_second_run_with_nothing_new_is_one_request_and_reads_nothing(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    before = rows(config, "SELECT id, last_seen FROM posts ORDER BY id")
    [account] = run(config).accounts
    assert (account.status, account.requests, account.posts_read, account.new_posts) == ("ok", 1, 0, 0)
    assert rows(config, "SELECT id, last_seen FROM posts ORDER BY id") == before


def test_incremental_run_reads_only_the_new_posts(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    emulator.dataset.add_items(ALICE["did"], [feed_item(post_view(ALICE, f"n{i}", f"New post {i}", _at(100 + i)))
                                              for i in range(4)])
    [account] = run(config).accounts
    assert (account.new_posts, account.posts_read) == (4, 4)
    assert account.requests == 2  # 3 new on page 1, the 4th and the first stored item on page 2
    assert len(post_ids(config)) == 11


def test_handle_change_keeps_collecting_by_did(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    emulator.dataset.rename(ALICE["did"], "alice-new.test")
    emulator.dataset.add_items(ALICE["did"], [feed_item(post_view(ALICE, "r1", "After the rename", _at(200)))])
    [account] = run(config).accounts
    assert (account.status, account.new_posts, account.requests) == ("ok", 1, 1)
    assert not emulator.requests_to("resolveHandle")[1:]  # resolved once, in the first run


def test_rate_limit_waits_for_the_reset_then_continues(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("429", path="getAuthorFeed", reset_after=5)
    sleeps = Sleeps()
    [account] = run(config, sleeps).accounts
    assert account.status == "ok" and account.new_posts == 7
    assert len(sleeps) == 1 and 4 <= sleeps[0] <= 7  # reset - now + 1, from RateLimit-Reset


def test_rate_limit_too_far_away_keeps_what_was_read(tmp_path, emulator):
    config = _config(tmp_path, emulator, max_rate_limit_wait=60)
    run(config)  # the first run reads everything; the rate limit hits the next run's 2nd page
    emulator.dataset.add_items(ALICE["did"], [feed_item(post_view(ALICE, f"m{i}", f"More {i}", _at(300 + i)))
                                              for i in range(5)])
    emulator.add_fault("429", path="getAuthorFeed", times=10, reset_after=3600)
    [account] = run(config).accounts
    assert account.status == "failed" and "rate limit" in account.error
    emulator.clear_faults()
    [account] = run(config).accounts
    assert account.status == "ok" and account.new_posts == 5


@pytest.mark.parametrize("kind", ["500", "502", "malformed", "drop"])
def test_transient_faults_are_retried(tmp_path, emulator, kind):
    config = _config(tmp_path, emulator)
    emulator.add_fault(kind, path="getAuthorFeed", times=2)
    sleeps = Sleeps()
    [account] = run(config, sleeps).accounts
    assert account.status == "ok" and account.new_posts == 7
    assert sleeps == [0.5, 1.0]  # exponential backoff from retry_backoff


def test_persistent_server_errors_fail_the_account_only(tmp_path, emulator):
    config = _config(tmp_path, emulator, max_retries=1)
    emulator.add_fault("503", path="getAuthorFeed", times=5)
    [account] = run(config).accounts
    assert account.status == "failed"
    assert "Bluesky server error (HTTP 503); gave up after 2 attempts" in account.error


def test_unknown_account_is_reported_not_found(tmp_path, emulator):
    config = _config(tmp_path, emulator, handle="nobody.test")
    [account] = run(config).accounts
    assert account.status == "failed" and "not found" in account.error
    assert rows(config, "SELECT status FROM accounts") == [("not_found",)]


def test_deleted_account_after_resolution_is_not_found(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    run(config)
    emulator.dataset.remove_actor(ALICE["did"])
    [account] = run(config).accounts
    assert account.status == "failed" and "Unable to resolve handle" in account.error


def test_killed_run_resumes_without_gap_or_duplicate(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    # Let two pages through (committed with the walk's cursor), hold the third, kill the run.
    emulator.add_fault("hang", path="getAuthorFeed", after=2)
    status = collect_killed_mid_walk(config, emulator)
    assert status == -9
    saved = post_ids(config)
    assert len(saved) == 6  # two pages of 3 committed with their cursor
    assert "walk" in cursor(config, "alice:bluesky")
    [account] = run(config).accounts
    assert account.status == "ok" and account.new_posts == 1 and account.requests == 1
    assert len(post_ids(config)) == 7
    assert emulator.requests_to("getAuthorFeed")[-1]["query"]["cursor"]  # resumed on page 3


def test_normalize_recorded_shapes_reply_to_missing_parent():
    """A reply whose parent is a #notFoundPost still names the parent and its author."""
    gone = "at://did:plc:gone/app.bsky.feed.post/zz"
    item = feed_item(post_view(ALICE, "x1", "replying", _at(0)))
    item["post"]["record"]["reply"] = {"parent": {"uri": gone, "cid": "c"}, "root": {"uri": gone, "cid": "c"}}
    item["reply"] = {"parent": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": gone, "notFound": True},
                     "root": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": gone, "notFound": True}}
    post, context = normalize_item(item, ALICE["did"])
    assert (post.kind, post.in_reply_to_id, post.in_reply_to_user_id) == ("reply", "bluesky:" + gone, "did:plc:gone")
    assert context == []


def test_first_run_stops_at_the_backfill_window(tmp_path, emulator):
    sources = f'[sources.bluesky]\napi_base_url = "{emulator.url}"\npage_size = 3'
    config = write_config(tmp_path, {"alice": {"bluesky": "alice.test"}}, sources, backfill_days=1)
    clock = (START + timedelta(days=1, minutes=35)).timestamp()
    result = run(config, clock=lambda: clock)
    [account] = result.accounts
    assert account.new_posts == 3  # the repost at 40 min and the posts at 50 and 60 min
    assert account.requests == 1 + 2
    # Complete from the window's start on, not only from the oldest post read:
    assert rows(config, "SELECT complete_since, history_limit FROM accounts") == [
        ((START + timedelta(minutes=35)).strftime("%Y-%m-%dT%H:%M:%SZ"), "backfill")]


def test_an_unreachable_appview_stops_bluesky_after_a_few_failures(tmp_path, emulator):
    sources = "\n".join(["[sources.bluesky]", f'api_base_url = "{emulator.url}"', "max_retries = 1",
                         "retry_backoff = 0"])
    config = write_config(tmp_path, {"alice": {"bluesky": "alice.test"}, "bob": {"bluesky": "bob.test"},
                                     "carol": {"bluesky": "carol.test"}}, sources)
    emulator.add_fault("drop", times=1000)
    result = run(config)
    assert [r.status for r in result.accounts] == ["failed"] * 3
    assert len(emulator.requests) == 3  # alice's two attempts, bob's first: then Bluesky is skipped
    assert "Bluesky unreachable: 3 requests in a row failed to connect or timed out" in result.accounts[1].error
    assert result.accounts[2].error == "not tried: bluesky was unreachable earlier in this run"

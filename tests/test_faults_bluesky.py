"""The retry policy and account failures on Bluesky, through the atproto client against the
local AppView emulator: 5xx bursts, a timeout, a refused feed cursor, blocked and suspended
accounts. Waits are recorded, never slept."""

from __future__ import annotations

import pytest

from platform_helpers import Sleeps, cursor, post_ids, rows, run, write_config
from test_source_bluesky import ALICE, BOB, _at, build_dataset
from tracker.demo.emulators.bluesky import BlueskyEmulator, feed_item, post_view

ACCOUNTS = {"alice": {"bluesky": "alice.test"}, "bob": {"bluesky": "bob.test"}}


@pytest.fixture
def emulator():
    dataset = build_dataset()
    dataset.add_items(BOB["did"], [feed_item(post_view(BOB, f"b{n}", f"Bob's note {n}", _at(100 + n)))
                                   for n in range(2)])
    with BlueskyEmulator(dataset) as running:
        yield running


def _config(tmp_path, emulator, **settings):
    values = {"page_size": 3, "retry_backoff": 0.5, "max_retries": 3, **settings}
    sources = "\n".join(["[sources.bluesky]", f'api_base_url = "{emulator.url}"',
                         *(f"{key} = {value}" for key, value in values.items())])
    return write_config(tmp_path, ACCOUNTS, sources)


def _statuses(result) -> dict[str, str]:
    return {r.account_id: r.status for r in result.accounts}


def test_a_503_burst_is_retried_with_exponential_backoff(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="getAuthorFeed", times=3)
    sleeps = Sleeps()
    result = run(config, sleeps)
    assert _statuses(result) == {"alice:bluesky": "ok", "bob:bluesky": "ok"}
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(post_ids(config)) == 7 + 2


def test_a_503_burst_longer_than_the_retries_fails_only_that_account(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="getAuthorFeed", times=4)  # alice's four attempts
    result = run(config, Sleeps())
    assert _statuses(result) == {"alice:bluesky": "failed", "bob:bluesky": "ok"}
    assert "Bluesky server error (HTTP 503); gave up after 4 attempts" in result.accounts[0].error
    assert post_ids(config) == sorted(f"bluesky:at://{BOB['did']}/app.bsky.feed.post/b{n}" for n in range(2))


def test_a_request_that_times_out_is_retried(tmp_path, emulator):
    config = _config(tmp_path, emulator, timeout=0.3)
    emulator.add_fault("hang", path="getAuthorFeed")  # held until the emulator stops
    sleeps = Sleeps()
    result = run(config, sleeps)
    assert _statuses(result) == {"alice:bluesky": "ok", "bob:bluesky": "ok"}, result.accounts[0].error
    assert sleeps == [0.5]
    assert len(post_ids(config)) == 7 + 2


def test_a_refused_feed_cursor_restarts_the_walk_without_loss_or_duplicates(tmp_path, emulator):
    config = _config(tmp_path, emulator, max_rate_limit_wait=60)
    # Alice's second page meets a rate limit too far away: her first page is saved with the cursor.
    emulator.add_fault("429", path="getAuthorFeed", reset_after=3600, after=1)
    first = run(config, Sleeps(), leader_ids=["alice"]).accounts[0]
    assert (first.status, first.new_posts) == ("failed", 3)
    saved = cursor(config, "alice:bluesky")["walk"]["cursor"]
    emulator.expire_cursors()  # the AppView no longer reads it: 400 InvalidRequest "Malformed cursor"
    before = len(emulator.requests)
    second = run(config, Sleeps(), leader_ids=["alice"]).accounts[0]
    assert second.status == "ok", second.error
    made = [r["query"] for r in emulator.requests[before:]]
    assert made[0]["cursor"] == saved
    assert "cursor" not in made[1]  # the walk begins again at the newest item
    assert len(made) == 1 + 3
    assert second.new_posts == 4
    ids = post_ids(config)
    assert len(ids) == len(set(ids)) == 7
    assert "walk" not in cursor(config, "alice:bluesky")


@pytest.mark.parametrize(("dataset_set", "status", "message"), [
    ("suspended", "suspended", "Account has been suspended"),
    ("blocked_by", "blocked", "Requester is blocked by actor"),
])
def test_a_suspended_or_blocking_account_is_recorded_and_the_others_are_collected(tmp_path, emulator, dataset_set,
                                                                                  status, message):
    config = _config(tmp_path, emulator)
    run(config)
    getattr(emulator.dataset, dataset_set).add(ALICE["did"])
    emulator.dataset.add_items(BOB["did"], [feed_item(post_view(BOB, "b9", "Bob again", _at(300)))])
    result = run(config)
    assert _statuses(result) == {"alice:bluesky": "failed", "bob:bluesky": "ok"}
    assert message in result.accounts[0].error
    assert result.accounts[1].new_posts == 1
    assert rows(config, "SELECT id, status FROM accounts ORDER BY id") == [("alice:bluesky", status),
                                                                         ("bob:bluesky", "ok")]
    assert rows(config, "SELECT count(*) FROM posts WHERE account_id = 'alice:bluesky'") == [(7,)]  # kept

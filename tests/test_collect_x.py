"""Collecting from the local X emulator through the real tweepy client."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlite_utils import Database

from conftest import ENV, make_tweet, make_user, write_config
from tracker.collect.run import collect
from tracker.config import load_config
from tracker.demo.emulators.x import XEmulator


def post_ids(config) -> list[str]:
    db = Database(config.database)
    try:
        return [row[0] for row in db.execute("SELECT id FROM posts ORDER BY id")]
    finally:
        db.close()


def timeline_requests(emulator: XEmulator) -> list[dict]:
    return emulator.requests_to("/tweets")


def test_first_run_stores_every_post_with_its_account(config, emulator, dataset):
    result = collect(config, env=ENV)
    assert [r.status for r in result.accounts] == ["ok", "ok", "ok"]
    expected = sorted(f"x:{t['id']}" for t in dataset.tweets)
    assert post_ids(config) == expected
    db = Database(config.database)
    row = db.execute("SELECT leader_id, account_id, kind, like_count, repost_count, url FROM posts "
                     "WHERE id = 'x:1000000'").fetchone()
    assert row == ("alice", "alice:x", "original", 3, 1, "https://x.com/alice/status/1000000")
    runs = db.execute("SELECT account_id, status, requests, posts_read, new_posts FROM runs ORDER BY account_id").fetchall()
    # One user lookup and one timeline page per account.
    assert runs == [("alice:x", "ok", 2, 3, 3), ("bob:x", "ok", 2, 3, 3), ("carol:x", "ok", 2, 3, 3)]


def test_second_run_with_nothing_new_costs_one_request_per_account(config, emulator):
    collect(config, env=ENV)
    before = len(emulator.requests)
    result = collect(config, env=ENV)
    made = emulator.requests[before:]
    assert len(made) == 3
    assert all(r["path"].endswith("/tweets") for r in made)  # no user lookup after the first run
    assert all(r["query"]["since_id"] for r in made)
    assert [(r.requests, r.posts_read, r.new_posts) for r in result.accounts] == [(1, 0, 0)] * 3


@pytest.mark.parametrize("k", [1, 100, 101, 250])
def test_k_new_posts_cost_ceil_k_over_100_requests_and_none_is_read_twice(config, emulator, dataset, k):
    collect(config, env=ENV)
    dataset.add_tweets(make_tweet(5_000_000 + n, "101") for n in range(k))
    before = len(emulator.requests)
    result = collect(config, leader_ids=["alice"], env=ENV)
    made = emulator.requests[before:]
    assert len(made) == math.ceil(k / 100)
    assert result.accounts[0].posts_read == k
    assert result.accounts[0].new_posts == k
    ids = post_ids(config)
    assert len(ids) == len(set(ids)) == 9 + k


def test_leader_and_source_filters(config, emulator):
    result = collect(config, leader_ids=["bob"], platforms=["x"], env=ENV)
    assert [r.account_id for r in result.accounts] == ["bob:x"]


def test_unknown_leader_is_a_config_error_and_writes_nothing(config, emulator):
    from tracker.errors import ConfigError

    with pytest.raises(ConfigError, match="no leader with id 'zed'"):
        collect(config, leader_ids=["zed"], env=ENV)
    assert not config.database.exists()


def test_missing_token_is_a_config_error_and_writes_nothing(config):
    from tracker.errors import ConfigError

    with pytest.raises(ConfigError, match="TRACKER_X_BEARER_TOKEN is not set"):
        collect(config, env={})
    assert not config.database.exists()


def test_replies_and_quotes_keep_the_other_persons_post_as_context(config, emulator, dataset):
    question = make_tweet(7_000_000, "900", "@alice when does it ship?")
    dataset.add_tweets([
        question,
        make_tweet(7_000_001, "101", "@someone next week", referenced_tweets=[{"type": "replied_to", "id": "7000000"}],
                   in_reply_to_user_id="900", conversation_id="7000000"),
        make_tweet(7_000_002, "101", "and the docs too", referenced_tweets=[{"type": "replied_to", "id": "7000001"}],
                   in_reply_to_user_id="101", conversation_id="7000000"),
        make_tweet(7_000_003, "101", "worth a read", referenced_tweets=[{"type": "quoted", "id": "7000000"}]),
        make_tweet(7_000_004, "101", "RT @someone: @alice when does it ship?",
                   referenced_tweets=[{"type": "retweeted", "id": "7000000"}]),
    ])
    collect(config, leader_ids=["alice"], env=ENV)
    db = Database(config.database)
    kinds = dict(db.execute("SELECT native_id, kind FROM posts WHERE native_id LIKE '700000%'").fetchall())
    assert kinds == {"7000001": "reply", "7000002": "thread", "7000003": "quote", "7000004": "repost"}
    context = db.execute("SELECT id, author_handle, text FROM context_posts").fetchall()
    # Only the other person's post: the leader's own parent post is in `posts`, never in context.
    assert context == [("x:7000000", "someone", "@alice when does it ship?")]
    assert db.execute("SELECT in_reply_to_id, quoted_id FROM posts WHERE native_id = '7000003'").fetchone() == (
        None, "x:7000000")


def test_rate_limit_beyond_the_maximum_wait_stops_only_that_account(config, emulator):
    emulator.add_fault("429", path="/2/users/by/username/bob", reset_after=600)
    result = collect(config, env=ENV)
    statuses = {r.account_id: r.status for r in result.accounts}
    assert statuses == {"alice:x": "ok", "bob:x": "failed", "carol:x": "ok"}
    bob = next(r for r in result.accounts if r.account_id == "bob:x")
    assert "rate limit" in bob.error
    # The next run picks bob up.
    result = collect(config, env=ENV)
    assert all(r.status == "ok" for r in result.accounts)
    assert len(post_ids(config)) == 9


def test_rate_limit_mid_walk_keeps_saved_pages_and_resumes_without_rereading(config, emulator, dataset):
    collect(config, env=ENV, leader_ids=["alice"])
    dataset.add_tweets(make_tweet(3_000_000 + n, "101") for n in range(150))
    emulator.add_fault("429", path="/tweets", reset_after=600, after=1)  # the second page
    result = collect(config, env=ENV, leader_ids=["alice"])
    assert result.accounts[0].status == "failed"
    assert result.accounts[0].new_posts == 100  # the first page was saved
    before = len(emulator.requests)
    result = collect(config, env=ENV, leader_ids=["alice"])
    assert result.accounts[0].status == "ok"
    assert result.accounts[0].posts_read == 50  # only the rest of the walk: nothing read twice
    assert len(emulator.requests) - before == 1
    ids = post_ids(config)
    assert len(ids) == len(set(ids)) == 3 + 150
    # The walk is finished: the next run asks only for what is newer than the newest post.
    before = len(emulator.requests)
    collect(config, env=ENV, leader_ids=["alice"])
    assert emulator.requests[before]["query"]["since_id"] == "3000149"


def test_server_errors_are_retried_then_succeed(config, emulator):
    emulator.add_fault("503", path="/tweets", times=2)
    result = collect(config, env=ENV)
    assert all(r.status == "ok" for r in result.accounts)
    assert result.accounts[0].requests == 4  # lookup + two 503s + the page


@pytest.mark.parametrize("fault", ["500", "malformed", "drop"])
def test_persistent_faults_fail_one_account_and_keep_the_others(config, emulator, fault):
    emulator.add_fault(fault, path="/2/users/by/username/alice", times=10)
    result = collect(config, env=ENV)
    statuses = {r.account_id: r.status for r in result.accounts}
    assert statuses == {"alice:x": "failed", "bob:x": "ok", "carol:x": "ok"}
    alice = result.accounts[0]
    assert alice.requests == 3  # max_retries = 2: three attempts in all
    assert "gave up after 3 attempts" in alice.error
    assert len(post_ids(config)) == 6


def test_timeout_is_retried(tmp_path, emulator):
    config = load_config(write_config(tmp_path, emulator.url, timeout=0.2))
    emulator.add_fault("hang", path="/2/users/101/tweets")  # never answered: always a timeout
    result = collect(config, env=ENV, leader_ids=["alice"])
    assert result.accounts[0].status == "ok"
    assert result.accounts[0].requests == 3  # lookup, timed-out page, retried page


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda ds: ds.suspended.add("102"), "suspended", "User has been suspended"),
        (lambda ds: ds.users_by_id["102"].update(protected=True), "protected", "not authorized"),
        (lambda ds: ds.remove_user("102"), "not_found", "Could not find user"),
    ],
)
def test_unavailable_accounts_are_recorded_and_the_others_continue(config, emulator, dataset, change, status,
                                                                   message):
    collect(config, env=ENV)
    change(dataset)
    result = collect(config, env=ENV)
    bob = next(r for r in result.accounts if r.account_id == "bob:x")
    assert bob.status == "failed" and message in bob.error
    assert [r.status for r in result.accounts if r.account_id != "bob:x"] == ["ok", "ok"]
    db = Database(config.database)
    assert db.execute("SELECT status FROM accounts WHERE id = 'bob:x'").fetchone()[0] == status
    assert db.execute("SELECT count(*) FROM posts WHERE leader_id = 'bob'").fetchone()[0] == 3  # kept


def test_renamed_account_is_followed_by_its_user_id(config, emulator, dataset):
    collect(config, env=ENV)
    dataset.rename_user("101", "alice_new")
    dataset.add_tweets([make_tweet(8_000_000, "101")])
    result = collect(config, env=ENV, leader_ids=["alice"])
    assert result.accounts[0].status == "ok" and result.accounts[0].new_posts == 1
    assert not [r for r in emulator.requests if "alice_new" in r["path"]]


def test_an_id_that_disappears_is_resolved_again_and_a_new_owner_stops_the_account(config, emulator, dataset):
    collect(config, env=ENV, leader_ids=["alice"])
    # The account was deleted and the handle now belongs to a new account.
    dataset.remove_user("101")
    dataset.add_users([make_user("555", "alice")])
    dataset.add_tweets([make_tweet(9_000_000, "555")])
    result = collect(config, env=ENV, leader_ids=["alice"])
    assert result.accounts[0].status == "failed"
    assert "now belongs to user id 555, not to the stored user id 101" in result.accounts[0].error
    db = Database(config.database)
    assert db.execute("SELECT platform_user_id, status FROM accounts WHERE id = 'alice:x'").fetchone() == \
        ("101", "identity_changed")
    assert "x:9000000" not in post_ids(config)


def test_rejected_credentials_stop_the_platform_with_a_clear_message(config, emulator):
    result = collect(config, env={"TRACKER_X_BEARER_TOKEN": "wrong-token-123"})
    assert [r.status for r in result.accounts] == ["failed"] * 3
    assert "X rejected the credentials (HTTP 401" in result.accounts[0].error
    assert "TRACKER_X_BEARER_TOKEN" in result.accounts[0].error
    assert len(emulator.requests) == 1  # no point asking again with the same token


def test_interrupted_runs_are_closed_by_the_next_run(config, emulator):
    from tracker import store

    collect(config, env=ENV)
    db = store.open_db(config.database)
    account = store.get_accounts(db, ["alice"])[0]
    store.start_run(db, "killed", account)
    db.close()
    collect(config, env=ENV)
    db = Database(config.database)
    assert db.execute("SELECT status FROM runs WHERE run_id = 'killed'").fetchone()[0] == "interrupted"


def test_config_path_relative_database(tmp_path: Path, emulator):
    config = load_config(write_config(tmp_path, emulator.url))
    assert config.database == tmp_path / "tracker.db"


def test_a_post_the_collector_cannot_read_fails_only_that_account(config, emulator, dataset):
    dataset.add_tweets([make_tweet(6_000_000, "102", created_at="yesterday-ish")])
    result = collect(config, env=ENV)
    statuses = {r.account_id: r.status for r in result.accounts}
    assert statuses == {"alice:x": "ok", "bob:x": "failed", "carol:x": "ok"}
    assert "cannot be read" in result.accounts[1].error

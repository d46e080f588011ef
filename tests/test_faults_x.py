"""The retry policy on X, through tweepy against the local X emulator: rate-limit waits, 5xx
bursts, timeouts and an expired pagination token. Waits are recorded, never slept."""

from __future__ import annotations

import pytest

from conftest import ENV, make_tweet
from platform_helpers import Sleeps, cursor, post_ids, rows, write_config
from tracker.collect.run import CollectResult, collect
from tracker.config import Config

ACCOUNTS = {"alice": {"x": "alice"}, "bob": {"x": "bob"}, "carol": {"x": "carol"}}


def _config(tmp_path, emulator, **settings) -> Config:
    values = {"retry_backoff": 0.5, "max_rate_limit_wait": 60, "max_retries": 3, "timeout": 5, **settings}
    sources = "\n".join(["[sources.x]", f'api_base_url = "{emulator.url}"',
                         *(f"{key} = {value}" for key, value in values.items())])
    return write_config(tmp_path, ACCOUNTS, sources)


def _run(config: Config, sleeps: Sleeps, **options) -> CollectResult:
    return collect(config, env=ENV, source_options={"sleep": sleeps}, **options)


def _statuses(result: CollectResult) -> dict[str, str]:
    return {r.account_id: r.status for r in result.accounts}


def test_a_rate_limit_waits_for_the_announced_reset_then_goes_on(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("429", path="/2/users/101/tweets", reset_after=5)
    sleeps = Sleeps()
    result = _run(config, sleeps)
    assert _statuses(result) == {"alice:x": "ok", "bob:x": "ok", "carol:x": "ok"}
    # x-rate-limit-reset (whole epoch seconds) - now + 1 s
    assert len(sleeps) == 1 and 4 <= sleeps[0] <= 7
    assert result.accounts[0].requests == 3  # lookup, the 429, the page again
    assert len(post_ids(config)) == 9


def test_rate_limit_waits_are_bounded_within_one_call(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("429", path="/2/users/101/tweets", times=4, reset_after=2)
    sleeps = Sleeps()
    result = _run(config, sleeps)
    assert _statuses(result) == {"alice:x": "failed", "bob:x": "ok", "carol:x": "ok"}
    assert len(sleeps) == 3  # three waits, then the account is given up for this run
    assert "X rate limit reached" in result.accounts[0].error
    assert "3 waits in a row already" in result.accounts[0].error


def test_a_503_burst_is_retried_with_exponential_backoff(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="/2/users/101/tweets", times=3)
    sleeps = Sleeps()
    result = _run(config, sleeps)
    assert _statuses(result) == {"alice:x": "ok", "bob:x": "ok", "carol:x": "ok"}
    assert sleeps == [0.5, 1.0, 2.0]
    assert result.accounts[0].requests == 1 + 4  # lookup, three 503s, the page


def test_a_503_burst_longer_than_the_retries_fails_only_that_account(tmp_path, emulator):
    config = _config(tmp_path, emulator)
    emulator.add_fault("503", path="/2/users/101/tweets", times=10)
    result = _run(config, Sleeps())
    assert _statuses(result) == {"alice:x": "failed", "bob:x": "ok", "carol:x": "ok"}
    assert "X server error (HTTP 503); gave up after 4 attempts" in result.accounts[0].error
    assert len(emulator.requests_to("/2/users/101/tweets")) == 4
    assert post_ids(config) == sorted(f"x:{n}" for n in (2_000_000, 2_000_001, 2_000_002,
                                                         3_000_000, 3_000_001, 3_000_002))
    assert rows(config, "SELECT account_id, status, error IS NOT NULL FROM runs ORDER BY account_id") == [
        ("alice:x", "failed", 1), ("bob:x", "ok", 0), ("carol:x", "ok", 0)]


def test_a_request_that_times_out_is_retried(tmp_path, emulator):
    config = _config(tmp_path, emulator, timeout=0.3)
    emulator.add_fault("hang", path="/2/users/101/tweets")  # held until the emulator stops
    sleeps = Sleeps()
    result = _run(config, sleeps, leader_ids=["alice"])
    assert result.accounts[0].status == "ok", result.accounts[0].error
    assert sleeps == [0.5]
    assert len(emulator.requests_to("/2/users/101/tweets")) == 2
    assert len(post_ids(config)) == 3


def test_an_expired_pagination_token_restarts_the_walk_without_loss_or_duplicates(tmp_path, emulator, dataset):
    config = _config(tmp_path, emulator)
    _run(config, Sleeps(), leader_ids=["alice"])
    dataset.add_tweets(make_tweet(3_000_000 + n, "101") for n in range(150))
    # The second page meets a rate limit too far away: the first page is saved with the walk's token.
    emulator.add_fault("429", path="/tweets", reset_after=3600, after=1)
    [first] = _run(config, Sleeps(), leader_ids=["alice"]).accounts
    assert (first.status, first.new_posts) == ("failed", 100)
    token = cursor(config, "alice:x")["walk"]["token"]
    emulator.expire_pagination_tokens()
    before = len(emulator.requests)
    [second] = _run(config, Sleeps(), leader_ids=["alice"]).accounts
    assert second.status == "ok", second.error
    made = emulator.requests[before:]
    assert made[0]["query"]["pagination_token"] == token  # refused: HTTP 400 invalid-request
    assert "pagination_token" not in made[1]["query"]  # the walk begins again from since_id
    assert made[1]["query"]["since_id"] == "1000002"
    assert len(made) == 3
    assert (second.posts_read, second.new_posts) == (150, 50)
    ids = post_ids(config)
    assert len(ids) == len(set(ids)) == 3 + 150
    assert cursor(config, "alice:x") == {"since_id": "3000149"}


def test_a_token_refused_mid_run_fails_the_account_clearly_and_the_next_run_recovers(tmp_path, emulator, dataset):
    config = _config(tmp_path, emulator)
    _run(config, Sleeps(), leader_ids=["alice"])
    dataset.add_tweets(make_tweet(3_000_000 + n, "101") for n in range(150))

    class ExpireWhileWaiting(Sleeps):
        """The tokens go stale while the collector waits out a rate limit."""

        def __call__(self, seconds: float) -> None:
            super().__call__(seconds)
            emulator.expire_pagination_tokens()

    emulator.add_fault("429", path="/tweets", reset_after=1, after=1)  # page 2: wait, then retry
    [first] = _run(config, ExpireWhileWaiting(), leader_ids=["alice"]).accounts
    # Only a token saved by an earlier run is taken as expired; one from this run is an error.
    assert first.status == "failed" and first.new_posts == 100
    assert "X rejected the request (HTTP 400: The `pagination_token` query parameter value" in first.error
    [second] = _run(config, Sleeps(), leader_ids=["alice"]).accounts
    assert (second.status, second.new_posts) == ("ok", 50), second.error
    ids = post_ids(config)
    assert len(ids) == len(set(ids)) == 3 + 150


@pytest.mark.parametrize("body", [b'{"data": {"id": "101", "username": "alice"}, "meta": []}'])
def test_a_page_of_the_wrong_shape_is_retried_then_fails_only_that_account(tmp_path, emulator, body):
    config = _config(tmp_path, emulator, max_retries=1)
    emulator.add_fault("body", path="/2/users/101/tweets", times=5, body=body)
    result = _run(config, Sleeps())
    assert _statuses(result) == {"alice:x": "failed", "bob:x": "ok", "carol:x": "ok"}
    assert "X sent a malformed answer" in result.accounts[0].error


def test_only_failures_to_connect_in_a_row_count_towards_the_unreachable_stop(tmp_path, emulator):
    # max_retries = 3: five connection failures in a row stop X. Any answer, even a 503, resets the count.
    config = _config(tmp_path, emulator)
    emulator.add_fault("drop", times=2)  # alice: two connection failures...
    emulator.add_fault("503", times=2)  # ...then two answers (errors all the same): she gives up
    emulator.add_fault("drop", times=4)  # bob: four failures in a row, one short of the stop
    result = _run(config, Sleeps())
    assert _statuses(result) == {"alice:x": "failed", "bob:x": "failed", "carol:x": "ok"}
    assert "X server error (HTTP 503); gave up after 4 attempts" in result.accounts[0].error
    assert "X request failed (ConnectionError); gave up after 4 attempts" in result.accounts[1].error
    assert "unreachable" not in result.accounts[1].error


def test_an_expired_token_in_the_mentions_walk_restarts_only_that_walk(tmp_path, emulator, dataset):
    from tracker.collect.sources.x_cursor import mentions_collected_before

    config = _config(tmp_path, emulator, mentions="true")
    dataset.add_tweets(make_tweet(7_000_000 + n, "900", f"@alice question {n}") for n in range(150))
    emulator.add_fault("429", path="/mentions", reset_after=3600, after=1)  # the second mentions page
    [first] = _run(config, Sleeps(), leader_ids=["alice"]).accounts
    assert first.status == "failed"
    stored = cursor(config, "alice:x")
    assert stored["since_id"] == "1000002" and stored["mentions"]["walk"]["token"]
    assert rows(config, "SELECT count(*) FROM mentions") == [(100,)]
    emulator.expire_pagination_tokens()
    before = len(emulator.requests)
    [second] = _run(config, Sleeps(), leader_ids=["alice"]).accounts
    assert second.status == "ok", second.error
    assert [r["path"] for r in emulator.requests[before:]] == ["/2/users/101/tweets"] + ["/2/users/101/mentions"] * 3
    assert rows(config, "SELECT count(*), count(DISTINCT context_id) FROM mentions") == [(150, 150)]
    assert cursor(config, "alice:x") == {"since_id": "1000002", "mentions": {"since_id": "7000149", "from": None}}
    [(value,)] = rows(config, "SELECT value FROM cursors WHERE account_id = 'alice:x'")
    assert mentions_collected_before(value, "2026-10-01T00:00:00Z")

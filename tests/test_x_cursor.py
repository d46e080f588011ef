"""The X source's cursor: where the next run goes on, and from when mentions are complete,
read back from what a real collection saved."""

from __future__ import annotations

from datetime import datetime, timezone

from conftest import ENV, make_tweet
from platform_helpers import Sleeps, cursor, post_ids, rows, write_config
from tracker.collect.run import collect
from tracker.collect.sources.x_cursor import mentions_collected_before


def _config(tmp_path, emulator, backfill_days=0, mentions="false"):
    sources = "\n".join(["[sources.x]", f'api_base_url = "{emulator.url}"', "retry_backoff = 0",
                         f"mentions = {mentions}"])
    return write_config(tmp_path, {"alice": {"x": "alice"}}, sources, backfill_days=backfill_days)


def test_a_walk_of_three_pages_ends_at_its_newest_post_and_the_next_run_reads_nothing(tmp_path, emulator, dataset):
    config = _config(tmp_path, emulator)
    collect(config, env=ENV)
    dataset.add_tweets(make_tweet(3_000_000 + n, "101") for n in range(250))  # pages of 100, 100, 50
    [walked] = collect(config, env=ENV).accounts
    assert (walked.status, walked.requests, walked.new_posts) == ("ok", 3, 250)
    assert cursor(config, "alice:x") == {"since_id": "3000249"}
    [again] = collect(config, env=ENV).accounts
    assert (again.requests, again.posts_read) == (1, 0)
    assert len(post_ids(config)) == 3 + 250


def test_mentions_count_only_from_where_the_first_mentions_walk_began(tmp_path, emulator, dataset):
    config = _config(tmp_path, emulator, backfill_days=10, mentions="true")
    dataset.add_tweets([make_tweet(7_000_000, "900", "@alice a question")])
    now = datetime(2026, 10, 20, 12, tzinfo=timezone.utc).timestamp()
    collect(config, env=ENV, source_options={"sleep": Sleeps(), "clock": lambda: now})
    [(stored,)] = rows(config, "SELECT value FROM cursors WHERE account_id = 'alice:x'")
    assert cursor(config, "alice:x")["mentions"]["from"] == "2026-10-10T12:00:00Z"
    assert not mentions_collected_before(stored, "2026-10-01T00:00:00Z")  # September: not collected
    assert not mentions_collected_before(stored, "2026-10-10T12:00:00Z")
    assert mentions_collected_before(stored, "2026-11-01T00:00:00Z")  # October: collected
    assert not mentions_collected_before('{"since_id": "1"}', "2026-11-01T00:00:00Z")  # no mentions walk yet
    assert not mentions_collected_before(None, "2026-11-01T00:00:00Z")

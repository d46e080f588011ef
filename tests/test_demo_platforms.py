"""The demo organisation is collected from all four emulators, with the behaviours the issue names."""

from __future__ import annotations

from datetime import datetime, timezone

from tracker.demo.run import run_demo

from platform_helpers import rows

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


def test_demo_collects_every_platform_without_failure(tmp_path):
    outcome = run_demo(tmp_path / "demo", now=NOW)
    assert outcome.collect_result.failed == []
    assert {r.account_id for r in outcome.collect_result.accounts} >= {
        "maya:bluesky", "maya:mastodon", "tomas:mastodon", "priya:bluesky", "priya:blog"}

    class Config:  # rows() only needs the database path
        database = outcome.database

    by_leader = set(rows(Config, "SELECT leader_id, platform FROM posts GROUP BY leader_id, platform"))
    assert {("maya", "bluesky"), ("maya", "mastodon"), ("tomas", "mastodon"), ("priya", "bluesky"),
            ("priya", "blog")} <= by_leader
    kinds = dict(rows(Config, "SELECT account_id || ' ' || kind, count(*) FROM posts GROUP BY account_id, kind"))
    assert kinds["maya:mastodon reply"] > 50 and kinds["maya:bluesky reply"] > 50   # answers
    assert kinds["tomas:mastodon reply"] > 50 and kinds.get("tomas:mastodon quote", 0) > 0  # debate
    assert kinds["priya:blog original"] > 10
    # Priya cross-posts X progress notes to Bluesky within 48 hours, word for word.
    crossposted = rows(Config, """
        SELECT count(*) FROM posts b JOIN posts x ON x.text = b.text AND x.leader_id = b.leader_id
        WHERE b.platform = 'bluesky' AND x.platform = 'x' AND b.leader_id = 'priya'
          AND julianday(b.created_at) - julianday(x.created_at) BETWEEN 0 AND 2""")[0][0]
    assert crossposted > 20
    # Replied-to posts on the other platforms are stored as context.
    assert rows(Config, "SELECT count(*) FROM context_posts WHERE platform = 'mastodon'")[0][0] > 100

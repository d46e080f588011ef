"""The cursor moves only with its page: a page whose write fails leaves the cursor where it
was, so the next run reads that page again and nothing is lost or stored twice.

The write is made to fail inside the real SQLite file (a trigger that aborts one post's
insert, the way a full disk or an I/O error would abort it), deterministically, without a
kill and without waiting.
"""

from __future__ import annotations

import sqlite3

from conftest import ENV, make_tweet
from platform_helpers import cursor, post_ids
from tracker.collect.run import collect


def _db(config) -> sqlite3.Connection:
    return sqlite3.connect(config.database, isolation_level=None)


def test_a_page_whose_write_fails_is_read_again_by_the_next_run(config, emulator, dataset):
    collect(config, env=ENV, leader_ids=["alice"])
    dataset.add_tweets(make_tweet(3_000_000 + n, "101") for n in range(150))  # two pages: 100 + 50
    with _db(config) as conn:
        conn.execute("CREATE TRIGGER fail_one_post BEFORE INSERT ON posts WHEN NEW.id = 'x:3000010' "
                     "BEGIN SELECT RAISE(ABORT, 'the disk went away'); END")
    [failed] = collect(config, env=ENV, leader_ids=["alice"]).accounts
    assert failed.status == "failed" and "the disk went away" in failed.error
    assert failed.new_posts == 100  # the first page is saved, the second not at all
    assert len(post_ids(config)) == 3 + 100
    assert cursor(config, "alice:x")["walk"]["token"]  # still before the second page
    with _db(config) as conn:
        conn.execute("DROP TRIGGER fail_one_post")
    [resumed] = collect(config, env=ENV, leader_ids=["alice"]).accounts
    assert resumed.status == "ok", resumed.error
    assert (resumed.posts_read, resumed.new_posts) == (50, 50)
    ids = post_ids(config)
    assert len(ids) == len(set(ids)) == 3 + 150
    assert cursor(config, "alice:x") == {"since_id": "3000149"}

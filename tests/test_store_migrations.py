"""Databases of earlier versions, with data in them, brought up to date by ``store.open_db``."""

from __future__ import annotations

import json

from sqlite_utils import Database

from tracker import store
from tracker.config import parse_config
from tracker.domain import Post
from tracker.store.migrations import migrations

CONFIG = parse_config('[organisation]\nname = "O"\n[[leaders]]\nid = "ada"\nname = "Ada Lovelace"\nrole = "CEO"\n'
                      'group = "Board"\naccounts = { x = "ada", bluesky = "ada.bsky.social" }\n',
                      __import__("pathlib").Path("t.toml"))


def old_database(path, stop_before: str) -> Database:
    """A database whose schema stops before ``stop_before``, as an earlier version left it."""
    db = Database(path)
    migrations.apply(db, stop_before=stop_before)
    return db


def insert(db: Database, table: str, rows: list[dict]) -> None:
    # Plain INSERTs, as the earlier version wrote them (its triggers fill the full-text index).
    for row in rows:
        db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values()))


def post_row(number: int, text: str, *, platform: str = "x", account: str = "ada:x", kind: str = "original",
             **extra) -> dict:
    return {"id": f"{platform}:{number}", "platform": platform, "native_id": str(number), "leader_id": "ada",
            "account_id": account, "created_at": f"2025-0{number % 9 + 1}-1{number % 10}T08:00:00Z", "text": text,
            "kind": kind, "like_count": number, "reply_count": 1, "repost_count": 0, "quote_count": 0,
            "raw": json.dumps({"id": str(number), "text": text}), "first_seen": "2025-10-01T00:00:00Z",
            "last_seen": "2025-10-02T00:00:00Z", **extra}


def fts_ids(db: Database, query: str) -> list[str]:
    return sorted(row[0] for row in db.execute(
        "SELECT p.id FROM posts_fts JOIN posts p ON p.rowid = posts_fts.rowid WHERE posts_fts MATCH ?", [query]))


def table_rows(db: Database) -> dict[str, list[tuple]]:
    return {table: db.execute(f"SELECT * FROM [{table}] ORDER BY rowid").fetchall()
            for table in db.table_names() if not table.startswith("posts_fts")}


# --- from the first schema ----------------------------------------------------------------

FIRST_POSTS = [
    post_row(1, "We shipped offline mode today", conversation_id="1"),
    post_row(2, "@bo Yes, it syncs within a minute", kind="reply", in_reply_to_id="x:900",
             in_reply_to_user_id="900", conversation_id="900"),
    post_row(3, "Q&amp;A at 5 &lt;3", kind="quote", quoted_id="x:800"),  # as X sent it then
    post_row(4, "fish &amp; chips on the roadmap", platform="bluesky", account="ada:bluesky"),
]


def first_schema_database(path) -> Database:
    db = old_database(path, stop_before="m002_labels_metrics")
    insert(db, "leaders", [{"id": "ada", "name": "Ada Lovelace", "role": "CEO", "group_name": "Board"}])
    insert(db, "accounts", [
        {"id": "ada:x", "leader_id": "ada", "platform": "x", "handle": "ada", "platform_user_id": "101",
         "display_name": "Ada", "status": "ok", "resolved_at": "2025-10-01T00:00:00Z",
         "last_success_at": "2025-10-02T00:00:00Z"},
        {"id": "ada:bluesky", "leader_id": "ada", "platform": "bluesky", "handle": "ada.bsky.social",
         "status": "suspended", "status_detail": "account suspended"},
    ])
    insert(db, "posts", FIRST_POSTS)
    insert(db, "context_posts", [
        {"id": "x:900", "platform": "x", "native_id": "900", "author_user_id": "900", "author_handle": "bo",
         "author_name": "Bo", "created_at": "2025-01-01T00:00:00Z", "text": "Does it work offline &amp; sync?",
         "lang": "en", "conversation_id": "900", "url": "https://x.com/bo/status/900", "raw": "{}",
         "first_seen": "2025-10-01T00:00:00Z", "last_seen": "2025-10-02T00:00:00Z"},
    ])
    insert(db, "cursors", [{"account_id": "ada:x", "value": '{"since_id":"3"}', "updated_at": "2025-10-02T00:00:00Z"}])
    insert(db, "runs", [
        {"run_id": "r1", "account_id": "ada:x", "platform": "x", "started_at": "2025-10-02T00:00:00Z",
         "finished_at": "2025-10-02T00:01:00Z", "status": "ok", "requests": 2, "posts_read": 3, "new_posts": 3},
        {"run_id": "r1", "account_id": "ada:bluesky", "platform": "bluesky", "started_at": "2025-10-02T00:01:00Z",
         "finished_at": "2025-10-02T00:01:05Z", "status": "failed", "requests": 1, "error": "suspended"},
    ])
    db.conn.commit()
    return db


def test_a_database_of_the_first_schema_keeps_every_row_in_the_current_schema(tmp_path):
    path = tmp_path / "first.db"
    first_schema_database(path).close()

    db = store.open_db(path, create=False)
    try:
        assert migrations.pending(db) == []
        assert db.execute("SELECT id, name, role, group_name, in_config, organisation FROM leaders").fetchall() == [
            ("ada", "Ada Lovelace", "CEO", "Board", 1, "")]
        accounts = {row[0]: row[1:] for row in db.execute(
            "SELECT id, handle, platform_user_id, display_name, status, status_detail, last_success_at, "
            "complete_since, history_limit, covered_from FROM accounts")}
        # m006: an account with posts and a successful run is complete since its oldest post.
        assert accounts == {
            "ada:x": ("ada", "101", "Ada", "ok", None, "2025-10-02T00:00:00Z", "2025-02-11T08:00:00Z",
                      "oldest_post", None),
            "ada:bluesky": ("ada.bsky.social", None, None, "suspended", "account suspended", None, None, None, None),
        }
        posts = {row["id"]: row for row in db.table("posts").rows}
        assert set(posts) == {row["id"] for row in FIRST_POSTS}
        for before in FIRST_POSTS:
            after = posts[before["id"]]
            expected = dict(before)
            if before["id"] == "x:3":  # m006: X's escaping undone in the text, never in raw
                expected["text"] = "Q&A at 5 <3"
            assert {key: after[key] for key in expected} == expected
        context = db.execute("SELECT id, author_handle, text, url, purged_at FROM context_posts").fetchall()
        assert context == [("x:900", "bo", "Does it work offline & sync?", "https://x.com/bo/status/900", None)]
        assert store.get_cursor(db, "ada:x") == {"since_id": "3"}
        runs = db.execute("SELECT run_id, account_id, status, requests, posts_read, new_posts, error "
                          "FROM runs ORDER BY id").fetchall()
        assert runs == [("r1", "ada:x", "ok", 2, 3, 3, None), ("r1", "ada:bluesky", "failed", 1, 0, 0, "suspended")]
        # The full-text index holds every post, with its current text.
        assert fts_ids(db, "offline") == ["x:1"]
        assert fts_ids(db, "syncs") == ["x:2"]
        assert fts_ids(db, "amp") == ["bluesky:4"]
        db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")  # raises if out of step
        # The store works on it: the config mirror keeps the cached user id, a re-read keeps first_seen.
        store.save_config(db, CONFIG)
        account = next(a for a in store.get_accounts(db) if a.id == "ada:x")
        assert account.platform_user_id == "101"
        store.save_posts(db, account, [Post("x", "1", "2025-02-11T08:00:00Z", "We shipped offline mode today",
                                            "original", like_count=99)], seen_at="2025-11-01T00:00:00Z")
        assert db.execute("SELECT like_count, first_seen, last_seen, conversation_id FROM posts WHERE id = 'x:1'"
                          ).fetchone() == (99, "2025-10-01T00:00:00Z", "2025-11-01T00:00:00Z", "1")
        store.save_post_labels(db, ["x:1"], [("x:1", "progress", 0.9, "[]")], "rules-2")
        assert db.execute("SELECT post_id, label FROM post_labels").fetchall() == [("x:1", "progress")]
        snapshot = table_rows(db)
        schema = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        db.close()

    again = store.open_db(path, create=False)  # nothing left to do: rows and schema unchanged
    try:
        assert migrations.pending(again) == []
        assert table_rows(again) == snapshot
        assert again.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    finally:
        again.close()


# --- the full-text index moved to sqlite-utils' enable_fts ---------------------------------

def test_the_full_text_index_moves_to_sqlite_utils_without_losing_a_post(tmp_path):
    path = tmp_path / "old.db"
    db = old_database(path, stop_before="m010_fts_by_sqlite_utils")
    insert(db, "leaders", [{"id": "ada", "name": "Ada"}])
    insert(db, "accounts", [{"id": "ada:x", "leader_id": "ada", "platform": "x", "handle": "ada"}])
    words = [f"word{number}x" for number in range(300)]
    insert(db, "posts", [post_row(number, f"post {word} about robots") for number, word in enumerate(words)])
    db.execute("DELETE FROM posts WHERE id = 'x:7'")  # a gap in the rowids, as a purge or an edit leaves
    db.conn.commit()
    assert "posts_ai" in {trigger.name for trigger in db.table("posts").triggers}
    db.close()

    db = store.open_db(path, create=False)
    try:
        assert migrations.pending(db) == []
        # Every stored post is found through the index, and only it.
        for number, word in enumerate(words):
            assert fts_ids(db, word) == ([] if number == 7 else [f"x:{number}"])
        assert db.execute("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'robots'").fetchone()[0] == 299
        db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
        # It is sqlite-utils' own setup: enable_fts(replace=True) finds nothing to change.
        posts = db.table("posts")
        assert posts.detect_fts() == "posts_fts"
        assert {"posts_ai", "posts_ad", "posts_au"} <= {trigger.name for trigger in posts.triggers}
        schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0]
        posts.enable_fts(["text"], create_triggers=True, replace=True)
        assert db.execute("SELECT sql FROM sqlite_master WHERE name = 'posts_fts'").fetchone()[0] == schema

        # Posts written after the migration are indexed by the new triggers: a collected
        # post, an edit, an archive import (which fills the index per batch) and a delete.
        store.save_config(db, CONFIG)
        account = next(a for a in store.get_accounts(db) if a.id == "ada:x")
        store.save_posts(db, account, [Post("x", "5000", "2026-01-01T00:00:00Z", "brand new gripper", "original")])
        assert fts_ids(db, "gripper") == ["x:5000"]
        assert [row["id"] for row in posts.search("gripper")] == ["x:5000"]
        store.save_posts(db, account, [Post("x", "5000", "2026-01-01T00:00:00Z", "renamed to clamp", "original")])
        assert fts_ids(db, "gripper") == [] and fts_ids(db, "clamp") == ["x:5000"]
        store.save_archive_posts(db, account, [Post("x", "6000", "2019-01-01T00:00:00Z", "archived lathe", "original")])
        assert fts_ids(db, "lathe") == ["x:6000"]
        assert "posts_ai" in {trigger.name for trigger in posts.triggers}  # put back after the batch
        with store.write_transaction(db):
            db.execute("DELETE FROM posts WHERE id = 'x:6000'")
        assert fts_ids(db, "lathe") == []
        db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('integrity-check')")
    finally:
        db.close()

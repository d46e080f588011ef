"""The store: migrations, upserts, full-text search, and the cursor written with its rows."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from tracker import store
from tracker.config import Leader, parse_config
from tracker.store.migrations import migrations
from tracker.domain import Page, Post

CONFIG = parse_config('[organisation]\nname = "O"\n[[leaders]]\nid = "ada"\nname = "Ada"\naccounts = { x = "ada" }\n',
                      __import__("pathlib").Path("t.toml"))


def post(native_id: str, text: str = "hello", likes: int = 1) -> Post:
    return Post("x", native_id, "2026-01-01T00:00:00Z", text, "original", like_count=likes, raw={"id": native_id})


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "t.db")
    store.save_config(database, CONFIG)
    yield database
    database.close()


def account(db) -> store.AccountRow:
    return store.get_accounts(db)[0]


def test_migrations_apply_once_and_wal_is_on(tmp_path):
    first = store.open_db(tmp_path / "t.db")
    first.close()
    again = store.open_db(tmp_path / "t.db")
    assert [m.name for m in migrations.applied(again)][0] == "m001_initial"
    assert migrations.pending(again) == []
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"leaders", "accounts", "posts", "context_posts", "cursors", "runs"} <= set(again.table_names())


def test_upsert_counts_new_posts_keeps_first_seen_and_updates_counts(db):
    acc = account(db)
    assert store.save_posts(db, acc, [post("1"), post("2")], seen_at="2026-01-01T00:00:00Z") == 2
    assert store.save_posts(db, acc, [post("2", likes=50), post("3")], seen_at="2026-02-01T00:00:00Z") == 1
    rows = db.execute("SELECT id, like_count, first_seen, last_seen FROM posts ORDER BY id").fetchall()
    assert rows == [("x:1", 1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
                    ("x:2", 50, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
                    ("x:3", 1, "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z")]


def test_full_text_search_follows_edits(db):
    acc = account(db)
    store.save_posts(db, acc, [post("1", "shipping the robot arm"), post("2", "lunch")])
    assert [r["id"] for r in db.table("posts").search("robot")] == ["x:1"]
    store.save_posts(db, acc, [post("1", "edited: shipping the gripper")])
    assert list(db.table("posts").search("robot")) == []
    assert [r["id"] for r in db.table("posts").search("gripper")] == ["x:1"]


def test_a_page_and_its_cursor_commit_together_or_not_at_all(db):
    acc = account(db)
    store.save_page(db, acc, Page([post("1")], [], {"since_id": "1"}, 1))
    assert store.get_cursor(db, acc.id) == {"since_id": "1"}
    broken = Post("x", "2", "2026-01-01T00:00:00Z", "x", "not-a-kind")  # violates the kind CHECK
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        store.save_page(db, acc, Page([post("3"), broken], [], {"since_id": "3"}, 2))
    assert store.get_cursor(db, acc.id) == {"since_id": "1"}
    assert [r[0] for r in db.execute("SELECT id FROM posts")] == ["x:1"]


def test_leaders_removed_from_the_config_keep_their_history(db):
    store.save_posts(db, account(db), [post("1")])
    other = CONFIG.__class__(**{**CONFIG.__dict__, "leaders": (Leader("bo", "Bo", "", "", {"x": "bo"}),)})
    store.save_config(db, other)
    assert db.execute("SELECT id, in_config FROM leaders ORDER BY id").fetchall() == [("ada", 0), ("bo", 1)]
    assert [a.id for a in store.get_accounts(db)] == ["bo:x"]
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


def test_a_changed_handle_forgets_the_cached_user_id(db):
    from tracker.domain import Identity

    store.save_identity(db, "ada:x", Identity("42", "ada"))
    store.save_config(db, CONFIG)
    assert account(db).platform_user_id == "42"
    renamed = CONFIG.__class__(**{**CONFIG.__dict__, "leaders": (Leader("ada", "Ada", "", "", {"x": "ada_new"}),)})
    store.save_config(db, renamed)
    assert (account(db).handle, account(db).platform_user_id) == ("ada_new", None)


def test_a_database_opened_by_sqlite_utils_sees_the_schema(tmp_path):
    store.open_db(tmp_path / "t.db").close()
    plain = Database(tmp_path / "t.db")
    assert plain.table("posts").detect_fts() == "posts_fts"


def test_a_failure_after_the_posts_are_written_takes_them_back_with_the_cursor(db, tmp_path):
    """The posts of a page are written before its cursor: a failure in between (here, a
    cursor that cannot be stored) must not leave the posts saved, seen from another connection."""
    acc = account(db)
    store.save_page(db, acc, Page([post("1")], [], {"since_id": "1"}, 1))
    with pytest.raises(TypeError, match="not JSON serializable"):
        store.save_page(db, acc, Page([post("3")], [], {"since_id": object()}, 2))
    assert [r[0] for r in db.execute("SELECT id FROM posts")] == ["x:1"]
    with sqlite3.connect(tmp_path / "t.db") as other:
        assert [r[0] for r in other.execute("SELECT id FROM posts")] == ["x:1"]
    assert store.get_cursor(db, acc.id) == {"since_id": "1"}

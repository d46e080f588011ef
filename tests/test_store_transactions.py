"""The store's write transactions take SQLite's write lock up front, and a page commits whole.

Two connections to one real database file, in one thread: the second one never waits
(timeout 0), so each step either gets the lock at once or fails at once, with no timing.
"""

from __future__ import annotations

import sqlite3

import pytest

from tracker import store
from tracker.config import parse_config
from tracker.domain import Page, Post

CONFIG = parse_config('[organisation]\nname = "O"\n[[leaders]]\nid = "ada"\nname = "Ada"\naccounts = { x = "ada" }\n',
                      __import__("pathlib").Path("t.toml"))


def post(native_id: str) -> Post:
    return Post("x", native_id, "2026-01-01T00:00:00Z", f"post {native_id}", "original", raw={"id": native_id})


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "t.db")
    store.save_config(database, CONFIG)
    yield database
    database.close()


@pytest.fixture
def other(db):
    """A second writer (a report saving metrics, say) that never waits for the lock."""
    connection = sqlite3.connect(db.conn.execute("PRAGMA database_list").fetchone()[2], timeout=0,
                                 isolation_level=None)
    yield connection
    connection.close()


def test_a_write_transaction_holds_the_write_lock_before_its_first_statement(db, other):
    with store.write_transaction(db):
        # Read first, as save_posts does (which ids are stored already).
        db.execute("SELECT count(*) FROM posts").fetchone()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")
        # Nobody could write in between, so the read is still current and the write goes in.
        store.save_posts(db, store.get_accounts(db)[0], [post("1")])
    other.execute("BEGIN IMMEDIATE")  # released on commit
    other.execute("UPDATE leaders SET name = name")
    other.execute("COMMIT")
    assert db.execute("SELECT id FROM posts").fetchall() == [("x:1",)]


def test_a_page_whose_cursor_cannot_be_written_stores_none_of_its_posts(db):
    """The posts and the cursor after them commit together: posts saved without their cursor
    would be read again, and a cursor saved without its posts would skip them for good."""
    account = store.get_accounts(db)[0]
    progress = store.start_run(db, "r1", account)
    store.save_page(db, account, Page([post("1")], [], {"since_id": "1"}, 1), progress)
    # SQLite itself refuses the cursor (as a full disk would), after the posts are written.
    for event in ("INSERT", "UPDATE"):
        db.execute(f"CREATE TEMP TRIGGER cursor_fails_{event} BEFORE {event} ON main.cursors "
                   "BEGIN SELECT RAISE(ABORT, 'no room for the cursor'); END")
    with pytest.raises(sqlite3.DatabaseError, match="no room for the cursor"):
        store.save_page(db, account, Page([post("2"), post("3")], [], {"since_id": "3"}, 2), progress)
    assert [row[0] for row in db.execute("SELECT id FROM posts")] == ["x:1"]
    assert store.get_cursor(db, account.id) == {"since_id": "1"}
    assert db.execute("SELECT posts_read, new_posts FROM runs").fetchone() == (1, 1)


def test_a_read_only_database_saves_config_labels_and_metrics_in_its_temporary_copies(tmp_path):
    path = tmp_path / "t.db"
    db = store.open_db(path)
    store.save_config(db, CONFIG)
    store.save_posts(db, store.get_accounts(db)[0], [post("1")])
    db.execute("PRAGMA journal_mode = DELETE")  # one file, as a read-only copy would be
    db.close()
    before = path.read_bytes()
    # Opened as open_db does for a read-only file or folder (root could write to it anyway).
    read_only = store.db._open_read_only(path, "the file is read-only")
    try:
        store.save_config(read_only, CONFIG)
        store.save_post_labels(read_only, ["x:1"], [("x:1", "progress", 0.9, "[]")], "v1",
                               readings=[("x:1", 0.1, 0.2, 0.9, None)])
        store.save_metrics(read_only, [{"leader_id": "ada", "month": "2026-01", "platform": "x", "posts": 1,
                                        "coverage": "full", "low_sample": True}])
        assert read_only.execute("SELECT post_id, label FROM post_labels").fetchall() == [("x:1", "progress")]
        assert read_only.execute("SELECT p_progress FROM labelled_posts").fetchall() == [(0.9,)]
        assert read_only.execute("SELECT leader_id, posts, low_sample FROM metrics").fetchall() == [("ada", 1, 1)]
        assert read_only.execute("SELECT count(*) FROM main.metrics").fetchone()[0] == 0
    finally:
        read_only.close()
    assert path.read_bytes() == before

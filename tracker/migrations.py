"""Schema migrations. Applied on every open; never edit one that has shipped, add a new one.

The schema is a public contract (documented in the README): users query it with SQL or
Datasette, so columns are only ever added.
"""

from __future__ import annotations

import sqlite3

from sqlite_utils import Database, Migrations

migrations = Migrations("tracker")


def _run(db: Database, statements: str) -> None:
    # One statement at a time: sqlite3's executescript() would COMMIT the migration's
    # transaction half-way through.
    buffer = ""
    for line in statements.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            buffer = ""
    if buffer.strip():
        db.execute(buffer)


@migrations(name="m001_initial")
def m001_initial(db: Database) -> None:
    _run(db, """
CREATE TABLE leaders (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT '',
    group_name TEXT NOT NULL DEFAULT '',
    in_config INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    leader_id TEXT NOT NULL REFERENCES leaders(id),
    platform TEXT NOT NULL,
    handle TEXT NOT NULL,
    platform_user_id TEXT,
    display_name TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    status_detail TEXT,
    resolved_at TEXT,
    last_success_at TEXT,
    in_config INTEGER NOT NULL DEFAULT 1,
    UNIQUE (leader_id, platform)
);
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    native_id TEXT NOT NULL,
    leader_id TEXT NOT NULL REFERENCES leaders(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('original', 'reply', 'thread', 'quote', 'repost')),
    in_reply_to_id TEXT,
    in_reply_to_user_id TEXT,
    quoted_id TEXT,
    reposted_id TEXT,
    conversation_id TEXT,
    url TEXT,
    lang TEXT,
    like_count INTEGER,
    reply_count INTEGER,
    repost_count INTEGER,
    quote_count INTEGER,
    raw TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX idx_posts_leader_created ON posts (leader_id, created_at);
CREATE INDEX idx_posts_account_created ON posts (account_id, created_at);
CREATE TABLE context_posts (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    native_id TEXT NOT NULL,
    author_user_id TEXT,
    author_handle TEXT,
    author_name TEXT,
    created_at TEXT,
    text TEXT,
    lang TEXT,
    in_reply_to_user_id TEXT,
    conversation_id TEXT,
    url TEXT,
    raw TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE cursors (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    platform TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    posts_read INTEGER NOT NULL DEFAULT 0,
    new_posts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX idx_runs_account_started ON runs (account_id, started_at);
CREATE VIRTUAL TABLE posts_fts USING FTS5 (text, content=[posts]);
CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER posts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER posts_au AFTER UPDATE OF text ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO posts_fts (rowid, text) VALUES (new.rowid, new.text);
END;
""")


@migrations(name="m003_ops")
def m003_ops(db: Database) -> None:
    # When `tracker purge` removed a context post's third-party text (issue 6, data care);
    # NULL while the text is kept.
    _run(db, """
ALTER TABLE context_posts ADD COLUMN purged_at TEXT;
CREATE INDEX idx_context_posts_first_seen ON context_posts (first_seen);
CREATE INDEX idx_runs_platform_started ON runs (platform, started_at);
""")

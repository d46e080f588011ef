"""Every database write lives here. Reads that other modules need are plain SQL on ``db``.

The database is SQLite in WAL mode, so reports and ``tracker status`` can read while a
collection writes. A page of posts and the cursor that follows it are written in one
transaction: a run killed at any moment leaves no gap and no duplicate.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from tracker.config import Config
from tracker.migrations import migrations
from tracker.sources.base import ContextPost, Identity, Page, Post, utc_iso

BUSY_TIMEOUT_MS = 30_000


def now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


def open_db(path: str | os.PathLike[str]) -> Database:
    """Open (creating if needed) the database and bring its schema up to date."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.enable_wal()
    migrations.apply(db)
    return db


# --- leaders and accounts ------------------------------------------------------------------

@dataclass(frozen=True)
class AccountRow:
    id: str
    leader_id: str
    platform: str
    handle: str
    platform_user_id: str | None
    display_name: str | None
    status: str


def account_id(leader_id: str, platform: str) -> str:
    return f"{leader_id}:{platform}"


def save_config(db: Database, config: Config) -> None:
    """Mirror the config's leaders and accounts; ones removed from it keep their history."""
    with db.atomic():
        db.execute("UPDATE leaders SET in_config = 0")
        db.execute("UPDATE accounts SET in_config = 0")
        for leader in config.tracked:
            db.execute(
                "INSERT INTO leaders (id, name, role, group_name, in_config, organisation) "
                "VALUES (?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, "
                "group_name = excluded.group_name, in_config = 1, organisation = excluded.organisation",
                [leader.id, leader.name, leader.role, leader.group, leader.organisation],
            )
            for platform, handle in leader.accounts.items():
                # A changed handle forgets the cached user id: the new handle is resolved
                # on the next collection (a rename with the same handle keeps the id).
                db.execute(
                    "INSERT INTO accounts (id, leader_id, platform, handle, in_config) VALUES (?, ?, ?, ?, 1) "
                    "ON CONFLICT (id) DO UPDATE SET in_config = 1, "
                    "platform_user_id = CASE WHEN lower(accounts.handle) = lower(excluded.handle) "
                    "THEN accounts.platform_user_id ELSE NULL END, "
                    "handle = excluded.handle",
                    [account_id(leader.id, platform), leader.id, platform, handle],
                )


def get_accounts(db: Database, leader_ids: Sequence[str] = (), platforms: Sequence[str] = ()) -> list[AccountRow]:
    sql = ("SELECT id, leader_id, platform, handle, platform_user_id, display_name, status "
           "FROM accounts WHERE in_config = 1")
    params: list[Any] = []
    if leader_ids:
        sql += f" AND leader_id IN ({', '.join('?' for _ in leader_ids)})"
        params += list(leader_ids)
    if platforms:
        sql += f" AND platform IN ({', '.join('?' for _ in platforms)})"
        params += list(platforms)
    sql += " ORDER BY leader_id, platform"
    return [AccountRow(*row) for row in db.execute(sql, params).fetchall()]


def save_identity(db: Database, account_id: str, identity: Identity) -> None:
    with db.atomic():
        db.execute(
            "UPDATE accounts SET platform_user_id = ?, display_name = ?, resolved_at = ?, "
            "status = CASE WHEN ? THEN 'protected' ELSE status END WHERE id = ?",
            [identity.user_id, identity.display_name, now_iso(), identity.protected, account_id],
        )


def save_account_status(db: Database, account_id: str, status: str, detail: str | None = None) -> None:
    with db.atomic():
        if status == "ok":
            db.execute("UPDATE accounts SET status = 'ok', status_detail = NULL, last_success_at = ? "
                       "WHERE id = ?", [now_iso(), account_id])
        else:
            db.execute("UPDATE accounts SET status = ?, status_detail = ? WHERE id = ?",
                       [status, detail, account_id])


# --- posts, context and cursors -------------------------------------------------------------

POST_COLUMNS = (
    "id", "platform", "native_id", "leader_id", "account_id", "created_at", "text", "kind",
    "in_reply_to_id", "in_reply_to_user_id", "quoted_id", "reposted_id", "conversation_id",
    "url", "lang", "like_count", "reply_count", "repost_count", "quote_count", "raw",
    "first_seen", "last_seen",
)
# On a re-read only what can change is updated; first_seen keeps the first sighting.
POST_UPDATED = ("text", "kind", "lang", "like_count", "reply_count", "repost_count",
                "quote_count", "raw", "last_seen")
CONTEXT_COLUMNS = (
    "id", "platform", "native_id", "author_user_id", "author_handle", "author_name",
    "created_at", "text", "lang", "in_reply_to_user_id", "conversation_id", "url", "raw",
    "first_seen", "last_seen",
)
CONTEXT_UPDATED = ("author_handle", "author_name", "text", "raw", "last_seen")


# Filled in when a re-read knows them and the stored row does not: an X archive (issue 5)
# has no conversation ids and names reposts only by their "RT @" text.
POST_FILLED = ("conversation_id", "reposted_id", "quoted_id", "in_reply_to_user_id")


def _upsert_sql(table: str, columns: Sequence[str], updated: Sequence[str], filled: Sequence[str] = ()) -> str:
    assignments = [f"{c} = excluded.{c}" for c in updated]
    assignments += [f"{c} = coalesce({table}.{c}, excluded.{c})" for c in filled]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
        f"ON CONFLICT (id) DO UPDATE SET {', '.join(assignments)}"
    )


POSTS_UPSERT = _upsert_sql("posts", POST_COLUMNS, POST_UPDATED, POST_FILLED)
CONTEXT_UPSERT = _upsert_sql("context_posts", CONTEXT_COLUMNS, CONTEXT_UPDATED)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _existing_ids(db: Database, table: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = db.execute(f"SELECT id FROM {table} WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
        found.update(row[0] for row in rows)
    return found


def save_posts(db: Database, account: AccountRow, posts: Iterable[Post], seen_at: str | None = None) -> int:
    """Upsert a leader's posts; return how many were new. Call inside ``db.atomic()`` for batches."""
    seen_at = seen_at or now_iso()
    posts = list(posts)
    existing = _existing_ids(db, "posts", [post.id for post in posts])
    rows = [
        (post.id, post.platform, post.native_id, account.leader_id, account.id, post.created_at,
         post.text, post.kind, post.in_reply_to_id, post.in_reply_to_user_id, post.quoted_id,
         post.reposted_id, post.conversation_id, post.url, post.lang, post.like_count,
         post.reply_count, post.repost_count, post.quote_count, _json(post.raw), seen_at, seen_at)
        for post in posts
    ]
    with db.atomic():
        db.conn.executemany(POSTS_UPSERT, rows)
    return len({post.id for post in posts} - existing)


def save_context_posts(db: Database, posts: Iterable[ContextPost], seen_at: str | None = None) -> None:
    seen_at = seen_at or now_iso()
    rows = [
        (post.id, post.platform, post.native_id, post.author_user_id, post.author_handle,
         post.author_name, post.created_at, post.text, post.lang, post.in_reply_to_user_id,
         post.conversation_id, post.url, _json(post.raw), seen_at, seen_at)
        for post in posts
    ]
    with db.atomic():
        db.conn.executemany(CONTEXT_UPSERT, rows)


def get_cursor(db: Database, account_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT value FROM cursors WHERE account_id = ?", [account_id]).fetchone()
    return json.loads(row[0]) if row else None


@dataclass
class RunProgress:
    """The running totals of one account's run, stored with every page."""

    row_id: int
    requests: int = 0
    posts_read: int = 0
    new_posts: int = 0


def save_page(db: Database, account: AccountRow, page: Page, progress: RunProgress | None = None) -> int:
    """Store a page's posts, its context posts, the cursor after it and the run's totals,
    all in one transaction; return how many posts were new."""
    seen_at = now_iso()
    with db.atomic():
        new_posts = save_posts(db, account, page.posts, seen_at)
        save_context_posts(db, page.context, seen_at)
        if page.mentions:
            save_mentions(db, account, [post for post in page.context if post.id in set(page.mentions)])
        db.execute(
            "INSERT INTO cursors (account_id, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [account.id, _json(page.cursor), seen_at],
        )
        if progress is not None:
            progress.posts_read += page.posts_read
            progress.new_posts += new_posts
            db.execute("UPDATE runs SET requests = ?, posts_read = ?, new_posts = ? WHERE id = ?",
                       [progress.requests, progress.posts_read, progress.new_posts, progress.row_id])
    return new_posts


# --- runs ------------------------------------------------------------------------------------

def start_run(db: Database, run_id: str, account: AccountRow) -> RunProgress:
    with db.atomic():
        cursor = db.execute(
            "INSERT INTO runs (run_id, account_id, platform, started_at, status) VALUES (?, ?, ?, ?, 'running')",
            [run_id, account.id, account.platform, now_iso()],
        )
    assert cursor.lastrowid is not None
    return RunProgress(cursor.lastrowid)


def finish_run(db: Database, progress: RunProgress, *, status: str, error: str | None = None) -> None:
    with db.atomic():
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, requests = ?, posts_read = ?, new_posts = ?, "
            "error = ? WHERE id = ?",
            [now_iso(), status, progress.requests, progress.posts_read, progress.new_posts, error,
             progress.row_id],
        )


def close_interrupted_runs(db: Database) -> int:
    """Mark runs left 'running' by a killed collection (only called under the collect lock)."""
    with db.atomic():
        cursor = db.execute(
            "UPDATE runs SET status = 'interrupted', error = 'the collection was stopped before it finished' "
            "WHERE status = 'running'"
        )
    return cursor.rowcount


# --- ops: retention (issue 6) -----------------------------------------------------------------

def save_context_purge(db: Database, first_seen_before: str, purged_at: str | None = None) -> int:
    """Remove the third-party text of context posts first seen before the cut-off; return how many.

    Ids, timestamps, the author's platform id and conversation links stay, so labels derived
    from these posts (and joins on them) keep working. The URL goes too: it names the author.
    A purged post that a later page brings back (the upsert refreshes its text) is purged
    again on the next run, because ``first_seen`` keeps the first sighting.
    """
    with db.atomic():
        cursor = db.execute(
            "UPDATE context_posts SET text = NULL, raw = NULL, author_name = NULL, author_handle = NULL, "
            "url = NULL, purged_at = ? WHERE first_seen < ? AND (purged_at IS NULL OR text IS NOT NULL "
            "OR raw IS NOT NULL OR author_name IS NOT NULL OR author_handle IS NOT NULL OR url IS NOT NULL)",
            [purged_at or now_iso(), first_seen_before],
        )
    return cursor.rowcount


# --- labels and metrics (issue 3) ------------------------------------------------------------

# One label of one post, ready to store: (post or context id, label, confidence, evidence JSON).
LabelRow = tuple[str, str, float, str]


def _save_labels(db: Database, table: str, done_table: str, id_column: str, ids: Sequence[str],
                 labels: Iterable[LabelRow], classifier_version: str, labelled_at: str | None) -> None:
    labelled_at = labelled_at or now_iso()
    with db.atomic():
        db.conn.executemany(f"DELETE FROM {table} WHERE {id_column} = ?", [(i,) for i in ids])
        db.conn.executemany(
            f"INSERT INTO {table} ({id_column}, label, confidence, evidence, classifier_version, labelled_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(*row, classifier_version, labelled_at) for row in labels],
        )
        db.conn.executemany(
            f"INSERT INTO {done_table} ({id_column}, classifier_version, labelled_at) VALUES (?, ?, ?) "
            f"ON CONFLICT ({id_column}) DO UPDATE SET classifier_version = excluded.classifier_version, "
            "labelled_at = excluded.labelled_at",
            [(i, classifier_version, labelled_at) for i in ids],
        )


def save_post_labels(db: Database, post_ids: Sequence[str], labels: Iterable[LabelRow],
                     classifier_version: str, labelled_at: str | None = None) -> None:
    """Replace the labels of ``post_ids`` (all labelled by ``classifier_version``) in one transaction.

    Every id gets a ``labelled_posts`` row, also when it carries no label, so that the
    next run only labels new posts or posts labelled by another classifier version.
    """
    _save_labels(db, "post_labels", "labelled_posts", "post_id", post_ids, labels, classifier_version,
                 labelled_at)


def save_context_labels(db: Database, context_ids: Sequence[str], labels: Iterable[LabelRow],
                        classifier_version: str, labelled_at: str | None = None) -> None:
    """Like ``save_post_labels`` for others' posts (``question``, ``critical``)."""
    _save_labels(db, "context_labels", "labelled_context", "context_id", context_ids, labels, classifier_version,
                 labelled_at)


def save_metrics(db: Database, rows: Iterable[dict[str, Any]], computed_at: str | None = None) -> int:
    """Upsert metric rows (the dicts ``tracker.metrics.compute_metrics`` returns); return how many."""
    computed_at = computed_at or now_iso()
    columns = [row[1] for row in db.execute("PRAGMA table_info(metrics)").fetchall()]
    keys = ("leader_id", "month", "platform")
    sql = (f"INSERT INTO metrics ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
           f"ON CONFLICT (leader_id, month, platform) DO UPDATE SET "
           + ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys))
    values = []
    for row in rows:
        record = {**row, "computed_at": computed_at}
        values.append([int(record[c]) if isinstance(record.get(c), bool) else record.get(c) for c in columns])
    with db.atomic():
        db.conn.executemany(sql, values)
    return len(values)


# --- platforms (issue 5): lookups for the sources, X archive import ------------------------

def stored_post_ids(db: Database, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are already stored, as a leader's post or as a context post."""
    return _existing_ids(db, "posts", ids) | _existing_ids(db, "context_posts", ids)


# Only new ids are inserted: a post the API already collected keeps its richer API row
# (reply counts, conversation id), and re-importing an archive changes nothing.
ARCHIVE_INSERT = (
    f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({', '.join('?' for _ in POST_COLUMNS)}) "
    "ON CONFLICT (id) DO NOTHING"
)


def tune_for_bulk_load(db: Database) -> None:
    """Connection settings for a large import (this connection only).

    synchronous=NORMAL is the setting SQLite recommends with WAL: a commit is atomic and
    consistent, and only the last commits can be lost on power failure (an import is
    simply run again); a 64 MB page cache keeps the indexes being built in memory; and
    checkpoints every 40 MB of WAL instead of every 4 MB copy each page to the database
    file less often.
    """
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")
    db.execute("PRAGMA wal_autocheckpoint = 10000")


def save_archive_posts(db: Database, account: AccountRow, posts: Sequence[Post],
                       raw_json: Sequence[str] | None = None, seen_at: str | None = None) -> int:
    """Insert archive posts that are not stored yet, in one transaction; return how many were new.

    ``raw_json`` gives each post's stored ``raw`` text as is (default: ``post.raw`` encoded).
    The full-text index is filled once per batch instead of by the per-row trigger, which
    is ten times faster for bulk loads; dropping and re-creating the trigger happens inside
    the same transaction, so a killed import leaves the schema unchanged.
    """
    seen_at = seen_at or now_iso()
    raws = raw_json if raw_json is not None else [_json(post.raw) for post in posts]
    rows = [
        (post.id, post.platform, post.native_id, account.leader_id, account.id, post.created_at,
         post.text, post.kind, post.in_reply_to_id, post.in_reply_to_user_id, post.quoted_id,
         post.reposted_id, post.conversation_id, post.url, post.lang, post.like_count,
         post.reply_count, post.repost_count, post.quote_count, raw, seen_at, seen_at)
        for post, raw in zip(posts, raws, strict=True)
    ]
    with db.atomic():
        trigger = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'posts_ai'").fetchone()
        last_rowid = db.execute("SELECT coalesce(max(rowid), 0) FROM posts").fetchone()[0]
        if trigger:
            db.execute("DROP TRIGGER posts_ai")
        cursor = db.conn.executemany(ARCHIVE_INSERT, rows)
        inserted = max(cursor.rowcount, 0)
        if trigger:
            db.execute("INSERT INTO posts_fts (rowid, text) SELECT rowid, text FROM posts WHERE rowid > ?",
                       [last_rowid])
            db.execute(trigger[0])
    return inserted


# --- mentions (issue 3, point 5) --------------------------------------------------------------

def save_mentions(db: Database, account: AccountRow, mentions: Iterable[ContextPost]) -> None:
    """Record that these context posts mention ``account``'s leader (a mention is kept once).

    The posts themselves go to ``context_posts`` (``save_context_posts``): a mention is
    someone else's post and never counts as the leader's activity.
    """
    rows = [(post.id, account.id, account.leader_id, post.created_at) for post in mentions]
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO mentions (context_id, account_id, leader_id, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (context_id, account_id) DO NOTHING",
            rows,
        )

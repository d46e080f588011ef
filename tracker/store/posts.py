"""Posts, context posts, cursors and pages; archive and export imports, mentions, purge.

A page of posts and the cursor that follows it are written in one transaction: a run
killed at any moment leaves no gap and no duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from tracker.domain import AccountStatus, ContextPost, Page, Post
from tracker.store.accounts import AccountRow, save_history_end
from tracker.store.db import now_iso, write_transaction
from tracker.store.runs import RunProgress, save_run_progress

# --- posts, context and cursors --------------------------------------------------------------

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


# Filled in when a re-read knows them and the stored row does not: an X archive
# has no conversation ids and names reposts only by their "RT @" text.
POST_FILLED = ("conversation_id", "reposted_id", "quoted_id", "in_reply_to_user_id")


def _reread_sql(table: str, updated: Sequence[str], filled: Sequence[str] = ()) -> str:
    # A re-read overwrites some columns, fills others only when empty and keeps the rest
    # (first_seen above all): sqlite-utils' upsert sets every column it is given, and its
    # INSERT half would need the NOT NULL columns that a partial record leaves out (SQLite
    # checks NOT NULL before the conflict), so this one statement stays SQL.
    assignments = [f"{c} = ?" for c in updated] + [f"{c} = coalesce({c}, ?)" for c in filled]
    return f"UPDATE {table} SET {', '.join(assignments)} WHERE id = ?"


POSTS_REREAD = _reread_sql("posts", POST_UPDATED, POST_FILLED)
CONTEXT_REREAD = _reread_sql("context_posts", CONTEXT_UPDATED)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _existing_ids(db: Database, table: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = db.execute(f"SELECT id FROM {table} WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
        found.update(row[0] for row in rows)
    return found


Row = tuple[Any, ...]


def _new_and_stored(db: Database, table: str, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """Split rows (id first) into those to insert and re-reads of stored ones; a second copy
    of an id in the same batch is a re-read of the first. Call inside the write transaction."""
    known = _existing_ids(db, table, [row[0] for row in rows])
    new: list[Row] = []
    stored: list[Row] = []
    for row in rows:
        (stored if row[0] in known else new).append(row)
        known.add(row[0])
    return new, stored


def _save_rows(db: Database, table: str, columns: Sequence[str], rows: Sequence[Row], reread_sql: str,
               updated: Sequence[str], filled: Sequence[str] = ()) -> int:
    """Insert the new rows with the table API, update the re-read ones; return how many were new."""
    index = {column: number for number, column in enumerate(columns)}
    positions = [index[c] for c in (*updated, *filled)]
    with write_transaction(db):
        new, stored = _new_and_stored(db, table, rows)
        db.table(table).insert_all([tuple(columns), *new])
        if stored:
            db.conn.executemany(reread_sql, [[row[i] for i in positions] + [row[0]] for row in stored])
    return len(new)


def _post_row(account: AccountRow, post: Post, raw: str, seen_at: str) -> Row:
    return (post.id, post.platform, post.native_id, account.leader_id, account.id, post.created_at,
            post.text, post.kind, post.in_reply_to_id, post.in_reply_to_user_id, post.quoted_id,
            post.reposted_id, post.conversation_id, post.url, post.lang, post.like_count,
            post.reply_count, post.repost_count, post.quote_count, raw, seen_at, seen_at)


def save_posts(db: Database, account: AccountRow, posts: Iterable[Post], seen_at: str | None = None) -> int:
    """Upsert a leader's posts; return how many were new. Call inside ``write_transaction`` for batches."""
    seen_at = seen_at or now_iso()
    rows = [_post_row(account, post, _json(post.raw), seen_at) for post in posts]
    return _save_rows(db, "posts", POST_COLUMNS, rows, POSTS_REREAD, POST_UPDATED, POST_FILLED)


def save_context_posts(db: Database, posts: Iterable[ContextPost], seen_at: str | None = None) -> None:
    seen_at = seen_at or now_iso()
    rows = [
        (post.id, post.platform, post.native_id, post.author_user_id, post.author_handle,
         post.author_name, post.created_at, post.text, post.lang, post.in_reply_to_user_id,
         post.conversation_id, post.url, _json(post.raw), seen_at, seen_at)
        for post in posts
    ]
    _save_rows(db, "context_posts", CONTEXT_COLUMNS, rows, CONTEXT_REREAD, CONTEXT_UPDATED)


def get_cursor(db: Database, account_id: str) -> dict[str, Any] | None:
    row = db.execute("SELECT value FROM cursors WHERE account_id = ?", [account_id]).fetchone()
    return json.loads(row[0]) if row else None


def save_page(db: Database, account: AccountRow, page: Page, progress: RunProgress | None = None) -> int:
    """Store a page's posts, its context posts, the cursor after it and the run's totals,
    all in one transaction; return how many posts were new."""
    seen_at = now_iso()
    with write_transaction(db):
        new_posts = save_posts(db, account, page.posts, seen_at)
        save_context_posts(db, page.context, seen_at)
        if page.mentions:
            save_mentions(db, account, [post for post in page.context if post.id in set(page.mentions)])
        db.table("cursors").upsert({"account_id": account.id, "value": _json(page.cursor), "updated_at": seen_at},
                                   pk="account_id")
        if page.history is not None:
            save_history_end(db, account, page.history)
        if progress is not None:
            progress.posts_read += page.posts_read
            progress.new_posts += new_posts
            save_run_progress(db, progress)
    return new_posts


# --- retention: purging others' text ---------------------------------------------------------

def save_context_purge(db: Database, first_seen_before: str, purged_at: str | None = None) -> int:
    """Remove the third-party text of context posts first seen before the cut-off; return how many.

    Ids, timestamps, the author's platform id and conversation links stay, so labels derived
    from these posts (and joins on them) keep working. The URL goes too: it names the author.
    A purged post that a later page brings back (the upsert refreshes its text) is purged
    again on the next run, because ``first_seen`` keeps the first sighting.
    """
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE context_posts SET text = NULL, raw = NULL, author_name = NULL, author_handle = NULL, "
            "url = NULL, purged_at = ? WHERE first_seen < ? AND (purged_at IS NULL OR text IS NOT NULL "
            "OR raw IS NOT NULL OR author_name IS NOT NULL OR author_handle IS NOT NULL OR url IS NOT NULL)",
            [purged_at or now_iso(), first_seen_before],
        )
    return cursor.rowcount


# --- lookups for the sources, the X archive import -------------------------------------------

def stored_post_ids(db: Database, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are already stored, as a leader's post or as a context post."""
    return _existing_ids(db, "posts", ids) | _existing_ids(db, "context_posts", ids)


# Only new ids are inserted: a post the API already collected keeps its richer API row
# (reply counts, conversation id), and re-importing an archive changes nothing. A bulk
# load, so plain SQL: sqlite-utils' insert_all passes every value through its JSON check
# in Python, which made saving 96,000 archive posts take 1.5 times the CPU time.
# ON CONFLICT DO NOTHING, unlike insert_all(ignore=True)'s INSERT OR IGNORE, still fails
# on a row that breaks a NOT NULL or CHECK constraint instead of dropping it silently.
ARCHIVE_INSERT = (
    f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({', '.join('?' for _ in POST_COLUMNS)}) "
    "ON CONFLICT (id) DO NOTHING"
)


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
    rows = [_post_row(account, post, raw, seen_at) for post, raw in zip(posts, raws, strict=True)]
    with write_transaction(db):
        trigger = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'posts_ai'").fetchone()
        last_rowid = db.execute("SELECT coalesce(max(rowid), 0) FROM posts").fetchone()[0]
        if trigger:
            db.execute("DROP TRIGGER posts_ai")
        cursor = db.conn.executemany(ARCHIVE_INSERT, rows)
        inserted = max(cursor.rowcount, 0)
        if trigger:
            # Only the rows just inserted (sqlite-utils' populate_fts would index every row again).
            db.execute("INSERT INTO posts_fts (rowid, text) SELECT rowid, text FROM posts WHERE rowid > ?",
                       [last_rowid])
            db.execute(trigger[0])
    return inserted


# --- mentions --------------------------------------------------------------------------------

def save_mentions(db: Database, account: AccountRow, mentions: Iterable[ContextPost]) -> None:
    """Record that these context posts mention ``account``'s leader (a mention is kept once).

    The posts themselves go to ``context_posts`` (``save_context_posts``): a mention is
    someone else's post and never counts as the leader's activity.
    """
    rows = [(post.id, account.id, account.leader_id, post.created_at) for post in mentions]
    # ignore=True (INSERT OR IGNORE) only skips the mention already recorded: every NOT NULL
    # column here is an id the caller holds, so no row can be dropped for a NULL.
    with write_transaction(db):
        db.table("mentions").insert_all([("context_id", "account_id", "leader_id", "created_at"), *rows],
                                        ignore=True)


# --- file exports without an API (LinkedIn) --------------------------------------------------

def save_export(db: Database, account: AccountRow, *, source: str, fingerprint: str, exported_at: str | None,
                first_item_at: str | None, last_item_at: str | None, rows_read: int, new_posts: int,
                imported_at: str | None = None) -> None:
    """Record an imported export and widen the account's covered span, in one transaction.

    The span runs from the oldest item of any export to the newest export's date; importing
    the same file again only refreshes its row. When posts were new, the leader's stored
    metrics are dropped, so reports compute them again with the imported history.
    """
    imported_at = imported_at or now_iso()
    with write_transaction(db):
        # SQL, not the table API: a re-import adds its new posts to the stored count.
        db.execute(
            "INSERT INTO exports (account_id, leader_id, platform, source, fingerprint, exported_at, first_item_at, "
            "last_item_at, rows_read, new_posts, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account_id, fingerprint) DO UPDATE SET source = excluded.source, "
            "new_posts = exports.new_posts + excluded.new_posts, imported_at = excluded.imported_at",
            [account.id, account.leader_id, account.platform, source, fingerprint, exported_at, first_item_at,
             last_item_at, rows_read, new_posts, imported_at])
        if exported_at is not None:
            db.execute(
                "UPDATE accounts SET covered_from = CASE WHEN covered_from IS NULL OR ? < covered_from THEN ? "
                "ELSE covered_from END, covered_until = CASE WHEN covered_until IS NULL OR ? > covered_until "
                "THEN ? ELSE covered_until END WHERE id = ?",
                [first_item_at or exported_at, first_item_at or exported_at, exported_at, exported_at, account.id])
        db.execute("UPDATE accounts SET status = ?, status_detail = NULL, last_success_at = ? WHERE id = ?",
                   [AccountStatus.OK, imported_at, account.id])
        if new_posts:
            # The leader's stored monthly figures predate these posts (an export brings years
            # of history at once): they are computed again when next needed.
            db.execute("DELETE FROM metrics WHERE leader_id = ?", [account.leader_id])


def export_imported(db: Database, account_id: str, fingerprint: str) -> bool:
    """Whether this account already imported a file with this content."""
    return db.execute("SELECT 1 FROM exports WHERE account_id = ? AND fingerprint = ?",
                      [account_id, fingerprint]).fetchone() is not None

"""Every database write lives here. Reads that other modules need are plain SQL on ``db``.

The database is SQLite in WAL mode, so reports and ``tracker status`` can read while a
collection writes. A page of posts and the cursor that follows it are written in one
transaction: a run killed at any moment leaves no gap and no duplicate.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from tracker.config import Config
from tracker.errors import DatabaseError, NoDatabaseError
from tracker.store.migrations import migrations
from tracker.domain import ContextPost, HistoryEnd, Identity, Page, Post, utc_iso

BUSY_TIMEOUT_MS = 30_000
log = logging.getLogger(__name__)


def now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


class ReadOnlyDatabase(Database):
    """A database opened read-only; ``reason`` says why (the file or its folder is read-only).

    Tables derived from the collected data (labels, metrics, the config mirror) are shadowed
    by temporary copies (SQLite's temp schema), so labelling and computing metrics work and vanish on close.
    """

    reason: str = ""


def check_database_path(path: str | os.PathLike[str], *, create: bool) -> bool:
    """Raise DatabaseError unless ``path`` can be opened as the database; return True when
    a new database would be started there. The one check of the database path: nothing is
    created and nothing inside the file is read.

    A missing database is allowed only with ``create`` (``collect`` and the file imports;
    otherwise NoDatabaseError) and only in a folder that exists: a typo in the path or an
    unmounted disk must not silently become a fresh database and a full, billed backfill.
    A 0-byte file is never taken for a new database.
    """
    path = Path(path)
    if path.is_dir():
        raise DatabaseError(f"{path} is a folder, not a database file: set [tracker] database "
                            f"to a file path such as {path / 'tracker.db'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DatabaseError(f"cannot use the database {path}: {parent} is a file, not a folder; "
                                    "set [tracker] database to a path inside a folder")
            break
    if not path.exists():
        if not create:
            raise NoDatabaseError(f"no database at {path} yet: run `tracker collect` first")
        if not path.parent.is_dir():
            raise DatabaseError(f"{path}: the database's folder {path.parent} does not exist: create it, or fix "
                                "[tracker] database in the config")
        return True
    if not os.access(path, os.R_OK):
        raise DatabaseError(f"cannot read the database {path}: permission denied; "
                            "give this user read access to the file")
    if path.stat().st_size == 0:
        raise DatabaseError(f"{path} is an empty file (0 bytes), not a tracker database: restore it from a "
                            "backup, or delete it to start a new database (the next collect backfills every "
                            "account again)")
    return False


def _read_only_reason(path: Path) -> str | None:
    """Why SQLite could not write ``path`` (or create it), or None when it can."""
    folder = path.parent
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (f"its folder {folder} is read-only (SQLite writes its -wal and -shm files "
                "and the collection lock beside the database)")
    return None


def describe_database_error(path: Path, error: sqlite3.Error) -> str:
    """One sentence for an SQLite error on opening ``path``: what is wrong and what to do."""
    text = str(error)
    if "file is not a database" in text:
        return (f"{path} is not a tracker database (SQLite: {text}): point [tracker] database at the "
                "tracker's database file, or move this file away to start a new database")
    if "malformed" in text or "corrupt" in text:
        return (f"the database {path} is damaged (SQLite: {text}): restore it from a backup "
                "(`tracker backup` makes them)")
    if "readonly" in text or "read-only" in text:
        return f"cannot write to the database {path} (SQLite: {text}): make the file and its folder writable"
    if "unable to open" in text:
        return (f"cannot open the database {path} (SQLite: {text}): check that its folder exists "
                "and that the file and the folder are readable and writable")
    return f"the database {path} cannot be used (SQLite: {text})"


def open_db(path: str | os.PathLike[str], *, create: bool = True, read_only_ok: bool = False) -> Database:
    """Open the database and bring its schema up to date: the one place that opens it.

    ``create``: start a new database when there is none (collection and the file imports),
    with a warning that a new database starts; otherwise there must be one
    (NoDatabaseError). See ``check_database_path``. ``read_only_ok``: when the file or its
    folder is read-only, open a ``ReadOnlyDatabase`` instead of failing (metrics, reports,
    status). Every problem with the path or the file is a DatabaseError naming the path.
    """
    path = Path(path)
    new = check_database_path(path, create=create)
    reason = _read_only_reason(path)
    if reason is not None:
        if not read_only_ok or new:
            raise DatabaseError(f"cannot write to the database {path}: {reason}; make it writable, "
                                "or set [tracker] database to a writable path")
        return _open_read_only(path, reason)
    if new:
        log.warning("starting a new database at %s (there was none)", path)
    try:
        db = Database(path)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Any statement that writes outside ``write_transaction`` takes the lock up front too.
        db.conn.isolation_level = "IMMEDIATE"
        db.enable_wal()
        if migrations.pending(db):
            with write_transaction(db):
                migrations.apply(db)
    except sqlite3.Error as error:
        raise DatabaseError(describe_database_error(path, error)) from None
    return db


# Tables a collection or an import writes; everything else is derived from them and may be recomputed.
COLLECTED_TABLES = ("posts", "context_posts", "cursors", "runs", "mentions", "exports", "_sqlite_migrations")


def _open_read_only(path: Path, reason: str) -> ReadOnlyDatabase:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        try:
            conn = sqlite3.connect(uri, uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL database in a read-only folder without its -shm file: nobody can be
            # writing to it, so it is read as an immutable file.
            conn = sqlite3.connect(uri + "&immutable=1", uri=True)
        db = ReadOnlyDatabase(conn)
        db.reason = reason
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        pending = [migration.name for migration in migrations.pending(db)]
        if pending:
            db.close()
            raise DatabaseError(f"the database {path} is read-only ({reason}) and its schema needs an "
                                f"upgrade ({', '.join(pending)}): make it writable once, e.g. for `tracker collect`")
        _shadow_derived_tables(db)
    except sqlite3.Error as error:
        raise DatabaseError(describe_database_error(path, error)) from None
    return db


def _shadow_derived_tables(db: Database) -> None:
    """Copy every derived table (and its indexes) to the connection's temp schema.

    SQLite resolves an unqualified table name in ``temp`` before ``main``, so the usual
    writes (``save_config``, labels, ``save_metrics``) land in the temporary copies, unchanged.
    """
    rows = db.execute("SELECT type, name, tbl_name, sql FROM main.sqlite_master "
                      "WHERE type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type = 'index'").fetchall()
    tables = {name for kind, name, _, sql in rows if kind == "table" and name not in COLLECTED_TABLES
              and not name.startswith(("posts_fts", "sqlite_")) and not sql.upper().startswith("CREATE VIRTUAL")}
    with db.atomic():
        for kind, name, table, sql in rows:
            if kind == "table" and name in tables:
                db.execute(re.sub(r"^CREATE TABLE", "CREATE TEMP TABLE", sql, flags=re.IGNORECASE))
                db.execute(f"INSERT INTO temp.[{name}] SELECT * FROM main.[{name}]")
            elif kind == "index" and table in tables:
                db.execute(re.sub(r"^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?", r"CREATE \1INDEX \2temp.", sql,
                                  flags=re.IGNORECASE))


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One write transaction that takes the write lock up front (``BEGIN IMMEDIATE``).

    A deferred ``BEGIN`` that reads and then writes cannot wait for the lock in WAL mode:
    when another connection writes meanwhile, SQLite answers "database is locked" at
    once, without calling the busy handler (its snapshot would be stale). ``BEGIN
    IMMEDIATE`` waits up to ``busy_timeout`` for the lock before reading anything, so
    collect, metrics, report and purge queue instead of failing. Nested calls become
    savepoints of the outer transaction. A ``ReadOnlyDatabase`` writes only its temporary
    copies, which no other connection sees, so it takes no lock (and could not).
    """
    if db.conn.in_transaction or isinstance(db, ReadOnlyDatabase):
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.rollback()
        raise
    db.execute("COMMIT")


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
    with write_transaction(db):
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


def get_accounts(db: Database, leader_ids: Sequence[str] = (), platforms: Sequence[str] = (),
                 least_recent_first: bool = False) -> list[AccountRow]:
    sql = ("SELECT id, leader_id, platform, handle, platform_user_id, display_name, status "
           "FROM accounts WHERE in_config = 1")
    params: list[Any] = []
    if leader_ids:
        sql += f" AND leader_id IN ({', '.join('?' for _ in leader_ids)})"
        params += list(leader_ids)
    if platforms:
        sql += f" AND platform IN ({', '.join('?' for _ in platforms)})"
        params += list(platforms)
    # The latest successful run's row id orders completions exactly (timestamps tie within
    # a second); never completed (NULL) sorts first.
    sql += (" ORDER BY (SELECT max(runs.id) FROM runs WHERE runs.account_id = accounts.id AND runs.status = 'ok'), "
            "leader_id, platform") if least_recent_first else " ORDER BY leader_id, platform"
    return [AccountRow(*row) for row in db.execute(sql, params).fetchall()]


def save_identity(db: Database, account_id: str, identity: Identity) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE accounts SET platform_user_id = ?, display_name = ?, resolved_at = ?, "
            "status = CASE WHEN ? THEN 'protected' ELSE status END WHERE id = ?",
            [identity.user_id, identity.display_name, now_iso(), identity.protected, account_id],
        )


def save_identity_accepted(db: Database, account_id: str) -> bool:
    """A person confirmed that the account's handle still names its leader after an
    ``identity_changed`` stop: forget the old user id, so the next collection resolves the
    handle and collects it. Returns False when the account was not stopped."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE accounts SET platform_user_id = NULL, display_name = NULL, resolved_at = NULL, status = 'new', "
            "status_detail = NULL WHERE id = ? AND status = 'identity_changed'", [account_id])
    return cursor.rowcount > 0


def save_account_status(db: Database, account_id: str, status: str, detail: str | None = None) -> None:
    with write_transaction(db):
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
    """Upsert a leader's posts; return how many were new. Call inside ``write_transaction`` for batches."""
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
    with write_transaction(db):
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
    with write_transaction(db):
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
    with write_transaction(db):
        new_posts = save_posts(db, account, page.posts, seen_at)
        save_context_posts(db, page.context, seen_at)
        if page.mentions:
            save_mentions(db, account, [post for post in page.context if post.id in set(page.mentions)])
        db.execute(
            "INSERT INTO cursors (account_id, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (account_id) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [account.id, _json(page.cursor), seen_at],
        )
        if page.history is not None:
            save_history_end(db, account, page.history)
        if progress is not None:
            progress.posts_read += page.posts_read
            progress.new_posts += new_posts
            db.execute("UPDATE runs SET requests = ?, posts_read = ?, new_posts = ? WHERE id = ?",
                       [progress.requests, progress.posts_read, progress.new_posts, progress.row_id])
    return new_posts


# --- history: from when the stored posts of an account are complete ------------------------

def save_history_end(db: Database, account: AccountRow, history: HistoryEnd) -> bool:
    """Record from when ``account``'s stored posts are complete; return True when it moved.

    The earliest claim wins (an imported archive reaches further back than X's 3,200-post
    limit). When it moves, the leader's stored metrics are dropped: they were computed
    against the old limit, and ``tracker metrics`` or the report recomputes them.
    """
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE accounts SET complete_since = ?, history_limit = ? "
            "WHERE id = ? AND (complete_since IS NULL OR complete_since > ?)",
            [history.complete_since, history.limit, account.id, history.complete_since])
        moved = cursor.rowcount > 0
        if moved:
            db.execute("DELETE FROM metrics WHERE leader_id = ?", [account.leader_id])
    return moved


def get_history(db: Database, account_id: str) -> tuple[str | None, str | None]:
    """(complete_since, history_limit) of an account: from when its stored posts are complete."""
    row = db.execute("SELECT complete_since, history_limit FROM accounts WHERE id = ?", [account_id]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def save_history_from_posts(db: Database, account: AccountRow, walked_at: str) -> bool:
    """After a successful run of a source that does not say where its history ends: the
    account is complete since its oldest stored post (or ``walked_at`` when it has none)."""
    with write_transaction(db):
        oldest = db.execute("SELECT min(created_at) FROM posts WHERE account_id = ?", [account.id]).fetchone()[0]
        if db.execute("SELECT complete_since IS NOT NULL FROM accounts WHERE id = ?", [account.id]).fetchone()[0]:
            return False
        return save_history_end(db, account, HistoryEnd(min(oldest or walked_at, walked_at), "oldest_post"))


# --- runs ------------------------------------------------------------------------------------

def start_run(db: Database, run_id: str, account: AccountRow) -> RunProgress:
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (run_id, account_id, platform, started_at, status) VALUES (?, ?, ?, ?, 'running')",
            [run_id, account.id, account.platform, now_iso()],
        )
    assert cursor.lastrowid is not None
    return RunProgress(cursor.lastrowid)


def finish_run(db: Database, progress: RunProgress, *, status: str, error: str | None = None) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, requests = ?, posts_read = ?, new_posts = ?, "
            "error = ? WHERE id = ?",
            [now_iso(), status, progress.requests, progress.posts_read, progress.new_posts, error,
             progress.row_id],
        )


def close_interrupted_runs(db: Database) -> int:
    """Mark runs left 'running' by a killed collection (only called under the collect lock)."""
    with write_transaction(db):
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
    with write_transaction(db):
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
PostReading = tuple[str, float | None, float | None, float | None, str | None]


def _save_labels(db: Database, table: str, done_table: str, id_column: str, ids: Sequence[str],
                 labels: Iterable[LabelRow], classifier_version: str, labelled_at: str | None,
                 readings: Sequence[PostReading] = ()) -> None:
    labelled_at = labelled_at or now_iso()
    with write_transaction(db):
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
        if readings:
            db.conn.executemany(
                f"UPDATE {done_table} SET p_answer = ?, p_debate = ?, p_progress = ?, not_labelled = ? "
                f"WHERE {id_column} = ?", [(*reading[1:], reading[0]) for reading in readings])


def save_post_labels(db: Database, post_ids: Sequence[str], labels: Iterable[LabelRow],
                     classifier_version: str, labelled_at: str | None = None,
                     readings: Sequence[PostReading] = ()) -> None:
    """Replace the labels of ``post_ids`` (all labelled by ``classifier_version``) in one transaction.

    Every id gets a ``labelled_posts`` row, also when it carries no label, so that the
    next run only labels new posts or posts labelled by another classifier version. A
    reading is (post id, p_answer, p_debate, p_progress, not_labelled): the model's
    probabilities, or why it did not label the post.
    """
    _save_labels(db, "post_labels", "labelled_posts", "post_id", post_ids, labels, classifier_version,
                 labelled_at, readings)


def save_context_labels(db: Database, context_ids: Sequence[str], labels: Iterable[LabelRow],
                        classifier_version: str, labelled_at: str | None = None) -> None:
    """Like ``save_post_labels`` for others' posts (``question``, ``critical``)."""
    _save_labels(db, "context_labels", "labelled_context", "context_id", context_ids, labels, classifier_version,
                 labelled_at)


def save_metrics(db: Database, rows: Iterable[dict[str, Any]], computed_at: str | None = None) -> int:
    """Upsert metric rows (the dicts ``tracker.metrics.monthly.compute_metrics`` returns); return how many."""
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
    with write_transaction(db):
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
    with write_transaction(db):
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
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO mentions (context_id, account_id, leader_id, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (context_id, account_id) DO NOTHING",
            rows,
        )


# --- file exports without an API (LinkedIn) ---------------------------------------------------

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
        db.execute("UPDATE accounts SET status = 'ok', status_detail = NULL, last_success_at = ? WHERE id = ?",
                   [imported_at, account.id])
        if new_posts:
            # The leader's stored monthly figures predate these posts (an export brings years
            # of history at once): they are computed again when next needed.
            db.execute("DELETE FROM metrics WHERE leader_id = ?", [account.leader_id])


def export_imported(db: Database, account_id: str, fingerprint: str) -> bool:
    """Whether this account already imported a file with this content."""
    return db.execute("SELECT 1 FROM exports WHERE account_id = ? AND fingerprint = ?",
                      [account_id, fingerprint]).fetchone() is not None

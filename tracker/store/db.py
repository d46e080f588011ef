"""Opening the database: the path checks, the read-only fallback, and the write transaction.

The database is SQLite in WAL mode, so reports and ``tracker status`` can read while a
collection writes. Every write goes through ``write_transaction``, which takes the write
lock up front.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from tracker.domain import utc_iso
from tracker.errors import DatabaseError, NoDatabaseError
from tracker.store.migrations import migrations

BUSY_TIMEOUT_MS = 30_000
# A post's row holds its raw JSON (about 1.5 KB from an X archive): two such rows filled a
# 4 KB page and left a quarter of it empty. 16 KB pages hold ten; a new database is a fifth
# smaller and an archive imports 10% faster.
PAGE_SIZE = 16384
log = logging.getLogger(__name__)


def now_iso() -> str:
    return utc_iso(datetime.now(timezone.utc))


class StoreDatabase(Database):
    """The database as ``open_db`` returns it: sqlite-utils' ``Database``, told that SQLite
    has UPSERT (3.24 and later; the schema's own statements use it) instead of finding out.

    sqlite-utils finds out by creating and dropping a table in the main database. A
    read-only database cannot, and sqlite-utils then falls back to INSERT OR IGNORE plus
    UPDATE, which silently drops a new row that has NOT NULL columns besides its key: a
    metrics row saved on a read-only database vanished without an error.
    """

    @property
    def supports_on_conflict(self) -> bool:
        return True


class ReadOnlyDatabase(StoreDatabase):
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
        db = StoreDatabase(path)
        if new:  # fixed when the first table is written; WAL mode keeps it for good
            db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
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



def tune_for_bulk_load(db: Database) -> None:
    """Connection settings for a large import (this connection only).

    synchronous=NORMAL is the setting SQLite recommends with WAL: a commit is atomic and
    consistent, and only the last commits can be lost on power failure (an import is
    simply run again); a 64 MB page cache keeps the indexes being built in memory; and
    checkpoints every 40 MB of WAL instead of every 1,000 pages copy each page to the
    database file less often.
    """
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA cache_size = -65536")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.execute(f"PRAGMA wal_autocheckpoint = {(40 << 20) // page_size}")

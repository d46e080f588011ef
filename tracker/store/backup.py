"""A consistent copy of the database, taken while a collection may be writing."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tracker.errors import TrackerError
from tracker.store.db import BUSY_TIMEOUT_MS, check_database_path


@dataclass(frozen=True)
class BackupResult:
    path: Path
    pages: int
    size: int


def backup_database(database: Path, destination: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy ``database`` to ``destination`` with SQLite's online backup API.

    The copy is one consistent snapshot even while a collection writes: the backup reads
    committed pages only (https://www.sqlite.org/backup.html) and, in WAL mode, never
    blocks the writer. It is written to a temporary file and renamed into place, so a
    crash never leaves a half-written backup under the final name.
    """
    database, destination = Path(database), Path(destination)
    check_database_path(database, create=False)
    if destination.exists() and not overwrite:
        raise TrackerError(f"{destination} already exists (use --force to replace it)")
    if destination.resolve() == database.resolve():
        raise TrackerError(f"{destination} is the database itself; choose another path")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    # Read-only: a backup must never create, migrate or otherwise change the source.
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            pages = target.execute("PRAGMA page_count").fetchone()[0]
            # The copy inherits WAL mode from the header; a single-file backup is easier
            # to move around, and WAL comes back when tracker opens it.
            target.execute("PRAGMA journal_mode = DELETE")
            problem = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise TrackerError(f"backup of {database} failed: {error}") from None
    finally:
        source.close()
    if problem != "ok":
        partial.unlink(missing_ok=True)
        raise TrackerError(f"backup of {database} failed its integrity check: {problem}")
    os.replace(partial, destination)
    return BackupResult(destination, pages, destination.stat().st_size)

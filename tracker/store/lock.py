"""The collection lock: one file beside the database, held by the process that collects or imports."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tracker.errors import DatabaseError, LockedError
from tracker.store.db import check_database_path


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def collection_lock(database: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the database so that runs never overlap.

    flock is released by the kernel when the process dies, so a killed run never leaves a
    stale lock behind.
    """
    check_database_path(database, create=True)
    path = lock_path(database)
    # The folder exists (check_database_path): a missing one is a typo or an unmounted
    # disk, never created here.
    try:
        handle = open(path, "a+")
    except OSError as error:
        raise DatabaseError(f"cannot write the collection lock {path}: {error.strerror}; the database's "
                            "folder must be writable (or set [tracker] database to a writable path)") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise LockedError(
                f"another collection is already running on {database} (lock {path} held by pid {holder}); "
                "this run did nothing"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()

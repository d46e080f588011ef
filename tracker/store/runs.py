"""Collection runs: one row per account and run, with its running totals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from tracker.store.accounts import AccountRow
from tracker.store.db import now_iso, write_transaction


@dataclass
class RunProgress:
    """The running totals of one account's run, stored with every page."""

    row_id: int
    requests: int = 0
    posts_read: int = 0
    new_posts: int = 0



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

"""Collection runs: one row per account and run, with its running totals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from tracker.domain import RunStatus
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
        runs = db.table("runs").insert({"run_id": run_id, "account_id": account.id, "platform": account.platform,
                                        "started_at": now_iso(), "status": RunStatus.RUNNING.value})
    assert runs.last_rowid is not None
    return RunProgress(runs.last_rowid)


def save_run_progress(db: Database, progress: RunProgress) -> None:
    """The run's totals so far (``save_page`` calls it in the page's transaction)."""
    with write_transaction(db):
        db.table("runs").update(progress.row_id, {"requests": progress.requests, "posts_read": progress.posts_read,
                                                  "new_posts": progress.new_posts})


def finish_run(db: Database, progress: RunProgress, *, status: str, error: str | None = None) -> None:
    with write_transaction(db):
        db.table("runs").update(progress.row_id, {
            "finished_at": now_iso(), "status": status, "requests": progress.requests,
            "posts_read": progress.posts_read, "new_posts": progress.new_posts, "error": error})


def close_interrupted_runs(db: Database) -> int:
    """Mark runs left 'running' by a killed collection (only called under the collect lock)."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE runs SET status = ?, error = 'the collection was stopped before it finished' WHERE status = ?",
            [RunStatus.INTERRUPTED, RunStatus.RUNNING])
    return cursor.rowcount

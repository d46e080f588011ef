"""Leaders and accounts as the config names them, their identity and status, and from when
each account's stored posts are complete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from tracker.config import Config
from tracker.domain import AccountStatus, HistoryEnd, Identity, RunStatus
from tracker.store.db import now_iso, write_transaction

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
        leaders = [(leader.id, leader.name, leader.role, leader.group, 1, leader.organisation)
                   for leader in config.tracked]
        db.table("leaders").upsert_all([("id", "name", "role", "group_name", "in_config", "organisation"), *leaders],
                                       pk="id")
        for leader in config.tracked:
            for platform, handle in leader.accounts.items():
                # A changed handle forgets the cached user id: the new handle is resolved
                # on the next collection (a rename with the same handle keeps the id). A rule
                # on the stored row that sqlite-utils' upsert cannot state, so this stays SQL.
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
    if least_recent_first:
        sql += (" ORDER BY (SELECT max(runs.id) FROM runs WHERE runs.account_id = accounts.id AND runs.status = ?), "
                "leader_id, platform")
        params.append(RunStatus.OK)
    else:
        sql += " ORDER BY leader_id, platform"
    return [AccountRow(*row) for row in db.execute(sql, params).fetchall()]


def save_identity(db: Database, account_id: str, identity: Identity) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE accounts SET platform_user_id = ?, display_name = ?, resolved_at = ?, "
            "status = CASE WHEN ? THEN ? ELSE status END WHERE id = ?",
            [identity.user_id, identity.display_name, now_iso(), identity.protected, AccountStatus.PROTECTED,
             account_id],
        )


def save_identity_accepted(db: Database, account_id: str) -> bool:
    """A person confirmed that the account's handle still names its leader after an
    ``identity_changed`` stop: forget the old user id, so the next collection resolves the
    handle and collects it. Returns False when the account was not stopped."""
    with write_transaction(db):
        cursor = db.execute(
            "UPDATE accounts SET platform_user_id = NULL, display_name = NULL, resolved_at = NULL, status = ?, "
            "status_detail = NULL WHERE id = ? AND status = ?",
            [AccountStatus.NEW, account_id, AccountStatus.IDENTITY_CHANGED])
    return cursor.rowcount > 0


def save_account_status(db: Database, account_id: str, status: str, detail: str | None = None) -> None:
    with write_transaction(db):
        if status == AccountStatus.OK:
            db.execute("UPDATE accounts SET status = ?, status_detail = NULL, last_success_at = ? "
                       "WHERE id = ?", [AccountStatus.OK, now_iso(), account_id])
        else:
            db.execute("UPDATE accounts SET status = ?, status_detail = ? WHERE id = ?",
                       [status, detail, account_id])


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

"""One collection run: every selected account, one at a time, each failure kept to itself."""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from tracker import store
from tracker.config import Config
from tracker.errors import (
    AccountUnavailableError,
    AuthError,
    ConfigError,
    LockedError,
    RateLimitedError,
    SourceError,
)
from tracker.secrets import redact
from tracker.sources import SOURCE_FACTORIES, build_source
from tracker.sources.base import Identity, Source, StoreView

log = logging.getLogger(__name__)


@dataclass
class AccountResult:
    account_id: str
    leader_id: str
    platform: str
    handle: str
    status: str  # ok | failed
    requests: int = 0
    posts_read: int = 0
    new_posts: int = 0
    error: str | None = None


@dataclass
class CollectResult:
    run_id: str
    accounts: list[AccountResult] = field(default_factory=list)

    @property
    def failed(self) -> list[AccountResult]:
        return [result for result in self.accounts if result.status != "ok"]


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def collection_lock(database: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the database so that runs never overlap.

    flock is released by the kernel when the process dies, so a killed run never leaves a
    stale lock behind.
    """
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
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


def _needed_platforms(config: Config, leader_ids: Sequence[str], platforms: Sequence[str]) -> list[str]:
    """The platforms the selection touches; raises ConfigError for an unknown leader or source."""
    for platform in platforms:
        if platform not in SOURCE_FACTORIES:
            raise ConfigError(f"unknown source {platform!r} (expected one of: {', '.join(SOURCE_FACTORIES)})")
    leaders = [config.leader(leader_id) for leader_id in leader_ids] or list(config.tracked)
    return sorted({platform for leader in leaders for platform in leader.accounts
                   if not platforms or platform in platforms})


def _store_view(config: Config, db: Database, platform: str) -> StoreView:
    """The reads a source may make while collecting (see ``StoreView``)."""
    from tracker.budget import budget_remaining_reader

    return StoreView(
        stored_post_ids=lambda ids: store.stored_post_ids(db, ids),
        reads_remaining=budget_remaining_reader(config, db) if platform == "x" else None,
    )


def collect_account(db: Database, source: Source, account: store.AccountRow, run_id: str) -> AccountResult:
    """Collect one account into ``db``; never raises for that account's own failures."""
    result = AccountResult(account.id, account.leader_id, account.platform, account.handle, "ok")
    progress = store.start_run(db, run_id, account)
    start_requests = source.requests

    def count_requests() -> None:
        progress.requests = source.requests - start_requests

    try:
        resolved_now = False
        if account.platform_user_id is None:
            identity = source.resolve(account.handle)
            store.save_identity(db, account.id, identity)
            resolved_now = True
        else:
            identity = Identity(account.platform_user_id, account.handle, account.display_name)
        while True:
            try:
                for page in source.fetch_pages(identity, store.get_cursor(db, account.id)):
                    count_requests()
                    store.save_page(db, account, page, progress)
                break
            except AccountUnavailableError as error:
                # The cached id may belong to a deleted account whose handle now names
                # another id: look the handle up once before giving up.
                if error.reason != "not_found" or resolved_now:
                    raise
                log.info("%s: user id %s not found; resolving @%s again", account.id, identity.user_id,
                         account.handle)
                identity = source.resolve(account.handle)
                store.save_identity(db, account.id, identity)
                resolved_now = True
        store.save_account_status(db, account.id, "ok")
    except AccountUnavailableError as error:
        result.status, result.error = "failed", redact(f"account {error.reason.replace('_', ' ')}: {error}")
        store.save_account_status(db, account.id, error.reason, redact(str(error)))
    except RateLimitedError as error:
        result.status, result.error = "failed", redact(f"{error}; what was read is saved, the rest follows next run")
    except AuthError:
        count_requests()
        store.finish_run(db, progress, status="failed", error="credentials rejected")
        raise
    except SourceError as error:
        result.status, result.error = "failed", redact(str(error))
    except Exception as error:  # noqa: BLE001 - one account's surprise must not stop the others
        log.exception("%s: unexpected error", account.id)
        result.status, result.error = "failed", redact(f"unexpected error: {error!r}")
    finally:
        count_requests()
        result.requests = progress.requests
        result.posts_read, result.new_posts = progress.posts_read, progress.new_posts
    if result.status != "ok":
        log.error("%s (@%s): %s", account.id, account.handle, result.error)
    store.finish_run(db, progress, status=result.status, error=result.error)
    return result


def collect(config: Config, *, leader_ids: Sequence[str] = (), platforms: Sequence[str] = (),
            env: Mapping[str, str] | None = None, source_options: Mapping[str, Any] | None = None,
            on_start: Callable[[int], None] | None = None,
            on_account: Callable[[AccountResult], None] | None = None) -> CollectResult:
    """Collect new posts for the selected accounts (all by default) into the configured database.

    Raises LockedError before touching the database when another run holds the lock, and
    ConfigError for an unknown leader or source or missing credentials (nothing written).
    Account failures are recorded and returned, never raised.
    """
    sources: dict[str, Source] = {
        platform: build_source(platform, config, env, **(source_options or {}))
        for platform in _needed_platforms(config, leader_ids, platforms)
    }
    with collection_lock(config.database):
        db = store.open_db(config.database)
        try:
            store.save_config(db, config)
            for platform, source in sources.items():
                source.store_view = _store_view(config, db, platform)
            accounts = store.get_accounts(db, leader_ids, platforms)
            interrupted = store.close_interrupted_runs(db)
            if interrupted:
                log.warning("%d run(s) from an earlier, interrupted collection were closed", interrupted)
            result = CollectResult(run_id=uuid.uuid4().hex)
            if on_start is not None:
                on_start(len(accounts))
            rejected: dict[str, str] = {}
            for account in accounts:
                if account.platform in rejected:
                    account_result = AccountResult(account.id, account.leader_id, account.platform,
                                                   account.handle, "failed", error=rejected[account.platform])
                else:
                    try:
                        account_result = collect_account(db, sources[account.platform], account, result.run_id)
                    except AuthError as error:
                        # One token serves every account of a platform: stop asking with it.
                        rejected[account.platform] = redact(str(error))
                        log.error("%s", rejected[account.platform])
                        account_result = AccountResult(account.id, account.leader_id, account.platform,
                                                       account.handle, "failed", error=rejected[account.platform])
                result.accounts.append(account_result)
                if on_account is not None:
                    on_account(account_result)
            return result
        finally:
            db.close()

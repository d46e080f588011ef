"""One collection run: every selected account, one at a time, each failure kept to itself."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from tracker import store
from tracker.store import queries
from tracker.config import IMPORT_ONLY_PLATFORMS, Config
from tracker.errors import (
    AccountUnavailableError,
    AuthError,
    ConfigError,
    PlatformUnreachableError,
    RateLimitedError,
    SourceError,
)
from tracker.secrets import redact
from tracker.store.lock import collection_lock
from tracker.collect.sources import SOURCE_FACTORIES, build_source
from tracker.domain import AccountStatus, Identity, RunStatus
from tracker.collect.sources.base import Source, StoreView

log = logging.getLogger(__name__)

# The account being collected, so that every source log line (a retry, a rate-limit wait)
# names it: the sources themselves only know user ids.
_current_account: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_account", default=None)


class _AccountFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        account = _current_account.get()
        if account:
            record.msg = f"{account}: {record.msg}"
        return True


# A logger's filters do not apply to its children's records: each source's logger gets one.
for _name in ("base", "retry", "x", "bluesky", "mastodon", "blog"):
    logging.getLogger(f"tracker.collect.sources.{_name}").addFilter(_AccountFilter())


@dataclass
class AccountResult:
    account_id: str
    leader_id: str
    platform: str
    handle: str
    status: RunStatus  # ok or failed
    requests: int = 0
    posts_read: int = 0
    new_posts: int = 0
    error: str | None = None
    # The platform rejected the credentials: its other accounts are not tried this run.
    credentials_rejected: bool = False


@dataclass
class CollectResult:
    run_id: str
    accounts: list[AccountResult] = field(default_factory=list)

    @property
    def failed(self) -> list[AccountResult]:
        return [result for result in self.accounts if result.status != RunStatus.OK]


def _needed_platforms(config: Config, leader_ids: Sequence[str], platforms: Sequence[str]) -> list[str]:
    """The platforms the selection touches; raises ConfigError for an unknown leader or source."""
    for platform in platforms:
        if platform in IMPORT_ONLY_PLATFORMS:
            raise ConfigError(f"{platform} has no API to collect from: its posts come from the leaders' data exports "
                              f"(`tracker import {platform}`, or [sources.{platform}] exports_dir with `tracker collect`)")
        if platform not in SOURCE_FACTORIES:
            raise ConfigError(f"unknown source {platform!r} (expected one of: {', '.join(SOURCE_FACTORIES)})")
    leaders = [config.leader(leader_id) for leader_id in leader_ids] or list(config.tracked)
    return sorted({platform for leader in leaders for platform in leader.accounts
                   if (not platforms or platform in platforms) and platform in SOURCE_FACTORIES})


def _store_view(config: Config, db: Database, platform: str) -> StoreView:
    """The reads a source may make while collecting (see ``StoreView``)."""
    from tracker.collect.budget import budget_remaining_reader

    return StoreView(
        stored_post_ids=lambda ids: store.stored_post_ids(db, ids),
        reads_remaining=budget_remaining_reader(config, db) if platform == "x" else None,
    )


def warn_history_limit(account: store.AccountRow, complete_since: str) -> None:
    """Said once per account: on the run whose walk back through the history hit X's limit."""
    log.warning("%s (@%s): X serves only the newest 3,200 posts of a timeline, so the collected history "
                "starts on %s and earlier months show no data; to fill them, import the account's X archive: "
                "tracker import x-archive --leader %s ARCHIVE.zip",
                account.id, account.handle, complete_since[:10], account.leader_id)


def collect_account(db: Database, source: Source, account: store.AccountRow, run_id: str) -> AccountResult:
    """Collect one account into ``db``; never raises for that account's own failures."""
    token = _current_account.set(f"{account.id} (@{account.handle})")
    try:
        return _collect_account(db, source, account, run_id)
    finally:
        _current_account.reset(token)


def _collect_account(db: Database, source: Source, account: store.AccountRow, run_id: str) -> AccountResult:
    result = AccountResult(account.id, account.leader_id, account.platform, account.handle, RunStatus.OK)
    progress = store.start_run(db, run_id, account)
    started_at = store.now_iso()
    start_requests = source.requests

    def count_requests() -> None:
        progress.requests = source.requests - start_requests

    try:
        if account.status == AccountStatus.IDENTITY_CHANGED:
            # Stopped until a person confirms the handle's new owner: no request at all.
            detail = queries.select_status_detail(db, account.id)
            raise AccountUnavailableError(detail or f"@{account.handle} now names another account",
                                          reason=AccountStatus.IDENTITY_CHANGED, platform=account.platform)
        _save_pages(db, source, account, progress, count_requests)
        store.save_account_status(db, account.id, AccountStatus.OK)
        store.save_history_from_posts(db, account, started_at)
    except PlatformUnreachableError as error:
        count_requests()
        store.finish_run(db, progress, status=RunStatus.FAILED, error=redact(str(error)))
        raise
    except Exception as error:  # noqa: BLE001 - one account's surprise must not stop the others
        result.status = RunStatus.FAILED
        message, result.credentials_rejected = _failure(db, account, error)
        result.error = redact(message)
    finally:
        count_requests()
        result.requests = progress.requests
        result.posts_read, result.new_posts = progress.posts_read, progress.new_posts
    if result.status != RunStatus.OK:
        log.error("%s (@%s): %s", account.id, account.handle, result.error)
    store.finish_run(db, progress, status=result.status, error=result.error)
    return result


def _failure(db: Database, account: store.AccountRow, error: Exception) -> tuple[str, bool]:
    """What a failed account run records (not yet redacted), and whether the platform rejected
    the credentials. An unavailable account's status is saved here."""
    if isinstance(error, AccountUnavailableError):
        store.save_account_status(db, account.id, error.reason, redact(str(error)))
        return f"account {error.reason.replace('_', ' ')}: {error}", False
    if isinstance(error, RateLimitedError):
        return f"{error}; what was read is saved, the rest follows next run", False
    if isinstance(error, AuthError):
        return str(error), True
    if isinstance(error, SourceError):
        return str(error), False
    log.exception("%s: unexpected error", account.id)
    return f"unexpected error: {error!r}", False


def _save_pages(db: Database, source: Source, account: store.AccountRow, progress: store.RunProgress,
                count_requests: Callable[[], None]) -> None:
    """Resolve the account if need be, then save every page the source yields, each with its
    cursor in one transaction (``store.save_page``), so a killed run resumes after the last page."""
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
                if page.history is not None and page.history.limit == "x_limit" \
                        and store.get_history(db, account.id)[1] == "x_limit":  # no archive reaches further
                    warn_history_limit(account, page.history.complete_since)
            return
        except AccountUnavailableError as error:
            # The cached id may belong to a deleted account whose handle now names
            # another id: look the handle up once before giving up.
            if error.reason != AccountStatus.NOT_FOUND or resolved_now:
                raise
            identity = _resolve_again(db, source, account, identity)
            resolved_now = True


def _resolve_again(db: Database, source: Source, account: store.AccountRow, identity: Identity) -> Identity:
    """Look the handle up again; raise when it now names another user id (a recycled handle)."""
    log.info("%s: user id %s not found; resolving @%s again", account.id, identity.user_id, account.handle)
    current = source.resolve(account.handle)
    if current.user_id != identity.user_id:
        # Another person's posts must never be stored under this leader without a person saying so.
        raise AccountUnavailableError(
            f"@{account.handle} now belongs to user id {current.user_id}, not to the stored user "
            f"id {identity.user_id}, which no longer exists; nothing was collected. If @"
            f"{account.handle} is still {account.leader_id}'s account, run `tracker accept-identity "
            f"--leader {account.leader_id} --source {account.platform}`",
            reason=AccountStatus.IDENTITY_CHANGED, platform=account.platform) from None
    store.save_identity(db, account.id, current)
    return current


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
    store.check_database_path(config.database, create=True)
    with collection_lock(config.database):
        db = store.open_db(config.database)
        try:
            store.save_config(db, config)
            for platform, source in sources.items():
                source.store_view = _store_view(config, db, platform)
            # The least recently completed first: when a rate limit or a budget cuts a run
            # short, the accounts left out go first next time, so none is starved.
            # Import-only platforms (LinkedIn) have no collector: their files are imported.
            accounts = store.get_accounts(db, leader_ids, platforms or list(SOURCE_FACTORIES),
                                          least_recent_first=True)
            interrupted = store.close_interrupted_runs(db)
            if interrupted:
                log.warning("%d run(s) from an earlier, interrupted collection were closed", interrupted)
            result = CollectResult(run_id=uuid.uuid4().hex)
            if on_start is not None:
                on_start(len(accounts))
            _collect_accounts(db, sources, accounts, result, on_account)
            return result
        finally:
            db.close()


def _collect_accounts(db: Database, sources: Mapping[str, Source], accounts: Sequence[store.AccountRow],
                      result: CollectResult, on_account: Callable[[AccountResult], None] | None) -> None:
    """Collect each account in turn; a platform whose credentials were rejected or that was
    unreachable is not asked again in this run."""
    skipped: dict[str, str] = {}  # platform -> why its remaining accounts are not tried
    unreachable: set[str] = set()
    for account in accounts:
        if account.platform in skipped:
            # One token serves every account of a platform: it is not tried again, and
            # each account records the failed run, so `status` shows it for every one.
            account_result = AccountResult(account.id, account.leader_id, account.platform, account.handle,
                                           RunStatus.FAILED, error=skipped[account.platform],
                                           credentials_rejected=account.platform not in unreachable)
            store.finish_run(db, store.start_run(db, result.run_id, account), status=RunStatus.FAILED,
                             error=account_result.error)
        else:
            try:
                account_result = collect_account(db, sources[account.platform], account, result.run_id)
            except PlatformUnreachableError as error:
                # A dead API will not answer the next account either: stop asking.
                message = redact(str(error))
                skipped[account.platform] = f"not tried: {account.platform} was unreachable earlier in this run"
                unreachable.add(account.platform)
                log.error("%s", message)
                account_result = AccountResult(account.id, account.leader_id, account.platform, account.handle,
                                               RunStatus.FAILED, error=message)
            if account_result.credentials_rejected:
                skipped[account.platform] = account_result.error or "credentials rejected"
        result.accounts.append(account_result)
        if on_account is not None:
            on_account(account_result)

"""Import a leader's own LinkedIn data export: their posts (``Shares.csv``) and comments.

LinkedIn has no API that reads a person's posts, but every member can download their
data (Settings > Data privacy > Get a copy of your data): a zip of CSV files. Two of them
are the leader's public activity:

- ``Shares.csv`` (``Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility``): the
  posts. LinkedIn writes a multi-line ``ShareCommentary`` as one quoted field whose inner
  lines are each wrapped in quotes again (``"first""\\n""second""\\n""last"``), so a plain
  CSV reader leaves a stray quote at both ends of every inner line; ``unwrap_text`` removes
  exactly those. Identical rows can repeat, one ``ShareLink`` can sit on several rows, and a
  reshare without text has an empty ``ShareCommentary``.
- ``Comments.csv`` (``Date,Link,Message``): every comment the leader wrote; ``Link`` is the
  post commented on (its text is not in the export). Quotes inside ``Message`` may be
  backslash-escaped (``\\"``) instead of doubled.
- ``Profile.csv`` (optional): the member's name, checked against the configured leader.

Dates are ``YYYY-MM-DD HH:MM:SS`` with no time zone, read as UTC. Every file is read twice as a stream: once to
check all of it (so a bad file stores nothing) and once to save it in batches, each batch
in one transaction, through the same store function as the X archive import.

Reading and checking the files (no database) is ``linkedin_read``; this module saves them.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from tracker import store
from tracker.store import queries
from tracker.collect.x_archive import save_in_batches
from tracker.config import Config
from tracker.errors import ConfigError, TrackerError
from tracker.domain import Post, RunStatus
from tracker.collect.linkedin_read import (
    HEADERS,
    PLATFORM,
    ExportFiles,
    ExportScan,
    archive_date_from_name,
    check_profile,
    export_fingerprint,
    iter_rows,
    normalize_comment,
    normalize_share,
    open_export,
    scan_export,
)

# Kept importable from here, where the import's callers look for them.
from tracker.collect.linkedin_read import (  # noqa: F401
    ExportError, colleague_counterparts, counterpart_name, unwrap_text)

log = logging.getLogger(__name__)

BATCH_SIZE = 5000


@dataclass(frozen=True)
class LinkedInImportResult:
    account_id: str
    files: list[str]
    rows_read: int
    new_posts: int
    new_comments: int
    first_at: str | None
    exported_at: str | None


# --- importing --------------------------------------------------------------------------------

# json.dumps with options builds a new encoder on every call; one encoder is reused, and the
# rows (lists of strings) are joined from the C string encoder json uses itself.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_encode_string: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def raw_json(kind: str, row: Sequence[str]) -> str:
    """The stored ``raw`` of a row: the file, its columns and the row's fields as in the file
    (before unwrapping), e.g. ``{"linkedin_export":{"file":"Comments.csv","columns":[...],"row":[...]}}``."""
    return _RAW_PREFIX[kind] + "[" + ",".join(map(_encode_string, row)) + "]}}"


_RAW_PREFIX = {kind: '{"linkedin_export":{"file":' + _encode(f"{kind.title()}.csv") + ',"columns":'
               + _encode(list(HEADERS[kind])) + ',"row":' for kind in HEADERS}


def iter_export_posts(found: ExportFiles, scan: ExportScan, kind: str) -> Iterator[tuple[Post, str]]:
    """Every row of the ``kind`` file ("shares" or "comments") as (Post, its raw JSON), streaming."""
    if kind not in found.files:
        return
    name, opener = found.files[kind]
    for _, row in iter_rows(opener, name, HEADERS[kind]):
        post = normalize_share(row, scan.ambiguous_urns) if kind == "shares" else normalize_comment(row)
        yield post, raw_json(kind, row)


def exported_at(found: ExportFiles, scan: ExportScan) -> str | None:
    """The export's date: the newest item, or the archive's own date when that is later."""
    dates = [d for d in (scan.last_at, found.archive_date) if d]
    return max(dates) if dates else None


def _linkedin_account_check(config: Config, leader_id: str) -> None:
    leader = config.leader(leader_id)
    if PLATFORM not in leader.accounts:
        raise ConfigError(f"{config.path}: leader {leader_id!r} has no linkedin account (add "
                          'accounts.linkedin = "<public profile name>" to import a LinkedIn export)')


def import_linkedin_export(config: Config, leader_id: str, paths: Sequence[str | Path],
                           batch_size: int = BATCH_SIZE) -> LinkedInImportResult:
    """Import one export into the leader's LinkedIn account; returns what was new.

    Everything is checked before anything is written: a bad file, or a Profile.csv of
    someone else, raises ExportError and stores nothing. Like the X archive import, this may
    start a new database (announced on stderr), but only in a folder that exists.
    """
    from tracker.store.lock import collection_lock

    _linkedin_account_check(config, leader_id)
    with open_export(paths) as found:
        scan = scan_export(found)
        check_profile(config, leader_id, found, scan)
        fingerprint = export_fingerprint(found)
        store.check_database_path(config.database, create=True)
        with collection_lock(config.database):
            db = store.open_db(config.database, create=True)
            try:
                store.save_config(db, config)
                [account] = store.get_accounts(db, [leader_id], [PLATFORM])
                return _save(db, account, found, scan, fingerprint, batch_size)
            finally:
                db.close()


def _save(db: Database, account: store.AccountRow, found: ExportFiles, scan: ExportScan, fingerprint: str,
          batch_size: int) -> LinkedInImportResult:
    store.tune_for_bulk_load(db)
    # A monthly export repeats the whole history: when the account has posts, the rows already
    # stored are skipped before the insert (a first import has nothing to look up).
    has_posts = queries.account_has_posts(db, account.id)
    new = {kind: save_in_batches(db, account, iter_export_posts(found, scan, kind), batch_size,
                                 skip_stored=has_posts)[1]
           for kind in HEADERS}
    date = exported_at(found, scan)
    store.save_export(db, account, source=found.label, fingerprint=fingerprint, exported_at=date,
                      first_item_at=scan.first_at, last_item_at=scan.last_at,
                      rows_read=scan.shares + scan.comments, new_posts=sum(new.values()))
    return LinkedInImportResult(account.id, [name for name, _ in found.files.values()],
                                scan.shares + scan.comments, new["shares"], new["comments"], scan.first_at, date)


# --- the exports folder (unattended) ----------------------------------------------------------

@dataclass(frozen=True)
class DroppedExport:
    """One export found in ``[sources.linkedin] exports_dir`` and what the job did with it."""

    leader_id: str
    path: Path
    status: str  # "imported" | "done" (imported before: skipped) | "failed"
    result: LinkedInImportResult | None = None
    error: str | None = None


def _holds_csv(folder: Path) -> bool:
    return any(child.name.lower() in ("shares.csv", "comments.csv") for child in folder.iterdir() if child.is_file())


def find_dropped_exports(folder: Path) -> list[tuple[str, Path]]:
    """(leader id, export path) for every export in the folder, oldest archive date first.

    ``<leader id>.zip`` or ``<leader id>.<anything>.zip`` at the top (ids have no dots), or
    anything in a subfolder named after the leader: zips, and unpacked exports (a folder
    holding Shares.csv or Comments.csv, the subfolder itself included). Hidden files and
    unfinished downloads (no ``.zip`` ending) are ignored.
    """
    found: list[tuple[str, Path]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() == ".zip":
            found.append((entry.name.split(".", 1)[0], entry))
        elif entry.is_dir():
            if _holds_csv(entry):
                found.append((entry.name, entry))
                continue
            for child in sorted(entry.iterdir()):
                if child.name.startswith("."):
                    continue
                if (child.is_file() and child.suffix.lower() == ".zip") or (child.is_dir() and _holds_csv(child)):
                    found.append((entry.name, child))
    return sorted(found, key=lambda item: (item[0], archive_date_from_name(item[1].name) or "", item[1].name))


def import_dropped_exports(config: Config, leader_ids: Sequence[str] = (),
                           batch_size: int = BATCH_SIZE) -> list[DroppedExport]:
    """Import every export in ``[sources.linkedin] exports_dir`` not imported before.

    An export is known by its content (``exports.fingerprint``), so a file is never
    imported twice, renamed or not, and nothing in the folder is moved or changed. Each new
    export is one run of the account (``runs``), so a bad file shows in ``tracker status``
    and is tried again on the next run; one leader's bad file never stops the others.
    It runs after ``collect`` (which starts the database when there is none) and never
    starts a database itself.
    """
    from tracker.store.lock import collection_lock

    folder = config.linkedin.exports_dir
    if folder is None:
        return []
    if not folder.is_dir():
        raise ConfigError(f"{config.path}: sources.linkedin.exports_dir: {folder} is not a folder (create it, "
                          "or set exports_dir = \"\" to turn the unattended import off)")
    results: list[DroppedExport] = []
    run_id = uuid.uuid4().hex
    store.check_database_path(config.database, create=False)
    with collection_lock(config.database):
        db = store.open_db(config.database, create=False)
        try:
            store.save_config(db, config)
            accounts = {account.leader_id: account for account in store.get_accounts(db, leader_ids, [PLATFORM])}
            for leader_id, path in find_dropped_exports(folder):
                if leader_ids and leader_id not in leader_ids:
                    continue
                account = accounts.get(leader_id)
                if account is None:
                    error = (f"{path}: no leader {leader_id!r} with a linkedin account in {config.path} (name the file "
                             "or subfolder after the leader's id)")
                    log.error("%s", error)
                    results.append(DroppedExport(leader_id, path, "failed", error=error))
                    continue
                results.append(_import_dropped(db, config, account, path, run_id, batch_size))
        finally:
            db.close()
    return results


def _import_dropped(db: Database, config: Config, account: store.AccountRow, path: Path, run_id: str,
                    batch_size: int) -> DroppedExport:
    progress: store.RunProgress | None = None
    try:
        with open_export([path]) as found:
            fingerprint = export_fingerprint(found)
            if store.export_imported(db, account.id, fingerprint):
                return DroppedExport(account.leader_id, path, "done")
            progress = store.start_run(db, run_id, account)
            scan = scan_export(found)
            check_profile(config, account.leader_id, found, scan)
            result = _save(db, account, found, scan, fingerprint, batch_size)
    except TrackerError as error:
        if progress is None:
            progress = store.start_run(db, run_id, account)
        store.finish_run(db, progress, status=RunStatus.FAILED, error=str(error))
        log.error("%s", error)
        return DroppedExport(account.leader_id, path, "failed", error=str(error))
    progress.posts_read = result.rows_read
    progress.new_posts = result.new_posts + result.new_comments
    store.finish_run(db, progress, status=RunStatus.OK)
    log.info("%s: imported into %s: %d new post(s), %d new comment(s)", path, account.id, result.new_posts,
             result.new_comments)
    return DroppedExport(account.leader_id, path, "imported", result)

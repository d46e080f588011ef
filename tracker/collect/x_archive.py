"""Import the official X "download your data" archive: a leader's full history, no API cost.

The archive is a zip (or its unpacked folder) whose ``data/tweets.js`` (older archives:
``data/tweet.js``) and ``data/tweets-part1.js``, ``-part2.js``... each hold one JavaScript
assignment, ``window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]``, of v1.1-style tweet
objects (``id_str``, ``full_text``, ``created_at`` like ``Wed Oct 10 20:19:24 +0000 2018``,
``in_reply_to_*``, ``entities``, counts as strings).

The files are streamed: the JSON array is decoded one element at a time with
``json.JSONDecoder.raw_decode`` over a bounded text buffer, so memory stays flat however
large the archive is. Posts get the same ids as the API (``x:<id>``), so importing twice,
or importing what ``collect`` already read, creates no duplicate.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Mapping

from sqlite_utils import Database

from tracker import store
from tracker.config import Config
from tracker.errors import ConfigError, TrackerError
from tracker.domain import HistoryEnd, Post, PostKind, utc_iso
from tracker.collect.sources.x_normalize import unescape_x_text

CHUNK_CHARS = 1 << 16
BATCH_SIZE = 5000
TWEET_FILES = re.compile(r"(^|/)data/(tweets?)(-part(\d+))?\.js$")
ACCOUNT_FILE = re.compile(r"(^|/)data/account\.js$")
# Quotes in v1.1 carry the quoted post only as a permalink in entities.urls.
PERMALINK = re.compile(r"^https?://(?:mobile\.)?(?:twitter|x)\.com/[^/]+/status(?:es)?/(\d+)")
ARCHIVE_DATE = "%a %b %d %H:%M:%S %z %Y"


class ArchiveError(TrackerError):
    """The file is not an X archive, or its content cannot be read."""


@dataclass(frozen=True)
class ImportResult:
    files: list[str]
    posts_read: int
    new_posts: int
    account_id: str


# --- reading the archive --------------------------------------------------------------------

def _part_number(name: str) -> int:
    match = TWEET_FILES.search(name)
    return int(match.group(4)) if match and match.group(4) else 0


@contextmanager
def _opened(path: Path) -> Iterator[tuple[list[str], Any]]:
    """(tweet file names in part order, open(name) -> text stream), for a zip or a folder."""
    if path.is_dir():
        names = sorted((str(p.relative_to(path)) for p in path.rglob("*.js")), key=_part_number)

        def open_folder(name: str) -> IO[str]:
            return open(path / name, encoding="utf-8-sig")

        yield names, open_folder
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{path}: not a zip file or folder ({error})") from None
    with archive:
        def open_member(name: str) -> IO[str]:
            return io.TextIOWrapper(archive.open(name), encoding="utf-8-sig")

        yield sorted(archive.namelist(), key=_part_number), open_member


def iter_array(stream: IO[str], name: str = "") -> Iterator[Any]:
    """Yield the elements of ``window.YTD.<x>.partN = [ ... ]`` one at a time (streaming)."""
    for value, _ in iter_array_text(stream, name):
        yield value


def iter_array_text(stream: IO[str], name: str = "") -> Iterator[tuple[Any, str]]:
    """Like ``iter_array``, with each element's JSON text as it stands in the file."""
    decoder = json.JSONDecoder()
    buffer = ""
    position = 0
    eof = False

    def fill() -> bool:
        nonlocal buffer, position, eof
        chunk = stream.read(CHUNK_CHARS)
        if not chunk:
            eof = True
            return False
        buffer = buffer[position:] + chunk
        position = 0
        return True

    # The JavaScript prefix: everything up to the array's opening bracket.
    while "[" not in buffer[position:]:
        if not fill():
            raise ArchiveError(f"{name}: no JSON array after the `window.YTD...` prefix")
    position = buffer.index("[", position) + 1
    while True:
        while True:  # skip separators
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position < len(buffer) or not fill():
                break
        if position >= len(buffer):
            raise ArchiveError(f"{name}: the array is not closed (truncated file?)")
        if buffer[position] == "]":
            return
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                # Incomplete at the buffer's end: read more; else the file is broken.
                if eof or not fill():
                    raise ArchiveError(f"{name}: invalid JSON ({error.msg} near character {error.pos})") from None
                continue
            # A number or literal cut at the buffer's end decodes "successfully" but short.
            if end == len(buffer) and not eof and fill():
                continue
            break
        text = buffer[position:end]
        position = end
        yield value, text


def read_account(path: Path) -> dict[str, Any] | None:
    """``data/account.js``'s account object (``accountId``, ``username``), if present."""
    with _opened(path) as (names, open_file):
        for name in names:
            if ACCOUNT_FILE.search(name):
                with open_file(name) as stream:
                    for item in iter_array(stream, name):
                        return dict(item.get("account") or {})
    return None


def iter_archive_tweets(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (file name, tweet object) for every tweet of every part, streaming."""
    for name, tweet, _ in iter_archive_tweets_text(path):
        yield name, tweet


def iter_archive_tweets_text(path: Path) -> Iterator[tuple[str, dict[str, Any], str]]:
    """Yield (file name, tweet object, the element's JSON text) for every tweet, streaming."""
    with _opened(path) as (names, open_file):
        tweet_files = [name for name in names if TWEET_FILES.search(name)]
        if not tweet_files:
            raise ArchiveError(f"{path}: no data/tweets.js (or data/tweet.js): not an X archive")
        for name in tweet_files:
            with open_file(name) as stream:
                for item, text in iter_array_text(stream, name):
                    tweet = item.get("tweet", item) if isinstance(item, dict) else None
                    if not isinstance(tweet, dict):
                        raise ArchiveError(f"{name}: an element is not a tweet object")
                    yield name, tweet, text


# --- normalizing --------------------------------------------------------------------------

def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def quoted_id(tweet: Mapping[str, Any]) -> str | None:
    if tweet.get("quoted_status_id_str"):
        return str(tweet["quoted_status_id_str"])
    for url in (tweet.get("entities") or {}).get("urls") or []:
        match = PERMALINK.match(str(url.get("expanded_url") or ""))
        if match:
            return match.group(1)
    return None


MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def parse_archive_date(value: str) -> str:
    """``Wed Oct 10 20:19:24 +0000 2018`` -> ``2018-10-10T20:19:24Z``.

    Archives always write UTC (+0000); that case is parsed by hand because strptime costs
    more than everything else in an import. Other offsets go through strptime.
    """
    parts = value.split()
    if len(parts) == 6 and parts[4] == "+0000" and parts[1] in MONTHS and len(parts[3]) == 8:
        return f"{parts[5]}-{MONTHS[parts[1]]:02d}-{int(parts[2]):02d}T{parts[3]}Z"
    return utc_iso(datetime.strptime(value, ARCHIVE_DATE))


def normalize_archive_tweet(tweet: Mapping[str, Any], user_id: str | None, screen_name: str) -> Post:
    """One archive tweet as a Post with the API's id (pure)."""
    native_id = str(tweet.get("id_str") or tweet["id"])
    text = unescape_x_text(str(tweet.get("full_text") or tweet.get("text") or ""))
    reply_to = tweet.get("in_reply_to_status_id_str")
    reply_user = tweet.get("in_reply_to_user_id_str")
    reply_name = str(tweet.get("in_reply_to_screen_name") or "")
    quoted = quoted_id(tweet)
    if text.startswith("RT @"):
        kind = PostKind.REPOST  # the archive keeps no retweeted_status: the "RT @" text tells it
    elif reply_to:
        own = (reply_user == user_id) if user_id and reply_user else reply_name.lower() == screen_name.lower()
        kind = PostKind.THREAD if own else PostKind.REPLY
    elif quoted:
        kind = PostKind.QUOTE
    else:
        kind = PostKind.ORIGINAL
    return Post(
        platform="x",
        native_id=native_id,
        created_at=parse_archive_date(str(tweet["created_at"])),
        text=text,
        kind=kind,
        in_reply_to_id=f"x:{reply_to}" if reply_to else None,
        in_reply_to_user_id=str(reply_user) if reply_user else None,
        quoted_id=f"x:{quoted}" if quoted and kind != PostKind.REPOST else None,
        url=f"https://x.com/{screen_name}/status/{native_id}",
        lang=tweet.get("lang"),
        like_count=_count(tweet.get("favorite_count")),
        repost_count=_count(tweet.get("retweet_count")),
        # The import stores the element's own JSON text as `raw` (see _raw_json): copying
        # the dict here would only be thrown away.
    )


def _raw_json(element_text: str) -> str:
    # The element exactly as in the file ({"tweet": {...}}): no second JSON encoding.
    return '{"x_archive":' + element_text + "}"


# --- importing ----------------------------------------------------------------------------

def save_in_batches(db: Database, account: store.AccountRow, posts: Iterable[tuple[Post, str]],
                    batch_size: int = BATCH_SIZE, skip_stored: bool = False) -> tuple[int, int]:
    """Save (post, its raw JSON text) pairs as they come, ``batch_size`` per transaction;
    return (read, new). Shared by the file imports (X archive, LinkedIn export).

    Batches are saved as they fill, each in one transaction, so an import stopped half-way
    keeps what it saved. (A writer thread was tried: the GIL made it 10% slower than this.)
    ``skip_stored`` looks up each batch's ids first and inserts only the new posts: faster
    when most posts are stored already (a re-import, a monthly export of the whole history).
    """
    batch: list[Post] = []
    raw: list[str] = []
    read = new = 0

    def flush() -> int:
        if skip_stored:
            stored = store.stored_post_ids(db, [post.id for post in batch])
            if stored:
                kept = [(post, text) for post, text in zip(batch, raw) if post.id not in stored]
                if not kept:
                    return 0
                return store.save_archive_posts(db, account, [p for p, _ in kept], [t for _, t in kept])
        return store.save_archive_posts(db, account, batch, raw)

    for post, raw_json in posts:
        batch.append(post)
        raw.append(raw_json)
        read += 1
        if len(batch) >= batch_size:
            new += flush()
            batch, raw = [], []
    if batch:
        new += flush()
    return read, new


def import_x_archive(config: Config, leader_id: str, path: str | Path, batch_size: int = BATCH_SIZE,
                     env: Mapping[str, str] | None = None) -> ImportResult:
    """Import an archive into the leader's X account; returns how many posts were new.

    The archive's account must be the leader's: its ``accountId`` is compared with the
    account's user id (stored, or resolved through the API when a token is in ``env``),
    else its username with the config's handle. Another person's archive stores nothing.
    """
    from tracker.store.lock import collection_lock

    path = Path(path)
    leader = config.leader(leader_id)
    if "x" not in leader.accounts:
        raise ConfigError(f"{config.path}: leader {leader_id!r} has no x account (add accounts.x to import "
                          "an X archive)")
    archive_account = read_account(path) or {}
    store.check_database_path(config.database, create=True)
    with collection_lock(config.database):
        db = store.open_db(config.database)
        try:
            return _import(db, config, leader_id, path, archive_account, batch_size, env)
        finally:
            db.close()


def _known_user_id(db: Database, config: Config, account: store.AccountRow,
                   env: Mapping[str, str] | None) -> str | None:
    """The account's X user id: stored, else resolved through the API when credentials are set."""
    import logging
    import os

    from tracker.errors import SourceError
    from tracker.collect.sources import build_source
    from tracker.collect.sources.x_normalize import TOKEN_ENV_VAR  # not .x: that loads tweepy

    if account.platform_user_id:
        return account.platform_user_id
    env = os.environ if env is None else env
    if not env.get(TOKEN_ENV_VAR, "").strip():
        return None
    try:
        identity = build_source("x", config, env).resolve(account.handle)
    except SourceError as error:
        logging.getLogger(__name__).warning("cannot resolve @%s through the X API (%s); comparing the archive's "
                                            "username with the config's handle instead", account.handle, error)
        return None
    store.save_identity(db, account.id, identity)
    return identity.user_id


def check_archive_account(path: Path, leader_id: str, account: store.AccountRow, user_id: str | None,
                          archive_account: Mapping[str, Any]) -> None:
    """Raise ArchiveError unless the archive is of ``account`` (pure)."""
    archive_user_id = str(archive_account.get("accountId") or "") or None
    archive_name = str(archive_account.get("username") or "") or None
    if archive_user_id is None and archive_name is None:
        raise ArchiveError(f"{path}: no data/account.js with the archive's accountId and username, so it cannot "
                           f"be checked that this is {leader_id}'s X account @{account.handle}: nothing imported")
    if user_id and archive_user_id:
        if archive_user_id != user_id:
            raise ArchiveError(
                f"{path}: the archive is of @{archive_name} (id {archive_user_id}), not of {leader_id}'s X "
                f"account @{account.handle} (id {user_id}): nothing imported")
        return
    if (archive_name or "").lower() != account.handle.lower():
        raise ArchiveError(
            f"{path}: the archive is of @{archive_name} (id {archive_user_id}), not of {leader_id}'s X account "
            f"@{account.handle}: nothing imported (if the leader renamed the account, set "
            "TRACKER_X_BEARER_TOKEN so that its id can be checked through the API)")


def _import(db: Database, config: Config, leader_id: str, path: Path, archive_account: Mapping[str, Any],
            batch_size: int, env: Mapping[str, str] | None = None) -> ImportResult:
    store.save_config(db, config)
    [account] = store.get_accounts(db, [leader_id], ["x"])
    user_id = _known_user_id(db, config, account, env)
    check_archive_account(path, leader_id, account, user_id, archive_account)
    user_id = user_id or str(archive_account.get("accountId") or "") or None
    screen_name = str(archive_account.get("username") or account.handle)
    files: list[str] = []
    oldest: list[str] = []  # the oldest post's created_at, once one is read

    def posts() -> Iterator[tuple[Post, str]]:
        for name, tweet, text in iter_archive_tweets_text(path):
            if not files or files[-1] != name:
                files.append(name)
            try:
                post = normalize_archive_tweet(tweet, user_id, screen_name)
            except (KeyError, TypeError, ValueError) as error:
                raise ArchiveError(f"{name}: tweet {tweet.get('id_str')!r} cannot be read: {error!r}") from None
            if not oldest or post.created_at < oldest[0]:
                oldest[:] = [post.created_at]
            yield post, _raw_json(text)

    store.tune_for_bulk_load(db)
    read, new = save_in_batches(db, account, posts(), batch_size)
    if oldest:
        # An archive holds the whole history: the account is complete since its first post.
        store.save_history_end(db, account, HistoryEnd(oldest[0], "archive"))
    return ImportResult(files, read, new, account.id)

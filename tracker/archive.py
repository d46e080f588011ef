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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Mapping

from sqlite_utils import Database

from tracker import store
from tracker.config import Config
from tracker.errors import ConfigError, TrackerError
from tracker.sources.base import HistoryEnd, Post, utc_iso
from tracker.sources.x import unescape_x_text

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
        kind = "repost"  # the archive keeps no retweeted_status: the "RT @" text tells it
    elif reply_to:
        own = (reply_user == user_id) if user_id and reply_user else reply_name.lower() == screen_name.lower()
        kind = "thread" if own else "reply"
    elif quoted:
        kind = "quote"
    else:
        kind = "original"
    return Post(
        platform="x",
        native_id=native_id,
        created_at=parse_archive_date(str(tweet["created_at"])),
        text=text,
        kind=kind,
        in_reply_to_id=f"x:{reply_to}" if reply_to else None,
        in_reply_to_user_id=str(reply_user) if reply_user else None,
        quoted_id=f"x:{quoted}" if quoted and kind != "repost" else None,
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

def import_x_archive(config: Config, leader_id: str, path: str | Path, batch_size: int = BATCH_SIZE) -> ImportResult:
    """Import an archive into the leader's X account; returns how many posts were new."""
    from tracker.collect import collection_lock

    path = Path(path)
    leader = config.leader(leader_id)
    if "x" not in leader.accounts:
        raise ConfigError(f"{config.path}: leader {leader_id!r} has no x account (add accounts.x to import "
                          "an X archive)")
    archive_account = read_account(path) or {}
    with collection_lock(config.database):
        db = store.open_db(config.database)
        try:
            return _import(db, config, leader_id, path, archive_account, batch_size)
        finally:
            db.close()


def _import(db: Database, config: Config, leader_id: str, path: Path, archive_account: Mapping[str, Any],
            batch_size: int) -> ImportResult:
    store.save_config(db, config)
    [account] = store.get_accounts(db, [leader_id], ["x"])
    archive_user_id = str(archive_account.get("accountId") or "") or None
    if account.platform_user_id and archive_user_id and archive_user_id != account.platform_user_id:
        raise ArchiveError(
            f"{path}: the archive is of @{archive_account.get('username')} (id {archive_user_id}), "
            f"not of {leader_id}'s X account @{account.handle} (id {account.platform_user_id})")
    user_id = account.platform_user_id or archive_user_id
    screen_name = str(archive_account.get("username") or account.handle)
    files: list[str] = []
    batch: list[Post] = []
    raw: list[str] = []
    read = new = 0
    oldest: str | None = None
    # Batches are saved as they fill, each in one transaction, so an import stopped
    # half-way keeps what it saved. (A writer thread was tried: the GIL made it 10%
    # slower than this.)
    store.tune_for_bulk_load(db)
    for name, tweet, text in iter_archive_tweets_text(path):
        if not files or files[-1] != name:
            files.append(name)
        try:
            batch.append(normalize_archive_tweet(tweet, user_id, screen_name))
        except (KeyError, TypeError, ValueError) as error:
            raise ArchiveError(f"{name}: tweet {tweet.get('id_str')!r} cannot be read: {error!r}") from None
        raw.append(_raw_json(text))
        oldest = batch[-1].created_at if oldest is None or batch[-1].created_at < oldest else oldest
        read += 1
        if len(batch) >= batch_size:
            new += store.save_archive_posts(db, account, batch, raw)
            batch, raw = [], []
    if batch:
        new += store.save_archive_posts(db, account, batch, raw)
    if oldest is not None:
        # An archive holds the whole history: the account is complete since its first post.
        store.save_history_end(db, account, HistoryEnd(oldest, "archive"))
    return ImportResult(files, read, new, account.id)

"""Blogs: an RSS or Atom feed per leader, fetched with ``requests`` and parsed by ``feedparser``.

feedparser has no timeout parameter (it uses urllib with the global socket default), so
the bytes are fetched with ``requests`` (timeout, bounded retries) and handed to
``feedparser.parse``.

- Conditional GET: the cursor keeps the feed's ``ETag`` and ``Last-Modified``; a ``304``
  is one request and nothing read.
- Each entry is an authored long-form post: kind ``original``, platform ``blog``.
- An entry's id is a hash of (feed URL, entry link): a feed that changes an entry's GUID
  while its link stays the same (a blog engine migration) does not duplicate it.
- A feed that is not well-formed XML is retried like a 5xx (a cut-off download) and fails
  the account when it stays broken; benign ``bozo`` warnings (encoding declared wrongly,
  a non-XML content type) are accepted.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
import requests

from tracker.config import BlogSettings, Config
from tracker.errors import AccountUnavailableError, SourceError
from tracker.domain import AccountStatus, Identity, Page, Post, PostKind, utc_iso
from tracker.collect.sources.base import StoreView
from tracker.collect.sources.html_text import html_to_text
from tracker.collect.sources.retry import Caller, RateLimited, Retry

# bozo exceptions that leave a usable feed (feedparser/exceptions.py).
BENIGN_BOZO = (feedparser.ThingsNobodyCaresAboutButMe,)
FEED_TYPES = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"


class MalformedFeedError(ValueError):
    """The answer is not a readable RSS or Atom feed."""


def entry_id(feed_url: str, entry: Mapping[str, Any]) -> str:
    """A stable id from the feed URL and the entry's link (its GUID, then title, without one)."""
    anchor = entry.get("link") or entry.get("id") or f"{entry.get('title', '')}|{entry.get('published', '')}"
    return hashlib.sha256(f"{feed_url}\n{anchor}".encode()).hexdigest()[:24]


def _get(entry: Mapping[str, Any], key: str) -> Any:
    # dict.get, not FeedParserDict.get: the latter maps a missing `updated` to `published`
    # with a DeprecationWarning (feedparser issue 310).
    return dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)  # type: ignore[arg-type]


def _when(entry: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        parsed = _get(entry, f"{key}_parsed")
        if parsed:
            return utc_iso(datetime.fromtimestamp(calendar.timegm(parsed), timezone.utc))
    return None


def normalize_entry(entry: Mapping[str, Any], feed_url: str, fetched_at: str) -> Post:
    """One feedparser entry as a Post (pure): title, a blank line, then the body as text."""
    contents = entry.get("content") or []
    body_html = contents[0].get("value", "") if contents else entry.get("summary", "")
    title = (entry.get("title") or "").strip()
    body = html_to_text(body_html)
    text = f"{title}\n\n{body}" if title and body else title or body
    language = (contents[0].get("language") if contents else None) or None
    raw = {key: _get(entry, key) for key in ("id", "link", "title", "published", "updated", "author")
           if _get(entry, key) is not None}
    return Post(
        platform="blog",
        native_id=entry_id(feed_url, entry),
        created_at=_when(entry, "published", "updated", "created") or fetched_at,
        text=text,
        kind=PostKind.ORIGINAL,
        url=entry.get("link"),
        lang=language,
        raw=raw,
    )


def _retry_after(value: str | None, clock: Callable[[], float]) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return clock() + int(value)
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class BlogSource:
    """Collect blog feeds; counts every request it sends."""

    platform = "blog"

    def __init__(self, settings: BlogSettings, *, backfill_days: int = 90,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.clock = clock
        self.caller = Caller("blog", settings, label="blog",
                             sleep=sleep, clock=clock)
        self.session = requests.Session()
        self.store_view: StoreView | None = None  # set by collect(); this source needs no reads
        self.session.headers.update({"User-Agent": settings.user_agent, "Accept": FEED_TYPES})

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str], **options: Any) -> BlogSource:
        # A blog's whole feed is read each time it changes: backfill_days does not apply.
        return cls(config.blog, **options)

    @property
    def requests(self) -> int:
        return self.caller.requests

    def resolve(self, handle: str) -> Identity:
        """The feed URL is the identity; nothing to look up (no request)."""
        return Identity(handle, handle)

    def _classify(self, url: str) -> Callable[[Exception], Retry | RateLimited | None]:
        def classify(error: Exception) -> Retry | RateLimited | None:
            if isinstance(error, MalformedFeedError):
                return Retry(f"{url} is not a well-formed feed ({error})")
            if isinstance(error, (requests.Timeout, requests.ConnectionError)):
                return Retry(f"fetching {url} failed ({type(error).__name__})")
            if isinstance(error, requests.HTTPError) and error.response is not None:
                status = error.response.status_code
                if status == 429:
                    return RateLimited(_retry_after(error.response.headers.get("Retry-After"), self.clock))
                if status >= 500:
                    return Retry(f"{url} answered HTTP {status}")
                if status in (404, 410):
                    raise AccountUnavailableError(f"no feed at {url} (HTTP {status})", reason=AccountStatus.NOT_FOUND,
                                                  platform="blog") from None
                raise SourceError(f"{url} answered HTTP {status}", platform="blog", status=status) from None
            return None

        return classify

    def _get(self, url: str, cursor: Mapping[str, Any]) -> tuple[int, Any, Any]:
        headers = {}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]
        response = self.session.get(url, headers=headers, timeout=self.settings.timeout)
        if response.status_code == 304:
            return 304, None, response
        response.raise_for_status()
        parsed = feedparser.parse(response.content, response_headers={
            "content-type": response.headers.get("content-type", ""), "content-location": response.url})
        if parsed.bozo and not isinstance(parsed.bozo_exception, BENIGN_BOZO):
            raise MalformedFeedError(str(parsed.bozo_exception))
        if not parsed.version:
            raise MalformedFeedError("neither RSS nor Atom")
        return response.status_code, parsed, response

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """One request: 304 (nothing read), or the whole feed, of which only new or changed
        entries are stored; ``seen`` (entry id -> updated) is kept in the cursor for that."""
        url = identity.user_id
        cursor = cursor or {}
        status, parsed, response = self.caller.call(lambda: self._get(url, cursor), self._classify(url))
        if status == 304:
            yield Page([], [], cursor, 0)
            return
        fetched_at = utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc))
        seen: dict[str, str] = cursor.get("seen") or {}
        posts: dict[str, Post] = {}
        current: dict[str, str] = {}
        for entry in parsed.entries:
            try:
                post = normalize_entry(entry, url, fetched_at)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"{url}: an entry cannot be read: {error!r}", platform="blog") from None
            version = str(_get(entry, "updated") or _get(entry, "published") or post.text)
            version = hashlib.sha256(f"{version}\n{post.text}".encode()).hexdigest()[:16]
            current[post.native_id] = version
            if seen.get(post.native_id) != version:
                posts[post.native_id] = post
        # Entries that dropped out of the feed are remembered too, so one that comes back
        # unchanged is not stored again (feeds show only the latest N entries).
        next_cursor = {"etag": response.headers.get("ETag"), "modified": response.headers.get("Last-Modified"),
                       "seen": {**seen, **current}}
        yield Page(list(posts.values()), [], next_cursor, len(posts))

"""A local blog feed server: RSS 2.0 and Atom 1.0 feeds with conditional GET.

Each feed lives at its own path and is rendered from a dataset of entries, in the shapes of
the feedparser documentation examples (recorded ``rss/feedparser_docs_example_*.xml``;
checked by tests/test_emulator_conformance_blog.py). Every answer carries ``ETag`` and
``Last-Modified``; a request whose ``If-None-Match`` or ``If-Modified-Since`` matches gets
``304 Not Modified`` with no body (RFC 9110 section 13.1). A feed can also be served as
fixed bytes (``raw``), e.g. a recorded feed. Faults as in every emulator; ``malformed``
serves the feed cut off half-way, the way a broken proxy does.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.sax.saxutils import escape

from tracker.demo.emulators.http import Answer, EmulatorServer


@dataclass
class FeedEntry:
    title: str
    link: str
    html: str
    published: datetime
    guid: str | None = None  # default: the link
    updated: datetime | None = None
    author: str | None = None


@dataclass
class BlogFeed:
    title: str
    site: str
    kind: str = "rss"  # rss | atom
    entries: list[FeedEntry] = field(default_factory=list)
    raw: bytes | None = None  # served as is instead of being rendered
    content_type: str | None = None


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def render_rss(feed: BlogFeed) -> bytes:
    items = []
    for entry in sorted(feed.entries, key=lambda e: e.published, reverse=True):
        author = f"\n    <author>{escape(entry.author)}</author>" if entry.author else ""
        items.append(f"""  <item>
    <title>{escape(entry.title)}</title>
    <link>{escape(entry.link)}</link>
    <description>{escape(entry.html)}</description>{author}
    <guid>{escape(entry.guid or entry.link)}</guid>
    <pubDate>{format_datetime(entry.published.astimezone(timezone.utc), usegmt=True)}</pubDate>
  </item>""")
    newest = max((e.updated or e.published for e in feed.entries), default=datetime(2000, 1, 1, tzinfo=timezone.utc))
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
  <title>{escape(feed.title)}</title>
  <description>{escape(feed.title)}</description>
  <link>{escape(feed.site)}</link>
  <language>en</language>
  <pubDate>{format_datetime(newest.astimezone(timezone.utc), usegmt=True)}</pubDate>
{chr(10).join(items)}
</channel>
</rss>
"""
    return body.encode("utf-8")


def render_atom(feed: BlogFeed) -> bytes:
    def stamp(moment: datetime) -> str:
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    entries = []
    for entry in sorted(feed.entries, key=lambda e: e.published, reverse=True):
        author = f"\n    <author><name>{escape(entry.author)}</name></author>" if entry.author else ""
        entries.append(f"""  <entry>
    <title>{escape(entry.title)}</title>
    <link rel="alternate" type="text/html" href="{_attr(entry.link)}"/>
    <id>{escape(entry.guid or entry.link)}</id>
    <updated>{stamp(entry.updated or entry.published)}</updated>
    <published>{stamp(entry.published)}</published>{author}
    <content type="html">{escape(entry.html)}</content>
  </entry>""")
    newest = max((e.updated or e.published for e in feed.entries), default=datetime(2000, 1, 1, tzinfo=timezone.utc))
    body = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title type="text">{escape(feed.title)}</title>
  <link rel="alternate" type="text/html" href="{_attr(feed.site)}"/>
  <id>{escape(feed.site)}</id>
  <updated>{stamp(newest)}</updated>
{chr(10).join(entries)}
</feed>
"""
    return body.encode("utf-8")


@dataclass
class BlogDataset:
    """Feeds by URL path, e.g. ``{"/priya/feed.xml": BlogFeed(...)}``."""

    feeds: dict[str, BlogFeed] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def add_entry(self, path: str, entry: FeedEntry) -> None:
        with self.lock:
            self.feeds[path].entries.append(entry)


class BlogEmulator(EmulatorServer):
    """Run ``with BlogEmulator(dataset) as emulator:``; feeds are at ``emulator.url + path``."""

    name = "blog-emulator"

    def rate_limited(self, reset_after: float, path: str) -> Answer:
        # Web servers say when to come back with Retry-After (RFC 9110 section 10.2.3).
        return 429, {"content-type": "text/plain; charset=utf-8", "Retry-After": str(int(reset_after))}, \
            b"Too Many Requests"

    def __init__(self, dataset: BlogDataset, **options: Any):
        super().__init__(**options)
        self.dataset = dataset

    def _body(self, path: str) -> tuple[bytes, str, datetime] | None:
        with self.dataset.lock:
            feed = self.dataset.feeds.get(path)
            if feed is None:
                return None
            if feed.raw is not None:
                body = feed.raw
            else:
                body = render_atom(feed) if feed.kind == "atom" else render_rss(feed)
            default_type = "application/atom+xml" if feed.kind == "atom" else "application/rss+xml"
            modified = max((e.updated or e.published for e in feed.entries),
                           default=datetime(2000, 1, 1, tzinfo=timezone.utc))
            return body, (feed.content_type or default_type) + "; charset=utf-8", modified

    def malformed(self, path: str) -> Answer:
        # The real document, cut off in the middle of an element.
        found = self._body(path)
        if found is None:
            return 200, {"content-type": "application/rss+xml"}, b"<?xml version="
        return 200, {"content-type": found[1]}, found[0][: len(found[0]) // 2]

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        found = self._body(path)
        if found is None:
            return 404, {"content-type": "text/html; charset=utf-8"}, b"<html><body>Not Found</body></html>"
        body, content_type, modified = found
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        last_modified = format_datetime(modified.astimezone(timezone.utc), usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2).
        if "if-none-match" in headers:
            if etag in [tag.strip() for tag in headers["if-none-match"].split(",")]:
                return 304, validators, b""
        elif "if-modified-since" in headers:
            try:
                since = parsedate_to_datetime(headers["if-modified-since"])
            except (TypeError, ValueError):
                since = None
            if since is not None and modified.replace(microsecond=0) <= since:
                return 304, validators, b""
        return 200, {"content-type": content_type, **validators}, body

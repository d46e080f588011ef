"""The feed server serves RSS and Atom that feedparser reads like the recorded documentation feeds."""

from __future__ import annotations

import calendar
from datetime import datetime, timezone

import feedparser
import pytest
import requests

from tracker.demo.emulators.blog import BlogDataset, BlogEmulator, BlogFeed, FeedEntry

FIELDS_USED = ("title", "link", "id", "published_parsed", "summary")


@pytest.fixture(params=[("rss", "feedparser_docs_example_rss20"), ("atom", "feedparser_docs_example_atom10")])
def recorded(request, shared_dir):
    path = shared_dir / "fixtures" / "recorded" / "rss" / f"{request.param[1]}.xml"
    if not path.is_file():
        pytest.skip("no recorded feeds")
    return request.param[0], path.read_bytes()


def test_recorded_feed_served_raw_parses_identically_with_validators(recorded):
    kind, raw = recorded
    feed = BlogFeed("raw", "http://example.org/", kind=kind, raw=raw)
    with BlogEmulator(BlogDataset({"/feed.xml": feed})) as emulator:
        answer = requests.get(emulator.url + "/feed.xml")
        again = requests.get(emulator.url + "/feed.xml", headers={"If-None-Match": answer.headers["ETag"]})
    assert answer.content == raw and "Last-Modified" in answer.headers
    assert (again.status_code, again.content) == (304, b"")


def test_rendered_feed_has_the_recorded_feeds_shape(recorded):
    kind, raw = recorded
    original = feedparser.parse(raw)
    entries = [FeedEntry(title=e.title, link=e.link, html=e.get("summary", ""), guid=e.id,
                         published=datetime.fromtimestamp(calendar.timegm(e.published_parsed
                                                                          or e.updated_parsed), timezone.utc))
               for e in original.entries]
    feed = BlogFeed(original.feed.title, original.feed.link, kind=kind, entries=entries)
    with BlogEmulator(BlogDataset({"/feed.xml": feed})) as emulator:
        answer = requests.get(emulator.url + "/feed.xml")
    rendered = feedparser.parse(answer.content, response_headers={"content-type": answer.headers["content-type"]})
    assert (rendered.bozo, rendered.version) == (False, original.version)
    for mine, theirs in zip(rendered.entries, original.entries, strict=True):
        for name in FIELDS_USED:
            assert (name in mine) == (name in theirs), name
            assert type(mine.get(name)) is type(theirs.get(name)), name
        assert (mine.title, mine.link, mine.id) == (theirs.title, theirs.link, theirs.id)

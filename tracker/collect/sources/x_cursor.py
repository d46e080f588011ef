"""The X source's cursor: the only code that knows its JSON shape.

A cursor is saved with every page, in the same transaction as the page's posts, and says
where the next run goes on::

    {"since_id": "<newest post stored>",                    # a finished walk
     "walk": {"newest_id", "token", "start_time",          # an unfinished walk back through
              "posts", "oldest"},                           # the history: its next page
     "mentions": {"since_id", "walk", "from"}}              # the same for the mentions walk

``mentions.from`` is where the first mentions walk began (None: all the API serves). The
metrics stage asks ``mentions_collected_before`` rather than reading the cursor itself.
This module imports no client library, so that asking is cheap.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Walk:
    """Where one walk of a timeline (the posts, or the mentions) stands."""

    since_id: str | None = None  # the newest post of the last finished walk
    newest_id: str | None = None  # the newest post of this walk, once its first page is read
    token: str | None = None  # X's pagination token of the next page
    start_time: str | None = None  # the backfill window's start, on a walk back through the history
    posts: int = 0  # posts read by this walk so far (X serves at most 3,200)
    oldest: str | None = None  # the oldest post time this walk read

    @property
    def resumed(self) -> bool:
        """The walk goes on from a saved pagination token."""
        return self.token is not None

    @classmethod
    def load(cls, state: Mapping[str, Any]) -> Walk:
        walk = state.get("walk") or {}
        return cls(since_id=state.get("since_id"), newest_id=walk.get("newest_id"), token=walk.get("token"),
                   start_time=walk.get("start_time"), posts=int(walk.get("posts") or 0), oldest=walk.get("oldest"))

    def restarted(self) -> Walk:
        """The walk begun again from ``since_id`` (a refused pagination token)."""
        return Walk(since_id=self.since_id, start_time=self.start_time)

    def after_page(self, newest_id: str | None, token: str | None, read: int, oldest: str | None) -> Walk:
        """The walk after one more page: unfinished while X sends a next token."""
        if token:
            return replace(self, newest_id=self.newest_id or newest_id, token=token, posts=self.posts + read,
                           oldest=oldest)
        return replace(self, since_id=self.newest_id or newest_id or self.since_id, newest_id=None, token=None,
                       posts=self.posts + read, oldest=oldest)

    def dump(self) -> dict[str, Any]:
        if self.token is None:
            return {"since_id": self.since_id}
        return {"since_id": self.since_id,
                "walk": {"newest_id": self.newest_id, "token": self.token, "start_time": self.start_time,
                         "posts": self.posts, "oldest": self.oldest}}


@dataclass(frozen=True)
class XCursor:
    """The timeline walk, and the mentions walk once one has begun."""

    timeline: Mapping[str, Any]
    mentions: Mapping[str, Any] | None = None

    @classmethod
    def load(cls, cursor: Mapping[str, Any] | None) -> XCursor:
        cursor = cursor or {}
        mentions = cursor.get("mentions")
        return cls({key: value for key, value in cursor.items() if key != "mentions"},
                   mentions if isinstance(mentions, dict) else None)

    def mentions_walk(self) -> Walk:
        return Walk.load(self.mentions or {})

    def mentions_from(self, default: str | None) -> str | None:
        """Where the first mentions walk began; ``default`` when none has begun yet."""
        return self.mentions.get("from") if self.mentions is not None else default

    def dump(self) -> dict[str, Any]:
        if self.mentions is None:
            return dict(self.timeline)
        return {**self.timeline, "mentions": dict(self.mentions)}

    def with_timeline(self, walk: Walk) -> XCursor:
        return replace(self, timeline=walk.dump())

    def with_mentions(self, walk: Walk, start_from: str | None) -> XCursor:
        return replace(self, mentions={**walk.dump(), "from": start_from})


def mentions_collected_before(stored_cursor: str | None, moment: str) -> bool:
    """Whether the account's mentions were collected from before ``moment`` (UTC ISO) on.

    True when a mentions page has been saved (the cursor holds a mentions walk) and the
    first mentions walk began before ``moment``, or read all the API serves.
    """
    if not stored_cursor:
        return False
    state = XCursor.load(json.loads(stored_cursor)).mentions
    if state is None:
        return False
    start_from = state.get("from")
    return start_from is None or start_from < moment

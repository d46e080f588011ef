"""The domain types every stage shares: posts, the context they point at, pages, identities,
and the closed sets of values (post kinds, account and run statuses) stored as text.

Collect produces them, the store saves them, label, metrics and report read them; no stage
owns them, so none has to import another to name a post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any



class PostKind(StrEnum):
    """What a leader's post is, structurally (``posts.kind``)."""

    ORIGINAL = "original"
    REPLY = "reply"  # to someone else
    THREAD = "thread"  # a reply to the leader's own post
    QUOTE = "quote"
    REPOST = "repost"


POST_KINDS = tuple(kind.value for kind in PostKind)


class AccountStatus(StrEnum):
    """An account's state after its last collection (``accounts.status``)."""

    NEW = "new"  # not collected yet
    OK = "ok"
    PROTECTED = "protected"
    SUSPENDED = "suspended"
    NOT_FOUND = "not_found"
    BLOCKED = "blocked"  # Bluesky: the account blocks the viewer, or is blocked by it
    IDENTITY_CHANGED = "identity_changed"  # the handle now names another account

    @property
    def unavailable(self) -> bool:
        """The platform will not show this account's posts: the report warns about it."""
        return self not in (AccountStatus.NEW, AccountStatus.OK)


class RunStatus(StrEnum):
    """How one account's collection run ended (``runs.status``)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # the process died mid-run; found and closed by the next run

    @property
    def failed(self) -> bool:
        return self in (RunStatus.FAILED, RunStatus.INTERRUPTED)


def utc_iso(value: datetime) -> str:
    """``2026-01-31T09:05:00Z``: the one timestamp format stored in the database."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(stamp: str) -> datetime:
    """A stored timestamp (``utc_iso``'s format) as an aware UTC datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Post:
    """A post written by a tracked leader, in the shape of a ``posts`` row."""

    platform: str
    native_id: str
    created_at: str
    text: str
    kind: str
    in_reply_to_id: str | None = None
    in_reply_to_user_id: str | None = None
    quoted_id: str | None = None
    reposted_id: str | None = None
    conversation_id: str | None = None
    url: str | None = None
    lang: str | None = None
    like_count: int | None = None
    reply_count: int | None = None
    repost_count: int | None = None
    quote_count: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        return f"{self.platform}:{self.native_id}"


@dataclass(frozen=True)
class ContextPost:
    """A post by someone else that a leader replied to, quoted or reposted."""

    platform: str
    native_id: str
    author_user_id: str | None
    author_handle: str | None
    author_name: str | None
    created_at: str | None
    text: str | None
    lang: str | None = None
    in_reply_to_user_id: str | None = None
    conversation_id: str | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        return f"{self.platform}:{self.native_id}"


@dataclass(frozen=True)
class HistoryEnd:
    """Where a walk back through an account's history stopped, so what the store can vouch for.

    ``complete_since``: every post of the account from this moment on was read (stored UTC
    text). ``limit`` says why the walk stopped there: ``x_limit`` (X serves only the
    newest 3,200 posts of a timeline), ``backfill`` (``collect.backfill_days``),
    ``first_post`` (the account's oldest post), ``no_posts`` (the account has none: the
    moment of the walk), ``archive`` (an imported archive's first post) or ``oldest_post``
    (a source that does not say: its oldest stored post).
    """

    complete_since: str
    limit: str


@dataclass(frozen=True)
class Page:
    """One API page: saved in one transaction together with ``cursor``.

    ``cursor`` is the source's own state *after* this page is stored, so a run killed at
    any moment resumes exactly where the last committed page left off.
    """

    posts: list[Post]
    context: list[ContextPost]
    cursor: dict[str, Any]
    posts_read: int
    # Ids of the context posts in ``context`` that mention the account's leader (X
    # mentions): stored in the ``mentions`` table, never counted as the leader's.
    mentions: tuple[str, ...] = ()
    # Set on the page that ends a walk back through the account's history (see HistoryEnd).
    history: HistoryEnd | None = None


@dataclass(frozen=True)
class Identity:
    """What an account handle resolved to on its platform."""

    user_id: str
    handle: str
    display_name: str | None = None
    protected: bool = False



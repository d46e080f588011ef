"""What every source produces: normalized posts, the context posts they point at, and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

POST_KINDS = ("original", "reply", "thread", "quote", "repost")


def utc_iso(value: datetime) -> str:
    """``2026-01-31T09:05:00Z``: the one timestamp format stored in the database."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def unreachable_limit(max_retries: int) -> int:
    """Connection failures or timeouts in a row (counted across accounts) that stop a
    platform for the run: one account's every attempt, plus the next account's first."""
    return max_retries + 2


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
    # mentions, issue 3): stored in the ``mentions`` table, never counted as the leader's.
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


@dataclass(frozen=True)
class StoreView:
    """The only database reads a source makes while it collects; ``collect`` hands it over.

    Sources never open the database: Mastodon asks which replied-to posts are already
    stored (so it fetches only the missing ones), X asks how many billed reads the
    ``[budget]`` cap still allows before each page.
    """

    stored_post_ids: Callable[[Sequence[str]], set[str]]
    reads_remaining: Callable[[], int] | None = None  # None: no read budget on this platform


class Source(Protocol):
    """A platform collector. ``requests`` counts every HTTP request it has sent; ``store_view``
    is set by ``collect`` before the first account."""

    store_view: StoreView | None

    platform: str

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (a plain attribute satisfies this too)."""
        ...

    def resolve(self, handle: str) -> Identity:
        """Look the handle up on the platform (one request)."""
        ...

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Yield the pages of posts newer than ``cursor``, each with the cursor that follows it."""
        ...

"""Bluesky through the ``atproto`` SDK, read-only against the public AppView (no login).

Handles are resolved to DIDs once (``com.atproto.identity.resolveHandle``); the feed is
then read by DID, so a handle change on Bluesky breaks nothing (https://atproto.com/specs/handle).
``app.bsky.feed.getAuthorFeed`` has no ``since`` parameter: a run walks the feed newest
first and stops at the newest item stored by the previous run, so a run with nothing new
is one request and re-stores nothing.

Logging in is deliberately avoided: ``login()`` replaces the base URL with the user's PDS
(atproto_client methods_mixin/session.py), and public reads need no account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from atproto_client import Client, exceptions, models
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request

from tracker.config import BlueskySettings, Config
from tracker.errors import AccountUnavailableError, AuthError, SourceError
from tracker.domain import AccountStatus, ContextPost, HistoryEnd, Identity, Page, Post, PostKind, utc_iso
from tracker.collect.sources.base import StoreView
from tracker.collect.sources.retry import Caller, RateLimited, Retry

log = logging.getLogger(__name__)

REPOST_REASON = "app.bsky.feed.defs#reasonRepost"
# A hydrated quote: app.bsky.embed.record#view, or recordWithMedia#view when the quote also
# carries images (lexicon app.bsky.embed.record / recordWithMedia).
QUOTE_EMBEDS = ("app.bsky.embed.record#view", "app.bsky.embed.recordWithMedia#view")
# A client-set createdAt further ahead of the AppView's indexedAt than this is not trusted
# (record.createdAt is set by the client and can be wrong).
MAX_CLOCK_SKEW = timedelta(days=1)


def _did(uri: str) -> str:
    return uri[len("at://"):].split("/", 1)[0] if uri.startswith("at://") else ""


def _parse(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _created_at(record: Mapping[str, Any], indexed_at: Any) -> str:
    created, indexed = _parse(record.get("createdAt")), _parse(indexed_at)
    if created is None or (indexed is not None and created - indexed > MAX_CLOCK_SKEW):
        created = indexed
    if created is None:
        raise ValueError(f"no usable createdAt or indexedAt ({record.get('createdAt')!r})")
    return utc_iso(created)


def _web_url(uri: str) -> str:
    # https://bsky.app/profile/<did>/post/<rkey>: the DID form survives handle changes.
    did, _, rest = uri[len("at://"):].partition("/")
    return f"https://bsky.app/profile/{did}/post/{rest.rsplit('/', 1)[-1]}"


def _context_from_view(view: Mapping[str, Any]) -> ContextPost | None:
    """A ContextPost from a PostView or an embed's viewRecord; None for notFound/blocked."""
    if "uri" not in view or "author" not in view:
        return None
    record: dict[str, Any] = view["record"] if isinstance(view.get("record"), dict) and "text" in view["record"] \
        else view.get("value") or {}
    author = view["author"]
    reply = record.get("reply") or {}
    parent_uri = (reply.get("parent") or {}).get("uri")
    root_uri = (reply.get("root") or {}).get("uri")
    langs = record.get("langs") or []
    return ContextPost(
        platform="bluesky",
        native_id=view["uri"],
        author_user_id=author.get("did"),
        author_handle=author.get("handle"),
        author_name=author.get("displayName"),
        created_at=_created_at(record, view.get("indexedAt")) if record.get("createdAt") or view.get("indexedAt")
        else None,
        text=record.get("text"),
        lang=langs[0] if langs else None,
        in_reply_to_user_id=_did(parent_uri) if parent_uri else None,
        conversation_id=f"bluesky:{root_uri or view['uri']}",
        url=_web_url(view["uri"]),
        raw=dict(view),
    )


def _quoted_view(embed: Mapping[str, Any]) -> Mapping[str, Any] | None:
    kind = embed.get("$type") or embed.get("py_type")
    if kind == QUOTE_EMBEDS[0]:
        return embed.get("record") or None
    if kind == QUOTE_EMBEDS[1]:
        return (embed.get("record") or {}).get("record") or None
    return None


def normalize_item(item: Mapping[str, Any], leader_did: str) -> tuple[Post, list[ContextPost]]:
    """Turn one ``FeedViewPost`` into the leader's Post and the others' context posts (pure)."""
    view = item["post"]
    record = view.get("record") or {}
    reason = item.get("reason") or {}
    counts = {key: value if isinstance(value, int) else None for key, value in (
        ("like_count", view.get("likeCount")), ("reply_count", view.get("replyCount")),
        ("repost_count", view.get("repostCount")), ("quote_count", view.get("quoteCount")))}
    langs = record.get("langs") or []
    context: list[ContextPost] = []
    if reason.get("$type") == REPOST_REASON:
        # `post` is someone else's post; the repost itself has its own record URI only in
        # the newer lexicon (the May 2025 recording lacks reason.uri).
        original = _context_from_view(view)
        if original is not None and original.author_user_id != leader_did:
            context.append(original)
        native_id = reason.get("uri") or f"repost:{leader_did}:{view['uri']}"
        post = Post(
            platform="bluesky", native_id=native_id, created_at=utc_iso(_parse(reason["indexedAt"])
                                                                        or datetime.now(timezone.utc)),
            text=record.get("text") or "", kind=PostKind.REPOST, reposted_id=f"bluesky:{view['uri']}",
            url=_web_url(view["uri"]), lang=langs[0] if langs else None, raw=dict(item),
        )
        return post, context

    reply = record.get("reply") or {}
    parent_uri = (reply.get("parent") or {}).get("uri")
    root_uri = (reply.get("root") or {}).get("uri")
    quoted = _quoted_view(view.get("embed") or {})
    if parent_uri:
        # The parent's author is in its URI even when the view is #notFoundPost/#blockedPost.
        kind = PostKind.THREAD if _did(parent_uri) == leader_did else PostKind.REPLY
    elif quoted is not None:
        kind = PostKind.QUOTE
    else:
        kind = PostKind.ORIGINAL
    parent_view = (item.get("reply") or {}).get("parent") or {}
    for candidate in (parent_view, quoted or {}):
        found = _context_from_view(candidate)
        if found is not None and found.author_user_id != leader_did:
            context.append(found)
    post = Post(
        platform="bluesky",
        native_id=view["uri"],
        created_at=_created_at(record, view.get("indexedAt")),
        text=record.get("text") or "",
        kind=kind,
        in_reply_to_id=f"bluesky:{parent_uri}" if parent_uri else None,
        in_reply_to_user_id=_did(parent_uri) if parent_uri else None,
        quoted_id=f"bluesky:{quoted['uri']}" if quoted and quoted.get("uri") else None,
        conversation_id=f"bluesky:{root_uri or view['uri']}",
        url=_web_url(view["uri"]),
        lang=langs[0] if langs else None,
        raw=dict(item),
        like_count=counts["like_count"], reply_count=counts["reply_count"],
        repost_count=counts["repost_count"], quote_count=counts["quote_count"],
    )
    return post, context


def item_key(item: Mapping[str, Any]) -> dict[str, str]:
    """Where an item sits in the author feed: its sort time (repost time for reposts) and URI."""
    reason = item.get("reason") or {}
    return {"at": str(reason.get("indexedAt") or item["post"]["indexedAt"]), "uri": str(item["post"]["uri"])}


def _is_stored(key: Mapping[str, str], mark: Mapping[str, str] | None) -> bool:
    if not mark:
        return False
    at, mark_at = _parse(key["at"]), _parse(mark["at"])
    if at is None or mark_at is None:
        return key == mark
    return at < mark_at or (at == mark_at and key["uri"] == mark["uri"])


class BlueskySource:
    """Collect Bluesky accounts from the public AppView; counts every request it sends."""

    platform = "bluesky"

    def __init__(self, settings: BlueskySettings, *, backfill_days: int = 90,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.backfill_days = backfill_days
        self.clock = clock
        self.caller = Caller("bluesky", settings, label="Bluesky",
                             sleep=sleep, clock=clock)
        self.client = Client(base_url=settings.api_base_url, request=Request(timeout=settings.timeout))
        self.store_view: StoreView | None = None  # set by collect(); this source needs no reads
        self._said_renamed: set[str] = set()

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str], **options: Any) -> BlueskySource:
        return cls(config.bluesky, backfill_days=config.backfill_days, **options)

    @property
    def requests(self) -> int:
        return self.caller.requests

    def _classify(self, error: Exception) -> Retry | RateLimited | None:
        if isinstance(error, exceptions.RateLimitExceededError):
            reset = error.reset_at
            return RateLimited(reset.timestamp() if reset else None)
        if isinstance(error, exceptions.BadRequestError):
            content = error.response.content if error.response is not None else None
            code = getattr(content, "error", None) or ""
            message = getattr(content, "message", None) or ""
            if code in ("BlockedActor", "BlockedByActor"):
                raise AccountUnavailableError(f"Bluesky: {message or code}", reason=AccountStatus.BLOCKED,
                                              platform="bluesky") from None
            if "not found" in message.lower() or "unable to resolve" in message.lower():
                raise AccountUnavailableError(f"Bluesky: {message}", reason=AccountStatus.NOT_FOUND, platform="bluesky") from None
            if "suspend" in message.lower() or "takedown" in (code + message).lower():
                raise AccountUnavailableError(f"Bluesky: {message or code}", reason=AccountStatus.SUSPENDED,
                                              platform="bluesky") from None
            raise SourceError(f"Bluesky rejected the request (HTTP 400 {code}: {message})", platform="bluesky",
                              status=400) from None
        if isinstance(error, exceptions.UnauthorizedError):
            raise AuthError(f"Bluesky refused an unauthenticated read ({error}); check [sources.bluesky] "
                            "api_base_url points at a public AppView", platform="bluesky") from None
        # atproto maps only timeouts and httpx.NetworkError; a connection closed without an
        # answer surfaces as httpx.RemoteProtocolError (atproto_client/request.py).
        if isinstance(error, (exceptions.NetworkError, httpx.TransportError)):
            return Retry(f"Bluesky request failed ({type(error).__name__}: {error})", unreachable=True)
        if isinstance(error, exceptions.RequestException):
            status = error.response.status_code if error.response is not None else None
            if status is not None and status >= 500:
                return Retry(f"Bluesky server error (HTTP {status})")
            raise SourceError(f"Bluesky rejected the request ({error})", platform="bluesky", status=status) from None
        if isinstance(error, (ValueError, exceptions.ModelError)):  # bad JSON, or not the lexicon's shape
            return Retry(f"Bluesky sent a malformed answer ({type(error).__name__})")
        return None

    # --- the Source protocol ---------------------------------------------------------------

    def resolve(self, handle: str) -> Identity:
        if handle.startswith("did:"):
            return Identity(handle, handle)
        response = self.caller.call(
            lambda: self.client.com.atproto.identity.resolve_handle(params={"handle": handle}), self._classify)
        return Identity(str(response.did), handle)

    def _fetch(self, did: str, cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"actor": did, "limit": self.settings.page_size, "filter": "posts_with_replies"}
        if cursor:
            params["cursor"] = cursor

        def request() -> dict[str, Any]:
            response = self.client.app.bsky.feed.get_author_feed(params=params)
            if not isinstance(response, models.AppBskyFeedGetAuthorFeed.Response):
                raise ValueError("not a getAuthorFeed response")
            return get_model_as_dict(response)

        return self.caller.call(request, self._classify)

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Walk the author feed newest first down to the newest item already stored.

        The cursor keeps ``newest`` (the sort key of the newest stored item) and, during a
        walk, the walk's own top item and the AppView cursor of the next page, so a killed
        run resumes on the next page. A saved AppView cursor the AppView refuses (HTTP 400)
        begins the walk again from the newest item: it still stops at ``newest``, and the
        items saved already are upserted again, so none is lost or doubled.
        """
        cursor = cursor or {}
        mark = cursor.get("newest")
        walk = cursor.get("walk") or {}
        top = walk.get("top")
        page_cursor = saved_cursor = walk.get("cursor")
        start = walk.get("start")
        if not walk and not mark and self.backfill_days > 0:
            start = utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc) - timedelta(days=self.backfill_days))
        while True:
            try:
                body = self._fetch(identity.user_id, page_cursor)
            except SourceError as error:
                if error.status != 400 or saved_cursor is None or page_cursor != saved_cursor:
                    raise
                log.warning("Bluesky refused the saved feed cursor (%s); restarting the walk from the newest post",
                            error)
                page_cursor = saved_cursor = top = None
                continue
            items = body.get("feed") or []
            fresh, done = _fresh_items(items, mark, start)
            if items and top is None:
                top = item_key(items[0])
            posts, context = self._normalize(identity, fresh)
            page_cursor = body.get("cursor")
            if done or not page_cursor or not items:
                # The first walk read everything back to the backfill window's start (without
                # a window, collect records the oldest post read).
                history = HistoryEnd(start, "backfill") if start and not mark else None
                yield Page(posts, context, {"newest": top or mark}, len(fresh), history=history)
                return
            yield Page(posts, context, {"newest": mark, "walk": {"top": top, "cursor": page_cursor, "start": start}},
                       len(fresh))

    def _normalize(self, identity: Identity, fresh: list[Mapping[str, Any]]) -> tuple[list[Post], list[ContextPost]]:
        """The leader's posts and the others' context posts of one page's new items."""
        posts: list[Post] = []
        context: dict[str, ContextPost] = {}
        for item in fresh:
            if item["post"]["author"].get("did") != identity.user_id and "reason" not in item:
                continue  # a pinned or foreign item: never the leader's own post
            try:
                post, found = normalize_item(item, identity.user_id)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"Bluesky sent a post that cannot be read: {error!r}", platform="bluesky") from None
            posts.append(post)
            context.update((ctx.id, ctx) for ctx in found)
            handle = item["post"]["author"].get("handle") if "reason" not in item else None
            if handle and handle != identity.handle and not identity.handle.startswith("did:") \
                    and identity.user_id not in self._said_renamed:
                self._said_renamed.add(identity.user_id)  # said once per run
                log.info("bluesky %s now posts as @%s (configured: @%s); collected by DID",
                         identity.user_id, handle, identity.handle)
        return posts, list(context.values())


def _fresh_items(items: list[Mapping[str, Any]], mark: Mapping[str, str] | None,
                 start: str | None) -> tuple[list[Mapping[str, Any]], bool]:
    """The items above the stored mark and the backfill start, and whether the walk reached either."""
    fresh: list[Mapping[str, Any]] = []
    for item in items:
        key = item_key(item)
        if _is_stored(key, mark) or (start and _is_stored(key, {"at": start, "uri": ""})):
            return fresh, True
        fresh.append(item)
    return fresh, False

"""Mastodon through ``Mastodon.py``, always on the account's home server.

A handle is ``user@server``. A remote account's status list on another server holds only
what federated there, so the account is looked up and read on its own server. Public
statuses need no token (Mastodon >= 2.7).

Paging (``GET /api/v1/accounts/:id/statuses``, at most 40 per page):

- the first collection walks back from the newest status with ``max_id`` taken from the
  ``Link`` rel="next" header, down to the backfill window;
- later runs page *forward* with ``min_id=<newest stored id>``: each page is the statuses
  immediately newer than the last one stored, so the cursor moves with every committed page
  and a run with nothing new is one request that returns ``[]``.

Status ids are local to a server, so a post's native id is ``<server>/<status id>``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
)

from tracker.config import Config, MastodonSettings
from tracker.errors import AccountUnavailableError, SourceError
from tracker.domain import AccountStatus, ContextPost, HistoryEnd, Identity, Page, Post, PostKind, utc_iso
from tracker.collect.sources.base import StoreView
from tracker.collect.sources.html_text import html_to_text
from tracker.collect.sources.retry import Caller, RateLimited, Retry

log = logging.getLogger(__name__)

PAGE_SIZE = 40  # the maximum `limit` of account statuses (methods/accounts.md)


def split_handle(handle: str) -> tuple[str, str]:
    """``alice@example.social`` -> ``("alice", "example.social")``."""
    user, _, server = handle.lstrip("@").rpartition("@")
    if not user or not server:
        raise ValueError(f"not a user@server Mastodon address: {handle!r}")
    return user, server.lower()


def _plain(value: Any) -> Any:
    """Mastodon.py's entities, datetimes included, as plain JSON values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return utc_iso(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if isinstance(value, date):
        return value.isoformat()
    return value


def _created(value: Any) -> str:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return utc_iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc))


def _text(entity: Mapping[str, Any]) -> str:
    text = html_to_text(entity.get("content") or "")
    warning = (entity.get("spoiler_text") or "").strip()
    return f"{warning}\n\n{text}" if warning else text


def _count(entity: Mapping[str, Any], key: str) -> int | None:
    value = entity.get(key)
    return value if isinstance(value, int) else None


def normalize_context(entity: Mapping[str, Any], server: str) -> ContextPost:
    """A status by someone else (replied to, boosted or quoted) as a ContextPost (pure)."""
    author = entity.get("account") or {}
    reply_account = entity.get("in_reply_to_account_id")
    return ContextPost(
        platform="mastodon",
        native_id=f"{server}/{entity['id']}",
        author_user_id=str(author["id"]) if author.get("id") is not None else None,
        author_handle=author.get("acct"),
        author_name=author.get("display_name"),
        created_at=_created(entity["created_at"]) if entity.get("created_at") else None,
        text=_text(entity),
        lang=entity.get("language"),
        in_reply_to_user_id=str(reply_account) if reply_account is not None else None,
        url=entity.get("url") or entity.get("uri"),
        raw=dict(entity),
    )


def normalize_status(entity: Mapping[str, Any], server: str) -> tuple[Post, list[ContextPost]]:
    """One status of the leader's timeline as a Post, plus the boosted or quoted status (pure)."""
    account_id = str((entity.get("account") or {}).get("id"))
    context: list[ContextPost] = []
    reblog = entity.get("reblog")
    quoted = (entity.get("quote") or {}).get("quoted_status")
    reply_to = entity.get("in_reply_to_id")
    reply_account = entity.get("in_reply_to_account_id")
    if reblog:
        kind = PostKind.REPOST
        context.append(normalize_context(reblog, server))
    elif reply_to is not None:
        kind = PostKind.THREAD if str(reply_account) == account_id else PostKind.REPLY
    elif quoted:
        kind = PostKind.QUOTE
    else:
        kind = PostKind.ORIGINAL
    if quoted and not reblog:
        context.append(normalize_context(quoted, server))
    shown = reblog or entity  # a boost's own content is empty; its text is the original's
    post = Post(
        platform="mastodon",
        native_id=f"{server}/{entity['id']}",
        created_at=_created(entity["created_at"]),
        text=_text(shown),
        kind=kind,
        in_reply_to_id=f"mastodon:{server}/{reply_to}" if reply_to is not None and not reblog else None,
        in_reply_to_user_id=str(reply_account) if reply_account is not None and not reblog else None,
        quoted_id=f"mastodon:{server}/{quoted['id']}" if quoted and not reblog else None,
        reposted_id=f"mastodon:{server}/{reblog['id']}" if reblog else None,
        url=entity.get("url") or entity.get("uri"),
        lang=shown.get("language"),
        like_count=_count(entity, "favourites_count"),
        reply_count=_count(entity, "replies_count"),
        repost_count=_count(entity, "reblogs_count"),
        quote_count=_count(entity, "quotes_count"),
        raw=dict(entity),
    )
    return post, context


class MastodonSource:
    """Collect Mastodon accounts, each from its home server; counts every request it sends."""

    platform = "mastodon"

    def __init__(self, settings: MastodonSettings, *, backfill_days: int = 90,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.backfill_days = backfill_days
        self.clock = clock
        self.caller = Caller("mastodon", settings, label="Mastodon",
                             sleep=sleep, clock=clock)
        self.clients: dict[str, Mastodon] = {}
        self.store_view: StoreView | None = None

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str], **options: Any) -> MastodonSource:
        return cls(config.mastodon, backfill_days=config.backfill_days, **options)

    @property
    def requests(self) -> int:
        return self.caller.requests

    def _client(self, server: str) -> Mastodon:
        if server not in self.clients:
            # ratelimit_method="throw": waits go through our bounded, injectable sleep, never
            # Mastodon.py's own (up to 5 minutes per 429, unbounded in count).
            self.clients[server] = Mastodon(api_base_url=self.settings.base_url(server),
                                            request_timeout=self.settings.timeout, ratelimit_method="throw",
                                            version_check_mode="none")
        return self.clients[server]

    def _call(self, server: str, function: Callable[[Mastodon], Any], not_found: str) -> Any:
        client = self._client(server)

        def classify(error: Exception) -> Retry | RateLimited | None:
            if isinstance(error, MastodonRatelimitError):
                return RateLimited(client.ratelimit_reset)
            if isinstance(error, MastodonNotFoundError):
                raise AccountUnavailableError(not_found, reason=AccountStatus.NOT_FOUND, platform="mastodon") from None
            if isinstance(error, MastodonServerError):
                return Retry(f"Mastodon server error on {server} (HTTP {error.args[1]})")
            if isinstance(error, MastodonNetworkError):
                return Retry(f"Mastodon request to {server} failed ({error})")
            if isinstance(error, MastodonAPIError):
                if len(error.args) >= 2 and isinstance(error.args[1], int):
                    status = error.args[1]
                    if status == 410:
                        raise AccountUnavailableError(f"{not_found} (gone)", reason=AccountStatus.SUSPENDED,
                                                      platform="mastodon") from None
                    raise SourceError(f"{server} refused the request (HTTP {status}: {error.args[-1]})",
                                      platform="mastodon", status=status) from None
                return Retry(f"{server} sent a malformed answer")  # "Could not parse response as JSON"
            return None

        # X-RateLimit-Remaining 0 means the next request would be refused: wait for the
        # reset first (Mastodon.py parses the ISO reset and corrects it with `Date`).
        if client.ratelimit_remaining <= 0 and client.ratelimit_reset and client.ratelimit_reset > self.clock():
            self.caller.wait_for_reset(client.ratelimit_reset, 1)
        return self.caller.call(lambda: function(client), classify)

    # --- the Source protocol ---------------------------------------------------------------

    def resolve(self, handle: str) -> Identity:
        user, server = split_handle(handle)
        found = _plain(self._call(server, lambda client: client.account_lookup(user),
                                  f"no account {user} on {server}"))
        return Identity(str(found["id"]), handle, found.get("display_name") or None, bool(found.get("locked")))

    def _statuses(self, identity: Identity, server: str, **params: Any) -> tuple[list[dict[str, Any]], Any]:
        page = self._call(server, lambda client: client.account_statuses(identity.user_id, limit=PAGE_SIZE, **params),
                          f"account {identity.handle} (id {identity.user_id}) not found on {server}")
        return [_plain(entity) for entity in page], page

    def _parents(self, server: str, statuses: list[dict[str, Any]], known: set[str],
                 leader_id: str) -> list[ContextPost]:
        """Fetch the replied-to statuses that are neither stored nor on this page."""
        wanted = [f"mastodon:{server}/{s['in_reply_to_id']}" for s in statuses
                  if s.get("in_reply_to_id") is not None and not s.get("reblog")
                  and str(s.get("in_reply_to_account_id")) != leader_id]
        wanted = [post_id for post_id in dict.fromkeys(wanted) if post_id not in known]
        if wanted and self.store_view is not None:
            stored = self.store_view.stored_post_ids(wanted)
            wanted = [post_id for post_id in wanted if post_id not in stored]
        found = []
        for post_id in wanted:
            status_id = post_id.rsplit("/", 1)[1]
            try:
                parent = self._call(server, lambda client: client.status(status_id), "gone")
            except AccountUnavailableError:
                continue  # deleted since the reply, or not visible to the public
            found.append(normalize_context(_plain(parent), server))
        return found

    def _page(self, identity: Identity, server: str, statuses: list[dict[str, Any]],
              cursor: dict[str, Any]) -> Page:
        posts: list[Post] = []
        context: dict[str, ContextPost] = {}
        for entity in statuses:
            try:
                post, found = normalize_status(entity, server)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"Mastodon sent a status that cannot be read: {error!r}",
                                  platform="mastodon") from None
            posts.append(post)
            context.update((ctx.id, ctx) for ctx in found)
        known = {post.id for post in posts} | set(context)
        for ctx in self._parents(server, statuses, known, identity.user_id):
            context[ctx.id] = ctx
        return Page(posts, list(context.values()), cursor, len(statuses))

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        _, server = split_handle(identity.handle)
        cursor = cursor or {}
        since_id = cursor.get("since_id")
        if since_id and not cursor.get("walk"):
            yield from self._forward(identity, server, str(since_id))
            return
        walk = cursor.get("walk") or {}
        top, max_id, start = walk.get("top"), walk.get("max_id"), walk.get("start")
        if not walk and self.backfill_days > 0:
            start = utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc) - timedelta(days=self.backfill_days))
        while True:
            statuses, raw_page = self._statuses(identity, server, **({"max_id": max_id} if max_id else {}))
            if start:
                kept = [s for s in statuses if _created(s["created_at"]) >= start]
                done = len(kept) < len(statuses)
                statuses = kept
            else:
                done = False
            top = top or (statuses[0]["id"] if statuses else None)
            following = self._client(server).get_pagination_info(raw_page, "next") if raw_page else None
            max_id = str(following["max_id"]) if following and following.get("max_id") else None
            if done or not max_id or not statuses:
                page = self._page(identity, server, statuses, {"since_id": top or since_id})
                if start and not since_id:
                    # The first walk read everything back to the backfill window's start
                    # (without a window, collect records the oldest post read).
                    page = dataclasses.replace(page, history=HistoryEnd(start, "backfill"))
                yield page
                return
            yield self._page(identity, server, statuses,
                             {"since_id": since_id, "walk": {"top": top, "max_id": max_id, "start": start}})

    def _forward(self, identity: Identity, server: str, since_id: str) -> Iterator[Page]:
        while True:
            statuses, _ = self._statuses(identity, server, min_id=since_id)
            if statuses:
                since_id = str(max(int(s["id"]) for s in statuses))
            yield self._page(identity, server, statuses, {"since_id": since_id})
            # A short page is the end: what arrives meanwhile is read from the cursor next run.
            if len(statuses) < PAGE_SIZE:
                return


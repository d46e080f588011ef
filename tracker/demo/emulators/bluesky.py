"""A local Bluesky AppView emulator: the XRPC methods ``tracker`` reads, with no login.

Serves ``com.atproto.identity.resolveHandle``, ``app.bsky.actor.getProfile`` and
``app.bsky.feed.getAuthorFeed`` under ``/xrpc/`` from an in-memory dataset of
``FeedViewPost`` items, in the wire format of the recorded response
``bluesky/getAuthorFeed__chriskenny_default`` (checked by
tests/test_emulator_conformance_bluesky.py):

- the feed is newest first by ``indexedAt`` (the repost's ``reason.indexedAt`` for a
  repost), ``limit`` 1-100 (default 50), an opaque ``cursor`` omitted on the last page;
- filters ``posts_with_replies`` (default), ``posts_no_replies`` and
  ``posts_and_author_threads`` as the AppView's getAuthorFeed.ts defines them;
- an unknown actor is HTTP 400 ``{"error":"InvalidRequest","message":"Profile not found"}``
  and an unknown handle 400 ``"Unable to resolve handle"``;
- every answer carries ``RateLimit-*`` headers (epoch reset, IETF draft style, no ``X-``);
- a taken-down actor (``BlueskyDataset.suspended``) is HTTP 400 ``AccountTakedown``
  "Account has been suspended", an actor that blocks the requester (``blocked_by``) 400
  ``BlockedByActor`` (the lexicon's error names), in the XRPC error shape
  ``{"error", "message"}``;
- a cursor the AppView cannot read is 400 ``InvalidRequest`` "Malformed cursor";
  ``expire_cursors`` makes the cursors handed out so far unreadable, as a cursor saved
  under an older AppView's cursor format would be.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tracker.demo.emulators.http import Answer, EmulatorServer, RateWindow

RATE_LIMIT = 3000
WINDOW_SECONDS = 300
POST_COLLECTION = "app.bsky.feed.post"
REPOST_TYPE = "app.bsky.feed.defs#reasonRepost"


def sort_at(item: dict[str, Any]) -> str:
    """The time an item sorts by in an author feed: when it was reposted, else indexed."""
    reason = item.get("reason") or {}
    return str(reason.get("indexedAt") or item["post"]["indexedAt"])


def did_of(uri: str) -> str:
    """``at://did:plc:abc/app.bsky.feed.post/xyz`` -> ``did:plc:abc``."""
    return uri[len("at://"):].split("/", 1)[0] if uri.startswith("at://") else ""


# --- building realistic records (demo and tests) --------------------------------------------

def actor(did: str, handle: str, name: str) -> dict[str, Any]:
    """A ``ProfileViewBasic`` as the AppView embeds it in posts."""
    return {"did": did, "handle": handle, "displayName": name,
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar@jpeg",
            "viewer": {"muted": False, "blockedBy": False}, "labels": [], "createdAt": "2023-09-19T15:47:01.417Z"}


def post_view(author: dict[str, Any], rkey: str, text: str, created_at: str, *,
              reply: dict[str, Any] | None = None, quote: dict[str, Any] | None = None,
              counts: tuple[int, int, int, int] = (0, 0, 0, 0), lang: str = "en") -> dict[str, Any]:
    """A ``PostView``. ``reply`` and ``quote`` are the PostViews replied to or quoted."""
    uri = f"at://{author['did']}/{POST_COLLECTION}/{rkey}"
    record: dict[str, Any] = {"$type": POST_COLLECTION, "createdAt": created_at, "langs": [lang], "text": text}
    view: dict[str, Any] = {"uri": uri, "cid": f"bafyrei{rkey}", "author": author, "record": record}
    if reply is not None:
        root = (reply["record"].get("reply") or {}).get("root") or {"uri": reply["uri"], "cid": reply["cid"]}
        record["reply"] = {"parent": {"cid": reply["cid"], "uri": reply["uri"]}, "root": root}
    if quote is not None:
        record["embed"] = {"$type": "app.bsky.embed.record", "record": {"cid": quote["cid"], "uri": quote["uri"]}}
        view["embed"] = {"$type": "app.bsky.embed.record#view", "record": {
            "$type": "app.bsky.embed.record#viewRecord", "uri": quote["uri"], "cid": quote["cid"],
            "author": quote["author"], "value": quote["record"], "labels": [],
            "likeCount": quote.get("likeCount", 0), "replyCount": quote.get("replyCount", 0),
            "repostCount": quote.get("repostCount", 0), "quoteCount": quote.get("quoteCount", 0),
            "indexedAt": quote["indexedAt"], "embeds": []}}
    view.update({"replyCount": counts[0], "repostCount": counts[1], "likeCount": counts[2], "quoteCount": counts[3],
                 "indexedAt": created_at, "viewer": {"threadMuted": False, "embeddingDisabled": False},
                 "labels": []})
    return view


def feed_item(post: dict[str, Any], *, parent: dict[str, Any] | None = None, root: dict[str, Any] | None = None,
              reposted_by: dict[str, Any] | None = None, reposted_at: str | None = None) -> dict[str, Any]:
    """A ``FeedViewPost``: the post, its hydrated reply context, or the repost reason."""
    item: dict[str, Any] = {"post": post}
    if parent is not None:
        item["reply"] = {"root": {"$type": "app.bsky.feed.defs#postView", **(root or parent)},
                         "parent": {"$type": "app.bsky.feed.defs#postView", **parent}}
    if reposted_by is not None:
        item["reason"] = {"$type": REPOST_TYPE, "by": reposted_by, "indexedAt": reposted_at or post["indexedAt"]}
    return item


@dataclass
class BlueskyDataset:
    """Actors and each actor's author feed (FeedViewPost items, any order)."""

    actors: list[dict[str, Any]] = field(default_factory=list)
    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # did -> items
    suspended: set[str] = field(default_factory=set)  # dids taken down
    blocked_by: set[str] = field(default_factory=set)  # dids that block the requester

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._reindex()

    def _reindex(self) -> None:
        self.by_did = {a["did"]: a for a in self.actors}
        self.by_handle = {a["handle"].lower(): a for a in self.actors}
        for items in self.feeds.values():
            items.sort(key=lambda item: (sort_at(item), item["post"]["uri"]), reverse=True)

    def add_items(self, did: str, items: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            self.feeds.setdefault(did, []).extend(items)
            self._reindex()

    def rename(self, did: str, handle: str) -> None:
        """A handle change: the DID stays, every view of the actor shows the new handle."""
        with self.lock:
            self.by_did[did]["handle"] = handle
            for items in self.feeds.values():
                for item in items:
                    for view in (item["post"]["author"], (item.get("reason") or {}).get("by") or {}):
                        if view.get("did") == did:
                            view["handle"] = handle
            self._reindex()

    def remove_actor(self, did: str) -> None:
        with self.lock:
            self.actors = [a for a in self.actors if a["did"] != did]
            self.feeds.pop(did, None)
            self._reindex()


def _error(message: str, error: str = "InvalidRequest") -> bytes:
    return json.dumps({"error": error, "message": message}).encode()


class BlueskyEmulator(EmulatorServer):
    """Run ``with BlueskyEmulator(dataset) as emulator:``; ``Client(base_url=emulator.url)``."""

    name = "bluesky-emulator"
    malformed_body = b'{"feed": [{"post": {"uri": "at://did:plc:'

    def __init__(self, dataset: BlueskyDataset, **options: Any):
        super().__init__(**options)
        self.dataset = dataset
        self._window = RateWindow(RATE_LIMIT, WINDOW_SECONDS)
        self._cursor_issue = 0
        self._issued_cursors: set[str] = set()
        self._expired_cursors: set[str] = set()

    def expire_cursors(self) -> None:
        """Refuse every cursor handed out so far (400 InvalidRequest "Malformed cursor")."""
        with self.dataset.lock:
            self._expired_cursors |= self._issued_cursors
            self._issued_cursors.clear()
            self._cursor_issue += 1  # the cursors handed out from now on differ from the stale ones

    def rate_headers(self, exhausted: bool = False, reset_after: float | None = None) -> dict[str, str]:
        remaining, reset = self._window.hit(exhausted, reset_after)
        return {"RateLimit-Limit": str(RATE_LIMIT), "RateLimit-Remaining": str(remaining),
                "RateLimit-Reset": str(int(reset)), "RateLimit-Policy": f"{RATE_LIMIT};w={WINDOW_SECONDS}"}

    def rate_limited(self, reset_after: float, path: str) -> Answer:
        return 429, self.rate_headers(True, reset_after), _error("Rate Limit Exceeded", "RateLimitExceeded")

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        rate = self.rate_headers()
        with self.dataset.lock:
            if path == "/xrpc/com.atproto.identity.resolveHandle":
                found = self.dataset.by_handle.get(query.get("handle", "").lower())
                if found is None:
                    return 400, rate, _error("Unable to resolve handle")
                return 200, rate, json.dumps({"did": found["did"]}).encode()
            if path == "/xrpc/app.bsky.actor.getProfile":
                found = self._actor(query.get("actor", ""))
                if found is None:
                    return 400, rate, _error("Profile not found")
                if found["did"] in self.dataset.suspended:
                    return 400, rate, _error("Account has been suspended", "AccountTakedown")
                feed = self.dataset.feeds.get(found["did"], [])
                posts = sum(1 for item in feed if "reason" not in item)
                profile = {**found, "followersCount": 0, "followsCount": 0, "postsCount": posts,
                           "indexedAt": found.get("createdAt"), "description": ""}
                return 200, rate, json.dumps(profile).encode()
            if path == "/xrpc/app.bsky.feed.getAuthorFeed":
                return self._author_feed(query, rate)
        return 404, rate, _error(f"Method not implemented: {path}", "MethodNotImplemented")

    def _actor(self, name: str) -> dict[str, Any] | None:
        return self.dataset.by_did.get(name) if name.startswith("did:") else self.dataset.by_handle.get(name.lower())

    def _author_feed(self, query: dict[str, str], rate: dict[str, str]) -> Answer:
        found = self._actor(query.get("actor", ""))
        if found is None:
            return 400, rate, _error("Profile not found")
        if found["did"] in self.dataset.suspended:
            return 400, rate, _error("Account has been suspended", "AccountTakedown")
        if found["did"] in self.dataset.blocked_by:
            return 400, rate, _error("Requester is blocked by actor", "BlockedByActor")
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 100:
            return 400, rate, _error("Error: limit must be between 1 and 100")
        flt = query.get("filter", "posts_with_replies")
        did = found["did"]

        def keep(item: dict[str, Any]) -> bool:
            if "reason" in item:
                return flt != "posts_with_media"
            reply = item["post"]["record"].get("reply")
            if flt == "posts_no_replies":
                return reply is None
            if flt == "posts_and_author_threads":
                return reply is None or (did_of(reply["parent"]["uri"]) == did and did_of(reply["root"]["uri"]) == did)
            return True

        items = [item for item in self.dataset.feeds.get(did, []) if keep(item)]
        cursor = query.get("cursor")
        if cursor:
            # The cursor is the sort key of the last item served: "<indexedAt>::<uri>", and
            # "::v<n>" after the n-th expire_cursors().
            parts = cursor.split("::")
            if len(parts) not in (2, 3) or not all(parts) or cursor in self._expired_cursors:
                return 400, rate, _error("Malformed cursor")
            at, uri = parts[:2]
            items = [item for item in items if (sort_at(item), item["post"]["uri"]) < (at, uri)]
        page = items[:limit]
        body: dict[str, Any] = {"feed": page}
        if len(items) > len(page):
            body["cursor"] = f"{sort_at(page[-1])}::{page[-1]['post']['uri']}" \
                + (f"::v{self._cursor_issue}" if self._cursor_issue else "")
            self._issued_cursors.add(body["cursor"])
        return 200, rate, json.dumps(body, ensure_ascii=False).encode()

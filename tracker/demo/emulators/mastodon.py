"""A local Mastodon server emulator: account lookup, account statuses and single statuses.

One emulator plays one server (``domain``), in the wire format of the Mastodon 4.6.4
responses recorded by Mastodon.py (checked by tests/test_emulator_conformance_mastodon.py):

- ``GET /api/v1/accounts/lookup?acct=`` -> Account, or 404 ``{"error":"Record not found"}``;
- ``GET /api/v1/accounts/:id/statuses`` with ``limit`` (default 20, max 40), ``max_id``,
  ``since_id``, ``min_id``, ``exclude_replies`` (self-replies kept) and
  ``exclude_reblogs``; newest first; a ``Link`` header with rel="next" (``max_id``) when
  the page is full and rel="prev" (``min_id``) when it is not empty, pointing at this
  emulator's own host (the recordings point at localhost:3000);
- ``GET /api/v1/statuses/:id`` -> Status, or 404 ``{"error":"Not Found"}``;
- ``X-RateLimit-Limit/Remaining/Reset`` on every answer, the reset as an ISO-8601
  timestamp; a 429 has the body ``{"error":"Too many requests"}`` (rack_attack.rb);
- an account in ``MastodonDataset.gone`` (suspended for good) is ``410``
  ``{"error":"Gone"}`` on lookup and on its statuses (Mastodon's ``respond_with_error``
  body: the status code's reason phrase).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from tracker.demo.emulators.http import Answer, EmulatorServer, RateWindow

RATE_LIMIT = 300
WINDOW_SECONDS = 300
MAX_LIMIT = 40


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- building realistic entities (demo and tests) --------------------------------------------

def account(account_id: str, username: str, display_name: str, domain: str, acct: str | None = None) -> dict[str, Any]:
    """An Account entity with every key of the recorded one."""
    base = f"https://{domain}"
    return {
        "id": account_id, "username": username, "acct": acct or username, "display_name": display_name,
        "locked": False, "bot": False, "discoverable": True, "indexable": True, "group": False,
        "created_at": "2023-01-10T00:00:00.000Z", "note": "", "url": f"{base}/@{username}",
        "uri": f"{base}/users/{username}", "avatar": f"{base}/avatars/original/missing.png",
        "avatar_static": f"{base}/avatars/original/missing.png", "avatar_description": "",
        "header": f"{base}/headers/original/missing.png", "header_static": f"{base}/headers/original/missing.png",
        "header_description": "", "followers_count": 0, "following_count": 0, "statuses_count": 0,
        "last_status_at": None, "hide_collections": False, "show_media": True, "show_media_replies": True,
        "show_featured": True, "noindex": False,
        "feature_approval": {"automatic": [], "manual": [], "current_user": "denied"},
        "emojis": [], "roles": [], "fields": [],
    }


def status(author: dict[str, Any], status_id: str, created_at: datetime, content_html: str, *,
           reply_to: dict[str, Any] | None = None, reblog: dict[str, Any] | None = None,
           quote: dict[str, Any] | None = None, counts: tuple[int, int, int, int] = (0, 0, 0, 0),
           language: str = "en") -> dict[str, Any]:
    """A Status entity with every key of the recorded ones; ``reblog`` makes a boost wrapper."""
    url = author["url"]
    uri = f"{author['uri']}/statuses/{status_id}"
    entity: dict[str, Any] = {
        "id": status_id, "created_at": _iso_ms(created_at),
        "in_reply_to_id": reply_to["id"] if reply_to else None,
        "in_reply_to_account_id": reply_to["account"]["id"] if reply_to else None,
        "sensitive": False, "spoiler_text": "", "visibility": "public", "language": language,
        "uri": uri, "url": f"{url}/{status_id}",
        "replies_count": counts[0], "reblogs_count": counts[1], "favourites_count": counts[2],
        "quotes_count": counts[3], "edited_at": None, "favourited": False, "reblogged": False, "muted": False,
        "bookmarked": False, "pinned": False, "content": content_html, "filtered": [], "reblog": None,
        "application": {"name": "Web", "website": None}, "account": author, "media_attachments": [],
        "mentions": [], "tags": [], "emojis": [], "tagged_collections": [], "quote": None, "card": None,
        "poll": None, "quote_approval": {"automatic": ["public"], "manual": [], "current_user": "automatic"},
    }
    if reply_to is not None:
        replied = reply_to["account"]
        entity["mentions"] = [{"id": replied["id"], "username": replied["username"], "url": replied["url"],
                               "acct": replied["acct"]}]
    if reblog is not None:
        # A boost: empty content, a URI ending in /activity, the original under `reblog`
        # (recorded: status__reblog_POST_response).
        entity.update({"content": "", "uri": f"{uri}/activity", "url": None, "reblog": reblog,
                       "language": None, "application": None})
        del entity["pinned"]  # a boost wrapper has no `pinned` (recorded)
    if quote is not None:
        entity["quote"] = {"state": "accepted", "quoted_status": quote}
    return entity


@dataclass
class MastodonDataset:
    """The server's accounts and statuses (Status entities, account embedded)."""

    domain: str
    accounts: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)  # account ids suspended for good: 410

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._reindex()

    def _reindex(self) -> None:
        self.accounts_by_id = {a["id"]: a for a in self.accounts}
        self.statuses_by_id = {s["id"]: s for s in self.statuses}
        by_account: dict[str, list[dict[str, Any]]] = {}
        for entity in self.statuses:
            by_account.setdefault(entity["account"]["id"], []).append(entity)
        for timeline in by_account.values():
            timeline.sort(key=lambda s: int(s["id"]), reverse=True)
        self.by_account = by_account

    def add_statuses(self, statuses: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            self.statuses.extend(statuses)
            self._reindex()

    def remove_status(self, status_id: str) -> None:
        with self.lock:
            self.statuses = [s for s in self.statuses if s["id"] != status_id]
            self._reindex()

    def lookup(self, acct: str) -> dict[str, Any] | None:
        user, _, domain = acct.lstrip("@").partition("@")
        if domain and domain.lower() != self.domain.lower():
            return None  # lookup does no WebFinger: only accounts this server knows
        return next((a for a in self.accounts if a["acct"].lower() == user.lower()), None)


def _json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class MastodonEmulator(EmulatorServer):
    """Run ``with MastodonEmulator(dataset) as emulator:``; ``Mastodon(api_base_url=emulator.url)``."""

    name = "mastodon-emulator"
    malformed_body = b'[{"id": "1100", "created_at": "2026-'

    def __init__(self, dataset: MastodonDataset, **options: Any):
        super().__init__(**options)
        self.dataset = dataset
        self._window = RateWindow(RATE_LIMIT, WINDOW_SECONDS)

    def rate_headers(self, exhausted: bool = False, reset_after: float | None = None) -> dict[str, str]:
        remaining, reset = self._window.hit(exhausted, reset_after)
        reset_iso = datetime.fromtimestamp(reset, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": reset_iso}

    def rate_limited(self, reset_after: float, path: str) -> Answer:
        return 429, self.rate_headers(True, reset_after), _json({"error": "Too many requests"})

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        rate = self.rate_headers()
        parts = path.strip("/").split("/")
        with self.dataset.lock:
            if path == "/api/v1/accounts/lookup":
                found = self.dataset.lookup(query.get("acct", ""))
                if found and found["id"] in self.dataset.gone:
                    return 410, rate, _json({"error": "Gone"})
                return (200, rate, _json(found)) if found else (404, rate, _json({"error": "Record not found"}))
            if len(parts) == 5 and parts[:3] == ["api", "v1", "accounts"] and parts[4] == "statuses":
                return self._statuses(parts[3], query, rate)
            if len(parts) == 4 and parts[:3] == ["api", "v1", "statuses"]:
                found = self.dataset.statuses_by_id.get(parts[3])
                return (200, rate, _json(found)) if found else (404, rate, _json({"error": "Not Found"}))
        return 404, rate, _json({"error": "Not Found"})

    def _statuses(self, account_id: str, query: dict[str, str], rate: dict[str, str]) -> Answer:
        if account_id not in self.dataset.accounts_by_id:
            return 404, rate, _json({"error": "Record not found"})
        if account_id in self.dataset.gone:
            return 410, rate, _json({"error": "Gone"})
        try:
            limit = min(int(query.get("limit", "20")), MAX_LIMIT)
            bounds = {name: int(query[name]) for name in ("max_id", "since_id", "min_id") if query.get(name)}
        except ValueError:
            return 400, rate, _json({"error": "Validation failed: invalid id or limit"})
        truthy = {"1", "true", "True"}
        exclude_replies = query.get("exclude_replies") in truthy
        exclude_reblogs = query.get("exclude_reblogs") in truthy

        def keep(entity: dict[str, Any]) -> bool:
            number = int(entity["id"])
            if "max_id" in bounds and number >= bounds["max_id"]:
                return False
            if "since_id" in bounds and number <= bounds["since_id"]:
                return False
            if "min_id" in bounds and number <= bounds["min_id"]:
                return False
            # exclude_replies drops replies to *other* accounts; threads stay (accounts.md).
            if exclude_replies and entity["in_reply_to_id"] and entity["in_reply_to_account_id"] != account_id:
                return False
            return not (exclude_reblogs and entity["reblog"])

        matching = [s for s in self.dataset.by_account.get(account_id, []) if keep(s)]
        # min_id pages forward: the statuses *immediately* newer than min_id, still served newest first.
        page = matching[-limit:] if "min_id" in bounds else matching[:limit]
        links = []
        base = f"{self.url}/api/v1/accounts/{account_id}/statuses"
        extra: dict[str, Any] = {key: query[key] for key in ("exclude_replies", "exclude_reblogs") if key in query}
        if page and len(page) == limit:
            links.append(f'<{base}?{urlencode({"limit": limit, **extra, "max_id": page[-1]["id"]})}>; rel="next"')
        if page:
            links.append(f'<{base}?{urlencode({"limit": limit, **extra, "min_id": page[0]["id"]})}>; rel="prev"')
        headers = dict(rate)
        if links:
            headers["Link"] = ", ".join(links)
        return 200, headers, _json(page)

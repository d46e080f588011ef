"""A local X API v2 emulator: the endpoints, fields, expansions and errors ``tracker`` uses.

Serves ``GET /2/users/by/username/:username``, ``/2/users/by``, ``/2/users/:id``,
``/2/users/:id/tweets`` and ``/2/users/:id/mentions`` from an in-memory dataset, with the
real wire format (checked against recorded responses in tests/test_emulator_x.py):
fields are projected as requested, ``includes`` are built from the expansions, unknown,
suspended and protected users are HTTP 200 with an ``errors`` list, every answer carries
the ``x-rate-limit-*`` headers, and pages are linked by ``meta.next_token``.

Faults can be switched on for the next matching requests: 429 (rate limit or usage cap),
5xx, a malformed body, a delay, or a dropped connection; ``expire_pagination_tokens``
makes the tokens handed out so far stale (HTTP 400 ``invalid-request``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tracker.demo.emulators.http import Answer, EmulatorServer, Fault, RateWindow

PROBLEMS = "https://api.twitter.com/2/problems/"
DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")
MOST_RECENT_LIMIT = 3200  # only the 3,200 most recent posts of a timeline are served
WINDOW_SECONDS = 15 * 60
# Per-app limits per 15 minutes (docs.x.com rate limits; the recordings show 1500 and 300).
RATE_LIMITS = {"tweets": 1500, "mentions": 450, "users": 300}
TOKEN_PREFIX = "7140dibdnow9c7btw"
TOKEN_ISSUES = 36  # token generations told apart (see expire_pagination_tokens)


@dataclass
class XDataset:
    """Users and tweets as full API objects (every field the API could return)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    tweets: list[dict[str, Any]] = field(default_factory=list)
    suspended: set[str] = field(default_factory=set)  # user ids

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._reindex()

    def _reindex(self) -> None:
        self.users_by_id = {str(u["id"]): u for u in self.users}
        self.users_by_name = {str(u["username"]).lower(): u for u in self.users}
        self.tweets_by_id = {str(t["id"]): t for t in self.tweets}
        by_author: dict[str, list[dict[str, Any]]] = {}
        for tweet in self.tweets:
            by_author.setdefault(str(tweet.get("author_id")), []).append(tweet)
        for timeline in by_author.values():
            timeline.sort(key=lambda t: int(t["id"]), reverse=True)
        self.by_author = by_author

    def add_tweets(self, tweets: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self.tweets.extend(tweets)
            self._reindex()

    def add_users(self, users: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            self.users.extend(users)
            self._reindex()

    def rename_user(self, user_id: str, username: str) -> None:
        with self._lock:
            self.users_by_id[user_id]["username"] = username
            self._reindex()

    def remove_user(self, user_id: str) -> None:
        with self._lock:
            self.users = [u for u in self.users if str(u["id"]) != user_id]
            self._reindex()


def _error(parameter: str, value: str, resource_type: str, kind: str, detail: str,
           section: str | None = None) -> dict[str, Any]:
    title = {"resource-not-found": "Not Found Error", "not-authorized-for-resource": "Authorization Error"}[kind]
    error = {"value": value, "detail": detail, "title": title, "resource_type": resource_type,
             "parameter": parameter, "resource_id": value, "type": PROBLEMS + kind}
    if section:
        error["section"] = section
    return error


def _invalid_request(message: str, parameter: str, value: str) -> dict[str, Any]:
    return {"errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request"}


def encode_token(tweet_id: str, issue: int = 0) -> str:
    """An opaque pagination token: X's tokens are base-36 strings like these. ``issue`` tells
    tokens handed out before ``XEmulator.expire_pagination_tokens`` from later ones."""
    number = int(tweet_id) * TOKEN_ISSUES + issue % TOKEN_ISSUES
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            break
    return TOKEN_PREFIX + out


def decode_token(token: str) -> str | None:
    """The post id a token continues below, or None for a string that is no token."""
    if not token.startswith(TOKEN_PREFIX) or not re.fullmatch(r"[0-9a-z]+", token[len(TOKEN_PREFIX):]):
        return None
    return str(int(token[len(TOKEN_PREFIX):], 36) // TOKEN_ISSUES)


def _iso_to_epoch(value: str) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class XEmulator(EmulatorServer):
    """Run ``with XEmulator(dataset) as emulator:`` and point the client at ``emulator.url``.

    Fault kinds are the shared ones (``tracker.demo.emulators.http.Fault``) plus ``usage_cap``:
    the 429 X sends when the account's monthly post cap is reached.
    """

    name = "x-emulator"
    malformed_body = b'{"data": [{"id": "1", "text": "trunc'

    def __init__(self, dataset: XDataset, *, bearer_token: str | None = None, host: str = "127.0.0.1",
                 port: int = 0):
        super().__init__(host, port)
        self.dataset = dataset
        self.bearer_token = bearer_token
        # X counts each endpoint family in its own 15-minute window (docs.x.com rate limits).
        self._windows = {family: RateWindow(limit, WINDOW_SECONDS) for family, limit in RATE_LIMITS.items()}
        self._token_issue = 0
        self._issued_tokens: set[str] = set()
        self._expired_tokens: set[str] = set()

    @staticmethod
    def _family(path: str) -> str:
        return "mentions" if path.endswith("/mentions") else "tweets" if path.endswith("/tweets") else "users"

    def _rate_headers(self, family: str, exhausted: bool = False, reset_after: float | None = None) -> dict[str, str]:
        remaining, reset = self._windows[family].hit(exhausted, reset_after)
        return {"x-rate-limit-limit": str(RATE_LIMITS[family]), "x-rate-limit-remaining": str(remaining),
                "x-rate-limit-reset": str(int(reset))}

    def authorize(self, headers: dict[str, str]) -> Answer | None:
        if self.bearer_token is None or headers.get("authorization") == f"Bearer {self.bearer_token}":
            return None
        body = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
        return 401, {}, json.dumps(body).encode()

    def rate_limited(self, reset_after: float, path: str) -> Answer:
        body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
        return 429, self._rate_headers(self._family(path), True, reset_after), json.dumps(body).encode()

    def fault_answer(self, fault: Fault, path: str) -> Answer:
        if fault.kind != "usage_cap":
            return super().fault_answer(fault, path)
        body = {"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap",
                "type": PROBLEMS + "usage-capped", "period": "Monthly", "scope": "Product"}
        return 429, self._rate_headers(self._family(path), True, fault.reset_after), json.dumps(body).encode()

    def server_error(self, status: int, path: str) -> Answer:
        body = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank",
                "status": status}
        return status, self._rate_headers(self._family(path)), json.dumps(body).encode()

    def malformed(self, path: str) -> Answer:
        return 200, self._rate_headers(self._family(path)), self.malformed_body

    def odd_body(self, body: bytes, path: str) -> Answer:
        return 200, self._rate_headers(self._family(path)), body

    def expire_pagination_tokens(self) -> None:
        """Refuse every pagination token handed out so far, as X does once a token is stale:
        HTTP 400 ``invalid-request`` naming the ``pagination_token`` parameter."""
        with self.dataset._lock:
            self._expired_tokens |= self._issued_tokens
            self._issued_tokens.clear()
            self._token_issue += 1  # the tokens handed out from now on differ from the stale ones

    def route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str]) -> Answer:
        status, body = self._route(method, path, query)
        rate = self._rate_headers(self._family(path))
        if int(rate["x-rate-limit-remaining"]) <= 0 and status == 200:
            body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
            status = 429
        return status, rate, json.dumps(body, ensure_ascii=False).encode()

    def _route(self, method: str, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method != "GET":
            return 405, {"title": "Method Not Allowed", "type": "about:blank", "status": 405}
        with self.dataset._lock:
            if match := re.fullmatch(r"/2/users/by/username/([^/]+)", path):
                return 200, self._user_lookup(match.group(1), query)
            if path == "/2/users/by":
                return 200, self._users_lookup(query)
            if match := re.fullmatch(r"/2/users/(\d+)/(tweets|mentions)", path):
                return self._timeline(match.group(1), match.group(2), query)
            if match := re.fullmatch(r"/2/users/(\d+)", path):
                return 200, self._user_by_id(match.group(1), query)
        return 404, {"title": "Not Found Error", "type": "about:blank", "status": 404,
                     "detail": f"Could not find a route for {path}"}

    # --- projections -------------------------------------------------------------------------

    @staticmethod
    def _fields(query: dict[str, str], *names: str) -> set[str]:
        # The Aug 2026 OpenAPI spells tweet.fields as post.fields: accept both.
        wanted: set[str] = set()
        for name in names:
            wanted.update(filter(None, query.get(name, "").split(",")))
        return wanted

    def _project_user(self, user: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        wanted = set(DEFAULT_USER_FIELDS) | self._fields(query, "user.fields")
        return {key: value for key, value in user.items() if key in wanted}

    def _project_tweet(self, tweet: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        wanted = set(DEFAULT_TWEET_FIELDS) | self._fields(query, "tweet.fields", "post.fields")
        projected = {key: value for key, value in tweet.items() if key in wanted}
        # A default field of the current API, even in datasets recorded before Sept 2022.
        projected.setdefault("edit_history_tweet_ids", [str(tweet["id"])])
        return projected

    def _user_errors(self, value: str, parameter: str, user: dict[str, Any] | None) -> list[dict[str, Any]]:
        kind_name = "username" if parameter in ("username", "usernames") else "id"
        if user is None:
            plural = "usernames" if parameter == "usernames" else kind_name
            return [_error(parameter, value, "user", "resource-not-found",
                           f"Could not find user with {plural}: [{value}].")]
        if str(user["id"]) in self.dataset.suspended:
            error = _error(parameter, value, "user", "resource-not-found", f"User has been suspended: [{value}].")
            error["title"] = "Forbidden"
            return [error]
        return []

    def _user_lookup(self, username: str, query: dict[str, str]) -> dict[str, Any]:
        user = self.dataset.users_by_name.get(username.lower())
        errors = self._user_errors(username, "username", user)
        if errors:
            return {"errors": errors}
        assert user is not None
        return {"data": self._project_user(user, query)}

    def _user_by_id(self, user_id: str, query: dict[str, str]) -> dict[str, Any]:
        user = self.dataset.users_by_id.get(user_id)
        errors = self._user_errors(user_id, "id", user)
        if errors:
            return {"errors": errors}
        assert user is not None
        return {"data": self._project_user(user, query)}

    def _users_lookup(self, query: dict[str, str]) -> dict[str, Any]:
        data, errors = [], []
        for username in filter(None, query.get("usernames", "").split(",")):
            user = self.dataset.users_by_name.get(username.lower())
            problems = self._user_errors(username, "usernames", user)
            if problems:
                errors += problems
            elif user is not None:
                data.append(self._project_user(user, query))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return body

    def _candidates(self, user: dict[str, Any], endpoint: str) -> list[dict[str, Any]]:
        """The posts a timeline can serve, newest first: the user's own (the newest 3,200) or
        the posts by others that name them (the newest 800)."""
        user_id = str(user["id"])
        if endpoint == "tweets":
            return self.dataset.by_author.get(user_id, [])[:MOST_RECENT_LIMIT]
        mention = "@" + str(user["username"]).lower()
        return sorted((t for t in self.dataset.tweets
                       if str(t.get("author_id")) != user_id and mention in str(t.get("text", "")).lower()),
                      key=lambda t: int(t["id"]), reverse=True)[:800]

    def _timeline(self, user_id: str, endpoint: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        user = self.dataset.users_by_id.get(user_id)
        errors = self._user_errors(user_id, "id", user)
        if errors:
            return 200, {"errors": errors}
        assert user is not None
        if user.get("protected"):
            return 200, {"errors": [_error("id", user_id, "user", "not-authorized-for-resource",
                                           f"Sorry, you are not authorized to see the user with id: [{user_id}].")]}
        try:
            max_results = int(query.get("max_results", "10"))
        except ValueError:
            max_results = -1
        if not 5 <= max_results <= 100:
            return 400, _invalid_request(
                f"The `max_results` query parameter value [{query.get('max_results')}] is not between 5 and 100",
                "max_results", query.get("max_results", ""))
        candidates = self._candidates(user, endpoint)
        excluded = set(filter(None, query.get("exclude", "").split(",")))
        since_id = query.get("since_id")
        until_id = query.get("until_id")
        for name, value in (("since_id", since_id), ("until_id", until_id)):
            if value is not None and not value.isdigit():
                return 400, _invalid_request(f"The `{name}` query parameter value [{value}] is not valid",
                                             name, value)
        start = _iso_to_epoch(query["start_time"]) if "start_time" in query else None
        end = _iso_to_epoch(query["end_time"]) if "end_time" in query else None
        token = query.get("pagination_token")
        below: str | None = None
        if token is not None:
            below = decode_token(token)
            if below is None or token in self._expired_tokens:
                return 400, _invalid_request(
                    f"The `pagination_token` query parameter value [{token}] is not valid",
                    "pagination_token", token)

        def keep(tweet: dict[str, Any]) -> bool:
            number = int(tweet["id"])
            refs = {r["type"] for r in tweet.get("referenced_tweets") or []}
            if "replies" in excluded and "replied_to" in refs:
                return False
            if "retweets" in excluded and "retweeted" in refs:
                return False
            if since_id and number <= int(since_id) or until_id and number >= int(until_id):
                return False
            if below and number >= int(below):
                return False
            created = _iso_to_epoch(str(tweet.get("created_at", "")))
            if start is not None and (created is None or created < start):
                return False
            if end is not None and (created is None or created >= end):
                return False
            return True

        matching = [tweet for tweet in candidates if keep(tweet)]
        return 200, self._page(matching, max_results, token, query)

    def _page(self, matching: list[dict[str, Any]], max_results: int, token: str | None,
              query: dict[str, str]) -> dict[str, Any]:
        """One page of the matching posts, newest first, with its includes and ``meta``."""
        page = matching[:max_results]
        body: dict[str, Any] = {}
        if page:
            body["data"] = [self._project_tweet(tweet, query) for tweet in page]
            includes, include_errors = self._includes(page, query)
            if includes:
                body["includes"] = includes
            if include_errors:
                body["errors"] = include_errors
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = str(page[0]["id"])
            meta["oldest_id"] = str(page[-1]["id"])
            if len(matching) > len(page):
                meta["next_token"] = encode_token(str(page[-1]["id"]), self._token_issue)
                self._issued_tokens.add(meta["next_token"])
            if token is not None:
                meta["previous_token"] = encode_token(str(int(page[0]["id"]) + 1), self._token_issue)
        body["meta"] = meta
        return body

    def _includes(self, page: list[dict[str, Any]], query: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        expansions = self._fields(query, "expansions")
        users: dict[str, dict[str, Any]] = {}
        tweets: dict[str, dict[str, Any]] = {}
        errors: list[dict[str, Any]] = []

        def add_user(user_id: str | None, parameter: str) -> None:
            if not user_id or user_id in users:
                return
            user = self.dataset.users_by_id.get(str(user_id))
            if user is None:
                errors.append(_error(parameter, str(user_id), "user", "resource-not-found",
                                     f"Could not find user with {parameter}: [{user_id}].", "includes"))
            else:
                users[str(user_id)] = self._project_user(user, query)

        for tweet in page:
            if "author_id" in expansions:
                add_user(tweet.get("author_id"), "author_id")
        for tweet in page:
            if "in_reply_to_user_id" in expansions:
                add_user(tweet.get("in_reply_to_user_id"), "in_reply_to_user_id")
            if "entities.mentions.username" in expansions:
                for mention in (tweet.get("entities") or {}).get("mentions") or []:
                    user = self.dataset.users_by_name.get(str(mention.get("username", "")).lower())
                    if user is None:
                        name = str(mention.get("username"))
                        errors.append(_error("entities.mentions.username", name, "user", "resource-not-found",
                                             f"Could not find user with entities.mentions.username: [{name}].",
                                             "includes"))
                    else:
                        add_user(str(user["id"]), "entities.mentions.username")
            if "referenced_tweets.id" in expansions:
                for ref in tweet.get("referenced_tweets") or []:
                    ref_id = str(ref["id"])
                    if ref_id in tweets:
                        continue
                    referenced = self.dataset.tweets_by_id.get(ref_id)
                    author = self.dataset.users_by_id.get(str((referenced or {}).get("author_id")))
                    if referenced is None:
                        errors.append(_error("referenced_tweets.id", ref_id, "tweet", "resource-not-found",
                                             f"Could not find tweet with referenced_tweets.id: [{ref_id}].",
                                             "includes"))
                    elif author is not None and author.get("protected"):
                        errors.append(_error("referenced_tweets.id", ref_id, "tweet", "not-authorized-for-resource",
                                             "Sorry, you are not authorized to see the Tweet with "
                                             f"referenced_tweets.id: [{ref_id}].", "includes"))
                    else:
                        tweets[ref_id] = self._project_tweet(referenced, query)
                        if "referenced_tweets.id.author_id" in expansions:
                            add_user(referenced.get("author_id"), "referenced_tweets.id.author_id")
        includes: dict[str, Any] = {}
        if users:
            includes["users"] = list(users.values())
        if tweets:
            includes["tweets"] = list(tweets.values())
        return includes, errors

@contextmanager
def running(dataset: XDataset, **options: Any) -> Iterator[XEmulator]:
    with XEmulator(dataset, **options) as emulator:
        yield emulator

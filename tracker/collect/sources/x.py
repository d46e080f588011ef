"""X (Twitter) API v2 through ``tweepy.Client``.

Cost model (X bills every post read, https://docs.x.com/x-api/getting-started/pricing):
a run with nothing new is one timeline request per account; k new posts cost ceil(k/100)
requests; user ids are looked up once and cached by the caller. With ``[sources.x]
mentions`` on, each account costs one more request (``GET /2/users/:id/mentions``) and at
most ``mentions_max_reads_per_run`` post reads per run.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from tracker.config import Config, XSettings
from tracker.errors import (
    AccountUnavailableError,
    AuthError,
    PlatformUnreachableError,
    BudgetExceededError,
    ConfigError,
    RateLimitedError,
    SourceError,
    TransientError,
)
from tracker.secrets import secret_problem
from tracker.domain import ContextPost, HistoryEnd, Identity, Page, Post, utc_iso
from tracker.collect.sources.base import StoreView, unreachable_limit

log = logging.getLogger(__name__)

TOKEN_ENV_VAR = "TRACKER_X_BEARER_TOKEN"

# tweepy hard-codes this host in BaseClient.request (no parameter; tweepy PR #1971 is
# still open), so requests are re-addressed by a transport adapter instead of a fork.
TWEEPY_HOST = "https://api.twitter.com"

PAGE_SIZE = 100  # the maximum max_results of GET /2/users/:id/tweets
MIN_PAGE_SIZE = 5  # the minimum max_results X accepts (HTTP 400 below it)
# A page of k posts reads at most 3k posts: each post may bring a replied-to and a quoted
# post along in includes.tweets (expansion referenced_tweets.id). The budget check sizes
# pages by this worst case so that a page can never pass the cap (issue 6).
MAX_READS_PER_POST = 3
# GET /2/users/:id/tweets serves only a timeline's 3,200 newest posts (docs.x.com, "User
# Posts timeline"): a walk that read that many may have been cut short by X, not by history.
TIMELINE_LIMIT = 3200
MAX_RATE_LIMIT_WAITS = 3  # 429s in a row before giving the account up for this run

# Replied-to and quoted posts come back in `includes.tweets`, their authors in
# `includes.users` (docs.x.com, "Fields and expansions").
TWEET_FIELDS = [
    "created_at", "author_id", "conversation_id", "in_reply_to_user_id", "referenced_tweets",
    "public_metrics", "lang", "entities", "note_tweet", "edit_history_tweet_ids",
]
EXPANSIONS = [
    "author_id", "referenced_tweets.id", "referenced_tweets.id.author_id", "in_reply_to_user_id",
]
USER_FIELDS = ["username", "name", "protected"]


class _Redirect(HTTPAdapter):
    """Send tweepy's requests to the configured base URL, with a request timeout."""

    def __init__(self, base_url: str, timeout: float):
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # requests' Session.send always passes the options (stream, timeout, ...) by keyword.
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        if request.url.startswith(TWEEPY_HOST):
            request.url = self.base_url + request.url[len(TWEEPY_HOST):]
        kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def _api_error_text(error: tweepy.HTTPException) -> str:
    messages = list(getattr(error, "api_messages", []) or [])
    return "; ".join(messages) or (error.response.reason if error.response is not None else "")


def classify_user_errors(errors: list[dict[str, Any]]) -> tuple[str, str] | None:
    """Tell an unknown, suspended or protected account from an X ``errors`` list.

    X answers these with HTTP 200 and an ``errors`` list instead of a 4xx (recorded:
    users_1405327120163872777_tweets__user_not_found_200, users_45648666_mentions__user_suspended_200).
    Returns ``(reason, detail)`` or None when no error is about the account itself.
    """
    for error in errors:
        if error.get("resource_type") != "user" or error.get("parameter") not in ("id", "username"):
            continue
        detail = str(error.get("detail") or error.get("title") or "")
        if "suspended" in detail.lower():
            return "suspended", detail
        if str(error.get("type", "")).endswith("/not-authorized-for-resource"):
            return "protected", detail
        return "not_found", detail
    return None


# X escapes exactly these three characters in post text, in API v2 answers (`text` and
# `note_tweet.text`) and in the archive's `full_text`; every `&` a person wrote arrives as
# `&amp;`, so one left-to-right pass over these three entities gives back what they wrote.
# Only these three: html.unescape would also decode entities X never writes (`&copy`,
# `&#38;`...) should any text reach us unescaped.
_X_ENTITIES = re.compile(r"&(amp|lt|gt);")
_X_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}


def unescape_x_text(text: str) -> str:
    """Post text as its author wrote it: X's ``&amp;``, ``&lt;`` and ``&gt;`` undone (pure)."""
    return _X_ENTITIES.sub(lambda match: _X_CHARACTERS[match.group(1)], text)


def _metric(metrics: Mapping[str, Any], key: str) -> int | None:
    value = metrics.get(key)
    return value if isinstance(value, int) else None


def _iso(created_at: Any) -> str:
    # X sends "2021-06-02T20:30:10.000Z"; store whole seconds like every other platform.
    text = str(created_at)
    return utc_iso(datetime.fromisoformat(text.replace("Z", "+00:00")))


def normalize_tweet(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> Post:
    """Turn one tweet object from ``data`` into a Post (pure)."""
    native_id = str(tweet["id"])
    author_id = str(tweet.get("author_id") or "")
    refs = {ref.get("type"): str(ref.get("id")) for ref in tweet.get("referenced_tweets") or []}
    in_reply_to_user_id = tweet.get("in_reply_to_user_id")
    if "retweeted" in refs:
        kind = "repost"
    elif "replied_to" in refs:
        kind = "thread" if in_reply_to_user_id and str(in_reply_to_user_id) == author_id else "reply"
    elif "quoted" in refs:
        kind = "quote"
    else:
        kind = "original"
    # Posts over 280 characters arrive truncated in `text`, whole in `note_tweet.text`.
    note = tweet.get("note_tweet") or {}
    text = unescape_x_text(note.get("text") or tweet.get("text") or "")
    metrics = tweet.get("public_metrics") or {}
    username = (users.get(author_id) or {}).get("username")
    url = f"https://x.com/{username or 'i'}/status/{native_id}"
    conversation_id = tweet.get("conversation_id")
    return Post(
        platform="x",
        native_id=native_id,
        created_at=_iso(tweet["created_at"]),
        text=text,
        kind=kind,
        in_reply_to_id=f"x:{refs['replied_to']}" if "replied_to" in refs else None,
        in_reply_to_user_id=str(in_reply_to_user_id) if in_reply_to_user_id else None,
        quoted_id=f"x:{refs['quoted']}" if "quoted" in refs else None,
        reposted_id=f"x:{refs['retweeted']}" if "retweeted" in refs else None,
        conversation_id=f"x:{conversation_id}" if conversation_id else None,
        url=url,
        lang=tweet.get("lang"),
        like_count=_metric(metrics, "like_count"),
        reply_count=_metric(metrics, "reply_count"),
        repost_count=_metric(metrics, "retweet_count"),
        quote_count=_metric(metrics, "quote_count"),
        raw=dict(tweet),
    )


def normalize_context(tweet: Mapping[str, Any], users: Mapping[str, Mapping[str, Any]]) -> ContextPost:
    """Turn one tweet from ``includes.tweets`` into a ContextPost (pure)."""
    native_id = str(tweet["id"])
    author_id = str(tweet.get("author_id") or "") or None
    author = users.get(author_id or "") or {}
    note = tweet.get("note_tweet") or {}
    text = note.get("text") or tweet.get("text")
    username = author.get("username")
    conversation_id = tweet.get("conversation_id")
    return ContextPost(
        platform="x",
        native_id=native_id,
        author_user_id=author_id,
        author_handle=username,
        author_name=author.get("name"),
        created_at=_iso(tweet["created_at"]) if tweet.get("created_at") else None,
        text=unescape_x_text(text) if text is not None else None,
        lang=tweet.get("lang"),
        in_reply_to_user_id=str(tweet["in_reply_to_user_id"]) if tweet.get("in_reply_to_user_id") else None,
        conversation_id=f"x:{conversation_id}" if conversation_id else None,
        url=f"https://x.com/{username or 'i'}/status/{native_id}",
        raw=dict(tweet),
    )


def normalize_page(body: Mapping[str, Any], leader_user_id: str) -> tuple[list[Post], list[ContextPost]]:
    """Split one timeline page into the leader's posts and the others' context posts (pure)."""
    includes = body.get("includes") or {}
    users = {str(user["id"]): user for user in includes.get("users") or []}
    posts = [normalize_tweet(tweet, users) for tweet in body.get("data") or []]
    context = [
        normalize_context(tweet, users)
        for tweet in includes.get("tweets") or []
        # A leader's own earlier posts belong in `posts`, never in the context table.
        if str(tweet.get("author_id")) != leader_user_id
    ]
    return posts, context


def normalize_mentions_page(body: Mapping[str, Any], leader_user_id: str) -> tuple[list[ContextPost], tuple[str, ...]]:
    """Split one mentions page into context posts and the ids of those that mention the leader (pure).

    A mention is someone else's post, so it is a context post, never the leader's. The
    posts it replies to or quotes come along in ``includes.tweets`` (billed too) and are kept
    as context as well, except the leader's own, which the timeline stores in ``posts``.
    """
    includes = body.get("includes") or {}
    users = {str(user["id"]): user for user in includes.get("users") or []}
    mentions = [normalize_context(tweet, users) for tweet in body.get("data") or []
                if str(tweet.get("author_id")) != leader_user_id]
    context = {post.id: post for post in mentions}
    for tweet in includes.get("tweets") or []:
        if str(tweet.get("author_id")) != leader_user_id and f"x:{tweet['id']}" not in context:
            post = normalize_context(tweet, users)
            context[post.id] = post
    return list(context.values()), tuple(post.id for post in mentions)


def _check_object(body: Any) -> None:
    """Raise ValueError when a 200 body is not a JSON object (a malformed answer)."""
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")


def _check_page_shape(body: Any) -> None:
    """Raise ValueError when a 200 body is not a timeline page (a malformed answer)."""
    _check_object(body)
    if not isinstance(body.get("data", []), list) or not isinstance(body.get("meta", {}), dict):
        raise ValueError("`data` is not a list or `meta` is not an object")
    if not isinstance(body.get("includes", {}), dict):
        raise ValueError("`includes` is not an object")
    for tweet in body.get("data", []):
        if not isinstance(tweet, dict) or "id" not in tweet or "created_at" not in tweet:
            raise ValueError("a post has no `id` or `created_at`")


class XSource:
    """Collect one X account at a time; counts every request it sends."""

    platform = "x"

    def __init__(self, settings: XSettings, bearer_token: str, *, backfill_days: int = 90,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.settings = settings
        # Its reads_remaining is the [budget] x_monthly_post_reads_cap check, asked before
        # every timeline page (tracker.collect.budget.budget_remaining_reader).
        self.store_view: StoreView | None = None
        self.backfill_days = backfill_days
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self.unreachable_in_a_row = 0  # across accounts: see unreachable_limit
        self.client = tweepy.Client(bearer_token=bearer_token, return_type=dict, wait_on_rate_limit=False)
        self.client.session.mount(TWEEPY_HOST + "/", _Redirect(settings.api_base_url, settings.timeout))

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str], **options: Any) -> XSource:
        token = env.get(TOKEN_ENV_VAR, "").strip()
        if not token:
            raise ConfigError(
                f"{TOKEN_ENV_VAR} is not set: export the bearer token of your X developer app "
                "(see Authentication in the README)"
            )
        problem = secret_problem(token)
        if problem is not None:
            raise ConfigError(f"{TOKEN_ENV_VAR} is not a usable bearer token: {problem} (its value is not shown); "
                              "export it again as one line without spaces")
        return cls(config.x, token, backfill_days=config.backfill_days, **options)

    # --- requests ------------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], check: Callable[[Any], None] = _check_object,
              **params: Any) -> dict[str, Any]:
        """One API call with bounded retries; raises the project's SourceErrors.

        ``check`` raises ValueError for a body of the wrong shape, which is retried like
        a 5xx: proxies and overloaded servers sometimes cut answers short.
        """
        retries = 0
        rate_waits = 0
        while True:
            self.requests += 1
            try:
                try:
                    body = method(**params)
                except (requests.Timeout, requests.ConnectionError):
                    raise
                except Exception:
                    self.unreachable_in_a_row = 0  # the server answered, however badly
                    raise
                self.unreachable_in_a_row = 0
                check(body)
                return body
            except tweepy.TooManyRequests as error:
                reset_at = error.reset_time
                wait = (reset_at - self.clock() + 1) if reset_at else self.settings.retry_backoff
                if wait > self.settings.max_rate_limit_wait or rate_waits >= MAX_RATE_LIMIT_WAITS:
                    raise RateLimitedError(
                        "X rate limit reached; the reset is "
                        + (f"{wait:.0f} s away" if reset_at else "unknown")
                        + f" (max_rate_limit_wait is {self.settings.max_rate_limit_wait:g} s)",
                        reset_at=reset_at, platform="x",
                    ) from None
                rate_waits += 1
                log.warning("X rate limit reached: waiting %.0f s for the reset", wait)
                self.sleep(max(wait, 0.0))
            except (tweepy.Unauthorized, tweepy.Forbidden) as error:
                status = error.response.status_code if error.response is not None else None
                raise AuthError(
                    f"X rejected the credentials (HTTP {status}: {_api_error_text(error)}): check that "
                    f"{TOKEN_ENV_VAR} holds a valid bearer token of an app with access to the X API v2",
                    platform="x", status=status,
                ) from None
            except tweepy.TwitterServerError as error:
                status = error.response.status_code if error.response is not None else None
                retries = self._backoff(retries, f"X server error (HTTP {status})")
            except (requests.Timeout, requests.ConnectionError) as error:
                self.unreachable_in_a_row += 1
                problem = f"X request failed ({type(error).__name__})"
                if self.unreachable_in_a_row >= unreachable_limit(self.settings.max_retries):
                    raise PlatformUnreachableError(
                        f"X API unreachable: {self.unreachable_in_a_row} requests in a row failed to connect or "
                        f"timed out (last: {type(error).__name__}); X is skipped for the rest of this run, what "
                        f"was saved is kept (check [sources.x] api_base_url and the network)", platform="x") from None
                retries = self._backoff(retries, problem)
            except ValueError as error:  # requests.JSONDecodeError is a ValueError too
                retries = self._backoff(retries, f"X sent a malformed answer ({error})")
            except tweepy.HTTPException as error:
                status = error.response.status_code if error.response is not None else None
                raise SourceError(f"X rejected the request (HTTP {status}: {_api_error_text(error)})",
                                  platform="x", status=status) from None

    def _backoff(self, retries: int, problem: str) -> int:
        if retries >= self.settings.max_retries:
            raise TransientError(f"{problem}; gave up after {retries + 1} attempts", platform="x")
        delay = self.settings.retry_backoff * (2 ** retries)
        log.warning("%s; retrying in %.1f s", problem, delay)
        self.sleep(delay)
        return retries + 1

    def _page_size(self) -> int:
        """max_results for the next page: 100, or what the read budget still allows."""
        if self.store_view is None or self.store_view.reads_remaining is None:
            return PAGE_SIZE
        remaining = self.store_view.reads_remaining()
        size = min(PAGE_SIZE, remaining // MAX_READS_PER_POST)
        if size < MIN_PAGE_SIZE:
            raise BudgetExceededError(
                f"the X read budget is spent: {max(remaining, 0)} post read(s) left under "
                "[budget] x_monthly_post_reads_cap this month; collection stopped before the next page "
                "(what was read is saved and resumes next month or when the cap is raised)",
                platform="x",
            )
        return size

    # --- the Source protocol ---------------------------------------------------------------

    def resolve(self, handle: str) -> Identity:
        body = self._call(self.client.get_user, username=handle, user_fields=USER_FIELDS)
        user = body.get("data")
        if not isinstance(user, dict) or "id" not in user:
            problem = classify_user_errors(body.get("errors") or [])
            reason, detail = problem or ("not_found", f"no user @{handle}")
            raise AccountUnavailableError(f"@{handle}: {detail}", reason=reason, platform="x")
        return Identity(str(user["id"]), str(user.get("username") or handle), user.get("name"),
                        bool(user.get("protected")))

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Walk ``GET /2/users/:id/tweets`` newest first, from ``since_id`` or the backfill window,
        then, when ``[sources.x] mentions`` is on, ``GET /2/users/:id/mentions`` the same way.

        The cursor keeps an unfinished walk (its newest id and next pagination token), so a
        killed run resumes on the next page instead of reading the saved pages again. The
        mentions walk keeps its own cursor in the ``mentions`` sub-object.
        """
        cursor = cursor or {}
        mentions_cursor = cursor.get("mentions")
        timeline_cursor = {key: value for key, value in cursor.items() if key != "mentions"}

        def with_mentions(timeline: dict[str, Any], mentions: dict[str, Any] | None) -> dict[str, Any]:
            return {**timeline, "mentions": mentions} if mentions is not None else timeline

        for body, next_cursor, history in self._walk(self.client.get_users_tweets, identity, timeline_cursor,
                                                     self._page_size):
            try:
                posts, context = normalize_page(body, identity.user_id)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"X sent a post that cannot be read: {error!r}", platform="x") from None
            timeline_cursor = next_cursor
            yield Page(posts, context, with_mentions(next_cursor, mentions_cursor), _posts_read(body),
                       history=history)
        if self.settings.mentions:
            yield from self._fetch_mentions(identity, timeline_cursor, mentions_cursor)

    def _fetch_mentions(self, identity: Identity, timeline_cursor: dict[str, Any],
                        mentions_cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Walk ``GET /2/users/:id/mentions`` until ``mentions_max_reads_per_run`` would be passed.

        Pages are sized like the budget check (MAX_READS_PER_POST reads per post at worst),
        so the cap is never passed; the unread rest stays in the cursor for the next run.
        """
        cap = self.settings.mentions_max_reads_per_run
        read = 0

        def page_size() -> int | None:
            size = min(PAGE_SIZE, (cap - read) // MAX_READS_PER_POST)
            if size < MIN_PAGE_SIZE:
                log.info("@%s: %d of %d mention reads used this run; the rest follows next run",
                         identity.handle, read, cap)
                return None
            return min(size, self._page_size())

        state = dict(mentions_cursor or {})
        # Where the first mentions walk began (None: all the API serves): months before it
        # have no mentions data, so their mention metrics are null, not 0 (tracker.mentions).
        start_from = state.pop("from", None) if mentions_cursor is not None else self._backfill_start()
        for body, next_cursor, _ in self._walk(self.client.get_users_mentions, identity, state, page_size):
            try:
                context, mention_ids = normalize_mentions_page(body, identity.user_id)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"X sent a mention that cannot be read: {error!r}", platform="x") from None
            read += _posts_read(body)
            yield Page([], context, {**timeline_cursor, "mentions": {**next_cursor, "from": start_from}},
                       _posts_read(body), mention_ids)

    def _backfill_start(self) -> str | None:
        if self.backfill_days <= 0:
            return None
        return utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc) - timedelta(days=self.backfill_days))

    def _history_end(self, walked: int, oldest: str | None, start_time: str | None) -> HistoryEnd:
        """What a finished walk back through the history can vouch for (see HistoryEnd)."""
        if walked >= TIMELINE_LIMIT and oldest:
            return HistoryEnd(oldest, "x_limit")
        if start_time:
            return HistoryEnd(start_time, "backfill")
        if oldest:
            return HistoryEnd(oldest, "first_post")
        return HistoryEnd(utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc)), "no_posts")

    def _walk(self, method: Callable[..., Any], identity: Identity, cursor: dict[str, Any],
              page_size: Callable[[], int | None]
              ) -> Iterator[tuple[dict[str, Any], dict[str, Any], HistoryEnd | None]]:
        """Walk one user timeline newest first; yield each page's body, the cursor after it and,
        on the last page of a walk back through the history (no ``since_id``), its HistoryEnd.

        ``page_size`` gives max_results for the next page, or None to stop before it. The
        walk's post count and oldest post travel in the cursor, so a resumed walk still knows
        whether X's 3,200-post limit ended it.
        """
        since_id = cursor.get("since_id")
        walk = cursor.get("walk") or {}
        walked = int(walk.get("posts") or 0)
        oldest: str | None = walk.get("oldest")
        start_time = walk.get("start_time")
        if not walk and since_id is None:
            start_time = self._backfill_start()
        newest_id = walk.get("newest_id")
        token = walk.get("token")
        while True:
            size = page_size()
            if size is None:
                return
            params: dict[str, Any] = {
                "id": identity.user_id, "max_results": size, "tweet_fields": TWEET_FIELDS,
                "expansions": EXPANSIONS, "user_fields": USER_FIELDS,
            }
            if since_id:
                params["since_id"] = since_id
            if start_time:
                params["start_time"] = start_time
            if token:
                params["pagination_token"] = token
            try:
                body = self._call(method, _check_page_shape, **params)
            except SourceError as error:
                if error.status == 400 and token and token == walk.get("token"):
                    # A stored pagination token can expire between runs: restart the walk
                    # from since_id. Saved posts are upserted again, nothing is skipped.
                    log.warning("X refused the saved pagination token; restarting from since_id")
                    walk, token, newest_id, walked, oldest = {}, None, None, 0, None
                    continue
                raise
            if "data" not in body:
                problem = classify_user_errors(body.get("errors") or [])
                if problem:
                    reason, detail = problem
                    raise AccountUnavailableError(f"@{identity.handle}: {detail}", reason=reason, platform="x")
            meta = body.get("meta") or {}
            newest_id = newest_id or meta.get("newest_id")
            token = meta.get("next_token")
            walked, oldest = _count_walk(body, walked, oldest)
            if token:
                next_cursor = {"since_id": since_id,
                               "walk": {"newest_id": newest_id, "token": token, "start_time": start_time,
                                        "posts": walked, "oldest": oldest}}
            else:
                next_cursor = {"since_id": newest_id or since_id}
            history = self._history_end(walked, oldest, start_time) if since_id is None and not token else None
            yield body, next_cursor, history
            if not token:
                return


def _count_walk(body: Mapping[str, Any], walked: int, oldest: str | None) -> tuple[int, str | None]:
    """The walk's post count and oldest post time after one more page."""
    data = body.get("data") or []
    for tweet in data:
        try:
            created = _iso(tweet["created_at"])
        except (KeyError, TypeError, ValueError):
            continue  # normalize_page reports the unreadable post
        oldest = created if oldest is None or created < oldest else oldest
    return walked + len(data), oldest


def _posts_read(body: Mapping[str, Any]) -> int:
    """Billed post reads of one page: its posts and the referenced posts in ``includes``."""
    includes = body.get("includes") or {}
    return len(body.get("data") or []) + len(includes.get("tweets") or [])

"""X (Twitter) API v2 through ``tweepy.Client``.

Cost model (X bills every post read, https://docs.x.com/x-api/getting-started/pricing):
a run with nothing new is one timeline request per account; k new posts cost ceil(k/100)
requests; user ids are looked up once and cached by the caller. With ``[sources.x]
mentions`` on, each account costs one more request (``GET /2/users/:id/mentions``) and at
most ``mentions_max_reads_per_run`` post reads per run.

Answers become posts in ``x_normalize`` (pure); the cursor's shape lives in ``x_cursor``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter

from tracker.collect.sources.base import StoreView
from tracker.collect.sources.retry import Caller, Outcome, RateLimited, Retry
from tracker.collect.sources.x_cursor import Walk, XCursor
from tracker.collect.sources.x_normalize import (
    check_object,
    check_page_shape,
    classify_user_errors,
    count_walk,
    normalize_mentions_page,
    normalize_page,
    posts_read,
)
from tracker.config import Config, XSettings
from tracker.domain import AccountStatus, HistoryEnd, Identity, Page, utc_iso
from tracker.errors import AccountUnavailableError, AuthError, BudgetExceededError, ConfigError, SourceError
from tracker.secrets import secret_problem

# Kept importable from here: the tests and the demo name them by the source.
from tracker.collect.sources.x_normalize import TOKEN_ENV_VAR, normalize_tweet, unescape_x_text  # noqa: F401

log = logging.getLogger(__name__)

# tweepy hard-codes this host in BaseClient.request (no parameter; tweepy PR #1971 is
# still open), so requests are re-addressed by a transport adapter instead of a fork.
TWEEPY_HOST = "https://api.twitter.com"

PAGE_SIZE = 100  # the maximum max_results of GET /2/users/:id/tweets
MIN_PAGE_SIZE = 5  # the minimum max_results X accepts (HTTP 400 below it)
# A page of k posts reads at most 3k posts: each post may bring a replied-to and a quoted
# post along in includes.tweets (expansion referenced_tweets.id). The budget check sizes
# pages by this worst case so that a page can never pass the cap.
MAX_READS_PER_POST = 3
# GET /2/users/:id/tweets serves only a timeline's 3,200 newest posts (docs.x.com, "User
# Posts timeline"): a walk that read that many may have been cut short by X, not by history.
TIMELINE_LIMIT = 3200

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


def classify(error: Exception) -> Outcome:
    """tweepy's and requests' exceptions under the retry policy (see ``retry``)."""
    if isinstance(error, tweepy.TooManyRequests):
        # tweepy reads x-rate-limit-reset (epoch seconds) into reset_time.
        return RateLimited(float(error.reset_time) if error.reset_time else None)
    status = error.response.status_code if isinstance(error, tweepy.HTTPException) and error.response is not None \
        else None
    if isinstance(error, (tweepy.Unauthorized, tweepy.Forbidden)):
        assert isinstance(error, tweepy.HTTPException)
        raise AuthError(
            f"X rejected the credentials (HTTP {status}: {_api_error_text(error)}): check that "
            f"{TOKEN_ENV_VAR} holds a valid bearer token of an app with access to the X API v2",
            platform="x", status=status,
        ) from None
    if isinstance(error, tweepy.TwitterServerError):
        return Retry(f"X server error (HTTP {status})")
    if isinstance(error, (requests.Timeout, requests.ConnectionError)):
        return Retry(f"X request failed ({type(error).__name__})", unreachable=True)
    if isinstance(error, ValueError):  # requests.JSONDecodeError, or a body of the wrong shape
        return Retry(f"X sent a malformed answer ({error})")
    if isinstance(error, tweepy.HTTPException):
        raise SourceError(f"X rejected the request (HTTP {status}: {_api_error_text(error)})",
                          platform="x", status=status) from None
    return None


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
        self.clock = clock
        self.caller = Caller("x", settings, label="X API", sleep=sleep, clock=clock)
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

    @property
    def requests(self) -> int:
        return self.caller.requests

    # --- requests ------------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], check: Callable[[Any], None] = check_object,
              **params: Any) -> dict[str, Any]:
        """One API call under the retry policy; raises the project's SourceErrors.

        ``check`` raises ValueError for a body of the wrong shape, which is retried like
        a 5xx: proxies and overloaded servers sometimes cut answers short.
        """
        def request() -> dict[str, Any]:
            body = method(**params)
            check(body)
            return body

        return self.caller.call(request, classify)

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
            reason, detail = problem or (AccountStatus.NOT_FOUND, f"no user @{handle}")
            raise AccountUnavailableError(f"@{handle}: {detail}", reason=reason, platform="x")
        return Identity(str(user["id"]), str(user.get("username") or handle), user.get("name"),
                        bool(user.get("protected")))

    def fetch_pages(self, identity: Identity, cursor: dict[str, Any] | None) -> Iterator[Page]:
        """Walk ``GET /2/users/:id/tweets`` newest first, from ``since_id`` or the backfill window,
        then, when ``[sources.x] mentions`` is on, ``GET /2/users/:id/mentions`` the same way.

        The cursor keeps an unfinished walk (its newest id and next pagination token), so a
        killed run resumes on the next page instead of reading the saved pages again. The
        mentions walk keeps its own cursor (see ``x_cursor``).
        """
        state = XCursor.load(cursor)
        for body, walk, history in self._walk(self.client.get_users_tweets, identity, Walk.load(state.timeline),
                                              self._page_size):
            try:
                posts, context = normalize_page(body, identity.user_id)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"X sent a post that cannot be read: {error!r}", platform="x") from None
            state = state.with_timeline(walk)
            yield Page(posts, context, state.dump(), posts_read(body), history=history)
        if self.settings.mentions:
            yield from self._fetch_mentions(identity, state)

    def _fetch_mentions(self, identity: Identity, state: XCursor) -> Iterator[Page]:
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

        # Where the first mentions walk began (None: all the API serves): months before it
        # have no mentions data, so their mention metrics are null, not 0.
        start_from = state.mentions_from(self._backfill_start())
        for body, walk, _ in self._walk(self.client.get_users_mentions, identity, state.mentions_walk(), page_size):
            try:
                context, mention_ids = normalize_mentions_page(body, identity.user_id)
            except (KeyError, TypeError, ValueError) as error:
                raise SourceError(f"X sent a mention that cannot be read: {error!r}", platform="x") from None
            read += posts_read(body)
            state = state.with_mentions(walk, start_from)
            yield Page([], context, state.dump(), posts_read(body), mention_ids)

    def _backfill_start(self) -> str | None:
        if self.backfill_days <= 0:
            return None
        return utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc) - timedelta(days=self.backfill_days))

    def _history_end(self, walk: Walk) -> HistoryEnd:
        """What a finished walk back through the history can vouch for (see HistoryEnd)."""
        if walk.posts >= TIMELINE_LIMIT and walk.oldest:
            return HistoryEnd(walk.oldest, "x_limit")
        if walk.start_time:
            return HistoryEnd(walk.start_time, "backfill")
        if walk.oldest:
            return HistoryEnd(walk.oldest, "first_post")
        return HistoryEnd(utc_iso(datetime.fromtimestamp(self.clock(), timezone.utc)), "no_posts")

    def _params(self, identity: Identity, walk: Walk, size: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "id": identity.user_id, "max_results": size, "tweet_fields": TWEET_FIELDS,
            "expansions": EXPANSIONS, "user_fields": USER_FIELDS,
        }
        if walk.since_id:
            params["since_id"] = walk.since_id
        if walk.start_time:
            params["start_time"] = walk.start_time
        if walk.token:
            params["pagination_token"] = walk.token
        return params

    def _walk(self, method: Callable[..., Any], identity: Identity, walk: Walk,
              page_size: Callable[[], int | None]) -> Iterator[tuple[dict[str, Any], Walk, HistoryEnd | None]]:
        """Walk one user timeline newest first; yield each page's body, the walk after it and,
        on the last page of a walk back through the history (no ``since_id``), its HistoryEnd.

        ``page_size`` gives max_results for the next page, or None to stop before it. The
        walk's post count and oldest post travel in the cursor, so a resumed walk still knows
        whether X's 3,200-post limit ended it.
        """
        if not walk.resumed and walk.since_id is None:
            walk = Walk(start_time=self._backfill_start())
        back_through_history = walk.since_id is None
        saved_token = walk.token
        while True:
            size = page_size()
            if size is None:
                return
            try:
                body = self._call(method, check_page_shape, **self._params(identity, walk, size))
            except SourceError as error:
                if error.status != 400 or saved_token is None or walk.token != saved_token:
                    raise
                # A saved pagination token can expire between runs: begin the walk again from
                # since_id. Posts saved already are upserted again, so none is lost or doubled.
                log.warning("X refused the saved pagination token (%s); restarting the walk from %s",
                            error, f"post {walk.since_id}" if walk.since_id else "its start")
                walk, saved_token = walk.restarted(), None
                continue
            if "data" not in body:
                problem = classify_user_errors(body.get("errors") or [])
                if problem:
                    reason, detail = problem
                    raise AccountUnavailableError(f"@{identity.handle}: {detail}", reason=reason, platform="x")
            meta = body.get("meta") or {}
            read, oldest = count_walk(body, walk.oldest)
            walk = walk.after_page(meta.get("newest_id"), meta.get("next_token"), read, oldest)
            yield body, walk, self._history_end(walk) if back_through_history and not walk.token else None
            if not walk.token:
                return

"""The one retry policy of every source (X, Bluesky, Mastodon, blog).

Each source tells its client library's exceptions apart in a ``classify`` function that
returns ``Retry`` (5xx, timeout, malformed body: back off and try again), ``RateLimited``
(wait for the reset the platform announced, if it is near enough) or raises the project's
own error. The policy counts, for every source alike:

- attempts: one request plus at most ``max_retries`` retries, ``retry_backoff * 2**n``
  seconds apart, then ``TransientError`` ("gave up after N attempts");
- rate-limit waits: at most ``MAX_RATE_LIMIT_WAITS`` per call, each as long as the reset
  is away plus one second and never longer than ``max_rate_limit_wait``, else
  ``RateLimitedError`` (what was read is kept, the rest follows next run); a wait does not
  use up a retry;
- platform unreachable: connection failures and timeouts in a row, across accounts (any
  answer from the server resets the count); at ``unreachable_limit`` the source raises
  ``PlatformUnreachableError`` and the run skips the platform.

Waiting goes through an injected ``sleep`` and reading the time through ``clock``, so tests
never really sleep. A hand-written policy rather than tenacity or urllib3's ``Retry``:
urllib3 does not reach the Bluesky client (httpx), and the counting above (a rate-limit
budget apart from the retry budget, a bounded wait on the platform's own reset, a count
that spans calls and accounts) would be callbacks around tenacity of about this size.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tracker.errors import PlatformUnreachableError, RateLimitedError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_RATE_LIMIT_WAITS = 3  # rate-limit waits within one call before giving the account up for this run


def unreachable_limit(max_retries: int) -> int:
    """Connection failures or timeouts in a row (counted across accounts) that stop a
    platform for the run: one account's every attempt, plus the next account's first."""
    return max_retries + 2


class RetrySettings(Protocol):
    @property
    def max_retries(self) -> int: ...

    @property
    def retry_backoff(self) -> float: ...

    @property
    def max_rate_limit_wait(self) -> float: ...


@dataclass(frozen=True)
class Retry:
    problem: str
    # A connection failure or timeout (not an answer): counted towards stopping the platform.
    # Only sources with one API host say so; Mastodon servers and blogs are one per account,
    # so one of them being down is that account's failure, not the platform's.
    unreachable: bool = False


@dataclass(frozen=True)
class RateLimited:
    reset_at: float | None  # epoch seconds, when the server said


Outcome = Retry | RateLimited | None


class Caller:
    """Call a client-library function under the retry policy; counts every request sent.

    ``platform`` is the source's key (``x``, ``bluesky``...), ``label`` how messages name
    the platform (``X API``, ``Bluesky``...).
    """

    def __init__(self, platform: str, settings: RetrySettings, *, label: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.platform = platform
        self.label = label or platform
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self.unreachable_in_a_row = 0  # across calls and accounts: see unreachable_limit

    def call(self, function: Callable[[], T], classify: Callable[[Exception], Outcome]) -> T:
        """Run ``function`` (one HTTP request) until it succeeds or the policy gives up.

        ``classify`` returns None for an exception it does not know: that one propagates.
        """
        retries = 0
        rate_waits = 0
        while True:
            self.requests += 1
            try:
                result = function()
            except Exception as error:
                outcome = self._classify(error, classify)
                if outcome is None:
                    raise
            else:
                self.unreachable_in_a_row = 0
                return result
            if isinstance(outcome, RateLimited):
                rate_waits += 1
                self.wait_for_reset(outcome.reset_at, rate_waits)
            else:
                if outcome.unreachable:
                    self._count_unreachable(outcome.problem)
                retries = self.backoff(retries, outcome.problem)

    def _classify(self, error: Exception, classify: Callable[[Exception], Outcome]) -> Outcome:
        answered = True  # the server answered (however badly), unless classify says otherwise
        try:
            outcome = classify(error)
            answered = not (isinstance(outcome, Retry) and outcome.unreachable)
            return outcome
        finally:
            if answered:
                self.unreachable_in_a_row = 0

    def _count_unreachable(self, problem: str) -> None:
        self.unreachable_in_a_row += 1
        if self.unreachable_in_a_row >= unreachable_limit(self.settings.max_retries):
            raise PlatformUnreachableError(
                f"{self.label} unreachable: {self.unreachable_in_a_row} requests in a row failed to connect or "
                f"timed out (last: {problem}); {self.platform_name} is skipped for the rest of this run, what "
                f"was saved is kept (check [sources.{self.platform}] api_base_url and the network)",
                platform=self.platform) from None

    @property
    def platform_name(self) -> str:
        return self.label.split()[0]

    def wait_for_reset(self, reset_at: float | None, rate_waits: int = 1) -> None:
        """Sleep until ``reset_at`` (epoch seconds) plus a second, or raise RateLimitedError
        when that is beyond ``max_rate_limit_wait`` or this call has waited too often."""
        wait = (reset_at - self.clock() + 1) if reset_at else self.settings.retry_backoff
        limit = self.settings.max_rate_limit_wait
        if wait > limit or rate_waits > MAX_RATE_LIMIT_WAITS:
            raise RateLimitedError(
                f"{self.platform_name} rate limit reached; the reset is "
                + (f"{wait:.0f} s away" if reset_at else "unknown")
                + f" (max_rate_limit_wait is {limit:g} s)"
                + ("" if wait > limit else f"; {rate_waits - 1} waits in a row already"),
                reset_at=reset_at, platform=self.platform,
            ) from None
        log.warning("%s rate limit reached: waiting %.0f s for the reset", self.platform_name, wait)
        self.sleep(max(wait, 0.0))

    def backoff(self, retries: int, problem: str) -> int:
        """Sleep before retry number ``retries + 1``, or raise TransientError when none is left."""
        if retries >= self.settings.max_retries:
            raise TransientError(f"{problem}; gave up after {retries + 1} attempts", platform=self.platform) from None
        delay = self.settings.retry_backoff * (2 ** retries)
        log.warning("%s; retrying in %.1f s", problem, delay)
        self.sleep(delay)
        return retries + 1

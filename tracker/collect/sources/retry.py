"""Bounded retries shared by the Bluesky, Mastodon and blog sources (the X source has its own).

Each source tells its client library's exceptions apart in a ``classify`` function that
returns ``Retry`` (5xx, timeout, malformed body: back off and try again), ``RateLimited``
(wait for the reset if it is near enough) or raises the project's own error. Waiting goes
through an injected ``sleep`` so tests never really sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from tracker.errors import PlatformUnreachableError, RateLimitedError, TransientError
from tracker.collect.sources.base import unreachable_limit

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_RATE_LIMIT_WAITS = 3  # 429s in a row before giving the account up for this run


class RetrySettings(Protocol):
    @property
    def max_retries(self) -> int: ...

    @property
    def retry_backoff(self) -> float: ...


@dataclass(frozen=True)
class Retry:
    problem: str
    # A connection failure or timeout (not an answer): counted towards stopping the platform.
    unreachable: bool = False


@dataclass(frozen=True)
class RateLimited:
    reset_at: float | None  # epoch seconds, when the server said


class Caller:
    """Call a client-library function with bounded retries; counts every request sent."""

    def __init__(self, platform: str, settings: RetrySettings, *, max_rate_limit_wait: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self.platform = platform
        self.settings = settings
        self.max_rate_limit_wait = max_rate_limit_wait
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self.unreachable_in_a_row = 0  # across accounts: see unreachable_limit

    def call(self, function: Callable[[], T], classify: Callable[[Exception], Retry | RateLimited | None]) -> T:
        """Run ``function`` (one HTTP request) until it succeeds or the retries run out.

        ``classify`` returns None for an exception it does not know: that one propagates.
        """
        retries = 0
        rate_waits = 0
        while True:
            self.requests += 1
            try:
                result = function()
                self.unreachable_in_a_row = 0
                return result
            except Exception as error:
                outcome = classify(error)
                if not (isinstance(outcome, Retry) and outcome.unreachable):
                    self.unreachable_in_a_row = 0
                if outcome is None:
                    raise
            if isinstance(outcome, Retry) and outcome.unreachable:
                self.unreachable_in_a_row += 1
                if self.unreachable_in_a_row >= unreachable_limit(self.settings.max_retries):
                    raise PlatformUnreachableError(
                        f"{self.platform} unreachable: {self.unreachable_in_a_row} requests in a row failed to "
                        f"connect or timed out (last: {outcome.problem}); {self.platform} is skipped for the rest "
                        "of this run, what was saved is kept", platform=self.platform.lower())
            if isinstance(outcome, RateLimited):
                rate_waits += 1
                self.wait_for_reset(outcome.reset_at, rate_waits)
            else:
                retries = self.backoff(retries, outcome.problem)

    def wait_for_reset(self, reset_at: float | None, rate_waits: int) -> None:
        wait = (reset_at - self.clock() + 1) if reset_at else self.settings.retry_backoff
        if wait > self.max_rate_limit_wait or rate_waits > MAX_RATE_LIMIT_WAITS:
            raise RateLimitedError(
                f"{self.platform} rate limit reached; the reset is "
                + (f"{wait:.0f} s away" if reset_at else "unknown")
                + f" (max_rate_limit_wait is {self.max_rate_limit_wait:g} s)",
                reset_at=reset_at, platform=self.platform,
            )
        log.warning("%s rate limit reached: waiting %.0f s for the reset", self.platform, wait)
        self.sleep(max(wait, 0.0))

    def backoff(self, retries: int, problem: str) -> int:
        if retries >= self.settings.max_retries:
            raise TransientError(f"{problem}; gave up after {retries + 1} attempts", platform=self.platform)
        delay = self.settings.retry_backoff * (2 ** retries)
        log.warning("%s; retrying in %.1f s", problem, delay)
        self.sleep(delay)
        return retries + 1

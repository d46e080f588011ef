"""The X read budget: estimate a month's billed reads and stop collecting at the cap.

X bills pay-per-use per resource returned: $0.005 per post read and $0.010 per user read,
with a monthly cap on post reads (docs.x.com/x-api/getting-started/pricing,
x-api/fundamentals/post-cap). A request that returns no posts
costs nothing per post, so an hourly run with nothing new is free in reads.

The estimate (``estimate_budget``), per X account, from the last 30 days in the database:

- ``n`` posts created in the window, ``r`` of them replies, quotes or reposts;
- post reads = (n + r) / 30 x days in the month: each post is read once, and a post that
  references another brings that post along in ``includes.tweets``;
- user reads = (active days + r) / 30 x days in the month, plus one lookup per account not
  yet resolved: every non-empty page returns the leader's user object (charged once per
  UTC day) and the referenced post's author (counted every time: an upper bound);
- requests >= runs in the month x accounts (one timeline request per account per run).

Actual reads are ``runs.posts_read`` of platform x since the start of the UTC month.
"""

from __future__ import annotations

import calendar
import zoneinfo
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlite_utils import Database

from tracker.config import BudgetSettings, Config
from tracker.crontab import parse_crontab
from tracker.domain import utc_iso
from tracker.store import queries
from tracker.months import utc_month_start

WINDOW_DAYS = 30
PLATFORM = "x"
MAX_COUNTED_RUNS = 50_000  # beyond this (a seconds-level test schedule) runs are extrapolated


def runs_in_month(expression: str, tz_name: str, now: datetime) -> int:
    """How many times the collect expression fires in the UTC calendar month of ``now``."""
    start = utc_month_start(now)
    days = calendar.monthrange(start.year, start.month)[1]
    end = start + timedelta(days=days)
    trigger = parse_crontab(expression, zoneinfo.ZoneInfo(tz_name))
    count, previous = 0, None
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        count += 1
        if count >= MAX_COUNTED_RUNS:
            return int(count * (end - start) / (fire - start + timedelta(microseconds=1)))
        previous = fire
        fire = trigger.get_next_fire_time(previous, previous + timedelta(microseconds=1))
    return count


@dataclass(frozen=True)
class AccountEstimate:
    account_id: str
    posts_30d: int
    referencing_30d: int
    active_days_30d: int
    resolved: bool
    post_reads: float
    user_reads: float


@dataclass(frozen=True)
class BudgetEstimate:
    month: str
    days_in_month: int
    accounts: int
    runs: int
    min_requests: int
    post_reads: float
    user_reads: float
    cost: float
    cap: int  # 0: none
    actual_post_reads: int
    actual_requests: int
    actual_cost: float
    per_account: list[AccountEstimate] = field(default_factory=list)

    @property
    def remaining(self) -> int | None:
        return None if self.cap == 0 else max(self.cap - self.actual_post_reads, 0)

    @property
    def over_cap(self) -> bool:
        return self.cap > 0 and self.post_reads > self.cap

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["remaining"] = self.remaining
        data["over_cap"] = self.over_cap
        return data


def actual_reads(db: Database, now: datetime) -> tuple[int, int]:
    """(post reads, requests) of X runs started this UTC month."""
    return queries.select_run_totals_since(db, PLATFORM, utc_iso(utc_month_start(now)))


def estimate_budget(config: Config, db: Database | None, now: datetime | None = None) -> BudgetEstimate:
    """This month's X reads and cost from the config, the schedule and the stored history."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    start = utc_month_start(now)
    days = calendar.monthrange(start.year, start.month)[1]
    window_start = utc_iso(now - timedelta(days=WINDOW_DAYS))
    window_end = utc_iso(now)
    accounts = [(leader.id, f"{leader.id}:{PLATFORM}") for leader in config.tracked if PLATFORM in leader.accounts]
    runs = runs_in_month(config.schedule.collect, config.schedule.timezone, now)
    per_account: list[AccountEstimate] = []
    for _leader_id, account_id in accounts:
        n = r = active = 0
        resolved = False
        if db is not None:
            n, r, active = queries.select_account_activity(db, account_id, window_start, window_end)
            resolved = queries.account_resolved(db, account_id)
        scale = days / WINDOW_DAYS
        per_account.append(AccountEstimate(
            account_id, n, r, active, resolved,
            post_reads=(n + r) * scale,
            user_reads=(active + r) * scale + (0 if resolved else 1),
        ))
    post_reads = sum(a.post_reads for a in per_account)
    user_reads = sum(a.user_reads for a in per_account)
    prices = config.budget
    actual_posts, actual_requests = actual_reads(db, now) if db is not None else (0, 0)
    return BudgetEstimate(
        month=start.strftime("%Y-%m"), days_in_month=days, accounts=len(accounts), runs=runs,
        min_requests=runs * len(accounts), post_reads=post_reads, user_reads=user_reads,
        cost=post_reads * prices.x_price_per_post_read + user_reads * prices.x_price_per_user_read,
        cap=prices.x_monthly_post_reads_cap, actual_post_reads=actual_posts, actual_requests=actual_requests,
        actual_cost=actual_posts * prices.x_price_per_post_read, per_account=per_account,
    )


def budget_remaining_reader(config: Config, db: Database,
                            clock: Callable[[], datetime] | None = None) -> Callable[[], int] | None:
    """A callable the X source consults before each page: post reads left under the cap.

    It reads ``runs.posts_read``, which ``store.save_page`` updates in the same transaction
    as each page, so it counts the pages of the run in progress too. None when no cap.
    """
    cap = config.budget.x_monthly_post_reads_cap
    if cap == 0:
        return None

    def remaining() -> int:
        now = clock() if clock is not None else datetime.now(timezone.utc)
        return cap - actual_reads(db, now)[0]

    return remaining


def estimate_configured_budget(config: Config, now: datetime | None = None) -> BudgetEstimate:
    """``estimate_budget`` on the configured database, read-only; with no database yet, every
    account counts as new (an estimate needs no history)."""
    from tracker.errors import NoDatabaseError
    from tracker.store import open_db

    try:
        db = open_db(config.database, create=False, read_only_ok=True)
    except NoDatabaseError:
        return estimate_budget(config, None, now)
    try:
        return estimate_budget(config, db, now)
    finally:
        db.close()


def format_budget(estimate: BudgetEstimate, prices: BudgetSettings) -> str:
    """The estimate as text: reads times prices, the actual reads so far, and the cap."""
    lines = [
        f"X read budget for {estimate.month} ({estimate.days_in_month} days)",
        f"  accounts: {estimate.accounts}; collect runs: {estimate.runs}; requests at least: {estimate.min_requests}",
        f"  estimated post reads: {estimate.post_reads:,.0f} x ${prices.x_price_per_post_read:g} = "
        f"${estimate.post_reads * prices.x_price_per_post_read:,.2f}",
        f"  estimated user reads: {estimate.user_reads:,.0f} x ${prices.x_price_per_user_read:g} = "
        f"${estimate.user_reads * prices.x_price_per_user_read:,.2f}",
        f"  estimated cost: ${estimate.cost:,.2f}",
        f"  actual so far: {estimate.actual_post_reads:,} post reads (${estimate.actual_cost:,.2f}) "
        f"in {estimate.actual_requests:,} requests",
    ]
    if estimate.cap:
        lines.append(f"  cap: {estimate.cap:,} post reads; {estimate.remaining:,} left"
                     + ("; WARNING: the estimate exceeds the cap, collection will stop at it"
                        if estimate.over_cap else ""))
    else:
        lines.append("  cap: none set ([budget] x_monthly_post_reads_cap)")
    return "\n".join(lines)

"""Monthly metrics per leader and platform, and the openness index (docs/methodology.md).

Counting happens in SQLite (one scan of the month's posts, materialised once, grouped per
platform and across platforms); Python only combines a few numbers per leader. The keys of
the returned dicts (``KEYS``) are a public contract: reports and users' scripts read them.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from tracker.config import IMPORT_ONLY_PLATFORMS, Config
from tracker.label.stored import labeller_for
from tracker.collect.linkedin import colleague_counterparts
from tracker.label.model import LABELS
from tracker.errors import ConfigError
from tracker.metrics.mentions import KEYS as MENTION_KEYS
from tracker.metrics.mentions import mention_counts, mention_totals
from tracker.months import check_requested_month, last_complete_month, month_bounds, month_bounds_utc, parse_month  # noqa: F401
from tracker.months import month_start_utc
from tracker.metrics.peers import KEYS as PEER_KEYS
from tracker.metrics.peers import add_peer_positions
from tracker.domain import utc_iso

log = logging.getLogger(__name__)

INDEX_VERSION = "oi-2"
ESTIMATE_KEYS = (
    "answers_est", "answers_est_low", "answers_est_high", "questions_answered_est",
    "debates_est", "debates_est_low", "debates_est_high",
    "progress_est", "progress_est_low", "progress_est_high",
    "not_labelled_language",
)
KEYS = (
    "leader_id", "month", "platform",
    "posts", "originals", "replies", "threads", "quotes", "reposts",
    "answers", "questions_received", "questions_answered",
    "questions_answered_share", "questions_answered_share_low", "questions_answered_share_high",
    "median_response_hours",
    "debates", "unique_critics", "debate_share", "debate_share_low", "debate_share_high",
    "unique_counterparts", "external_replies",
    "external_reply_share", "external_reply_share_low", "external_reply_share_high",
    "progress", "progress_share", "progress_share_low", "progress_share_high",
    "active_weeks", "median_likes", "cross_posts",
    "openness_index", "openness_index_low", "openness_index_high",
    "component_answer", "component_debate", "component_progress", "component_presence",
    "coverage", "low_sample", "classifier_version", "index_version",
    # Questions received as mentions (issue 3, point 5; tracker.metrics.mentions): null when
    # the account's mentions were not collected. Appended: KEYS only ever grows at the end.
    *MENTION_KEYS,
    # The learned labeller: each count estimated as the sum of the posts' calibrated
    # probabilities, with a 95% interval that includes the labelling uncertainty; posts the
    # model cannot read (not English) are counted apart, never as "no behaviour".
    *ESTIMATE_KEYS,
    # The leader's organisation and position against the peer cohort ([[peers]];
    # tracker.metrics.peers): null peer figures when no peer has data for the month and platform.
    *PEER_KEYS,
)
NO_DATA = "no data"  # how tables print coverage "none"
# Null (never 0) when the month was not collected: "no data" is not "no activity".
ACTIVITY_KEYS = KEYS[3:KEYS.index("coverage")] + ESTIMATE_KEYS

# The index: weights and goalposts are fixed and versioned (INDEX_VERSION), not relative to
# the cohort, so a score means the same thing every month. Reasons: docs/methodology.md.
WEIGHTS = {"answer": 0.35, "debate": 0.25, "progress": 0.25, "presence": 0.15}
GOAL_ANSWERS = 8            # substantive answers a month for full volume credit (~2 a week)
GOAL_ANSWERED_SHARE = 0.9   # share of replies to questions that answer them
FAST_HOURS, SLOW_HOURS = 4.0, 72.0  # median time to answer: 4 h = full marks, 72 h = none
GOAL_DEBATES = 4
GOAL_CRITICS = 5
GOAL_PROGRESS_SHARE = 0.5
GOAL_PROGRESS = 8
GOAL_ACTIVE_WEEKS = 4
# A rate is "low sample" below these (JIN's minimum of 10 posts; the research's Q_in >= 5).
MIN_POSTS = 10
MIN_QUESTIONS = 5
CROSS_POST_HOURS = 48
CROSS_POST_KINDS = ("original", "thread", "quote")
Z95 = 1.96



# --- statistics ------------------------------------------------------------------------------

def wilson_interval(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` (Wilson 1927; Newcombe 1998).

    Unlike the normal approximation it stays inside [0, 1] and is not zero-width at 0/n or
    n/n, which matters for leaders with a handful of posts.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= successes <= n:  # fractional successes: an estimated count
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(successes: int, n: int) -> tuple[float | None, float | None, float | None]:
    if not n:
        return None, None, None
    low, high = wilson_interval(successes, n)
    return successes / n, low, high


def _goal(value: float | None, low: float, high: float) -> float:
    """Goalpost scaling, clipped to 0..1 (OECD/JRC min-max with fixed bounds)."""
    if value is None:
        return 0.0
    return min(1.0, max(0.0, (value - low) / (high - low)))


def _speed(hours: float | None) -> float:
    """1 at FAST_HOURS or faster, 0 at SLOW_HOURS or slower, on a log scale in between."""
    if hours is None:
        return 0.0
    hours = max(hours, 1e-6)
    return _goal(math.log(SLOW_HOURS) - math.log(hours), 0.0, math.log(SLOW_HOURS) - math.log(FAST_HOURS))


@dataclass(frozen=True)
class IndexInputs:
    """What the index reads: estimated counts and shares, response time, critics, weeks."""

    answers: float
    answered_share: float | None
    response_hours: float | None
    debates: float
    critics: int
    progress_share: float | None
    progress: float
    active_weeks: int


def openness(inputs: IndexInputs) -> dict[str, float]:
    """The index and its four components (each 0-100).

    Every component rises with each input, so the index at the inputs' lower (upper)
    bounds is a lower (upper) bound of the index: the point always lies inside.
    """
    components = {
        "answer": 0.5 * _goal(inputs.answers, 0, GOAL_ANSWERS)
        + 0.25 * _goal(inputs.answered_share, 0, GOAL_ANSWERED_SHARE) + 0.25 * _speed(inputs.response_hours),
        "debate": 0.7 * _goal(inputs.debates, 0, GOAL_DEBATES) + 0.3 * _goal(inputs.critics, 0, GOAL_CRITICS),
        "progress": 0.7 * _goal(inputs.progress_share, 0, GOAL_PROGRESS_SHARE)
        + 0.3 * _goal(inputs.progress, 0, GOAL_PROGRESS),
        "presence": _goal(inputs.active_weeks, 0, GOAL_ACTIVE_WEEKS),
    }
    out = {f"component_{name}": round(100 * value, 1) for name, value in components.items()}
    out["openness_index"] = round(100 * sum(WEIGHTS[name] * value for name, value in components.items()), 1)
    return out


def estimate_interval(estimate: float, variance: float, relative_error: float) -> tuple[float, float]:
    """95% interval of a count estimated as a sum of probabilities: the Poisson-binomial
    variance of the posts plus the model's relative count error (measured per author)."""
    half = Z95 * math.sqrt(max(0.0, variance) + (relative_error * estimate) ** 2)
    return max(0.0, estimate - half), estimate + half


def _share_bounds(low_count: float, high_count: float, n: int) -> tuple[float | None, float | None]:
    """Wilson bounds of a share whose count is itself uncertain: low at the low count, high at the high."""
    if not n:
        return None, None
    return (wilson_interval(min(low_count, n), n)[0], wilson_interval(min(high_count, n), n)[1])


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


# --- months and time zones -----------------------------------------------------------------

def _local_time_sql(start: datetime, end: datetime, tz: str) -> str:
    """SQL turning ``created_at`` (UTC) into local time within [start, end).

    SQLite knows no time zones, so the month is cut into spans of constant UTC offset
    (a DST change makes two) and each span gets its own shift.
    """
    zone = ZoneInfo(tz)
    spans: list[tuple[str, int]] = []  # (span ends before, offset seconds)
    moment, offset = start, None
    while moment < end:
        current = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if offset is not None and current != offset:
            spans.append((utc_iso(moment), offset))
        offset = current
        moment += timedelta(minutes=15)
    assert offset is not None
    cases = " ".join(f"WHEN p.created_at < '{edge}' THEN datetime(p.created_at, '{shift:+d} seconds')"
                     for edge, shift in spans)
    last = f"datetime(p.created_at, '{offset:+d} seconds')"
    return f"CASE {cases} ELSE {last} END" if cases else last


# --- cross-posting -------------------------------------------------------------------------

_LINKS_AND_MENTIONS = re.compile(r"https?://\S+|\bwww\.\S+|(?<!\w)@[\w.@-]+", re.IGNORECASE)


def normalize_cross_text(text: str | None) -> str:
    """Text as cross-posting tools change it: case, links, @handles and spacing removed (pure)."""
    return " ".join(_LINKS_AND_MENTIONS.sub(" ", text or "").casefold().split())


def find_cross_posts(db: Database, start: datetime, end: datetime,
                     hours: int = CROSS_POST_HOURS) -> dict[str, str]:
    """Later copies of a leader's top-level post on another platform within ``hours``.

    Returns {duplicate post id: id of the first copy} for duplicates created in [start, end).
    Only leaders with accounts on two or more platforms are read, so a single-platform
    organisation costs one small query.
    """
    window_start = utc_iso(start - timedelta(hours=hours))
    kinds = ", ".join(f"'{kind}'" for kind in CROSS_POST_KINDS)
    rows = db.execute(f"""
        SELECT p.id, p.leader_id, p.platform, p.created_at, p.text FROM posts p
        WHERE p.created_at >= :ws AND p.created_at < :end AND p.kind IN ({kinds})
          AND p.leader_id IN (SELECT leader_id FROM accounts GROUP BY leader_id HAVING count(DISTINCT platform) > 1)
        ORDER BY p.leader_id, p.created_at, p.id
    """, {"ws": window_start, "end": utc_iso(end)}).fetchall()
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for post_id, leader_id, platform, created_at, text in rows:
        key = normalize_cross_text(text)
        if key:  # a post that is only a link or a mention is no evidence of a copy
            groups.setdefault((leader_id, key), []).append((post_id, platform, created_at))
    window = timedelta(hours=hours)
    month_start = utc_iso(start)
    duplicates: dict[str, str] = {}
    for copies in groups.values():
        if len({copy[1] for copy in copies}) < 2:
            continue
        anchor_id, anchor_at, platforms = "", datetime.min.replace(tzinfo=timezone.utc), set()
        for post_id, platform, created_at in copies:
            moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
            if moment - anchor_at <= window and platform not in platforms:
                platforms.add(platform)
                if created_at >= month_start:
                    duplicates[post_id] = anchor_id
            else:  # a new post (or the same text posted again on one platform): counts
                anchor_id, anchor_at, platforms = post_id, moment, {platform}
    return duplicates


# --- coverage --------------------------------------------------------------------------------

def account_coverage(db: Database, config: Config, start: datetime, end: datetime) -> dict[str, tuple[str, str, str]]:
    """{account id: (leader id, platform, "full" | "partial" | "none")} for configured accounts.

    An account's stored posts are complete from ``accounts.complete_since`` on: where its
    first walk back through the history stopped (X's 3,200-post limit, ``backfill_days``,
    its first post) or the first post of an imported archive (see ``HistoryEnd``); before
    that is known, from its first successful run.

    none: the month ends before the account is complete, or no successful run ended after
    the month began (never collected, or protected/suspended/not found since). partial:
    the month begins before the account is complete, or no successful run has ended since
    the month ended (a month in progress, or the account became unavailable during it). A
    failed run followed by a successful one loses nothing (the cursor resumes from
    ``since_id``), so it does not make a month partial.

    An import-only account (LinkedIn) has no runs: it is covered from its exports' oldest
    item to the newest export's date (``accounts.covered_from``/``covered_until``, see
    ``export_coverage``).
    """
    rows = db.execute("""
        SELECT a.id, a.leader_id, a.platform, a.complete_since,
            (SELECT min(started_at) FROM runs r WHERE r.account_id = a.id AND r.status = 'ok'),
            (SELECT max(finished_at) FROM runs r WHERE r.account_id = a.id AND r.status = 'ok'),
            a.covered_from, a.covered_until
        FROM accounts a WHERE a.in_config = 1 ORDER BY a.leader_id, a.platform
    """).fetchall()
    start_iso, end_iso = utc_iso(start), utc_iso(end)
    out = {}
    for account, leader_id, platform, complete_since, first_ok, last_ok, covered_from, covered_until in rows:
        if platform in IMPORT_ONLY_PLATFORMS:
            out[account] = (leader_id, platform, export_coverage(covered_from, covered_until, start, end,
                                                                 config.timezone))
            continue
        floor = complete_since or first_ok
        if not last_ok or last_ok <= start_iso or (floor is not None and floor >= end_iso):
            coverage = "none"
        elif (floor is not None and floor > start_iso) or last_ok < end_iso:
            coverage = "partial"
        else:
            coverage = "full"
        out[account] = (leader_id, platform, coverage)
    return out


def export_coverage(covered_from: str | None, covered_until: str | None, start: datetime, end: datetime,
                    tz: str) -> str:
    """A month's coverage on an import-only platform (LinkedIn), from the imported exports' span (pure).

    An export holds the leader's whole history up to its date, so the months from the one of
    its oldest item up to the export's date are covered: "full" when the export's date is at
    or after the month's end, "partial" for the month the export was taken in, and "none"
    for later months (until a newer export arrives) and for months before the oldest item.
    """
    if covered_from is None or covered_until is None:
        return "none"
    first_month = month_start_utc(datetime.fromisoformat(covered_from.replace("Z", "+00:00")), tz)
    if covered_until <= utc_iso(start) or first_month >= utc_iso(end):
        return "none"
    return "partial" if covered_until < utc_iso(end) else "full"


def _combined_coverage(values: Sequence[str]) -> str:
    if all(value == "full" for value in values):
        return "full"
    return "none" if all(value == "none" for value in values) else "partial"


# --- the monthly computation -------------------------------------------------------------

_COUNT_COLUMNS = (
    "posts", "originals", "replies", "threads", "quotes", "reposts", "answers", "questions_received",
    "questions_answered", "debates", "unique_critics", "replies_and_quotes", "unique_counterparts",
    "external_replies", "progress", "active_weeks", "cross_posts",
    "answers_est", "answers_var", "questions_answered_est", "debates_est", "debates_var",
    "progress_est", "progress_var", "not_labelled_language", "questions_answered_var",
)
_AGGREGATES = """
    sum(kind != 'repost'), sum(kind = 'original'), sum(kind = 'reply'), sum(kind = 'thread'),
    sum(kind = 'quote'), sum(kind = 'repost'), sum(answer), sum(question AND ext),
    sum(question AND ext AND answer), sum(debate),
    count(DISTINCT CASE WHEN debate AND ext THEN platform || ':' || cp END),
    sum(kind IN ('reply', 'quote')), count(DISTINCT CASE WHEN ext THEN platform || ':' || cp END),
    sum(kind = 'reply' AND ext), sum(progress AND kind != 'repost'),
    count(DISTINCT CASE WHEN kind != 'repost' THEN strftime('%W', local_ts) END), sum(dup),
    total(pa), total(pa * (1 - pa)), total(CASE WHEN question AND ext THEN pa END),
    total(pd), total(pd * (1 - pd)), total(pp), total(pp * (1 - pp)), total(nl = 'language'),
    total(CASE WHEN question AND ext THEN pa * (1 - pa) END)
"""
# One scan of the month: each post with its labels (a bit mask: one index range per post), counterpart and parent's time.
# `ext`: the counterpart (account replied to or quoted) is outside the organisation.
# `question`: a reply whose parent the classifier labelled a sincere question.
_MONTH_SQL = """
WITH m AS MATERIALIZED (
    SELECT p.leader_id, p.platform, p.kind, p.like_count, p.created_at, {local} AS local_ts,
        (SELECT o.organisation FROM leaders o WHERE o.id = p.leader_id) AS org,
        p.id IN (SELECT value FROM json_each(:dups)) AS dup,
        lp.p_answer AS pa, lp.p_debate AS pd, lp.p_progress AS pp, lp.not_labelled AS nl,
        (SELECT total(CASE l.label WHEN 'answer' THEN 1 WHEN 'debate' THEN 2 WHEN 'progress' THEN 4 END)
            FROM post_labels l WHERE l.post_id = p.id) AS mask,
        p.kind = 'reply' AND EXISTS (SELECT 1 FROM context_labels c
            WHERE c.context_id = p.in_reply_to_id AND c.label = 'question') AS question,
        CASE p.kind WHEN 'reply' THEN p.in_reply_to_user_id
            WHEN 'quote' THEN (SELECT q.author_user_id FROM context_posts q WHERE q.id = p.quoted_id) END AS cp,
        CASE p.kind WHEN 'reply' THEN (SELECT c.created_at FROM context_posts c
            WHERE c.id = p.in_reply_to_id) END AS parent_at
    FROM posts p LEFT JOIN labelled_posts lp ON lp.post_id = p.id
    WHERE p.created_at >= :start AND p.created_at < :end
      AND p.account_id IN (SELECT value FROM json_each(:accounts))
),
n AS MATERIALIZED (
    SELECT leader_id, platform, kind, like_count, created_at, local_ts, dup, question, cp, parent_at,
        pa, pd, pp, nl,
        (CAST(mask AS INTEGER) & 1) > 0 AS answer, (CAST(mask AS INTEGER) & 2) > 0 AS debate,
        (CAST(mask AS INTEGER) & 4) > 0 AS progress,
        cp IS NOT NULL AND coalesce(org, '') || '|' || platform || ':' || cp
            NOT IN (SELECT value FROM json_each(:org)) AS ext
    FROM m
),
agg AS (
    SELECT leader_id, platform AS grp, {aggregates} FROM n GROUP BY leader_id, platform
    UNION ALL
    SELECT leader_id, 'all', {aggregates} FROM n WHERE NOT dup GROUP BY leader_id
),
src AS (
    SELECT leader_id, platform AS grp, 'likes' AS metric, like_count AS v, dup FROM n
        WHERE kind != 'repost' AND like_count IS NOT NULL
    UNION ALL
    SELECT leader_id, platform, 'hours', (julianday(created_at) - julianday(parent_at)) * 24, dup FROM n
        WHERE answer AND question AND ext AND parent_at IS NOT NULL
),
ranked AS (
    SELECT leader_id, grp, metric, v,
        row_number() OVER (PARTITION BY leader_id, grp, metric ORDER BY v) AS rn,
        count(*) OVER (PARTITION BY leader_id, grp, metric) AS cnt
    FROM (SELECT leader_id, grp, metric, v FROM src
          UNION ALL SELECT leader_id, 'all', metric, v FROM src WHERE NOT dup)
),
med AS MATERIALIZED (
    SELECT leader_id, grp, metric, avg(v) AS v FROM ranked WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2)
    GROUP BY leader_id, grp, metric
)
SELECT agg.*,
    (SELECT v FROM med WHERE med.leader_id = agg.leader_id AND med.grp = agg.grp AND metric = 'likes'),
    (SELECT v FROM med WHERE med.leader_id = agg.leader_id AND med.grp = agg.grp AND metric = 'hours')
FROM agg
"""


def _organisation_users(db: Database, config: Config) -> list[str]:
    """"organisation|platform:user id" of every tracked account and of the organisation's handles.

    The organisation is '' for the organisation's own leaders and handles, a peer's company
    for its leaders: a peer answering a colleague is no more talking to the public than
    one of ours is.
    """
    users = {f"{org or ''}|{platform}:{user}" for org, platform, user in db.execute(
        "SELECT l.organisation, a.platform, a.platform_user_id FROM accounts a LEFT JOIN leaders l "
        "ON l.id = a.leader_id WHERE a.platform_user_id IS NOT NULL")}
    for platform, handles in config.organisation_handles.items():
        if handles:
            marks = ", ".join("?" for _ in handles)
            users |= {f"|{platform}:{user}" for (user,) in db.execute(
                f"SELECT DISTINCT author_user_id FROM context_posts WHERE platform = ? "
                f"AND author_user_id IS NOT NULL AND lower(author_handle) IN ({marks})",
                [platform, *(h.lower() for h in handles)])}
    users |= colleague_counterparts(config)  # LinkedIn comments name the person answered
    return sorted(users)


def _finish(row: dict[str, Any], count_error: dict[str, float]) -> dict[str, Any]:
    """Rates with Wilson intervals, estimated counts with theirs, the index with its interval
    and the low-sample flag."""
    for key, successes, n in (
        ("questions_answered_share", row["questions_answered"], row["questions_received"]),
        ("debate_share", row["debates"], row["replies_and_quotes"]),
        ("external_reply_share", row["external_replies"], row["replies"]),
        ("progress_share", row["progress"], row["posts"]),
    ):
        row[key], row[f"{key}_low"], row[f"{key}_high"] = _rate(successes, n)
    est: dict[str, tuple[float, float, float]] = {}  # unrounded (estimate, low, high)
    for key, label in (("answers", "answer"), ("debates", "debate"), ("progress", "progress")):
        estimate = float(row[f"{key}_est"])  # REAL in the database, also when there is no post
        est[key] = (estimate, *estimate_interval(estimate, row.pop(f"{key}_var"), count_error.get(label, 0.0)))
        row[f"{key}_est"], row[f"{key}_est_low"], row[f"{key}_est_high"] = (round(v, 1) for v in est[key])
    received, posts = row["questions_received"], row["posts"]
    # The answered share's estimate cannot exceed the questions received.
    answered = min(float(row["questions_answered_est"]), received)
    row["questions_answered_est"] = round(float(row["questions_answered_est"]), 1)
    row["not_labelled_language"] = int(row["not_labelled_language"])

    def inputs(at: int, share: float | None, progress_share: float | None) -> IndexInputs:
        return IndexInputs(est["answers"][at], share, row["median_response_hours"], est["debates"][at],
                           row["unique_critics"], progress_share, est["progress"][at], row["active_weeks"])

    # The answered questions are a sum of probabilities too, over the replies to questions.
    answered_interval = estimate_interval(answered, row.pop("questions_answered_var"), count_error.get("answer", 0.0))
    answered_low, answered_high = _share_bounds(*answered_interval, received)
    progress_low, progress_high = _share_bounds(est["progress"][1], est["progress"][2], posts)
    row.update(openness(inputs(0, answered / received if received else None,
                               est["progress"][0] / posts if posts else None)))
    low = openness(inputs(1, answered_low, progress_low))
    high = openness(inputs(2, answered_high, progress_high))
    # Every component rises with each input, so the bounds bracket the index; min/max keeps
    # that true whatever rounding does.
    row["openness_index_low"] = min(low["openness_index"], row["openness_index"])
    row["openness_index_high"] = max(high["openness_index"], row["openness_index"])
    row["low_sample"] = row["posts"] < MIN_POSTS or 0 < row["questions_received"] < MIN_QUESTIONS
    return row


def _mention_values(totals: tuple[int, int] | None) -> dict[str, Any]:
    """The mention keys of one row from (questions, answered); all null when not collected."""
    if totals is None:
        return {key: None for key in MENTION_KEYS}
    questions, answered = totals
    share, low, high = _rate(answered, questions)
    return {"mentions_questions": questions, "mentions_questions_answered": answered,
            "mentions_answer_share": share, "mentions_answer_share_low": low, "mentions_answer_share_high": high}


def compute_metrics(db: Database, config: Config, month: str, leader_ids: Sequence[str] = (),
                    platforms: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Metrics of ``month`` (YYYY-MM, in ``config.timezone``) for every configured account and
    ``platform = "all"`` per leader. Reads only; call ``labelling.label_stored_posts`` first.

    ``platforms`` may include "all". Rows are plain dicts with exactly ``KEYS``.
    """
    start, end = month_bounds(month, config.timezone)
    labeller = labeller_for(config)
    count_error = {name: labeller.model.count_error(name) for name in LABELS}
    wanted = set(leader_ids)
    unknown = wanted - {leader.id for leader in config.tracked}
    if unknown:
        raise ConfigError(f"no leader with id {', '.join(sorted(unknown))!r} in {config.path}")
    # Peers are always computed: every leader's position is against the whole peer cohort.
    peer_ids = {leader.id for leader in config.peers}
    accounts = {account: value for account, value in account_coverage(db, config, start, end).items()
                if not wanted or value[0] in wanted or value[0] in peer_ids}
    covered = [account for account, (_, _, coverage) in accounts.items() if coverage != "none"]
    duplicates = find_cross_posts(db, start, end)
    sql = _MONTH_SQL.format(local=_local_time_sql(start, end, config.timezone), aggregates=_AGGREGATES)
    org_users = _organisation_users(db, config)
    mentions = mention_counts(db, config, start, end, covered, org_users)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for values in db.execute(sql, {"start": utc_iso(start), "end": utc_iso(end), "dups": json.dumps(list(duplicates)),
                                   "accounts": json.dumps(covered), "org": json.dumps(org_users)}):
        leader_id, platform, *counts, median_likes, median_hours = values
        counted = dict(zip(_COUNT_COLUMNS, counts))
        counted["median_likes"] = median_likes
        counted["median_response_hours"] = round(median_hours, 2) if median_hours is not None else None
        found[(leader_id, platform)] = counted
    for (leader_id, platform), counted in found.items():
        if platform == "all":  # the copies left out of "all" are counted on their own platforms
            counted["cross_posts"] = sum(r["cross_posts"] for (l, p), r in found.items() if l == leader_id and p != "all")

    by_leader: dict[str, list[tuple[str, str]]] = {}
    account_ids: dict[tuple[str, str], list[str]] = {}
    for account, (leader_id, platform, coverage) in accounts.items():
        by_leader.setdefault(leader_id, []).append((platform, coverage))
        account_ids.setdefault((leader_id, platform), []).append(account)
        account_ids.setdefault((leader_id, "all"), []).append(account)
    out = []
    for leader_id in sorted(by_leader):
        entries = by_leader[leader_id] + [("all", _combined_coverage([c for _, c in by_leader[leader_id]]))]
        for platform, coverage in entries:
            if platforms and platform not in platforms:
                continue
            row: dict[str, Any] = {"leader_id": leader_id, "month": month, "platform": platform}
            if coverage == "none":
                row.update({key: None for key in ACTIVITY_KEYS})
                row["low_sample"] = True
            else:
                counts = found.get((leader_id, platform)) or {
                    **{key: 0 for key in _COUNT_COLUMNS}, "median_likes": None, "median_response_hours": None}
                row.update(_finish(dict(counts), count_error))
                row.update(_mention_values(mention_totals(mentions, account_ids[(leader_id, platform)])))
            row["coverage"] = coverage
            row["classifier_version"] = labeller.version
            row["index_version"] = INDEX_VERSION
            out.append({key: row.get(key) for key in KEYS})
    organisations = {leader.id: leader.organisation or config.organisation_name for leader in config.tracked}
    for row in out:
        row["organisation"] = organisations.get(row["leader_id"], config.organisation_name)
    add_peer_positions(out, peer_ids)
    return [row for row in out if not wanted or row["leader_id"] in wanted]


def load_metrics(db: Database, month: str, leader_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Stored metric rows of ``month`` (see ``KEYS``), by leader then platform ("all" last)."""
    parse_month(month)
    sql = f"SELECT {', '.join(KEYS)} FROM metrics WHERE month = ?"
    params: list[Any] = [month]
    if leader_ids:
        sql += f" AND leader_id IN ({', '.join('?' for _ in leader_ids)})"
        params += list(leader_ids)
    sql += " ORDER BY leader_id, platform = 'all', platform"
    rows = []
    for values in db.execute(sql, params):
        row = dict(zip(KEYS, values))
        row["low_sample"] = bool(row["low_sample"])
        rows.append(row)
    return rows


def refresh_metrics(config: Config, month: str | None = None, leader_ids: Sequence[str] = (),
                    platforms: Sequence[str] = (), now: datetime | None = None) -> list[dict[str, Any]]:
    """Label the month's new posts, compute ``month`` (default: the last complete one), store and return it."""
    from tracker import store
    from tracker.label.stored import label_stored_posts

    month = check_requested_month(month, config.timezone, now) if month else last_complete_month(config.timezone, now)
    db = store.open_db(config.database, create=False, read_only_ok=True)
    if isinstance(db, store.ReadOnlyDatabase):
        log.warning("the database %s is read-only (%s): the metrics are computed for this run and not saved",
                    config.database, db.reason)
    try:
        store.save_config(db, config)
        label_stored_posts(db, config, created=month_bounds_utc(month, config.timezone))
        rows = compute_metrics(db, config, month, leader_ids, platforms)
        store.save_metrics(db, rows)
    finally:
        db.close()
    return rows


DEGENERATE = "n/a†"
DEGENERATE_NOTE = ("no interval: the index interval carries the uncertainty of the estimated counts and of "
                   "the answered and progress shares, and none of them moves the index this month (no posts, "
                   "or counts and shares whose whole intervals lie past their goalposts)")


def index_interval_is_degenerate(row: dict[str, Any]) -> bool:
    """True when the index interval has no width: not certainty, but nothing it can vary."""
    low, high = row.get("openness_index_low"), row.get("openness_index_high")
    return low is not None and high is not None and low == high


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of the headline figures (the JSON/CSV outputs carry every key)."""
    header = ("leader", "platform", "coverage", "posts", "answers", "answered", "debates", "progress",
              "weeks", "index", "index 95%")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    def num(value: Any) -> str:
        return "-" if value is None else str(value)

    table = []
    for row in rows:
        # Same precision as the index, so the printed index always lies inside its printed interval.
        interval = ("-" if row["openness_index"] is None else
                    DEGENERATE if index_interval_is_degenerate(row) else
                    f"{row['openness_index_low']:.1f}-{row['openness_index_high']:.1f}")
        flag = "*" if row["low_sample"] and row["coverage"] != "none" else ""
        coverage = NO_DATA if row["coverage"] == "none" else row["coverage"]
        table.append((row["leader_id"], row["platform"], coverage, num(row["posts"]), num(row["answers"]),
                      pct(row["questions_answered_share"]), num(row["debates"]), pct(row["progress_share"]),
                      num(row["active_weeks"]), num(row["openness_index"]) + flag, interval))
    widths = [max(len(header[i]), *(len(line[i]) for line in table)) if table else len(header[i])
              for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
             for line in [header, *table]]
    lines.append("* low sample (fewer than 10 posts, or fewer than 5 replies to questions): read with care")
    lines.append("answered: share of the questions received that got an answer; progress: share of own posts "
                 "(reposts excluded)")
    if any(row["openness_index"] is not None and index_interval_is_degenerate(row) for row in rows):
        lines.append(f"{DEGENERATE}: {DEGENERATE_NOTE}")
    if any(row["coverage"] == "none" for row in rows):
        lines.append(f"{NO_DATA}: the month is outside what was collected (before the history an account's "
                     "collection can vouch for, see `tracker status`, or not collected since): no figures, not zeros")
    if any(row["coverage"] == "partial" for row in rows):
        lines.append("partial: only part of the month was collected (it begins before the collected history, "
                     "or is still in progress)")
    peer_lines = format_peer_table(rows)
    if peer_lines:
        lines += ["", *peer_lines]
    return "\n".join(lines)


def format_peer_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Each leader's percentile against the peer cohort, under the cohort's median and quartiles."""
    from tracker.metrics.peers import PEER_MEASURES

    measures = PEER_MEASURES
    placed = [row for row in rows if row.get("peer_count")]
    if not placed:
        return []

    def pct(value: Any) -> str:
        return "-" if value is None else f"{value:.0f}"

    lines = ["Against the peer cohort: percentile of each leader among the peers (0 = below every peer, "
             "100 = above every peer; a peer is compared with the other peers)"]
    cohorts: dict[str, dict[str, Any]] = {}
    for row in placed:  # the whole cohort: the row compared with the most peers
        if row["peer_count"] > cohorts.get(row["platform"], {}).get("peer_count", 0):
            cohorts[row["platform"]] = row
    for platform, row in cohorts.items():
        count = row["peer_count"]
        spans = "; ".join(f"{measure} {row[f'peer_{measure}_median']} ({row[f'peer_{measure}_q1']}-"
                          f"{row[f'peer_{measure}_q3']})" for measure in measures
                          if row[f"peer_{measure}_median"] is not None)
        lines.append(f"  {platform}, {count} peers: median (quartiles) {spans}")
    header = ("leader", "organisation", "platform", *measures)
    table = [(row["leader_id"], str(row.get("organisation") or ""), row["platform"],
              *(pct(row[f"peer_{measure}_percentile"]) for measure in measures)) for row in placed]
    widths = [max(len(header[i]), *(len(line[i]) for line in table)) for i in range(len(header))]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
              for line in [header, *table]]
    return lines

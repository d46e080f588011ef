"""Monthly metrics per leader and platform (docs/methodology.md): the computation.

Counting happens in SQLite (one scan of the month's posts, materialised once, grouped per
platform and across platforms) with the aggregates that ``tracker.metrics.declarations``
declares, addressed by name; Python only combines a few numbers per leader
(``tracker.metrics.index``). The keys of the returned dicts (``KEYS``) are a public
contract: reports and users' scripts read them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from tracker.collect.linkedin import colleague_counterparts
from tracker.config import IMPORT_ONLY_PLATFORMS, Config
from tracker.domain import RunStatus, parse_utc, utc_iso
from tracker.errors import ConfigError
from tracker.label.model import LABELS
from tracker.label.stored import labeller_for
from tracker.metrics.cross_posts import CROSS_POST_HOURS, CROSS_POST_KINDS, match_cross_posts
from tracker.metrics.declarations import ACTIVITY_KEYS, COUNTED, KEYS, aggregates_sql
from tracker.metrics.index import INDEX_VERSION, finish_row, mention_values
from tracker.metrics.mentions import mention_counts, mention_totals
from tracker.metrics.peers import add_peer_positions
from tracker.months import (check_requested_month, last_complete_month, local_time_sql, month_bounds,
                            month_bounds_utc, month_start_utc, parse_month, week_start_sql)
from tracker.store import queries

log = logging.getLogger(__name__)


def find_cross_posts(db: Database, start: datetime, end: datetime,
                     hours: int = CROSS_POST_HOURS) -> dict[str, str]:
    """{duplicate post id: id of the first copy} for the copies created in [start, end)
    (``tracker.metrics.cross_posts.match_cross_posts``)."""
    rows = queries.select_cross_post_candidates(db, utc_iso(start - timedelta(hours=hours)), utc_iso(end),
                                                CROSS_POST_KINDS)
    return match_cross_posts(rows, start, hours)


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
    rows = queries.select_account_spans(db, RunStatus.OK)
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
    first_month = month_start_utc(parse_utc(covered_from), tz)
    if covered_until <= utc_iso(start) or first_month >= utc_iso(end):
        return "none"
    return "partial" if covered_until < utc_iso(end) else "full"


def _combined_coverage(values: Sequence[str]) -> str:
    if all(value == "full" for value in values):
        return "full"
    return "none" if all(value == "none" for value in values) else "partial"


# --- the monthly computation -------------------------------------------------------------

# The labels a post's row carries as columns, read from one bit mask (one index range per post).
LABEL_COLUMNS = ("answer", "debate", "progress")
_MASK = "CASE l.label " + " ".join(f"WHEN '{label}' THEN {1 << bit}" for bit, label in enumerate(LABEL_COLUMNS)) + " END"
_FLAGS = ", ".join(f"(CAST(mask AS INTEGER) & {1 << bit}) > 0 AS {label}" for bit, label in enumerate(LABEL_COLUMNS))

# One scan of the month: each post with its labels, counterpart and parent's time.
# `ext`: the counterpart (account replied to or quoted) is outside the organisation.
# `question`: a reply whose parent the classifier labelled a sincere question.
_MONTH_SQL = """
WITH m AS MATERIALIZED (
    SELECT p.leader_id, p.platform, p.kind, p.like_count, p.created_at, {local} AS local_ts,
        (SELECT o.organisation FROM leaders o WHERE o.id = p.leader_id) AS org,
        p.id IN (SELECT value FROM json_each(:dups)) AS dup,
        lp.p_answer AS pa, lp.p_debate AS pd, lp.p_progress AS pp, lp.not_labelled AS nl,
        (SELECT total({mask})
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
        pa, pd, pp, nl, {week} AS week, {flags},
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
    (SELECT v FROM med WHERE med.leader_id = agg.leader_id AND med.grp = agg.grp AND metric = 'likes')
        AS median_likes,
    (SELECT v FROM med WHERE med.leader_id = agg.leader_id AND med.grp = agg.grp AND metric = 'hours')
        AS median_hours
FROM agg
"""



def _organisation_users(db: Database, config: Config) -> list[str]:
    """"organisation|platform:user id" of every tracked account and of the organisation's handles.

    The organisation is '' for the organisation's own leaders and handles, a peer's company
    for its leaders: a peer answering a colleague is no more talking to the public than
    one of ours is.
    """
    users = {f"{org or ''}|{platform}:{user}" for org, platform, user in queries.select_account_users(db)}
    for platform, handles in config.organisation_handles.items():
        if handles:
            users |= {f"|{platform}:{user}" for user in queries.select_user_ids_of_handles(db, platform, handles)}
    users |= colleague_counterparts(config)  # LinkedIn comments name the person answered
    return sorted(users)



def _month_counts(db: Database, config: Config, start: datetime, end: datetime, covered: Sequence[str],
                  org_users: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """{(leader id, platform or "all"): the month's counted figures, by name}."""
    duplicates = find_cross_posts(db, start, end)
    # The one query outside the store: the metric declarations write its select list, so it
    # lives beside them. It only reads.
    sql = _MONTH_SQL.format(local=local_time_sql("p.created_at", start, end, config.timezone),
                            week=week_start_sql("local_ts"), mask=_MASK, flags=_FLAGS, aggregates=aggregates_sql())
    cursor = db.execute(sql, {"start": utc_iso(start), "end": utc_iso(end), "dups": json.dumps(list(duplicates)),
                              "accounts": json.dumps(list(covered)), "org": json.dumps(list(org_users))})
    names = [column[0] for column in cursor.description]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for values in cursor:
        counted = dict(zip(names, values))
        leader_id, platform = counted.pop("leader_id"), counted.pop("grp")
        median_hours = counted.pop("median_hours")
        counted["median_response_hours"] = round(median_hours, 2) if median_hours is not None else None
        found[(leader_id, platform)] = counted
    for (leader_id, platform), counted in found.items():
        if platform == "all":  # the copies left out of "all" are counted on their own platforms
            counted["cross_posts"] = sum(r["cross_posts"] for (one, p), r in found.items()
                                         if one == leader_id and p != "all")
    return found


def compute_metrics(db: Database, config: Config, month: str, leader_ids: Sequence[str] = (),
                    platforms: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Metrics of ``month`` (YYYY-MM, in ``config.timezone``) for every configured account and
    ``platform = "all"`` per leader. Reads only; call ``label_stored_posts`` first.

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
    org_users = _organisation_users(db, config)
    mentions = mention_counts(db, config, start, end, covered, org_users)
    found = _month_counts(db, config, start, end, covered, org_users)

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
                    **{key: 0 for key in COUNTED}, "median_likes": None, "median_response_hours": None}
                row.update(finish_row(dict(counts), count_error))
                row.update(mention_values(mention_totals(mentions, account_ids[(leader_id, platform)])))
            row.update(coverage=coverage, classifier_version=labeller.version, index_version=INDEX_VERSION)
            out.append({key: row.get(key) for key in KEYS})
    organisations = {leader.id: leader.organisation or config.organisation_name for leader in config.tracked}
    for row in out:
        row["organisation"] = organisations.get(row["leader_id"], config.organisation_name)
    add_peer_positions(out, peer_ids)
    return [row for row in out if not wanted or row["leader_id"] in wanted]


def load_metrics(db: Database, month: str, leader_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Stored metric rows of ``month`` (see ``KEYS``), by leader then platform ("all" last)."""
    parse_month(month)
    rows = queries.select_metrics(db, month, KEYS, leader_ids)
    for row in rows:
        row["low_sample"] = bool(row["low_sample"])
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

"""Read queries of the metrics and report stages: plain rows out, no shaping.

The report never opens the database: ``tracker.ops.report_job`` calls these and hands the
rows to ``tracker.report.data``, which shapes them. Times are stored UTC text; ``start``
and ``end`` are a month's bounds from ``tracker.months.month_bounds_utc``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from tracker.domain import RunStatus


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


# --- metrics -----------------------------------------------------------------------------------

def select_metrics(db: Database, month: str, keys: Sequence[str],
                   leader_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Stored metric rows of ``month`` with the columns ``keys``, by leader then platform ("all" last)."""
    sql = f"SELECT {', '.join(keys)} FROM metrics WHERE month = ?"
    params: list[Any] = [month]
    if leader_ids:
        sql += f" AND leader_id IN ({_marks(leader_ids)})"
        params += list(leader_ids)
    sql += " ORDER BY leader_id, platform = 'all', platform"
    return [dict(zip(keys, values)) for values in db.execute(sql, params)]


def select_metric_months(db: Database, months: Sequence[str]) -> set[str]:
    """Which of ``months`` have stored metric rows."""
    if not months:
        return set()
    return {row[0] for row in db.execute(f"SELECT DISTINCT month FROM metrics WHERE month IN ({_marks(months)})",
                                         list(months))}


def select_account_spans(db: Database, ok: str) -> list[tuple[Any, ...]]:
    """Per configured account, what its coverage rests on: (id, leader id, platform,
    complete_since, first successful run's start, last successful run's end, covered_from,
    covered_until); ``ok`` is the status of a successful run."""
    return [tuple(row) for row in db.execute("""
        SELECT a.id, a.leader_id, a.platform, a.complete_since,
            (SELECT min(started_at) FROM runs r WHERE r.account_id = a.id AND r.status = ?),
            (SELECT max(finished_at) FROM runs r WHERE r.account_id = a.id AND r.status = ?),
            a.covered_from, a.covered_until
        FROM accounts a WHERE a.in_config = 1 ORDER BY a.leader_id, a.platform
    """, [ok, ok])]


def select_account_users(db: Database) -> list[tuple[str | None, str, str]]:
    """(organisation of the leader, platform, platform user id) of every resolved account."""
    return [tuple(row) for row in db.execute(  # type: ignore[misc]
        "SELECT l.organisation, a.platform, a.platform_user_id FROM accounts a LEFT JOIN leaders l "
        "ON l.id = a.leader_id WHERE a.platform_user_id IS NOT NULL")]


def select_user_ids_of_handles(db: Database, platform: str, handles: Sequence[str]) -> set[str]:
    """The user ids stored context posts show for ``handles`` (case-insensitive) on ``platform``."""
    return {row[0] for row in db.execute(
        f"SELECT DISTINCT author_user_id FROM context_posts WHERE platform = ? "
        f"AND author_user_id IS NOT NULL AND lower(author_handle) IN ({_marks(handles)})",
        [platform, *(handle.lower() for handle in handles)])}


def select_cross_post_candidates(db: Database, since: str, end: str,
                                 kinds: Sequence[str]) -> list[tuple[str, str, str, str, str | None]]:
    """(id, leader id, platform, created_at, text) of the posts of ``kinds`` in [since, end) of
    leaders with accounts on two or more platforms, by leader then time."""
    sql = f"""
        SELECT p.id, p.leader_id, p.platform, p.created_at, p.text FROM posts p
        WHERE p.created_at >= ? AND p.created_at < ? AND p.kind IN ({_marks(kinds)})
          AND p.leader_id IN (SELECT leader_id FROM accounts GROUP BY leader_id HAVING count(DISTINCT platform) > 1)
        ORDER BY p.leader_id, p.created_at, p.id
    """
    return [tuple(row) for row in db.execute(sql, [since, end, *kinds])]  # type: ignore[misc]


# --- the report --------------------------------------------------------------------------------

def select_own_leaders(db: Database) -> list[tuple[str, str, str, str, int]]:
    """(id, name, role, group, in config) of the organisation's own leaders, by name."""
    return [tuple(row) for row in db.execute(  # type: ignore[misc]
        "SELECT id, name, role, group_name, in_config FROM leaders WHERE organisation = '' ORDER BY name, id")]


def select_peer_leaders(db: Database) -> list[tuple[str, str, str, str, str]]:
    """(id, name, role, group, organisation) of the configured peers."""
    return [tuple(row) for row in db.execute(  # type: ignore[misc]
        "SELECT id, name, role, group_name, organisation FROM leaders WHERE organisation != '' AND in_config "
        "ORDER BY organisation, name, id")]


def select_authored_posts_with_labels(db: Database, ids: Sequence[str], start: str,
                                      end: str) -> list[tuple[str, str, str | None]]:
    """(leader id, created_at, comma-separated labels) of the leaders' authored posts in [start, end)."""
    sql = ("SELECT p.leader_id, p.created_at, "
           "(SELECT group_concat(label) FROM post_labels l WHERE l.post_id = p.id) FROM posts p "
           f"WHERE p.kind != 'repost' AND p.created_at >= ? AND p.created_at < ? AND p.leader_id IN ({_marks(ids)})")
    return [tuple(row) for row in db.execute(sql, [start, end, *ids])]  # type: ignore[misc]


def select_labelled_samples(db: Database, ids: Sequence[str], start: str, end: str, labels: Sequence[str],
                            per_label: int) -> list[tuple[Any, ...]]:
    """The leaders' posts of [start, end) with one of ``labels``, at most ``per_label`` per leader
    and label: highest confidence, then most liked, then oldest.

    Rows: (leader id, label, post id, created_at, kind, text, url, confidence, likes, evidence,
    context author, context text); the context is the post replied to or quoted, or the
    leader's own post a thread continues.
    """
    sql = f"""
        SELECT s.leader_id, s.label, s.id, s.created_at, s.kind, s.text, s.url, s.confidence, s.like_count,
            s.evidence,
            coalesce(c.author_name, c.author_handle, CASE WHEN o.id IS NOT NULL THEN 'the leader' END),
            coalesce(c.text, o.text)
        FROM (
            SELECT p.leader_id, l.label, p.id, p.created_at, p.kind, p.text, p.url, l.confidence, p.like_count,
                l.evidence, coalesce(p.in_reply_to_id, p.quoted_id) AS context_id,
                ROW_NUMBER() OVER (PARTITION BY p.leader_id, l.label
                    ORDER BY l.confidence DESC, coalesce(p.like_count, 0) DESC, p.created_at, p.id) AS position
            FROM post_labels l JOIN posts p ON p.id = l.post_id
            WHERE p.created_at >= ? AND p.created_at < ? AND l.label IN ({_marks(labels)})
                AND p.leader_id IN ({_marks(ids)})
        ) s
        LEFT JOIN context_posts c ON c.id = s.context_id
        LEFT JOIN posts o ON o.id = s.context_id AND c.id IS NULL
        WHERE s.position <= ? ORDER BY s.leader_id, s.label, s.position
    """
    return [tuple(row) for row in db.execute(sql, [start, end, *labels, *ids, per_label])]


def select_unlabelled_posts(db: Database, ids: Sequence[str], start: str, end: str, labels: Sequence[str],
                            per_leader: int) -> list[tuple[Any, ...]]:
    """Each leader's most liked authored posts of [start, end) with none of ``labels``.

    Rows: (leader id, post id, created_at, kind, text, url, likes), at most ``per_leader`` each.
    """
    sql = f"""
        SELECT leader_id, id, created_at, kind, text, url, like_count FROM (
            SELECT p.leader_id, p.id, p.created_at, p.kind, p.text, p.url, p.like_count,
                ROW_NUMBER() OVER (PARTITION BY p.leader_id
                    ORDER BY coalesce(p.like_count, 0) DESC, p.created_at, p.id) AS position
            FROM posts p
            WHERE p.created_at >= ? AND p.created_at < ? AND p.kind != 'repost'
                AND p.leader_id IN ({_marks(ids)})
                AND NOT EXISTS (SELECT 1 FROM post_labels l WHERE l.post_id = p.id
                                AND l.label IN ({_marks(labels)}))
        ) WHERE position <= ? ORDER BY leader_id, position
    """
    return [tuple(row) for row in db.execute(sql, [start, end, *ids, *labels, per_leader])]


def select_account_states(db: Database, ids: Sequence[str]) -> list[tuple[str, str, str, str, str | None]]:
    """(leader id, platform, handle, status, status detail) of the leaders' accounts."""
    sql = (f"SELECT leader_id, platform, handle, status, status_detail FROM accounts "
           f"WHERE leader_id IN ({_marks(ids)}) ORDER BY leader_id, platform")
    return [tuple(row) for row in db.execute(sql, list(ids))]  # type: ignore[misc]


def select_failed_runs(db: Database, ids: Sequence[str], start: str, end: str,
                       failed: Sequence[str]) -> list[tuple[str, str, int, str, str | None]]:
    """Per account of the leaders, the runs with a status in ``failed`` started in [start, end):
    (leader id, platform, how many, the last one's start, the last one's error)."""
    marks = _marks(failed)
    sql = (f"SELECT a.leader_id, r.platform, count(*), max(r.started_at), "
           f"(SELECT r2.error FROM runs r2 WHERE r2.account_id = r.account_id AND r2.status IN ({marks}) "
           f"AND r2.started_at >= ? AND r2.started_at < ? ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1) "
           f"FROM runs r JOIN accounts a ON a.id = r.account_id "
           f"WHERE r.status IN ({marks}) AND r.started_at >= ? AND r.started_at < ? "
           f"AND a.leader_id IN ({_marks(ids)}) GROUP BY a.leader_id, r.account_id, r.platform "
           f"ORDER BY a.leader_id, r.platform")
    return [tuple(row) for row in db.execute(  # type: ignore[misc]
        sql, [*failed, start, end, *failed, start, end, *ids])]


def select_data_span(db: Database, ids: Sequence[str]) -> tuple[str | None, str | None, str | None]:
    """(oldest post, newest post, when data was last read) of the leaders, as stored UTC text.

    "Last read" is the newest ``last_seen`` of their posts and of every context post.
    """
    first, last, newest = db.execute(
        f"SELECT min(created_at), max(created_at), max(last_seen) FROM posts WHERE leader_id IN ({_marks(ids)})",
        list(ids)).fetchone()
    context_seen = db.execute("SELECT max(last_seen) FROM context_posts").fetchone()[0]
    return first, last, max(filter(None, (newest, context_seen)), default=None)


def count_accounts(db: Database, ids: Sequence[str]) -> int:
    """How many accounts the leaders have."""
    return int(db.execute(f"SELECT count(*) FROM accounts WHERE leader_id IN ({_marks(ids)})",
                          list(ids)).fetchone()[0])


def count_runs_since(db: Database, ids: Sequence[str], start: str, ok: str,
                     failed: Sequence[str]) -> tuple[int, int]:
    """(successful runs that ended from ``start`` on, failed runs started from ``start`` on) of the
    leaders' accounts: the runs a month's coverage rests on (a month is collected by the runs
    that ended after it began, often later, for a backfill or an import)."""
    marks = _marks(failed)
    counts = dict(db.execute(
        f"SELECT r.status IN ({marks}), count(*) FROM runs r JOIN accounts a ON a.id = r.account_id "
        f"WHERE ((r.status = ? AND r.finished_at >= ?) OR (r.status IN ({marks}) AND r.started_at >= ?)) "
        f"AND a.leader_id IN ({_marks(ids)}) GROUP BY 1",
        [*failed, ok, start, *failed, start, *ids]).fetchall())
    return counts.get(0, 0), counts.get(1, 0)


# --- collect --------------------------------------------------------------------------------

def select_run_totals_since(db: Database, platform: str, since: str) -> tuple[int, int]:
    """(posts read, requests) of ``platform``'s runs started at or after ``since``."""
    row = db.execute("SELECT coalesce(sum(posts_read), 0), coalesce(sum(requests), 0) FROM runs "
                     "WHERE platform = ? AND started_at >= ?", [platform, since]).fetchone()
    return int(row[0]), int(row[1])


def select_account_activity(db: Database, account_id: str, start: str, end: str) -> tuple[int, int, int]:
    """(posts, posts that point at another post, days with a post) of an account in [start, end)."""
    n, pointing, days = db.execute(
        "SELECT count(*), coalesce(sum(in_reply_to_id IS NOT NULL OR quoted_id IS NOT NULL "
        "OR reposted_id IS NOT NULL), 0), count(DISTINCT substr(created_at, 1, 10)) "
        "FROM posts WHERE account_id = ? AND created_at >= ? AND created_at < ?",
        [account_id, start, end]).fetchone()
    return int(n), int(pointing), int(days)


def account_resolved(db: Database, account_id: str) -> bool:
    """Whether the account's handle was resolved to a platform user id (cached)."""
    return db.execute("SELECT platform_user_id IS NOT NULL FROM accounts WHERE id = ?",
                      [account_id]).fetchone() == (1,)


def select_status_detail(db: Database, account_id: str) -> str | None:
    row = db.execute("SELECT status_detail FROM accounts WHERE id = ?", [account_id]).fetchone()
    return None if row is None else row[0]


def account_has_posts(db: Database, account_id: str) -> bool:
    return db.execute("SELECT 1 FROM posts WHERE account_id = ? LIMIT 1", [account_id]).fetchone() is not None


def select_account_cursors(db: Database, account_ids: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """(account id, platform, stored cursor text or None) of each account in ``account_ids``."""
    if not account_ids:
        return []
    return db.execute(f"SELECT a.id, a.platform, c.value FROM accounts a LEFT JOIN cursors c "
                      f"ON c.account_id = a.id WHERE a.id IN ({_marks(account_ids)})", list(account_ids)).fetchall()


# --- ops and the demo -----------------------------------------------------------------------

_ACCOUNT_HEALTH_SQL = """
    SELECT a.id, a.leader_id, a.platform, a.handle, a.status, a.last_success_at,
        (SELECT count(*) FROM posts p WHERE p.account_id = a.id),
        (SELECT coalesce(sum(requests), 0) FROM runs r WHERE r.account_id = a.id AND r.started_at >= :month),
        (SELECT coalesce(sum(posts_read), 0) FROM runs r WHERE r.account_id = a.id AND r.started_at >= :month),
        (SELECT r.error FROM runs r WHERE r.account_id = a.id AND r.status != :running
            ORDER BY r.id DESC LIMIT 1),
        (SELECT count(*) FROM runs r WHERE r.account_id = a.id AND r.status NOT IN (:ok, :running)
            AND r.id > coalesce((SELECT max(o.id) FROM runs o WHERE o.account_id = a.id
                                 AND o.status = :ok), 0)),
        (SELECT max(e.exported_at) FROM exports e WHERE e.account_id = a.id),
        a.complete_since, a.history_limit
    FROM accounts a WHERE a.in_config = 1 ORDER BY a.leader_id, a.platform
"""


def select_account_health(db: Database, month_start: str) -> list[tuple[Any, ...]]:
    """Per configured account: id, leader, platform, handle, status, last success, posts, this
    month's requests and post reads (runs since ``month_start``), the last error, failed runs
    since the last success, the newest export, complete_since and history_limit."""
    return db.execute(_ACCOUNT_HEALTH_SQL, {"month": month_start, "ok": RunStatus.OK,
                                            "running": RunStatus.RUNNING}).fetchall()


def count_posts_by(db: Database, column: str) -> dict[str, int]:
    """Stored leader posts per ``leader_id`` or per ``platform``."""
    assert column in ("leader_id", "platform"), column
    return dict(db.execute(f"SELECT {column}, count(*) FROM posts GROUP BY {column}").fetchall())


# --- metrics: mentions ----------------------------------------------------------------------

# Mentions from inside the organisation (its handles, the tracked leaders) are kept in the
# database but are not questions *received*: `:org` lists them as "organisation|platform:user
# id" (organisation '' for our own, a peer's company for its leaders).
_COUNTS_SQL = """
SELECT m.account_id, count(*),
    sum(EXISTS (SELECT 1 FROM posts p JOIN post_labels l ON l.post_id = p.id AND l.label = 'answer'
                WHERE p.in_reply_to_id = m.context_id AND p.leader_id = m.leader_id))
FROM mentions m JOIN context_posts c ON c.id = m.context_id
WHERE m.created_at >= :start AND m.created_at < :end
  AND m.account_id IN (SELECT value FROM json_each(:accounts))
  AND c.author_user_id IS NOT NULL
  AND coalesce((SELECT l.organisation FROM leaders l WHERE l.id = m.leader_id), '') || '|'
      || c.platform || ':' || c.author_user_id NOT IN (SELECT value FROM json_each(:org))
  AND EXISTS (SELECT 1 FROM context_labels q WHERE q.context_id = m.context_id AND q.label = 'question')
GROUP BY m.account_id
"""


def select_mention_question_counts(db: Database, start: str, end: str, accounts: Sequence[str],
                                   org_users: Sequence[str]) -> list[tuple[str, int, int | None]]:
    """(account id, questions received as mentions in [start, end), of those answered) per account."""
    return db.execute(_COUNTS_SQL, {"start": start, "end": end, "accounts": json.dumps(list(accounts)),
                                    "org": json.dumps(list(org_users))}).fetchall()

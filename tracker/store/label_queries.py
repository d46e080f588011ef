"""Read queries of the label stage: the posts and context posts a model version has not read
yet, in keyset pages, and the posts it has read, as the labeller's input.

A post row's first 13 columns are what ``tracker.label.stored.build_post_input`` turns into
the labeller's input: id, platform, author handle, created_at, text, kind, lang, the replied-to
post's id, author and text, the quoted post's id, author and text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

# The labeller's input columns (see the module docstring) and the joins they read. The parent
# of a reply: a context post (someone else's), else one of our own stored posts (a
# self-thread, or a colleague leader's post that the collector stored in `posts`). When the
# parent was never fetched, its author is still known when it is a tracked account.
_INPUT_COLUMNS = """p.id, p.platform, a.handle, p.created_at, p.text, p.kind, p.lang,
       p.in_reply_to_id,
       coalesce(cr.author_handle, pra.handle, ra.handle), coalesce(cr.text, pr.text),
       p.quoted_id, coalesce(cq.author_handle, pqa.handle), coalesce(cq.text, pq.text)"""
_INPUT_JOINS = """LEFT JOIN context_posts cr ON cr.id = p.in_reply_to_id
LEFT JOIN posts pr ON pr.id = p.in_reply_to_id
LEFT JOIN accounts pra ON pra.id = pr.account_id
LEFT JOIN accounts ra ON ra.platform = p.platform AND ra.platform_user_id = p.in_reply_to_user_id
LEFT JOIN context_posts cq ON cq.id = p.quoted_id
LEFT JOIN posts pq ON pq.id = p.quoted_id
LEFT JOIN accounts pqa ON pqa.id = pq.account_id"""

# The leader posts a version has not labelled, then the ids of their context posts it has not.
_POSTS_SQL = f"""
SELECT {_INPUT_COLUMNS},
       CASE WHEN lcr.context_id IS NULL THEN cr.id END, cr.text,
       CASE WHEN lcq.context_id IS NULL THEN cq.id END, cq.text
FROM posts p
JOIN accounts a ON a.id = p.account_id
LEFT JOIN labelled_posts lp ON lp.post_id = p.id
{_INPUT_JOINS}
LEFT JOIN labelled_context lcr ON lcr.context_id = cr.id AND lcr.classifier_version = :version
LEFT JOIN labelled_context lcq ON lcq.context_id = cq.id AND lcq.classifier_version = :version
WHERE p.id > :after AND (lp.post_id IS NULL OR lp.classifier_version != :version)
  AND {{span}}
ORDER BY p.id
LIMIT :limit
"""

_CONTEXT_SQL = """
SELECT c.id, c.text FROM context_posts c
LEFT JOIN labelled_context lc ON lc.context_id = c.id
WHERE c.id > :after AND (lc.context_id IS NULL OR lc.classifier_version != :version)
  AND {span}
ORDER BY c.id
LIMIT :limit
"""

# The leader posts of a span as the labeller read them, with what it concluded.
_MONTH_POSTS_SQL = f"""
SELECT {_INPUT_COLUMNS},
       lp.p_answer, lp.p_debate, lp.p_progress,
       (SELECT json_group_array(l.label) FROM post_labels l WHERE l.post_id = p.id)
FROM posts p
JOIN accounts a ON a.id = p.account_id
JOIN labelled_posts lp ON lp.post_id = p.id AND lp.classifier_version = :version
{_INPUT_JOINS}
WHERE p.created_at >= :start AND p.created_at < :end AND (:all_leaders OR p.leader_id IN (SELECT value FROM json_each(:leaders)))
ORDER BY p.created_at, p.id
"""

# The leader's replies to the span's mentions: the answers to a month's mentions may come
# later, and mentions_questions_answered counts them (tracker.metrics.mentions).
_MENTION_REPLIES_SQL = """
SELECT DISTINCT p.id FROM mentions m JOIN posts p ON p.in_reply_to_id = m.context_id AND p.leader_id = m.leader_id
WHERE m.created_at >= :start AND m.created_at < :end
"""

# Spans a caller picks from (never text of its own: they are formatted into the SQL).
# The leader posts of a span (see label_stored_posts), or a given list of ids:
CREATED_SPAN = "p.created_at >= :start AND p.created_at < :end"
IDS_SPAN = "p.id IN (SELECT value FROM json_each(:ids))"
# The context posts that mention a leader in the span, or all of them:
MENTIONS_SPAN = "c.id IN (SELECT context_id FROM mentions WHERE created_at >= :start AND created_at < :end)"
ALL_CONTEXT = "1"
_POST_SPANS = (CREATED_SPAN, IDS_SPAN)
_CONTEXT_SPANS = (MENTIONS_SPAN, ALL_CONTEXT)


def unlabelled_posts_sql(span: str) -> str:
    """The leader posts in ``span`` (CREATED_SPAN or IDS_SPAN) a version has not labelled."""
    assert span in _POST_SPANS, span
    return _POSTS_SQL.format(span=span)


def unlabelled_context_sql(span: str) -> str:
    """The context posts in ``span`` (MENTIONS_SPAN or ALL_CONTEXT) a version has not labelled."""
    assert span in _CONTEXT_SPANS, span
    return _CONTEXT_SQL.format(span=span)


def keyset_pages(db: Database, sql: str, params: dict[str, Any], version: str, size: int) -> Iterator[list[Any]]:
    """Pages of ``sql`` (ordered by id, its first column), each after the last id of the one before."""
    after = ""
    while True:
        rows = db.execute(sql, {**params, "after": after, "version": version, "limit": size}).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def select_mention_replies(db: Database, start: str, end: str) -> list[str]:
    """Ids of the leaders' replies to the mentions received in [start, end)."""
    return [row[0] for row in db.execute(_MENTION_REPLIES_SQL, {"start": start, "end": end})]


def select_own_account_handles(db: Database) -> list[str]:
    """Handles of the organisation's own leaders' accounts (not the peers')."""
    return [row[0] for row in db.execute(
        "SELECT a.handle FROM accounts a LEFT JOIN leaders l ON l.id = a.leader_id "
        "WHERE coalesce(l.organisation, '') = ''")]


def select_labelled_posts(db: Database, start: str, end: str, leader_ids: Sequence[str],
                          version: str) -> Iterator[tuple[Any, ...]]:
    """The leader posts of [start, end) that ``version`` labelled: the 13 input columns, then
    p_answer, p_debate, p_progress and the labels as a JSON list."""
    yield from db.execute(_MONTH_POSTS_SQL, {"start": start, "end": end, "version": version,
                                             "all_leaders": not leader_ids, "leaders": json.dumps(list(leader_ids))})

"""Label the stored posts: build the classifier's input from ``posts`` + ``context_posts``.

Incremental: a post is labelled when it has no ``labelled_posts`` row or one written by
another classifier version (a new version relabels everything it has not seen). Work goes
in keyset-paginated batches, each written in one transaction, so memory stays flat and a
run killed half-way keeps what it finished.

Each text is read once: a reply's parent (or a quote's quoted post) that is a context post
not yet labelled by this version gets its ``question``/``critical`` labels from the same
reading the reply's labels came from; a second pass labels the context posts no leader post
points at (or whose reply did not need them read), such as the posts that mention a leader.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from tracker import classify, store
from tracker.config import Config

BATCH_SIZE = 5000

# The parent of a reply: a context post (someone else's), else one of our own stored posts
# (a self-thread, or a colleague leader's post that the collector stored in `posts`). When
# the parent was never fetched, its author is still known when it is a tracked account.
_POSTS_SQL = """
SELECT p.id, p.platform, a.handle, p.created_at, p.text, p.kind, p.lang,
       p.in_reply_to_id,
       coalesce(cr.author_handle, pra.handle, ra.handle), coalesce(cr.text, pr.text),
       p.quoted_id, coalesce(cq.author_handle, pqa.handle), coalesce(cq.text, pq.text),
       CASE WHEN lcr.context_id IS NULL THEN cr.id END, cr.text,
       CASE WHEN lcq.context_id IS NULL THEN cq.id END, cq.text
FROM posts p
JOIN accounts a ON a.id = p.account_id
LEFT JOIN labelled_posts lp ON lp.post_id = p.id
LEFT JOIN context_posts cr ON cr.id = p.in_reply_to_id
LEFT JOIN posts pr ON pr.id = p.in_reply_to_id
LEFT JOIN accounts pra ON pra.id = pr.account_id
LEFT JOIN accounts ra ON ra.platform = p.platform AND ra.platform_user_id = p.in_reply_to_user_id
LEFT JOIN context_posts cq ON cq.id = p.quoted_id
LEFT JOIN posts pq ON pq.id = p.quoted_id
LEFT JOIN accounts pqa ON pqa.id = pq.account_id
LEFT JOIN labelled_context lcr ON lcr.context_id = cr.id AND lcr.classifier_version = :version
LEFT JOIN labelled_context lcq ON lcq.context_id = cq.id AND lcq.classifier_version = :version
WHERE p.id > :after AND (lp.post_id IS NULL OR lp.classifier_version != :version)
  AND {span}
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
# The leader posts of a span (see label_stored_posts), or a given list of ids.
_CREATED_SPAN = "p.created_at >= :start AND p.created_at < :end"
_IDS_SPAN = "p.id IN (SELECT value FROM json_each(:ids))"
# The context posts that mention a leader in the span (issue 3, point 5).
_MENTIONS_SPAN = "c.id IN (SELECT context_id FROM mentions WHERE created_at >= :start AND created_at < :end)"
# The leader's replies to the span's mentions: the answers to a month's mentions may come
# later, and mentions_questions_answered counts them (tracker.mention_metrics).
_MENTION_REPLIES_SQL = """
SELECT DISTINCT p.id FROM mentions m JOIN posts p ON p.in_reply_to_id = m.context_id AND p.leader_id = m.leader_id
WHERE m.created_at >= :start AND m.created_at < :end
"""


@dataclass
class LabelStats:
    posts_labelled: int = 0
    context_labelled: int = 0
    labels: dict[str, int] | None = None
    seconds: float = 0.0
    classifier_version: str = classify.CLASSIFIER_VERSION

    @property
    def posts_per_second(self) -> float:
        return self.posts_labelled / self.seconds if self.seconds else 0.0


def organisation_handles(db: Database, config: Config) -> set[str]:
    """The organisation's handles plus every leader's own: a reply to a colleague is internal."""
    handles = {h.lower() for hs in config.organisation_handles.values() for h in hs}
    handles |= {h.lower() for leader in config.leaders for h in leader.accounts.values()}
    # Peers' accounts belong to other organisations: replies to them are replies to the public.
    handles |= {row[0].lower() for row in db.execute(
        "SELECT a.handle FROM accounts a LEFT JOIN leaders l ON l.id = a.leader_id "
        "WHERE coalesce(l.organisation, '') = ''")}
    return handles


def build_post_input(row: tuple[Any, ...]) -> dict[str, Any]:
    """One ``_POSTS_SQL`` row (its first 13 columns) as the classifier's input mapping (pure)."""
    (post_id, platform, author, created_at, text, kind, lang, reply_id, reply_author, reply_text,
     quoted_id, quoted_author, quoted_text) = row[:13]
    in_reply_to = None
    if reply_id is not None:
        in_reply_to = {"author": author if kind == "thread" else reply_author, "text": reply_text,
                       "is_self": kind == "thread"}
    quoted = {"author": quoted_author, "text": quoted_text} if quoted_id is not None else None
    return {"id": post_id, "platform": platform, "author": author, "created_at": created_at, "text": text,
            "kind": kind, "in_reply_to": in_reply_to, "quoted": quoted, "lang": lang}


# json.dumps with options builds a new encoder on every call; one encoder is reused.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _label_rows(item_id: str, labels: Iterable[classify.Label]) -> list[store.LabelRow]:
    return [(item_id, label.name, round(float(label.confidence), 4),
             _ENCODE([{"rule": ev.rule, "text": ev.text, "start": ev.start, "end": ev.end, "source": ev.source}
                      for ev in label.evidence]))
            for label in labels]


def label_stored_posts(db: Database, config: Config, *, created: tuple[str, str] | None = None,
                       batch_size: int = BATCH_SIZE) -> LabelStats:
    """Label every leader post and context post not yet labelled by this classifier version.

    ``created`` = (start, end) as stored UTC text limits the work to the leader posts of
    that span and the posts they reply to or quote, the mentions of the span and the
    leader's replies to them (whenever written): all that one month's metrics read, so
    `tracker metrics --month` after a large import labels one month, not years.
    """
    started = time.perf_counter()
    stats = LabelStats(labels={name: 0 for name in (*classify.POST_LABELS, *classify.CONTEXT_LABELS)})
    assert stats.labels is not None
    handles = classify.normalize_handles(organisation_handles(db, config))

    start, end = created or ("", "~")  # "~" sorts after every timestamp
    span = {"start": start, "end": end}
    _label_posts(db, handles, _CREATED_SPAN, span, batch_size, stats)
    if created is None:  # every context post no leader post led to, mentions included
        _label_context(db, "1", span, batch_size, stats)
    else:
        replies = [row[0] for row in db.execute(_MENTION_REPLIES_SQL, span)]
        if replies:
            _label_posts(db, handles, _IDS_SPAN, {"ids": json.dumps(replies)}, batch_size, stats)
        _label_context(db, _MENTIONS_SPAN, span, batch_size, stats)
    stats.seconds = time.perf_counter() - started
    return stats


def _label_posts(db: Database, handles: classify.OrgHandles, span_sql: str, params: dict[str, Any], batch_size: int,
                 stats: LabelStats) -> None:
    """Label the leader posts ``span_sql`` selects (and the context posts they read), in batches."""
    version = classify.CLASSIFIER_VERSION
    assert stats.labels is not None
    sql = _POSTS_SQL.format(span=span_sql)
    after = ""
    while True:
        rows = db.execute(sql, {**params, "after": after, "version": version, "limit": batch_size}).fetchall()
        if not rows:
            break
        labels: list[store.LabelRow] = []
        ids: list[str] = []
        context_labels: list[store.LabelRow] = []
        context_ids: list[str] = []
        seen_context: set[str] = set()
        for row in rows:
            if ids and ids[-1] == row[0]:
                continue  # two tracked accounts share a platform user id: label the post once
            ids.append(row[0])
            post_labels, read_context = classify.label_post_and_context(build_post_input(row), handles)
            labels += _label_rows(row[0], post_labels)
            reply_context, reply_text, quoted_context, quoted_text = row[13:]
            for context_id, context_text, kind in ((reply_context, reply_text, "reply"),
                                                   (quoted_context, quoted_text, "quote")):
                if context_id is None or context_id in seen_context:
                    continue
                seen_context.add(context_id)
                context_ids.append(context_id)
                # The classifier read exactly this text when it is the counterpart of this kind.
                reused = read_context is not None and row[5] == kind and context_text is not None
                context_labels += _label_rows(
                    context_id, read_context if reused else classify.label_context(context_text))  # type: ignore[arg-type]
        store.save_context_labels(db, context_ids, context_labels, version)
        store.save_post_labels(db, ids, labels, version)
        for label in labels + context_labels:
            stats.labels[label[1]] += 1
        stats.posts_labelled += len(ids)
        stats.context_labelled += len(context_ids)
        after = rows[-1][0]


def _label_context(db: Database, span_sql: str, params: dict[str, Any], batch_size: int,
                   stats: LabelStats) -> None:
    """Label the context posts ``span_sql`` selects that this version has not labelled yet."""
    version = classify.CLASSIFIER_VERSION
    assert stats.labels is not None
    sql = _CONTEXT_SQL.format(span=span_sql)
    after = ""
    while True:
        rows = db.execute(sql, {**params, "after": after, "version": version, "limit": batch_size}).fetchall()
        if not rows:
            break
        labels: list[store.LabelRow] = []
        for context_id, text in rows:
            labels += _label_rows(context_id, classify.label_context(text))
        store.save_context_labels(db, [row[0] for row in rows], labels, version)
        for label in labels:
            stats.labels[label[1]] += 1
        stats.context_labelled += len(rows)
        after = rows[-1][0]

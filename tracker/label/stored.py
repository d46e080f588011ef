"""Label the stored posts: build the classifier's input from ``posts`` + ``context_posts``.

Incremental: a post is labelled when it has no ``labelled_posts`` row or one written by
another classifier version (a new version relabels everything it has not seen). Work goes
in keyset-paginated batches, each written in one transaction, so memory stays flat and a
run killed half-way keeps what it finished.

Leader posts are labelled by the learned model (``tracker.label.model``), which stores every
post's calibrated probabilities beside its labels; other people's posts (context) get the
rules' ``question``/``critical`` labels, which the metrics use to count questions received.
A reply's parent that is not yet labelled is labelled in the same batch as the reply; a
second pass labels the context posts no leader post points at, such as mentions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from tracker import store
from tracker.label import reading, rules
from tracker.config import Config
from tracker.label.model import Labeller, Prediction, load_model

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
# The context posts that mention a leader in the span.
_MENTIONS_SPAN = "c.id IN (SELECT context_id FROM mentions WHERE created_at >= :start AND created_at < :end)"
# The leader's replies to the span's mentions: the answers to a month's mentions may come
# later, and mentions_questions_answered counts them (tracker.metrics.mentions).
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
    classifier_version: str = ""

    @property
    def posts_per_second(self) -> float:
        return self.posts_labelled / self.seconds if self.seconds else 0.0


def labeller_for(config: Config) -> Labeller:
    """The labeller the config names (``[labels] model``), else the shipped model."""
    return Labeller(load_model(config.labels.model))


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


def _prediction_rows(post_id: str, prediction: Prediction) -> list[store.LabelRow]:
    assert prediction.probabilities is not None or not prediction.labels
    return [(post_id, name, round(float((prediction.probabilities or {})[name]), 4), _ENCODE(prediction.evidence[name]))
            for name in prediction.labels]


def _reading(post_id: str, prediction: Prediction) -> store.PostReading:
    p = prediction.probabilities
    if p is None:
        return (post_id, None, None, None, prediction.not_labelled)
    return (post_id, p["answer"], p["debate"], p["progress"], None)


def _label_rows(item_id: str, labels: Iterable[reading.Label]) -> list[store.LabelRow]:
    return [(item_id, label.name, round(float(label.confidence), 4),
             _ENCODE([{"rule": ev.rule, "text": ev.text, "start": ev.start, "end": ev.end, "source": ev.source}
                      for ev in label.evidence]))
            for label in labels]


def label_stored_posts(db: Database, config: Config, *, created: tuple[str, str] | None = None,
                       batch_size: int = BATCH_SIZE, labeller: Labeller | None = None) -> LabelStats:
    """Label every leader post and context post not yet labelled by this labeller version.

    ``created`` = (start, end) as stored UTC text limits the work to the leader posts of
    that span and the posts they reply to or quote, the mentions of the span and the
    leader's replies to them (whenever written): all that one month's metrics read, so
    `tracker metrics --month` after a large import labels one month, not years.
    """
    started = time.perf_counter()
    labeller = labeller or labeller_for(config)
    stats = LabelStats(labels={name: 0 for name in (*rules.POST_LABELS, *rules.CONTEXT_LABELS)},
                       classifier_version=labeller.version)
    handles = reading.normalize_handles(organisation_handles(db, config))

    start, end = created or ("", "~")  # "~" sorts after every timestamp
    span = {"start": start, "end": end}
    work = _Work(db, labeller, handles, batch_size, stats)
    work.label_posts(_CREATED_SPAN, span)
    if created is None:  # every context post no leader post led to, mentions included
        work.label_context("1", span)
    else:
        replies = [row[0] for row in db.execute(_MENTION_REPLIES_SQL, span)]
        if replies:
            work.label_posts(_IDS_SPAN, {"ids": json.dumps(replies)})
        work.label_context(_MENTIONS_SPAN, span)
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class _Work:
    db: Database
    labeller: Labeller
    handles: reading.OrgHandles
    batch_size: int
    stats: LabelStats

    def label_posts(self, span_sql: str, params: dict[str, Any]) -> None:
        """Label the leader posts ``span_sql`` selects (and the context posts they read), in batches."""
        version = self.labeller.version
        counts = self.stats.labels
        assert counts is not None
        for rows in self._pages(_POSTS_SQL.format(span=span_sql), params):
            unique = [row for i, row in enumerate(rows) if i == 0 or rows[i - 1][0] != row[0]]
            # (two tracked accounts can share a platform user id: label the post once)
            predictions = self.labeller.predict([build_post_input(row) for row in unique], self.handles)
            labels: list[store.LabelRow] = []
            context_labels: list[store.LabelRow] = []
            context_ids: list[str] = []
            seen_context: set[str] = set()
            for row, prediction in zip(unique, predictions):
                labels += _prediction_rows(row[0], prediction)
                reply_context, reply_text, quoted_context, quoted_text = row[13:]
                for context_id, context_text in ((reply_context, reply_text), (quoted_context, quoted_text)):
                    if context_id is None or context_id in seen_context:
                        continue
                    seen_context.add(context_id)
                    context_ids.append(context_id)
                    context_labels += _label_rows(context_id, reading.label_context(context_text))
            store.save_context_labels(self.db, context_ids, context_labels, version)
            store.save_post_labels(self.db, [row[0] for row in unique], labels, version,
                                   readings=[_reading(row[0], p) for row, p in zip(unique, predictions)])
            for label in labels + context_labels:
                counts[label[1]] += 1
            self.stats.posts_labelled += len(unique)
            self.stats.context_labelled += len(context_ids)

    def label_context(self, span_sql: str, params: dict[str, Any]) -> None:
        """Label the context posts ``span_sql`` selects that this version has not labelled yet."""
        version = self.labeller.version
        counts = self.stats.labels
        assert counts is not None
        for rows in self._pages(_CONTEXT_SQL.format(span=span_sql), params):
            labels: list[store.LabelRow] = []
            for context_id, text in rows:
                labels += _label_rows(context_id, reading.label_context(text))
            store.save_context_labels(self.db, [row[0] for row in rows], labels, version)
            for label in labels:
                counts[label[1]] += 1
            self.stats.context_labelled += len(rows)

    def _pages(self, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        """Keyset pages of ``sql`` (ordered by id, the first column) not yet read by this version."""
        after = ""
        while True:
            rows = self.db.execute(sql, {**params, "after": after, "version": self.labeller.version,
                                         "limit": self.batch_size}).fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]


# The leader posts of a span as the labeller read them, with what it concluded.
_MONTH_POSTS_SQL = """
SELECT p.id, p.platform, a.handle, p.created_at, p.text, p.kind, p.lang,
       p.in_reply_to_id,
       coalesce(cr.author_handle, pra.handle, ra.handle), coalesce(cr.text, pr.text),
       p.quoted_id, coalesce(cq.author_handle, pqa.handle), coalesce(cq.text, pq.text),
       lp.p_answer, lp.p_debate, lp.p_progress,
       (SELECT json_group_array(l.label) FROM post_labels l WHERE l.post_id = p.id)
FROM posts p
JOIN accounts a ON a.id = p.account_id
JOIN labelled_posts lp ON lp.post_id = p.id AND lp.classifier_version = :version
LEFT JOIN context_posts cr ON cr.id = p.in_reply_to_id
LEFT JOIN posts pr ON pr.id = p.in_reply_to_id
LEFT JOIN accounts pra ON pra.id = pr.account_id
LEFT JOIN accounts ra ON ra.platform = p.platform AND ra.platform_user_id = p.in_reply_to_user_id
LEFT JOIN context_posts cq ON cq.id = p.quoted_id
LEFT JOIN posts pq ON pq.id = p.quoted_id
LEFT JOIN accounts pqa ON pqa.id = pq.account_id
WHERE p.created_at >= :start AND p.created_at < :end AND (:all_leaders OR p.leader_id IN (SELECT value FROM json_each(:leaders)))
ORDER BY p.created_at, p.id
"""


def month_posts(db: Database, span: tuple[str, str], leader_ids: Sequence[str], version: str
                ) -> list[tuple[dict[str, Any], dict[str, float] | None, list[str]]]:
    """(labeller input, probabilities or None when not labelled, labels) of each leader post in ``span``."""
    out = []
    seen: set[str] = set()
    for row in db.execute(_MONTH_POSTS_SQL, {"start": span[0], "end": span[1], "version": version,
                                             "all_leaders": not leader_ids, "leaders": json.dumps(list(leader_ids))}):
        if row[0] in seen:
            continue
        seen.add(row[0])
        p_answer, p_debate, p_progress, labels = row[13:]
        probabilities = None if p_answer is None else {"answer": p_answer, "debate": p_debate, "progress": p_progress}
        out.append((build_post_input(row), probabilities, json.loads(labels)))
    return out

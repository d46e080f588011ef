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
from tracker.store import label_queries
from tracker.label import reading, rules
from tracker.config import Config
from tracker.label.model import Labeller, Prediction, load_model

BATCH_SIZE = 5000

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
    handles |= {handle.lower() for handle in label_queries.select_own_account_handles(db)}
    return handles


def build_post_input(row: tuple[Any, ...]) -> dict[str, Any]:
    """One row of ``label_queries``' post selections (its first 13 columns) as the classifier's input mapping (pure)."""
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
    work.label_posts(label_queries.CREATED_SPAN, span)
    if created is None:  # every context post no leader post led to, mentions included
        work.label_context(label_queries.ALL_CONTEXT, span)
    else:
        replies = label_queries.select_mention_replies(db, start, end)
        if replies:
            work.label_posts(label_queries.IDS_SPAN, {"ids": json.dumps(replies)})
        work.label_context(label_queries.MENTIONS_SPAN, span)
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
        for rows in self._pages(label_queries.unlabelled_posts_sql(span_sql), params):
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
        for rows in self._pages(label_queries.unlabelled_context_sql(span_sql), params):
            labels: list[store.LabelRow] = []
            for context_id, text in rows:
                labels += _label_rows(context_id, reading.label_context(text))
            store.save_context_labels(self.db, [row[0] for row in rows], labels, version)
            for label in labels:
                counts[label[1]] += 1
            self.stats.context_labelled += len(rows)

    def _pages(self, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        """Keyset pages of ``sql`` (ordered by id, the first column) not yet read by this version."""
        yield from label_queries.keyset_pages(self.db, sql, params, self.labeller.version, self.batch_size)


def month_posts(db: Database, span: tuple[str, str], leader_ids: Sequence[str], version: str
                ) -> list[tuple[dict[str, Any], dict[str, float] | None, list[str]]]:
    """(labeller input, probabilities or None when not labelled, labels) of each leader post in ``span``."""
    out = []
    seen: set[str] = set()
    for row in label_queries.select_labelled_posts(db, span[0], span[1], leader_ids, version):
        if row[0] in seen:
            continue
        seen.add(row[0])
        p_answer, p_debate, p_progress, labels = row[13:]
        probabilities = None if p_answer is None else {"answer": p_answer, "debate": p_debate, "progress": p_progress}
        out.append((build_post_input(row), probabilities, json.loads(labels)))
    return out

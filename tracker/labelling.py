"""Label the stored posts: build the classifier's input from ``posts`` + ``context_posts``.

Incremental: a post is labelled when it has no ``labelled_posts`` row or one written by
another classifier version (a new version relabels everything it has not seen). Work goes
in keyset-paginated batches, each written in one transaction, so memory stays flat and a
run killed half-way keeps what it finished.
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
       p.quoted_id, coalesce(cq.author_handle, pqa.handle), coalesce(cq.text, pq.text)
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
WHERE p.id > :after AND (lp.post_id IS NULL OR lp.classifier_version != :version)
ORDER BY p.id
LIMIT :limit
"""

_CONTEXT_SQL = """
SELECT c.id, c.text FROM context_posts c
LEFT JOIN labelled_context lc ON lc.context_id = c.id
WHERE c.id > :after AND (lc.context_id IS NULL OR lc.classifier_version != :version)
ORDER BY c.id
LIMIT :limit
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
    handles |= {row[0].lower() for row in db.execute("SELECT handle FROM accounts")}
    return handles


def build_post_input(row: tuple[Any, ...]) -> dict[str, Any]:
    """One ``_POSTS_SQL`` row as the classifier's input mapping (pure)."""
    (post_id, platform, author, created_at, text, kind, lang, reply_id, reply_author, reply_text,
     quoted_id, quoted_author, quoted_text) = row
    in_reply_to = None
    if reply_id is not None:
        in_reply_to = {"author": author if kind == "thread" else reply_author, "text": reply_text,
                       "is_self": kind == "thread"}
    quoted = {"author": quoted_author, "text": quoted_text} if quoted_id is not None else None
    return {"id": post_id, "platform": platform, "author": author, "created_at": created_at, "text": text,
            "kind": kind, "in_reply_to": in_reply_to, "quoted": quoted, "lang": lang}


def _label_rows(item_id: str, labels: Iterable[classify.Label]) -> list[store.LabelRow]:
    rows = []
    for label in labels:
        evidence = [{"rule": ev.rule, "text": ev.text, "start": ev.start, "end": ev.end, "source": ev.source}
                    for ev in label.evidence]
        rows.append((item_id, label.name, round(float(label.confidence), 4),
                     json.dumps(evidence, ensure_ascii=False, separators=(",", ":"))))
    return rows


def label_stored_posts(db: Database, config: Config, *, batch_size: int = BATCH_SIZE) -> LabelStats:
    """Label every leader post and context post not yet labelled by this classifier version."""
    started = time.perf_counter()
    version = classify.CLASSIFIER_VERSION
    stats = LabelStats(labels={name: 0 for name in (*classify.POST_LABELS, *classify.CONTEXT_LABELS)})
    assert stats.labels is not None
    handles = classify.normalize_handles(organisation_handles(db, config))

    after = ""
    while True:
        rows = db.execute(_CONTEXT_SQL, {"after": after, "version": version, "limit": batch_size}).fetchall()
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

    after = ""
    while True:
        rows = db.execute(_POSTS_SQL, {"after": after, "version": version, "limit": batch_size}).fetchall()
        if not rows:
            break
        labels = []
        ids: list[str] = []
        for row in rows:
            if ids and ids[-1] == row[0]:
                continue  # two tracked accounts share a platform user id: label the post once
            ids.append(row[0])
            labels += _label_rows(row[0], classify.label_post(build_post_input(row), handles))
        store.save_post_labels(db, ids, labels, version)
        for label in labels:
            stats.labels[label[1]] += 1
        stats.posts_labelled += len(ids)
        after = rows[-1][0]
    stats.seconds = time.perf_counter() - started
    return stats

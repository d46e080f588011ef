"""Labels of posts and context posts, and the monthly metrics rows computed from them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from tracker.store.db import now_iso, write_transaction

# One label of one post, ready to store: (post or context id, label, confidence, evidence JSON).
LabelRow = tuple[str, str, float, str]
PostReading = tuple[str, float | None, float | None, float | None, str | None]


READING_COLUMNS = ("p_answer", "p_debate", "p_progress", "not_labelled")


def _save_labels(db: Database, table: str, done_table: str, id_column: str, ids: Sequence[str],
                 labels: Iterable[LabelRow], classifier_version: str, labelled_at: str | None,
                 readings: Sequence[PostReading] = ()) -> None:
    labelled_at = labelled_at or now_iso()
    read = {reading[0]: reading[1:] for reading in readings}
    # Ids with a reading get its columns too; the others keep the reading they have.
    done = [(i, classifier_version, labelled_at) for i in ids if i not in read]
    done_read = [(i, classifier_version, labelled_at, *read[i]) for i in ids if i in read]
    with write_transaction(db):
        db.conn.executemany(f"DELETE FROM {table} WHERE {id_column} = ?", [(i,) for i in ids])
        db.table(table).insert_all([(id_column, "label", "confidence", "evidence", "classifier_version",
                                     "labelled_at"), *[(*row, classifier_version, labelled_at) for row in labels]])
        columns = (id_column, "classifier_version", "labelled_at")
        db.table(done_table).upsert_all([columns, *done], pk=id_column)
        db.table(done_table).upsert_all([(*columns, *READING_COLUMNS), *done_read], pk=id_column)


def save_post_labels(db: Database, post_ids: Sequence[str], labels: Iterable[LabelRow],
                     classifier_version: str, labelled_at: str | None = None,
                     readings: Sequence[PostReading] = ()) -> None:
    """Replace the labels of ``post_ids`` (all labelled by ``classifier_version``) in one transaction.

    Every id gets a ``labelled_posts`` row, also when it carries no label, so that the
    next run only labels new posts or posts labelled by another classifier version. A
    reading is (post id, p_answer, p_debate, p_progress, not_labelled): the model's
    probabilities, or why it did not label the post.
    """
    _save_labels(db, "post_labels", "labelled_posts", "post_id", post_ids, labels, classifier_version,
                 labelled_at, readings)


def save_context_labels(db: Database, context_ids: Sequence[str], labels: Iterable[LabelRow],
                        classifier_version: str, labelled_at: str | None = None) -> None:
    """Like ``save_post_labels`` for others' posts (``question``, ``critical``)."""
    _save_labels(db, "context_labels", "labelled_context", "context_id", context_ids, labels, classifier_version,
                 labelled_at)


def save_metrics(db: Database, rows: Iterable[dict[str, Any]], computed_at: str | None = None) -> int:
    """Upsert metric rows (the dicts ``tracker.metrics.monthly.compute_metrics`` returns); return how many.

    Every column of the table is set; one a row does not name becomes NULL."""
    computed_at = computed_at or now_iso()
    columns = tuple(db.table("metrics").columns_dict)
    values = []
    for row in rows:
        record = {**row, "computed_at": computed_at}
        values.append([int(record[c]) if isinstance(record.get(c), bool) else record.get(c) for c in columns])
    with write_transaction(db):
        db.table("metrics").upsert_all([columns, *values], pk=("leader_id", "month", "platform"))
    return len(values)

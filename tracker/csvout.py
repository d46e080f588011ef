"""The one CSV writer for monthly metrics, shared by ``tracker metrics --format csv`` and the
report's ``metrics.csv`` so that the two can never disagree (issue 4: "the CSV equals
`tracker metrics --format csv` for the month").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

# The documented column order of the metrics table (issue 3's stable keys). ``computed_at``
# is left out on purpose: it is the wall-clock time of the computation, and a CSV that
# changed on every recomputation of the same data could not be compared or diffed.
METRIC_KEYS: tuple[str, ...] = (
    "leader_id", "month", "platform",
    "posts", "originals", "replies", "threads", "quotes", "reposts",
    "answers", "questions_received",
    "questions_answered_share", "questions_answered_share_low", "questions_answered_share_high",
    "median_response_hours",
    "debates", "debate_share", "debate_share_low", "debate_share_high",
    "unique_counterparts", "external_replies",
    "external_reply_share", "external_reply_share_low", "external_reply_share_high",
    "progress", "progress_share", "progress_share_low", "progress_share_high",
    "active_weeks", "median_likes",
    "openness_index", "openness_index_low", "openness_index_high",
    "component_answer", "component_debate", "component_progress", "component_presence",
    "coverage", "low_sample", "classifier_version",
)


def metric_keys() -> tuple[str, ...]:
    """The metrics layer's own key order (``tracker.metrics.KEYS``) when it is installed, so
    that this CSV and ``tracker metrics --format csv`` agree column for column; else the
    pinned contract above."""
    try:
        from tracker.metrics import KEYS  # type: ignore[attr-defined]
    except ImportError:
        return METRIC_KEYS
    return tuple(KEYS)


def _cell(value: Any) -> str:
    # NULL stays an empty cell: a month without collection is "no data", never 0 (issue 3).
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        # repr() is the shortest text that reads back as the same float, on every platform.
        return repr(value)
    return str(value)


def metrics_to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Metrics rows (dicts keyed as ``METRIC_KEYS``) as CSV text with a header line.

    Columns are exactly ``metric_keys()`` in that order; keys a row lacks are empty cells and
    extra keys (``computed_at``) are not written. Lines end with ``\\n``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = metric_keys()
    writer.writerow(keys)
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key in keys])
    return buffer.getvalue()

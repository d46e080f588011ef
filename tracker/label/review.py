"""``tracker review``: the month's least certain posts, for a person to correct.

The posts nearest a label's threshold are where a person's correction teaches the model
most. Each line is written in the shape ``tracker train --labels`` reads (the current labels
filled in, the probabilities beside them), so the corrected file adapts the model with
``tracker train --base``. The file holds the leaders' posts and the text they reply to: it
stays with the team.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from tracker import atomicfile, store
from tracker.config import Config
from tracker.errors import ConfigError
from tracker.label.stored import label_stored_posts, labeller_for, month_posts
from tracker.label.model import LABELS
from tracker.months import last_complete_month, month_bounds_utc


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def uncertainty_order(probabilities: Sequence[dict[str, float]], thresholds: Sequence[float]) -> list[int]:
    """Indexes from the least to the most certain: the smallest distance, in log-odds, from
    any label's probability to that label's threshold comes first (pure)."""
    def margin(i: int) -> float:
        p = probabilities[i]
        return min(abs(_logit(p[name]) - _logit(t)) for name, t in zip(LABELS, thresholds))
    return sorted(range(len(probabilities)), key=lambda i: (margin(i), i))


def write_review(config: Config, month: str | None, leader_ids: Sequence[str], limit: int, out: Path) -> int:
    """Label ``month``, then write its ``limit`` least certain leader posts to ``out``."""
    month = month or last_complete_month(config.timezone)
    unknown = set(leader_ids) - {leader.id for leader in config.leaders}
    if unknown:
        raise ConfigError(f"no leader with id {', '.join(sorted(unknown))!r} in {config.path}")
    labeller = labeller_for(config)
    db = store.open_db(config.database, create=False)
    try:
        span = month_bounds_utc(month, config.timezone)
        label_stored_posts(db, config, created=span, labeller=labeller)
        posts = month_posts(db, span, leader_ids, labeller.version)
    finally:
        db.close()
    readable = [(post, p, labels) for post, p, labels in posts if p is not None]
    order = uncertainty_order([p for _, p, _ in readable], list(labeller.model.thresholds))[:limit]
    lines = []
    for i in order:
        post, probabilities, labels = readable[i]
        lines.append(json.dumps({**post, "labels": labels, "probabilities": probabilities, "note": ""},
                                ensure_ascii=False))
    atomicfile.write_text(out, "".join(line + "\n" for line in lines))
    return len(lines)

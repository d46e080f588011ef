"""``tracker label`` and ``tracker evaluate``: the labeller over JSON Lines, and its figures.

The rules live in ``tracker.classify``; this module reads and writes posts as JSON Lines
(the input shape is documented there and in docs/methodology.md) and scores the labeller
against a hand-labelled file.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.classify import CLASSIFIER_VERSION, POST_LABELS, Label, label_post, normalize_handles
from tracker.errors import InputError


def result_to_json(post_id: Any, labels: Iterable[Label]) -> dict[str, Any]:
    """The JSON shape ``tracker label`` writes for one post."""
    labels = list(labels)
    return {
        "id": post_id,
        "labels": [label.name for label in labels],
        "classifier_version": CLASSIFIER_VERSION,
        "evidence": {
            label.name: {
                "confidence": label.confidence,
                "rules": [{"rule": ev.rule, "text": ev.text, "start": ev.start, "end": ev.end,
                           "source": ev.source} for ev in label.evidence],
            }
            for label in labels
        },
    }


def _read_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            post = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(post, dict):
            raise InputError(f"line {number}: expected a JSON object, got {type(post).__name__}")
        yield number, post


def label_lines(lines: Iterable[str], org_handles: Collection[str] = ()) -> Iterator[str]:
    """JSON Lines in, JSON Lines out: one result line per non-blank input line."""
    org_handles = normalize_handles(org_handles)
    for number, post in _read_lines(lines):
        try:
            labels = label_post(post, org_handles)
        except InputError as exc:
            raise InputError(f"line {number}: {exc}") from None
        yield json.dumps(result_to_json(post["id"], labels), ensure_ascii=False)


# --- evaluation --------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelScore:
    label: str
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class EvaluationReport:
    n_posts: int
    scores: tuple[LabelScore, ...]
    classifier_version: str = CLASSIFIER_VERSION

    def score(self, label: str) -> LabelScore:
        return next(s for s in self.scores if s.label == label)


def evaluate(path: str | Path, org_handles: Collection[str] = ()) -> EvaluationReport:
    """Compare the labeller with a hand-labelled JSONL file (each line has ``labels``)."""
    counts = {name: [0, 0, 0, 0] for name in POST_LABELS}  # tp, fp, fn, tn
    org_handles = normalize_handles(org_handles)
    n_posts = 0
    with open(path, encoding="utf-8") as handle:
        for number, post in _read_lines(handle):
            expected = post.get("labels")
            if not isinstance(expected, list):
                raise InputError(f"line {number}: missing 'labels' list")
            try:
                predicted = {label.name for label in label_post(post, org_handles)}
            except InputError as exc:
                raise InputError(f"line {number}: {exc}") from None
            n_posts += 1
            for name, cell in counts.items():
                was, got = name in expected, name in predicted
                cell[0 if was and got else 1 if got else 2 if was else 3] += 1
    return EvaluationReport(n_posts, tuple(LabelScore(name, *cell) for name, cell in counts.items()))


def format_evaluation(report: EvaluationReport) -> str:
    """A plain-text table of the figures, one row per label."""
    rows = [f"{report.n_posts} posts, classifier {report.classifier_version}",
            f"{'label':<10}{'tp':>5}{'fp':>5}{'fn':>5}{'tn':>6}{'precision':>11}{'recall':>8}{'f1':>7}"]
    for s in report.scores:
        rows.append(f"{s.label:<10}{s.tp:>5}{s.fp:>5}{s.fn:>5}{s.tn:>6}"
                    f"{s.precision:>11.3f}{s.recall:>8.3f}{s.f1:>7.3f}")
    return "\n".join(rows)

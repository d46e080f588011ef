"""The labeller's quality bar, and one result shape for both ways of measuring it.

`tracker evaluate` scores a model as it is, or cross-validates it (retrained per fold);
either way the command prints a text table, JSON or CSV rows and checks the bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracker.label.jsonl import LabelScore

# The bar for each label on hand-labelled posts the model did not see: a false "answer" or
# "debate" is a public claim about a named person, so precision is held higher than recall.
PRECISION_BAR = 0.75
RECALL_BAR = 0.65


@dataclass(frozen=True)
class LabelQuality:
    text: str                 # the table for people
    data: dict[str, Any]      # the JSON
    scores: tuple[LabelScore, ...]

    @property
    def below_the_bar(self) -> list[str]:
        return [s.label for s in self.scores if s.precision < PRECISION_BAR or s.recall < RECALL_BAR]

    def rows(self) -> list[dict[str, Any]]:
        """One row per label: the figures and the confusion counts behind them."""
        return [{"label": s.label, "precision": s.precision, "recall": s.recall, "f1": s.f1,
                 "tp": s.tp, "fp": s.fp, "fn": s.fn, "tn": s.tn} for s in self.scores]


BAR_TEXT = f"(precision >= {PRECISION_BAR}, recall >= {RECALL_BAR})"


def measure_labeller(files: Sequence[str], *, folds: int | None = None, by_author: bool = False,
                     model_path: str | None = None, without_context: bool = False) -> LabelQuality:
    """Cross-validate on ``files`` (``folds``), or score the model at ``model_path`` (default:
    the shipped one) on them as it is."""
    if folds:
        from tracker.label.jsonl import read_labelled
        from tracker.label.training import cross_validate, format_evaluation as format_cv

        result = cross_validate(read_labelled(files), folds, by_author=by_author, without_context=without_context)
        return LabelQuality(format_cv(result), result.to_json(), tuple(result.labels))
    from tracker.label.jsonl import evaluate, format_evaluation

    report = evaluate(files, model_path=model_path, without_context=without_context)
    data = {"posts": report.n_posts, "classifier_version": report.classifier_version,
            "seen_in_training": list(report.seen_in_training),
            "labels": {s.label: {"precision": s.precision, "recall": s.recall, "f1": s.f1} for s in report.scores}}
    return LabelQuality(format_evaluation(report), data, report.scores)

"""``tracker label`` and ``tracker evaluate``: the labeller over JSON Lines, and its figures.

The rules live in ``tracker.label.rules``; this module reads and writes posts as JSON Lines
(the input shape is documented there and in docs/methodology.md) and scores the labeller
against a hand-labelled file.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tracker.label import reading
from tracker.label.reading import check_post, normalize_handles
from tracker.label.rules import POST_LABELS
from tracker.label.model import LABELS, Labeller, Prediction, file_digest, load_model
from tracker.errors import InputError


def read_posts(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
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


def result_to_json(post_id: Any, prediction: Prediction, version: str) -> dict[str, Any]:
    """The JSON shape ``tracker label`` writes for one post."""
    return {
        "id": post_id,
        "labels": list(prediction.labels),
        "probabilities": prediction.probabilities,
        "not_labelled": prediction.not_labelled,
        "classifier_version": version,
        "evidence": prediction.evidence,
    }


def label_lines(lines: Iterable[str], org_handles: Collection[str] = (), model_path: str | Path | None = None,
                batch_size: int = 2000) -> Iterator[str]:
    """JSON Lines in, JSON Lines out: one result line per non-blank input line, in order."""
    labeller = Labeller(load_model(model_path))
    handles = normalize_handles(org_handles)
    encode = json.JSONEncoder(ensure_ascii=False).encode
    batch: list[tuple[int, dict[str, Any]]] = []

    def flush() -> Iterator[str]:
        try:
            predictions = labeller.predict([post for _, post in batch], handles)
        except InputError:
            for number, post in batch:  # find the line at fault
                try:
                    check_post(post)
                except InputError as exc:
                    raise InputError(f"line {number}: {exc}") from None
            raise
        for (_, post), prediction in zip(batch, predictions):
            yield encode(result_to_json(post["id"], prediction, labeller.version))
        batch.clear()

    for number, post in read_posts(lines):
        batch.append((number, post))
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()


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
    classifier_version: str
    # Files the model was trained on: figures on them are not evidence of quality.
    seen_in_training: tuple[str, ...] = ()

    def score(self, label: str) -> LabelScore:
        return next(s for s in self.scores if s.label == label)


def evaluate(paths: Sequence[str | Path], org_handles: Collection[str] = (),
             model_path: str | Path | None = None, without_context: bool = False) -> EvaluationReport:
    """Compare the model with hand-labelled JSONL files (each line has ``labels``);
    ``without_context``: with every replied-to and quoted text hidden from the model."""
    model = load_model(model_path)
    data = read_labelled(paths)
    posts = [reading.without_context(p) for p in data.posts] if without_context else data.posts
    predictions = Labeller(model).predict(posts, org_handles, evidence=False)
    counts = {name: [0, 0, 0, 0] for name in POST_LABELS}  # tp, fp, fn, tn
    for row, prediction in zip(data.y, predictions):
        for j, (name, cell) in enumerate(counts.items()):
            was, got = bool(row[j]), name in prediction.labels
            cell[0 if was and got else 1 if got else 2 if was else 3] += 1
    trained = {source["sha256"] for source in model.meta.get("trained_on", [])}
    seen = tuple(source["file"] for source in data.sources if source["sha256"] in trained)
    return EvaluationReport(len(data.posts), tuple(LabelScore(name, *cell) for name, cell in counts.items()),
                            model.version, seen)


def format_evaluation(report: EvaluationReport) -> str:
    """A plain-text table of the figures, one row per label."""
    rows = [f"{report.n_posts} posts, classifier {report.classifier_version}",
            f"{'label':<10}{'tp':>5}{'fp':>5}{'fn':>5}{'tn':>6}{'precision':>11}{'recall':>8}{'f1':>7}"]
    for s in report.scores:
        rows.append(f"{s.label:<10}{s.tp:>5}{s.fp:>5}{s.fn:>5}{s.tn:>6}"
                    f"{s.precision:>11.3f}{s.recall:>8.3f}{s.f1:>7.3f}")
    if report.seen_in_training:
        rows.append(f"Not evidence: the model was trained on {', '.join(report.seen_in_training)}; "
                    "use --cv for figures on posts it did not see.")
    return "\n".join(rows)


# --- labelled data ---------------------------------------------------------------------------

@dataclass
class LabelledSet:
    posts: list[dict[str, Any]]
    y: np.ndarray                 # (posts, labels) 0/1
    sources: list[dict[str, Any]]  # file name, sha256 and number of posts (never the texts)

    @property
    def authors(self) -> np.ndarray:
        return np.array([str(p.get("author") or "") for p in self.posts])


def read_labelled(paths: Sequence[str | Path]) -> LabelledSet:
    """Posts with their hand labels from JSON Lines files (the ``tracker label`` input plus ``labels``)."""
    posts: list[dict[str, Any]] = []
    rows: list[list[int]] = []
    sources = []
    for path in paths:
        count = 0
        try:
            with open(path, encoding="utf-8") as handle:
                for number, post in read_posts(handle):
                    labels = post.get("labels")
                    if not isinstance(labels, list) or any(label not in LABELS for label in labels):
                        raise InputError(f"{path}: line {number}: 'labels' must be a list drawn from "
                                         f"{', '.join(LABELS)}")
                    try:
                        reading.check_post(post)
                    except InputError as error:
                        raise InputError(f"{path}: line {number}: {error}") from None
                    posts.append(post)
                    rows.append([int(label in labels) for label in LABELS])
                    count += 1
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path} is not UTF-8 text: save it as UTF-8") from None
        except InputError as error:
            message = str(error)
            raise InputError(message if message.startswith(str(path)) else f"{path}: {message}") from None
        sources.append({"file": Path(path).name, "sha256": file_digest(path), "posts": count})
    if not posts:
        raise InputError("no labelled posts in " + ", ".join(str(p) for p in paths))
    return LabelledSet(posts, np.array(rows, dtype=np.int8).reshape(-1, len(LABELS)), sources)

"""The learned labeller: calibrated probabilities for ``answer``, ``debate`` and ``progress``.

One logistic regression per label over the features of ``tracker.label.features``.

Hashing means the model file holds no vocabulary and no text: only weights, the Platt
calibration of each label's score (fitted on held-out folds), the threshold chosen on
cross-validation, and the cross-validated figures. The file is a NumPy ``.npz`` read with
``allow_pickle=False``: loading it runs no code.

Evidence: the model is linear in its features, so each word's share of a label's score is
exact. A label's evidence is the few spans of the post or its context whose words pushed
the probability up most, each worded for a person and given with its offsets into the
original text (``text[start:end]`` reproduces it).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from tracker import atomicfile
from tracker.errors import ConfigError
from tracker.label import reading, rules
from tracker.label.features import (ENGLISH, LETTERS, DATA_DIR, N_HASH, WORD_VECTOR_DIM, Features, TokenizedText,
                                    WordVectors, feature_blocks, featurize, hashed_column, load_word_vectors,
                                    not_labelled_reason)

LABELS = rules.POST_LABELS
MODEL_FORMAT = "model-1"
SHIPPED_MODEL = DATA_DIR / "labeller.npz"
MAX_MODEL_BYTES = 10 * 1024 * 1024

# Why a span was chosen, per label and text (worded for the report reader).
_REASON = {
    ("answer", "post"): "the reply gives",
    ("answer", "parent"): "replies to a question",
    ("answer", "quoted"): "quotes",
    ("debate", "post"): "argues",
    ("debate", "parent"): "replies to",
    ("debate", "quoted"): "takes on",
    ("progress", "post"): "reports work",
    ("progress", "parent"): "in reply to",
    ("progress", "quoted"): "shares",
}


# --- the model file -----------------------------------------------------------------------------

@dataclass
class Model:
    """A trained labeller: weights, calibration, thresholds and how it was measured."""

    weights: np.ndarray       # (labels, features) float32
    intercept: np.ndarray     # (labels,)
    platt: np.ndarray         # (labels, 2): probability = sigmoid(a * score + b)
    thresholds: np.ndarray    # (labels,)
    meta: dict[str, Any]      # version, training data, cross-validated figures, count error

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    def count_error(self, label: str) -> float:
        """Relative error of an estimated count, measured per author on cross-validation."""
        return float(self.meta.get("count_error", {}).get(label, 0.15))

    def scores(self, matrix: sp.csr_matrix) -> np.ndarray:
        return np.asarray(matrix @ self.weights.T) + self.intercept

    def probabilities(self, matrix: sp.csr_matrix) -> np.ndarray:
        return self._calibrate(self.scores(matrix))

    def probabilities_of(self, features: Sequence[Features], vectors: WordVectors) -> np.ndarray:
        """``probabilities(design_matrix(features))`` without building the dense block as a
        sparse matrix (the hashed and the vector parts are scored apart: 10x faster)."""
        hashed, dense = feature_blocks(features, vectors)
        scores = np.asarray(hashed @ self.weights[:, :N_HASH].T) + dense @ self.weights[:, N_HASH:].T
        return self._calibrate(scores + self.intercept)

    def _calibrate(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid(scores * self.platt[:, 0] + self.platt[:, 1])


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function: a score (log-odds) as a probability."""
    return 1.0 / (1.0 + np.exp(-z))


def save_model(model: Model, path: str | Path) -> Path:
    """Write the model as a compressed .npz of arrays and a JSON header (no pickles)."""
    path = Path(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, weights=model.weights.astype(np.float16), intercept=model.intercept,
                        platt=model.platt, thresholds=model.thresholds, meta=np.array(json.dumps(model.meta)))
    atomicfile.write_bytes(path, buffer.getvalue())
    return path


def load_model(path: str | Path | None = None) -> Model:
    """Read a model file (default: the shipped one); a clear ConfigError when it is unusable."""
    path = Path(path) if path else SHIPPED_MODEL
    return _load_model(str(path.resolve()))


@lru_cache(maxsize=4)
def _load_model(path: str) -> Model:
    try:
        if Path(path).stat().st_size > MAX_MODEL_BYTES:
            raise ConfigError(f"{path} is not a labeller model (larger than 10 MB)")
        with np.load(path, allow_pickle=False) as data:
            if set(data.files) != {"weights", "intercept", "platt", "thresholds", "meta"}:
                raise ValueError(f"unexpected arrays {sorted(data.files)}")
            meta = json.loads(str(data["meta"]))
            model = Model(data["weights"].astype(np.float32), data["intercept"].astype(np.float64),
                          data["platt"].astype(np.float64), data["thresholds"].astype(np.float64), meta)
    except FileNotFoundError:
        raise ConfigError(f"no labeller model at {path}: check [labels] model, or run `make model`") from None
    except (OSError, KeyError, ValueError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path} is not a labeller model ({error}): train one with `tracker train`") from None
    expected = (len(LABELS), N_HASH + 4 * int(meta.get("word_vector_dim", WORD_VECTOR_DIM)))
    if meta.get("format") != MODEL_FORMAT or model.weights.shape != expected or model.intercept.shape != (len(LABELS),) \
            or model.platt.shape != (len(LABELS), 2) or model.thresholds.shape != (len(LABELS),) \
            or not all(0 < t < 1 for t in model.thresholds):
        raise ConfigError(f"{path} is not a labeller model of format {MODEL_FORMAT!r} with the expected "
                          "arrays: retrain it with `tracker train`")
    return model


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- prediction -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Prediction:
    """One post's labelling: probabilities, the labels over threshold and their evidence."""

    probabilities: dict[str, float] | None   # None when the post was not labelled
    labels: tuple[str, ...]
    evidence: dict[str, list[dict[str, Any]]]
    not_labelled: str | None = None


class Labeller:
    """A loaded model with its word vectors, ready to label batches of posts."""

    def __init__(self, model: Model, vectors: WordVectors | None = None) -> None:
        self.model = model
        self.vectors = vectors or load_word_vectors()
        expected = model.meta.get("word_vectors")
        if expected and expected != self.vectors.version:
            raise ConfigError(f"the model {model.version} was trained with word vectors {expected!r}, "
                              f"these are {self.vectors.version!r}: retrain it with `tracker train`")

    @property
    def version(self) -> str:
        return self.model.version

    def predict(self, posts: Sequence[Mapping[str, Any]], org_handles: Collection[str] = (),
                evidence: bool = True) -> list[Prediction]:
        """Label ``posts`` (each checked like ``tracker label`` input) in one batch."""
        handles = reading.normalize_handles(org_handles)
        out: list[Prediction | None] = [None] * len(posts)
        todo: list[int] = []
        for i, post in enumerate(posts):
            kind = reading.check_post(post)
            reason = "repost" if kind == "repost" else not_labelled_reason(post.get("text"), post.get("lang"))
            if reason:
                out[i] = Prediction(None, (), {}, reason)
            else:
                todo.append(i)
        if todo:
            # Spans cost less than featurizing the labelled posts a second time for evidence.
            feats = [featurize(posts[i], handles, with_spans=evidence) for i in todo]
            probs = self.model.probabilities_of(feats, self.vectors)
            # Answering or debating a colleague is internal conversation, not the public
            # engagement these labels measure (the training posts carry no organisation).
            internal = np.array(["cue:colleague" in f.names for f in feats])
            probs[internal, :2] = 0.0
            for row, i in enumerate(todo):
                p = probs[row]
                labels = tuple(name for j, name in enumerate(LABELS) if p[j] >= self.model.thresholds[j])
                ev = {}
                if evidence and labels:
                    ev = {name: self.explain(feats[row], LABELS.index(name)) for name in labels}
                out[i] = Prediction({name: round(float(p[j]), 4) for j, name in enumerate(LABELS)}, labels, ev)
        return [item for item in out if item is not None]

    def explain(self, features: Features, label_index: int, top: int = 3) -> list[dict[str, Any]]:
        """The spans whose words pushed the label's score up most, worded for a person."""
        weights = self.model.weights[label_index]
        names = features.names
        norm = math.sqrt(len(set(names))) or 1.0
        credit: dict[tuple[str, int, int], float] = {}
        for name, span in zip(names, features.spans):
            if span is None:
                continue
            index = hashed_column(name)
            credit[span] = credit.get(span, 0.0) + float(weights[index]) / norm
        self._word_vector_credit(features, label_index, credit)
        label = LABELS[label_index]
        rule_spans = [ev for name, ev in features.rule_hits if name == label]
        return _evidence(features, label, credit, rule_spans, top)

    def _word_vector_credit(self, features: Features, label_index: int,
                            credit: dict[tuple[str, int, int], float]) -> None:
        """Each known word's exact share of the dense block's score (it is linear per text)."""
        dim = self.vectors.dim
        dense = self.model.weights[label_index, N_HASH:]
        w_post, w_reply, w_quote, w_cross = (dense[k * dim:(k + 1) * dim] for k in range(4))
        post_t = features.texts["post"]
        context_source = "parent" if "parent" in features.texts else "quoted" if "quoted" in features.texts else None
        context_t = features.texts.get(context_source) if context_source else None

        def mean_vector(item: TokenizedText | None) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
            rows = [] if item is None else [(self.vectors.index[t], s, e) for t, s, e in item.tokens
                                             if t in self.vectors.index]
            if not rows:
                return np.zeros(dim, np.float32), []
            return self.vectors.vectors[[r for r, _, _ in rows]].mean(axis=0), rows

        post_mean, post_rows = mean_vector(post_t)
        ctx_mean, ctx_rows = mean_vector(context_t)
        post_norm = float(np.linalg.norm(post_mean)) or 1.0
        ctx_norm = float(np.linalg.norm(ctx_mean)) or 1.0
        ctx_unit = ctx_mean / ctx_norm
        post_unit = post_mean / post_norm
        # d(score) for the post's mean vector: its own weights plus the cross term.
        post_direction = w_post + w_cross * ctx_unit
        for row, start, end in post_rows:
            share = float(self.vectors.vectors[row] @ post_direction) / (len(post_rows) * post_norm)
            credit[("post", start, end)] = credit.get(("post", start, end), 0.0) + share
        if context_source:
            ctx_direction = (w_reply if context_source == "parent" else w_quote) + w_cross * post_unit
            for row, start, end in ctx_rows:
                share = float(self.vectors.vectors[row] @ ctx_direction) / (len(ctx_rows) * ctx_norm)
                key = (context_source, start, end)
                credit[key] = credit.get(key, 0.0) + share


def _evidence(features: Features, label: str, credit: dict[tuple[str, int, int], float],
              rule_spans: Sequence[reading.Evidence], top: int) -> list[dict[str, Any]]:
    """Turn per-span credit into at most ``top`` readable phrases (adjacent words merged)."""
    by_token: dict[tuple[str, int, int], float] = {}
    starts = {source: {s: i for i, (_, s, _) in enumerate(item.tokens)} for source, item in features.texts.items()}
    for (source, start, end), value in credit.items():
        index = starts.get(source, {}).get(start)
        if index is None:
            continue  # a rule's span that does not start on a word
        tokens = features.texts[source].tokens
        inside = []
        while index < len(tokens) and tokens[index][2] <= end:
            inside.append(tokens[index])
            index += 1
        # A pair's credit is shared by its two words.
        for _, s, e in inside:
            by_token[(source, s, e)] = by_token.get((source, s, e), 0.0) + value / len(inside)
    items: list[dict[str, Any]] = []
    used: set[tuple[str, int]] = set()
    taken: list[tuple[str, int, int]] = []
    for (source, start, end), value in sorted(by_token.items(), key=lambda kv: (-kv[1], kv[0])):
        if value <= 0 or len(items) >= top or (source, start) in used:
            continue
        text = features.texts[source].text
        words = features.texts[source].tokens
        position = starts[source][start]
        # Grow the phrase over neighbours that also pushed the label up (or carry no letters,
        # such as a number beside its unit), up to six words.
        first = last = position
        while first > 0 and last - first < 5 and _helps(by_token, source, words[first - 1], value):
            first -= 1
        while last + 1 < len(words) and last - first < 5 and _helps(by_token, source, words[last + 1], value):
            last += 1
        span_start, span_end = words[first][1], words[last][2]
        for ev in rule_spans:
            if ev.source == source and ev.start is not None and ev.end is not None \
                    and ev.start <= span_start and span_end <= ev.end and ev.end - ev.start <= 80:
                span_start, span_end = ev.start, ev.end  # the rule's whole phrase reads better
                break
        phrase = text[span_start:span_end]
        if not LETTERS.search(phrase) or all(w in ENGLISH for w in re.findall(r"[a-z']+", phrase.lower())):
            continue  # a stray digit, mark or function word ("on", "the") is no reason a person can read
        if any(src == source and s < span_end and span_start < e for src, s, e in taken):
            continue  # the same words are already a reason
        taken.append((source, span_start, span_end))
        for _, s, e in words:
            if span_start <= s and e <= span_end:
                used.add((source, s))
        items.append({"reason": f"{_REASON[(label, source)]}: '{phrase}'", "source": source,
                      "start": span_start, "end": span_end, "text": phrase, "weight": round(value, 4)})
    return items


def _helps(by_token: Mapping[tuple[str, int, int], float], source: str, token: tuple[str, int, int],
           value: float) -> bool:
    share = by_token.get((source, token[1], token[2]), 0.0)
    # "#num"/"#year" stand for a number: it joins its neighbour ("4,000 customers").
    return share > 0.25 * value or (share >= 0 and (token[0].startswith("#") or not LETTERS.search(token[0])))

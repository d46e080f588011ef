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

import gc
import hashlib
import io
import json
import math
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from tracker import atomicfile
from tracker.errors import ConfigError
from tracker.label import reading, rules
from tracker.label.features import (ENGLISH, LETTERS, DATA_DIR, N_HASH, WORD_VECTOR_DIM, Features, WordVectors,
                                    feature_blocks, featurize, known_words, load_word_vectors,
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


def applicable(features: Sequence[Features]) -> np.ndarray:
    """Which labels each post can carry by their definitions, a row per post in ``LABELS``
    order: an answer is a reply to another person, a debate a reply to or quote of another
    person; a thread, a quote of one's own post, or a reply to or quote of a colleague
    (internal conversation, not the public engagement these labels measure) is neither.
    Every post can report progress. The labelled posts hold almost no such replies, so the
    model alone would guess."""
    out = np.ones((len(features), len(LABELS)), dtype=bool)
    for row, item in enumerate(features):
        someone_else = not item.to_self and "colleague" not in item.cues
        out[row, LABELS.index("answer")] = item.kind == "reply" and someone_else
        out[row, LABELS.index("debate")] = item.kind in ("reply", "quote") and someone_else
    return out


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector for one batch. Labelling makes no reference cycles, but
    its many short-lived lists and tuples set off full collections of everything loaded
    (a fifth of the time); plain reference counting still frees them as it goes. The pause
    is process-wide (the scheduler's other jobs too) and lasts one batch: cycles they make
    meanwhile are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        with _no_cycle_collection():
            return self._predict(posts, org_handles, evidence)

    def _predict(self, posts: Sequence[Mapping[str, Any]], org_handles: Collection[str],
                 evidence: bool) -> list[Prediction]:
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
            feats = [featurize(posts[i], handles) for i in todo]
            probs = self.model.probabilities_of(feats, self.vectors)
            probs[~applicable(feats)] = 0.0
            for row, i in enumerate(todo):
                p = probs[row]
                labels = tuple(name for j, name in enumerate(LABELS) if p[j] >= self.model.thresholds[j])
                ev = self.explain(feats[row], labels) if evidence and labels else {}
                out[i] = Prediction({name: round(float(p[j]), 4) for j, name in enumerate(LABELS)}, labels, ev)
        return [item for item in out if item is not None]

    def explain(self, features: Features, labels: Sequence[str], top: int = 3) -> dict[str, list[dict[str, Any]]]:
        """For each of ``labels``, the spans whose words pushed its score up most, worded for a person."""
        units: dict[str, tuple[list[int], list[int]]] = {}  # each text's sentences and clauses, found once
        out = {}
        for label in labels:
            rule_spans = [ev for name, ev in features.rule_hits if name == label]
            credit = self.word_credit(features, LABELS.index(label))
            out[label] = _evidence(features, label, credit, rule_spans, top, units)
        return out

    def word_credit(self, features: Features, label_index: int) -> dict[str, np.ndarray]:
        """Each word's share of the label's score, per text (post, parent, quoted).

        The model is linear: a feature's share is its weight over the row's norm (the design
        matrix is binary, each row unit length), spread over the words it came from; a word
        vector's share is exact too. Features of no word (structure, a rule span that starts
        mid-word) and the intercept are nobody's; the post-context product is credited to
        both sides in full."""
        weights = self.model.weights[label_index]
        norm = math.sqrt(len(set(features.columns))) or 1.0
        credit = {source: np.zeros(len(item.words)) for source, item in features.texts.items()}
        for block in features.blocks:
            if block.source is None or not block.columns or block.source not in credit:
                continue
            shares = weights[block.columns] / norm
            target = credit[block.source]
            if block.ranges is not None:
                for share, span in zip(shares, block.ranges):
                    if span is not None:
                        target[span[0]:span[1] + 1] += share / (span[1] - span[0] + 1)
                continue
            for offset in range(block.width):  # a pair's share is split between its two words
                target[offset:offset + len(shares)] += shares / block.width
        self._word_vector_credit(features, label_index, credit)
        return credit

    def _word_vector_credit(self, features: Features, label_index: int, credit: dict[str, np.ndarray]) -> None:
        """Each known word's exact share of the dense block's score (it is linear per text)."""
        dim = self.vectors.dim
        dense = self.model.weights[label_index, N_HASH:]
        w_post, w_reply, w_quote, w_cross = (dense[k * dim:(k + 1) * dim] for k in range(4))
        context_source = "parent" if "parent" in features.texts else "quoted" if "quoted" in features.texts else None

        def known(source: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Positions of the text's known words, their vectors, and their mean vector."""
            positions, rows = known_words(features.texts[source], self.vectors) if source else ([], [])
            if not positions:
                return np.zeros(0, np.intp), np.zeros((0, dim), np.float32), np.zeros(dim, np.float32)
            vectors = self.vectors.vectors[rows]
            return np.asarray(positions), vectors, vectors.sum(axis=0) / len(rows)

        post_at, post_vectors, post_mean = known("post")
        ctx_at, ctx_vectors, ctx_mean = known(context_source)
        post_norm = math.sqrt(float(post_mean @ post_mean)) or 1.0
        ctx_norm = math.sqrt(float(ctx_mean @ ctx_mean)) or 1.0
        # d(score) for the post's mean vector: its own weights plus the cross term.
        if len(post_at):
            direction = w_post + w_cross * (ctx_mean / ctx_norm)
            credit["post"][post_at] += (post_vectors @ direction) / (len(post_at) * post_norm)
        if context_source and len(ctx_at):
            direction = (w_reply if context_source == "parent" else w_quote) + w_cross * (post_mean / post_norm)
            credit[context_source][ctx_at] += (ctx_vectors @ direction) / (len(ctx_at) * ctx_norm)


# Evidence reads as whole clauses: a phrase is the clause of a word that pushed the label up
# (a clause of one or two words takes its neighbour in the same sentence), and only a clause
# too long to read at a glance is cut to the words around that word. Sentences end at ".",
# "?", "!" (kept: a question reads as one) and line breaks; clauses also at ",", ";", ":",
# brackets, spaced dashes and an em dash. Marks inside a number ("4,000", "2.5", "10:30"),
# after an initial ("U.S.") or a title ("Dr.", "No. 1"), in a link or an HTML entity
# ("&amp;") end nothing; nor does a hyphen or an en dash between words ("co-founded",
# "2019–2020").
MAX_PHRASE_WORDS = 15
SHORT_PHRASE_WORDS = 6
# Read on the prepared text, where "—" and "–" are "-" (an em dash is looked for in the
# original text) and links are blanked.
_SENTENCE_MARK = re.compile(r"[.\n]")
_CLAUSE_MARK = re.compile(r"[.\n,;:()\[\]]|\s-+\s|--")
_TITLES = frozenset("dr mr mrs ms sr jr st vs rep sen gov gen lt col sgt prof inc co corp dept".split())
# Words a phrase does not end on ("protect our", "lack of"): function words, determiners,
# prepositions, auxiliaries.
_DANGLING = ENGLISH | frozenset(
    "its their his her them us me him those these any some each every than then very too also which "
    "whose where there here into onto over under after before between through during without within "
    "against among upon via per would should could may might must shall don't doesn't didn't isn't "
    "aren't wasn't weren't won't can't couldn't shouldn't wouldn't i'm we're you're they're it's "
    "that's we've i've".split())
# Words that need what a link cut off ("available now at https://...").
_BEFORE_OBJECT = frozenset("at to from of in on for with by via the a an my our your their his her its and or".split())
_LINK = re.compile(r"[ \t]*(?:https?://|www\.)")


def boundaries(text: str, tokens: Sequence[tuple[str, int, int]]) -> tuple[list[int], list[int]]:
    """The sentence number and the clause number of each token of ``text`` (pure)."""
    work, _ = reading.prepare(text)  # same length, links blanked, entities decoded
    sentences: list[int] = []
    clauses: list[int] = []
    sentence = clause = 0
    previous, previous_start, previous_end = "", 0, 0
    for word, start, end in tokens:
        if sentences:
            if previous in ("?", "!"):
                sentence, clause = sentence + 1, clause + 1
            elif _CLAUSE_MARK.search(work, previous_end, start) or "\u2014" in text[previous_end:start]:
                gap = work[previous_end:start]
                initial = previous_end - previous_start == 1 and previous.isalpha() and previous != "i"
                inside = (gap in (",", ".", ":") and previous[0] == "#" and word[0] == "#") or (
                    gap.strip(" ") == "." and (initial or previous in _TITLES or (previous == "no" and word[0] == "#")))
                if not inside:
                    clause += 1
                    sentence += bool(_SENTENCE_MARK.search(work, previous_end, start))
        sentences.append(sentence)
        clauses.append(clause)
        previous, previous_start, previous_end = word, start, end
    return sentences, clauses


def _evidence(features: Features, label: str, credit: Mapping[str, np.ndarray],
              rule_spans: Sequence[reading.Evidence], top: int,
              units: dict[str, tuple[list[int], list[int]]] | None = None) -> list[dict[str, Any]]:
    """Turn per-token credit into at most ``top`` readable phrases: the clauses of the words
    that pushed the label up most (``_phrase``), or a rule's short phrase inside a long one.
    ``units`` holds each text's sentence and clause of each token, filled as needed."""
    units = {} if units is None else units
    # The tokens that pushed the label up, most first (ties: by text, then position).
    ranked: list[tuple[float, str, int]] = []
    for source, values in credit.items():
        positive = np.flatnonzero(values > 0)
        ranked += zip((-values[positive]).tolist(), [source] * len(positive), positive.tolist())
    ranked.sort()
    items: list[dict[str, Any]] = []
    used: set[tuple[str, int]] = set()
    taken: list[tuple[str, int, int]] = []
    for negative, source, position in ranked:
        if len(items) >= top:
            break
        if (source, position) in used:
            continue
        value = -negative
        text = features.texts[source].text
        words = features.texts[source].tokens
        if source not in units:
            units[source] = boundaries(text, words)
        first, last, whole = _phrase(text, words, *units[source], credit[source], position, value)
        span_start, span_end = words[first][1], words[last][2]
        if source == "post" and whole and last - first >= SHORT_PHRASE_WORDS:
            # In a whole clause of seven words or more of the post, a rule's short phrase that
            # holds the word points at what the post says ("next week": a date; "we launched").
            # It must start and end on the clause's words ("$5M", not "$5").
            starts = {s for _, s, _ in words[first:last + 1]}
            ends = {e for _, _, e in words[first:last + 1]}
            seed_start, seed_end = words[position][1], words[position][2]
            span_start, span_end = next(
                ((ev.start, ev.end) for ev in rule_spans if ev.source == source and ev.start in starts
                 and ev.end in ends and ev.start is not None and ev.end is not None  # (for the type checker)
                 and ev.start <= seed_start and seed_end <= ev.end and _short_and_whole(text[ev.start:ev.end])),
                (span_start, span_end))
        # A word the tokens cut (they are ASCII: "café") is shown whole.
        while span_end < len(text) and text[span_end].isalnum():
            span_end += 1
        while span_start > 0 and text[span_start - 1].isalnum():
            span_start -= 1
        phrase = text[span_start:span_end]
        if not LETTERS.search(phrase):
            continue  # a stray digit or mark is no reason a person can read
        if all(w in ENGLISH for w in re.findall(r"[a-z']+", phrase.lower())) \
                and not (whole and _unit(units[source][0], position) == (first, last)):
            continue  # nor are stray function words ("on the"); a sentence of them is ("Yes", "I have")
        if any(src == source and s < span_end and span_start < e for src, s, e in taken):
            continue  # the same words are already a reason
        taken.append((source, span_start, span_end))
        for k, (_, s, e) in enumerate(words):
            if span_start <= s and e <= span_end:
                used.add((source, k))
        items.append({"reason": f"{_REASON[(label, source)]}: '{phrase}'", "source": source,
                      "start": span_start, "end": span_end, "text": phrase, "weight": round(value, 4)})
    return items


def _short_and_whole(phrase: str) -> bool:
    """A phrase of at most five words that does not end on a function word ("next week", not
    "done at the")."""
    found = re.findall(r"[a-z0-9']+", phrase.lower())
    return 0 < len(found) <= 5 and found[-1] not in _DANGLING


def _unit(numbers: Sequence[int], position: int) -> tuple[int, int]:
    """The first and last token of the unit (sentence or clause) that holds ``position``."""
    first = last = position
    while first > 0 and numbers[first - 1] == numbers[position]:
        first -= 1
    while last + 1 < len(numbers) and numbers[last + 1] == numbers[position]:
        last += 1
    return first, last


def _phrase(text: str, words: Sequence[tuple[str, int, int]], sentence: Sequence[int], clause: Sequence[int],
            shares: np.ndarray, position: int, value: float) -> tuple[int, int, bool]:
    """The first and last token of the phrase around ``position``, and whether it is a whole
    clause: the clause (with the neighbouring clause of the same sentence that helped more,
    when it is one or two tokens) unless it has more than MAX_PHRASE_WORDS tokens; then the
    neighbours that also pushed the label up (or carry no letters, such as a number beside
    its unit), about six tokens where the clause has them, a function word at the end dropped
    (or, when ``position`` is one, the phrase runs on to the next word: "lack of ethics"),
    and no hyphenated word split. A clause cut short by a link ("available now at
    https://...") drops the prepositions and articles left hanging."""
    first, last = _unit(clause, position)
    if last - first < 2:  # a clause of one or two tokens joins the neighbour that helped more
        neighbours = [_unit(clause, k) for k in (first - 1, last + 1)
                      if 0 <= k < len(words) and sentence[k] == sentence[position]]
        options = [(float(shares[a:b + 1].clip(0).sum()), min(a, first), max(b, last)) for a, b in neighbours
                   if max(b, last) - min(a, first) < MAX_PHRASE_WORDS]
        if options:
            _, first, last = max(options)
    if last - first < MAX_PHRASE_WORDS:
        if _LINK.match(text, words[last][2]):
            while last > position and words[last][0] in _BEFORE_OBJECT:
                last -= 1
        return first, last, True
    low, high = first, last
    first = last = position
    while first > low and last - first < 5 and _helps(shares[first - 1], words[first - 1][0], value):
        first -= 1
    while last < high and last - first < 5 and _helps(shares[last + 1], words[last + 1][0], value):
        last += 1
    while last - first < 4 and (first > low or last < high):  # a few words of context at least
        if last < high and (first == low or shares[last + 1] >= shares[first - 1]):
            last += 1
        else:
            first -= 1
    while last > position and words[last][0] in _DANGLING:
        last -= 1
    if words[last][0] in _DANGLING:  # the word itself is one ("lack of"): run on to the next word
        last = next((k for k in range(last + 1, min(high, last + 3) + 1) if words[k][0] not in _DANGLING), last)
    while first > low and text[words[first - 1][2]:words[first][1]] == "-":  # "co-founded" stays whole
        first -= 1
    while last < high and text[words[last][2]:words[last + 1][1]] == "-":
        last += 1
    return first, last, False


def _helps(share: float, token: str, value: float) -> bool:
    # "#num"/"#year" stand for a number: it joins its neighbour ("4,000 customers").
    return bool(share > 0.25 * value or (share >= 0 and (token.startswith("#") or not LETTERS.search(token))))

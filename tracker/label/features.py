"""What the learned labeller sees in a post: hashed words, word pairs and cues of the post
and its context, the rules' hits, and static word vectors; and which posts it cannot read.

- hashed words and word pairs of the post, of the post it replies to and of the post it
  quotes (each with its own prefix, and the post's words also crossed with the context's
  cues: "the parent asks a question", "the parent is critical", "the parent is unknown");
- the hits of the ``rules-2`` rules (``tracker.label.rules``) and structural facts (kind, a reply
  to oneself or a colleague, length, a link);
- static word vectors (``tracker/data/word-vectors.npz``): the average vector of the post's
  words, of the context's words and their product, which lets the model generalise to words
  it never saw labelled ("docked", "cosponsor").

Every feature can carry the span of text it came from, so evidence can point at the words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.utils import murmurhash3_32

from tracker.errors import ConfigError
from tracker.label import reading, rules

N_HASH = 2 ** 18
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
WORD_VECTORS = DATA_DIR / "word-vectors.npz"
WORD_VECTOR_DIM = 384

# Tokens of the prepared text (lowercase, URLs and leading @mentions blanked, same length as
# the original, so a token's offsets index the original text).
_TOKEN = re.compile(r"@\w+|[a-z0-9]+(?:'[a-z]+)?|[?!]")
LETTERS = re.compile(r"[^\W\d_]{2}")

# --- language ---------------------------------------------------------------------------------

# Lang tags that say nothing about the language (X: "und" undetermined, "zxx" no text,
# "qme" media only, "qht" hashtags only, "art" emoji only).
_NO_LANGUAGE = {"und", "zxx", "qme", "qht", "qam", "qct", "art", ""}
ENGLISH = frozenset(
    "the a an and or but to of in on for with at by from is are was were be been it this that "
    "we i you our my your they he she not no yes will can do does did have has had just so as "
    "if what when how why who about more all up out".split())


def not_labelled_reason(text: str | None, lang: str | None) -> str | None:
    """"language" when the model cannot read the post (not English), else None (pure).

    The platform's own tag decides when it names a language; without one, a post of five
    words or more with no common English word, or mostly in a non-Latin script, is not English.
    """
    tag = (lang or "").lower().split("-")[0]
    if tag and tag not in _NO_LANGUAGE:
        return None if tag == "en" else "language"
    letters = [ch for ch in (text or "") if ch.isalpha()]
    if len(letters) >= 10 and sum(ch.isascii() for ch in letters) < 0.5 * len(letters):
        return "language"
    words = re.findall(r"[^\W\d_]+", (text or "").lower())
    # English prose is about half function words; a few shared ones ("a", "in", "no") appear
    # in French, Spanish or German too, so it takes a share, not one.
    if len(words) >= 5 and sum(word in ENGLISH for word in words) < 0.2 * len(words):
        return "language"
    return None


# --- features ---------------------------------------------------------------------------------

@dataclass
class TokenizedText:
    """A text's tokens: (token, start, end) in the original text."""

    text: str
    tokens: list[tuple[str, int, int]]


def tokenize(text: str | None) -> TokenizedText:
    if not text:
        return TokenizedText("", [])
    work, _ = reading.prepare(text)
    out = []
    for match in _TOKEN.finditer(work):
        token = match.group()
        if token[0] == "@":
            token = "@"
        elif token[0].isdigit():
            token = "#year" if len(token) == 4 and token[:2] in ("19", "20") else "#num"
        out.append((token, match.start(), match.end()))
    return TokenizedText(text, out)


@dataclass
class Features:
    """One post's features: hashed names with the span each came from, and its texts."""

    names: list[str]
    spans: list[tuple[str, int, int] | None]  # (source, start, end) or None (structure)
    texts: dict[str, TokenizedText] = field(default_factory=dict)
    rule_hits: list[tuple[str, reading.Evidence]] = field(default_factory=list)


def _length_bucket(n: int) -> int:
    return min(6, int(math.log2(n + 1)))


def featurize(post: Mapping[str, Any], org_handles: reading.OrgHandles, with_spans: bool = False) -> Features:
    """The features of one post (pure). ``post`` has the shape ``tracker label`` reads.

    The features are a set (binary), so their order does not matter; ``with_spans`` also
    records where in which text each one came from, which only evidence needs.
    """
    kind = str(post.get("kind") or ("reply" if post.get("in_reply_to") else "original"))
    text = post.get("text") or ""
    out = Features([], [], {"post": tokenize(text)})
    words = out.texts["post"].tokens
    toks = [token for token, _, _ in words]
    prefix = kind[0].upper()
    bucket = _length_bucket(len(toks))
    out.names += [f"k={kind}", f"len={bucket}", f"{prefix}len={bucket}",
                  *["w:" + t for t in toks], *[prefix + ":" + t for t in toks],
                  *[f"b{i}:{t}" for i, t in enumerate(toks[:3])], *[f"w:{a}_{b}" for a, b in zip(toks, toks[1:])]]
    post_spans: list[tuple[str, int, int] | None] = []
    if with_spans:
        post_spans = [("post", start, end) for _, start, end in words]
        out.spans += [None, None, None, *post_spans, *post_spans, *post_spans[:3],
                      *[("post", a[1], b[2]) for a, b in zip(words, words[1:])]]
    extra = []
    if "http" in text or "www." in text:
        extra.append("has_url")
    if text.rstrip().endswith("?"):
        extra.append("ends_q")

    # The rules' labels, and their reading of the replied-to or quoted post when they read it.
    post_labels, counterpart_context = rules.label_post_and_context(post, org_handles)
    cues = _counterpart_features(post, kind, org_handles, counterpart_context, out, with_spans)
    for cue in cues:
        extra += ["cue:" + cue, f"cue:{cue}&len={bucket}"]
        out.names += [f"{cue}&{t}" for t in toks]
        out.spans += post_spans
    extra += _rule_features(post_labels, out, with_spans)
    out.names += extra
    if with_spans:
        out.spans += [None] * len(extra)
    return out


def _counterpart_features(post: Mapping[str, Any], kind: str, org_handles: reading.OrgHandles,
                          counterpart_context: list[reading.Label] | None, out: Features,
                          with_spans: bool) -> list[str]:
    """Add the replied-to or quoted post's words and the rules' cues in it to ``out``; return
    the cues (self, colleague, unknown, question, critical, plain) to cross with the post's words."""
    parent = post.get("in_reply_to") if kind in ("reply", "thread") else None
    quoted = post.get("quoted") if kind == "quote" else None
    counterpart = parent or quoted
    if counterpart is None:
        return []
    cues: list[str] = []
    source = "parent" if parent is not None else "quoted"
    letter = source[0]
    other = reading.handle_of(counterpart.get("author"))
    if (parent is not None and parent.get("is_self")) or other == reading.handle_of(post.get("author")):
        cues.append("self")
    elif other in org_handles:
        cues.append("colleague")
    context_text = counterpart.get("text")
    if context_text is None:
        return cues + [f"{letter}unknown"]
    out.texts[source] = tokenize(context_text)
    ctx = out.texts[source].tokens
    ctx_toks = [token for token, _, _ in ctx]
    out.names += [f"{letter}:{t}" for t in ctx_toks]
    out.names += [f"{letter}:{a}_{b}" for a, b in zip(ctx_toks, ctx_toks[1:])]
    if with_spans:
        out.spans += [(source, start, end) for _, start, end in ctx]
        out.spans += [(source, a[1], b[2]) for a, b in zip(ctx, ctx[1:])]
    if counterpart_context is not None:  # the rules read it already: reuse that reading
        question = [ev for label in counterpart_context if label.name == "question" for ev in label.evidence]
        critical = [ev for label in counterpart_context if label.name == "critical" for ev in label.evidence]
    else:
        question, critical = reading.context_evidence(context_text, source)
    for ev in question + critical:
        out.names.append(f"{letter}r:{ev.rule}")
        if with_spans:
            out.spans.append((source, ev.start, ev.end) if ev.start is not None and ev.end is not None else None)
    if question:
        cues.append(f"{letter}question")
    if critical:
        cues.append(f"{letter}critical")
    if not question and not critical:
        cues.append(f"{letter}plain")
    return cues


def _rule_features(post_labels: list[reading.Label], out: Features, with_spans: bool) -> list[str]:
    """Add the rules' span hits to ``out`` (and to ``out.rule_hits`` for evidence); return the
    span-less features (the labels the rules gave, structural rule hits)."""
    extra = []
    for label in post_labels:
        extra.append("L:" + label.name)
        for ev in label.evidence:
            if ev.source == "structure" or ev.start is None:
                extra.append("r:" + ev.rule)
            else:
                out.names.append("r:" + ev.rule)
                if with_spans:
                    out.spans.append((ev.source, ev.start, ev.end or ev.start))
                out.rule_hits.append((label.name, ev))
    return extra


# --- word vectors -------------------------------------------------------------------------------

@dataclass(frozen=True)
class WordVectors:
    """Static word vectors: a row per word (float32, unit length) and the version tag."""

    index: dict[str, int]
    vectors: np.ndarray
    version: str

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@lru_cache(maxsize=2)
def load_word_vectors(path: Path = WORD_VECTORS) -> WordVectors:
    try:
        with np.load(path, allow_pickle=False) as data:
            words = [str(w) for w in data["words"]]
            vectors = data["vectors"].astype(np.float32) * data["scale"][:, None]
            version = str(data["version"])
    except (OSError, KeyError, ValueError) as error:
        raise ConfigError(f"cannot read the word vectors {path}: {error}") from None
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return WordVectors({word: i for i, word in enumerate(words)}, vectors, version)


def _bag(texts: Sequence[TokenizedText | None], vectors: WordVectors) -> sp.csr_matrix:
    """Rows of word weights (mean over a text's known words) to multiply with the vectors."""
    indptr, indices, data = [0], [], []
    for item in texts:
        found = [] if item is None else [vectors.index.get(token) for token, _, _ in item.tokens]
        known = [i for i in found if i is not None]
        indices += known
        if known:
            data += [1.0 / len(known)] * len(known)
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, np.float32), indices, indptr), shape=(len(texts), len(vectors.index)))


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


_HASHER = FeatureHasher(N_HASH, input_type="string", alternate_sign=False)


@lru_cache(maxsize=200_000)
def hashed_column(name: str) -> int:
    """The column FeatureHasher gives ``name`` (murmurhash3, seed 0, absolute value)."""
    return abs(murmurhash3_32(name, seed=0)) % N_HASH


def design_matrix(features: Sequence[Features], vectors: WordVectors) -> sp.csr_matrix:
    """The model's input: l2-normalised binary hashed features, then the dense vector block
    [post, context x is-reply, context x is-quote, post * context] (each part unit length)."""
    hashed, dense = feature_blocks(features, vectors)
    return sp.hstack([hashed, sp.csr_matrix(dense)], format="csr")


def feature_blocks(features: Sequence[Features], vectors: WordVectors) -> tuple[sp.csr_matrix, np.ndarray]:
    hashed = _HASHER.transform(f.names for f in features).tocsr()
    hashed.data[:] = 1.0
    norms = np.sqrt(np.asarray(hashed.multiply(hashed).sum(axis=1)).ravel())
    hashed = sp.diags(1.0 / np.maximum(norms, 1e-9)) @ hashed
    post = _unit(np.asarray(_bag([f.texts["post"] for f in features], vectors) @ vectors.vectors))
    context = _unit(np.asarray(_bag([f.texts.get("parent") or f.texts.get("quoted") for f in features], vectors)
                               @ vectors.vectors))
    is_reply = np.array([[("parent" in f.texts)] for f in features], np.float32)
    is_quote = np.array([[("quoted" in f.texts)] for f in features], np.float32)
    dense = np.hstack([post, context * is_reply, context * is_quote, post * context]).astype(np.float32)
    return hashed, dense



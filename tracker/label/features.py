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

Every feature knows the tokens it came from, so evidence can point at the words.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import mmh3
import numpy as np
import scipy.sparse as sp

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


_NOT_PROSE = re.compile(r"[@#]\w+|https?://\S+|\bwww\.\S+")


def not_labelled_reason(text: str | None, lang: str | None) -> str | None:
    """"language" when the model cannot read the post (not English), else None (pure).

    The platform's own tag decides when it names a language; without one, a post of five
    words or more with no common English word, or mostly in a non-Latin script, is not English.
    """
    tag = (lang or "").lower().split("-")[0]
    if tag and tag not in _NO_LANGUAGE:
        return None if tag == "en" else "language"
    # Mentions, hashtags and links are names, not words of any language.
    prose = _NOT_PROSE.sub(" ", text or "")
    letters = [ch for ch in prose if ch.isalpha()]
    if len(letters) >= 10 and sum(ch.isascii() for ch in letters) < 0.5 * len(letters):
        return "language"
    words = re.findall(r"[^\W\d_]+", prose.lower())
    # English prose is about half function words; a few shared ones ("a", "in", "no") appear
    # in French, Spanish or German too, so it takes a share, not one.
    if len(words) >= 5 and sum(word in ENGLISH for word in words) < 0.2 * len(words):
        return "language"
    return None


# --- features ---------------------------------------------------------------------------------

@dataclass
class TokenizedText:
    """A text's tokens (``words``) and, on demand, where each is in the original text."""

    text: str
    words: list[str]
    # The positions of the words that have a word vector, their rows, and the vectors' version
    # (``known_words``).
    known: tuple[list[int], list[int], str] | None = None
    _tokens: list[tuple[str, int, int]] | None = None

    @property
    def tokens(self) -> list[tuple[str, int, int]]:
        """(token, start, end) in the original text. Only evidence needs offsets, so they are
        found again (for a few posts) rather than kept for every post."""
        if self._tokens is None:
            work, _ = reading.prepare(self.text)
            self._tokens = [(word, match.start(), match.end())
                            for word, match in zip(self.words, _TOKEN.finditer(work))]
        return self._tokens


def _word(token: str) -> str:
    first = token[0]
    if first == "@":
        return "@"
    if first.isdigit():
        return "#year" if len(token) == 4 and token[:2] in ("19", "20") else "#num"
    return token


def tokenize(text: str | None) -> TokenizedText:
    if not text:
        return TokenizedText("", [])
    work, _ = reading.prepare(text)
    # Mentions and numbers stand for their kind ("@", "#num", "#year").
    return TokenizedText(text, [word if word[0].isalpha() else _word(word) for word in _TOKEN.findall(work)])


class _Columns(dict):  # type: ignore[type-arg]
    """The hashed columns of names that share a prefix: ``table[key]`` is the column of
    ``prefix + key``: murmurhash3 (seed 0) of its UTF-8 bytes, as scikit-learn's FeatureHasher
    gives it (``mmh3`` computes the same hash without importing scikit-learn, a second of
    start-up that labelling does not need).

    Hashing a name costs ten times a dict lookup, and words repeat: each name is hashed once.
    Every table is cleared when together they hold ``_CACHE_NAMES`` names, which bounds a
    long run's memory (about 30 MB).
    """

    __slots__ = ("prefix",)
    cached = 0  # names held by all the tables

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, key: str | tuple[str, str]) -> int:
        if _Columns.cached >= _CACHE_NAMES:
            for table in _TABLES.values():
                table.clear()
            _Columns.cached = 0
        _Columns.cached += 1
        name = self.prefix + (key if isinstance(key, str) else key[0] + "_" + key[1])  # a pair: "w:a_b"
        column = self[key] = abs(mmh3.hash(name, 0)) % N_HASH
        return column


_CACHE_NAMES = 200_000
_TABLES: dict[str, _Columns] = {}  # one per prefix; the prefixes are a fixed, small set


def _table(prefix: str) -> _Columns:
    table = _TABLES.get(prefix)
    if table is None:
        table = _TABLES[prefix] = _Columns(prefix)
    return table


def columns(prefix: str, keys: Iterable[str] | Iterable[tuple[str, str]]) -> list[int]:
    """The hashed column of each ``prefix + key`` (a pair of words (a, b): ``prefix + "a_b"``)."""
    return list(map(_table(prefix).__getitem__, keys))


def _pairs(words: Sequence[str]) -> Iterator[tuple[str, str]]:
    return zip(words, words[1:])


@dataclass
class Block:
    """Features of one kind, in token order: ``columns[k]`` came from tokens ``first + k`` to
    ``first + k + width - 1`` of the text ``source`` (or from ``ranges[k]``, inclusive token
    indices, None when the span covers no whole token); ``source`` None: the post's structure."""

    columns: list[int]
    source: str | None = None
    width: int = 1
    ranges: list[tuple[int, int] | None] | None = None


@dataclass
class Features:
    """One post's features as blocks of hashed columns, its tokenized texts, the cues of
    its counterpart (the post it replies to or quotes) and the rules' span hits."""

    blocks: list[Block]
    texts: dict[str, TokenizedText]
    kind: str = "original"
    cues: list[str] = field(default_factory=list)
    to_self: bool = False  # a thread, or a quote of one's own post
    rule_hits: list[tuple[str, reading.Evidence]] = field(default_factory=list)

    @property
    def columns(self) -> list[int]:
        return [column for block in self.blocks for column in block.columns]


def _length_bucket(n: int) -> int:
    return min(6, int(math.log2(n + 1)))


def featurize(post: Mapping[str, Any], org_handles: reading.OrgHandles) -> Features:
    """The features of one post (pure). ``post`` has the shape ``tracker label`` reads.

    The features are a set (binary): "w:" words and word pairs, the kind's words ("O:",
    "R:", "Q:", "T:"), the first three words ("b0:".."b2:"), the post's words crossed with
    each counterpart cue ("pquestion&"), the counterpart's words and pairs ("p:", "q:"), the
    rules' hits ("r:", "L:") and structure ("k=", "len=", "cue:", "has_url", "ends_q").
    """
    kind = str(post.get("kind") or ("reply" if post.get("in_reply_to") else "original"))
    text = post.get("text") or ""
    post_text = tokenize(text)
    words = post_text.words
    prefix = kind[0].upper()
    bucket = _length_bucket(len(words))
    out = Features([Block(columns("w:", words), "post"), Block(columns(prefix + ":", words), "post"),
                    Block([_table(f"b{i}:")[word] for i, word in enumerate(words[:3])], "post"),
                    Block(columns("w:", _pairs(words)), "post", width=2)], {"post": post_text}, kind)
    structure = [f"k={kind}", f"len={bucket}", f"{prefix}len={bucket}"]
    if "http" in text or "www." in text:
        structure.append("has_url")
    if text.rstrip().endswith("?"):
        structure.append("ends_q")

    # The rules' labels, and their reading of the replied-to or quoted post when they read it.
    post_labels, counterpart_context = rules.label_post_and_context(post, org_handles)
    out.cues = _counterpart_features(post, kind, org_handles, counterpart_context, out)
    for cue in out.cues:
        structure += ["cue:" + cue, f"cue:{cue}&len={bucket}"]
        out.blocks.append(Block(columns(cue + "&", words), "post"))
    structure += _rule_features(post_labels, out)
    out.blocks.append(Block(columns("", structure)))
    return out


def _token_range(tokenized: TokenizedText, start: int | None, end: int | None) -> tuple[int, int] | None:
    """The tokens a character span covers: it starts on a token and takes each token that
    ends inside it (None when it starts mid-word or covers no whole token)."""
    if start is None or end is None:
        return None
    tokens = tokenized.tokens
    first = bisect.bisect_left(tokens, start, key=lambda token: token[1])
    if first == len(tokens) or tokens[first][1] != start:
        return None
    last = first
    while last < len(tokens) and tokens[last][2] <= end:
        last += 1
    return (first, last - 1) if last > first else None


def _counterpart_features(post: Mapping[str, Any], kind: str, org_handles: reading.OrgHandles,
                          counterpart_context: list[reading.Label] | None, out: Features) -> list[str]:
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
    own = bool(other) and other == reading.handle_of(post.get("author"))
    thread = parent is not None and bool(parent.get("is_self"))  # the source says so
    # Talking to oneself: a thread or quoting one's own post. A reply under one's own post is
    # not: a LinkedIn comment there answers the people commenting.
    out.to_self = thread or (quoted is not None and own)
    if thread or own:
        cues.append("self")
    elif other in org_handles:
        cues.append("colleague")
    context_text = counterpart.get("text")
    if context_text is None:
        return cues + [f"{letter}unknown"]
    context = out.texts[source] = tokenize(context_text)
    context_words = context.words
    out.blocks += [Block(columns(letter + ":", context_words), source),
                   Block(columns(letter + ":", _pairs(context_words)), source, width=2)]
    if counterpart_context is not None:  # the rules read it already: reuse that reading
        question = [ev for label in counterpart_context if label.name == "question" for ev in label.evidence]
        critical = [ev for label in counterpart_context if label.name == "critical" for ev in label.evidence]
    else:
        question, critical = reading.context_evidence(context_text, source)
    hits = question + critical
    if hits:
        out.blocks.append(Block(columns(letter + "r:", [ev.rule for ev in hits]), source,
                                ranges=[_token_range(context, ev.start, ev.end) for ev in hits]))
    if question:
        cues.append(f"{letter}question")
    if critical:
        cues.append(f"{letter}critical")
    if not question and not critical:
        cues.append(f"{letter}plain")
    return cues


def _rule_features(post_labels: list[reading.Label], out: Features) -> list[str]:
    """Add the rules' span hits to ``out`` (and to ``out.rule_hits`` for evidence); return the
    span-less features (the labels the rules gave, structural rule hits)."""
    structure = []
    by_source: dict[str, tuple[list[str], list[tuple[int, int] | None]]] = {}
    for label in post_labels:
        structure.append("L:" + label.name)
        for ev in label.evidence:
            if ev.source == "structure" or ev.start is None:
                structure.append("r:" + ev.rule)
                continue
            names, ranges = by_source.setdefault(ev.source, ([], []))
            names.append(ev.rule)
            tokenized = out.texts.get(ev.source)
            ranges.append(_token_range(tokenized, ev.start, ev.end or ev.start) if tokenized else None)
            out.rule_hits.append((label.name, ev))
    for source, (names, ranges) in by_source.items():
        out.blocks.append(Block(columns("r:", names), source, ranges=ranges))
    return structure


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


def known_words(item: TokenizedText, vectors: WordVectors) -> tuple[list[int], list[int]]:
    """The positions of ``item``'s words that have a vector, and their rows (kept on the
    item: the design matrix and the evidence both need them)."""
    if item.known is None or item.known[2] != vectors.version:
        rows = list(map(vectors.index.get, item.words))
        positions = [k for k, row in enumerate(rows) if row is not None]
        item.known = (positions, [row for row in rows if row is not None], vectors.version)
    return item.known[0], item.known[1]


def _bag(texts: Sequence[TokenizedText | None], vectors: WordVectors) -> sp.csr_matrix:
    """Rows of word weights (mean over a text's known words) to multiply with the vectors."""
    indptr, indices, data = [0], [], []
    for item in texts:
        known = [] if item is None else known_words(item, vectors)[1]
        indices += known
        if known:
            data += [1.0 / len(known)] * len(known)
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, np.float32), indices, indptr), shape=(len(texts), len(vectors.index)))


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


def design_matrix(features: Sequence[Features], vectors: WordVectors) -> sp.csr_matrix:
    """The model's input: l2-normalised binary hashed features, then the dense vector block
    [post, context x is-reply, context x is-quote, post * context] (each part unit length)."""
    hashed, dense = feature_blocks(features, vectors)
    return sp.hstack([hashed, sp.csr_matrix(dense)], format="csr")


def feature_blocks(features: Sequence[Features], vectors: WordVectors) -> tuple[sp.csr_matrix, np.ndarray]:
    indptr, indices = [0], []
    for item in features:
        for block in item.blocks:
            indices += block.columns
        indptr.append(len(indices))
    hashed = sp.csr_matrix((np.ones(len(indices)), np.asarray(indices, np.int32), np.asarray(indptr, np.int64)),
                           shape=(len(features), N_HASH))
    hashed.sum_duplicates()  # a feature is there or not: binary, then each row unit length
    per_row = np.diff(hashed.indptr)
    hashed.data = np.repeat(1.0 / np.sqrt(np.maximum(per_row, 1)), per_row)
    post = _unit(np.asarray(_bag([f.texts["post"] for f in features], vectors) @ vectors.vectors))
    context = _unit(np.asarray(_bag([f.texts.get("parent") or f.texts.get("quoted") for f in features], vectors)
                               @ vectors.vectors))
    is_reply = np.array([[("parent" in f.texts)] for f in features], np.float32)
    is_quote = np.array([[("quoted" in f.texts)] for f in features], np.float32)
    dense = np.hstack([post, context * is_reply, context * is_quote, post * context]).astype(np.float32)
    return hashed, dense


